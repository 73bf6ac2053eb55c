"""The Xcode project of the generated iOS app, written by code from the files actually rendered.

A template could not know which files a model's task renders, and a stale hand-edited
project.pbxproj is the classic way to ship an app whose model file is missing from the bundle.
So the project is derived from the ios/ directory after rendering: every file under
``{product}/`` belongs to the app target, every file under ``{product}Tests/`` to the unit-test
target, and the build phase follows from the file type. ``pbxparse.check_xcode_project`` parses the
result with a real parser for the old-style plist format and compares it with the disk.

Output is deterministic: object IDs are hashes of stable keys, objects and keys are sorted.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from generator import versions
from generator.names import SWIFT_KEYWORDS, pbx_string, windows_reserved
from generator.errors import UsageError

OBJECT_VERSION = "56"  # Xcode 14 format: opens in Xcode 14-16 and CocoaPods >= 1.12 can edit it
COMPATIBILITY_VERSION = "Xcode 14.0"
XCODE_VERSION = "1500"  # LastUpgradeCheck / scheme LastUpgradeVersion: no "update settings" nag

SOURCE_EXTENSIONS = {".swift", ".m", ".mm", ".c", ".cc", ".cpp", ".cxx"}
# Referenced in groups but never in a build phase: headers are found through search paths, and
# Info.plist is processed by the INFOPLIST_FILE setting (copying it too is a build error).
GROUP_ONLY_EXTENSIONS = {".h", ".hh", ".hpp", ".xcconfig", ".entitlements", ".modulemap", ".md"}
GROUP_ONLY_NAMES = {"Info.plist"}
# Directories Xcode treats as one file.
PACKAGE_SUFFIXES = {".xcassets", ".bundle", ".xcdatamodeld", ".storyboardc", ".scnassets"}
# Never part of the Xcode project.
SKIPPED_NAMES = {"Pods", "Podfile", "Podfile.lock", "build", "DerivedData", "xcuserdata"}
SKIPPED_SUFFIXES = {".xcodeproj", ".xcworkspace"}

FILE_TYPES = {
    ".swift": "sourcecode.swift",
    ".m": "sourcecode.c.objc",
    ".mm": "sourcecode.cpp.objcpp",
    ".c": "sourcecode.c.c",
    ".cc": "sourcecode.cpp.cpp",
    ".cpp": "sourcecode.cpp.cpp",
    ".cxx": "sourcecode.cpp.cpp",
    ".h": "sourcecode.c.h",
    ".hh": "sourcecode.cpp.h",
    ".hpp": "sourcecode.cpp.h",
    ".plist": "text.plist.xml",
    ".json": "text.json",
    ".txt": "text",
    ".md": "net.daringfireball.markdown",
    ".png": "image.png",
    ".jpg": "image.jpeg",
    ".jpeg": "image.jpeg",
    ".xcassets": "folder.assetcatalog",
    ".xcconfig": "text.xcconfig",
    ".entitlements": "text.plist.entitlements",
    ".modulemap": "sourcecode.module-map",
}

APP_PRODUCT_TYPE = "com.apple.product-type.application"
TEST_PRODUCT_TYPE = "com.apple.product-type.bundle.unit-test"

# Apple modules a product (= Swift module) name must not shadow.
RESERVED_PRODUCT_NAMES = {
    "Swift", "SwiftUI", "UIKit", "Foundation", "XCTest", "Combine", "CoreGraphics", "CoreImage",
    "CoreML", "PhotosUI", "Photos", "AVFoundation", "Darwin", "Dispatch", "ObjectiveC", "Metal",
    "CoreFoundation", "Accelerate", "Vision", "os", "TorchModule", "Tests",
}

_BARE = re.compile(r"[A-Za-z0-9_$/:.-]+\Z")
_PRODUCT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_BUNDLE_RE = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\Z")


# --------------------------------------------------------------------------------------------
# Names


def validate_product_name(name: str) -> str:
    """An Xcode target / product / Swift module name: an ASCII identifier."""
    if not name or not _PRODUCT_RE.match(name) or not name.isascii():
        raise UsageError(
            f"iOS product name {name!r} is invalid; use letters, digits and '_' starting with a letter (e.g. Zebraify)"
        )
    if name in RESERVED_PRODUCT_NAMES:
        raise UsageError(
            f"iOS product name {name!r} clashes with an Apple module or a generated class; choose another name"
        )
    if name in SWIFT_KEYWORDS or windows_reserved(name):
        why = "a Swift keyword (the tests `@testable import` it)" if name in SWIFT_KEYWORDS else "a device name Windows reserves"
        raise UsageError(f"iOS product name {name!r} is {why}; choose another project name")
    return name


def product_name_from(name: str) -> str:
    """Product name derived from the project NAME: 'my-app 2' -> 'MyApp2', 'zebraify' -> 'Zebraify'.
    Accents are dropped rather than the letters ('Zürich' -> 'Zurich')."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    words = [w for w in re.split(r"[^A-Za-z0-9]+", ascii_name) if w]
    product = "".join(w[:1].upper() + w[1:] for w in words)
    if not product:
        raise UsageError(f"cannot derive an iOS product name from {name!r}; it needs ASCII letters or digits")
    if product[0].isdigit():
        product = "App" + product
    return validate_product_name(product)


def validate_bundle_id(bundle_id: str) -> str:
    """Letters, digits, '-' and '.', no leading, trailing or doubled dot."""
    if not bundle_id or not bundle_id.isascii() or not _BUNDLE_RE.match(bundle_id):
        raise UsageError(
            f"bundle identifier {bundle_id!r} is invalid; use letters, digits, '-' and '.' without "
            "leading, trailing or doubled dots (e.g. com.example.zebraify)"
        )
    return bundle_id


def derive_bundle_id(package: str) -> str:
    """iOS bundle id from the Java package: bundle ids allow '-' but not '_'."""
    return validate_bundle_id(package.replace("_", "-"))


# --------------------------------------------------------------------------------------------
# Old-style plist text


# One quoting rule for every pbxproj string, also used by the templates' pbx_str filter.
pbx_quote = pbx_string


def _format(value: Any, comments: dict[str, str], indent: int, inline: bool) -> str:
    if isinstance(value, dict):
        if inline:
            body = "".join(f"{pbx_quote(k)} = {_format(v, comments, 0, True)}; " for k, v in _ordered(value))
            return "{" + body + "}"
        pad = "\t" * (indent + 1)
        lines = [f"{pad}{pbx_quote(k)} = {_format(v, comments, indent + 1, False)};" for k, v in _ordered(value)]
        return "{\n" + "".join(line + "\n" for line in lines) + "\t" * indent + "}"
    if isinstance(value, list):
        if inline:
            return "(" + "".join(f"{_format(v, comments, 0, True)}, " for v in value) + ")"
        pad = "\t" * (indent + 1)
        items = "".join(f"{pad}{_format(v, comments, indent + 1, False)},\n" for v in value)
        return "(\n" + items + "\t" * indent + ")"
    text = str(value)
    if text in comments:
        return f"{text} /* {_comment(comments[text])} */"
    return pbx_quote(text)


def _comment(text: str) -> str:
    # A file name cannot hold "/", but keep hostile names from ever closing the comment early.
    return text.replace("*/", "*_/")


def _ordered(d: dict[str, Any]) -> list[tuple[str, Any]]:
    # Xcode's own order: isa first, then keys alphabetically.
    return sorted(d.items(), key=lambda kv: (kv[0] != "isa", kv[0]))


# Objects Xcode writes on one line.
_INLINE_ISA = {"PBXBuildFile", "PBXFileReference"}


def serialize_pbxproj(objects: dict[str, dict[str, Any]], root_id: str, comments: dict[str, str]) -> str:
    """The project file text, in Xcode's layout: one section per isa, objects sorted by ID."""
    out = ["// !$*UTF8*$!", "{", "\tarchiveVersion = 1;", "\tclasses = {", "\t};",
           f"\tobjectVersion = {OBJECT_VERSION};", "\tobjects = {"]
    for isa in sorted({o["isa"] for o in objects.values()}):
        out.append("")
        out.append(f"/* Begin {isa} section */")
        for object_id in sorted(i for i, o in objects.items() if o["isa"] == isa):
            inline = isa in _INLINE_ISA
            body = _format(objects[object_id], comments, 2, inline)
            label = f"{object_id} /* {_comment(comments[object_id])} */" if object_id in comments else object_id
            out.append(f"\t\t{label} = {body};")
        out.append(f"/* End {isa} section */")
    out += ["\t};", f"\trootObject = {root_id} /* Project object */;", "}", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# What goes where


@dataclass(frozen=True)
class ProjectFile:
    path: str  # POSIX, relative to ios/
    target: str | None  # "app", "tests" or None (project-level file, no target)
    phase: str | None  # "sources", "resources" or None (referenced in a group only)

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name


def _phase_for(path: str) -> str | None:
    p = PurePosixPath(path)
    suffix = p.suffix.lower()
    if p.name in GROUP_ONLY_NAMES or suffix in GROUP_ONLY_EXTENSIONS:
        return None
    if suffix in SOURCE_EXTENSIONS:
        return "sources"
    return "resources"


def classify(path: str, product_name: str) -> ProjectFile:
    """Target and build phase of one file, from its place and type."""
    top = PurePosixPath(path).parts[0]
    if top == product_name:
        target: str | None = "app"
    elif top == f"{product_name}Tests":
        target = "tests"
    else:
        target = None
    return ProjectFile(path, target, _phase_for(path) if target else None)


def _skipped(name: str) -> bool:
    return name.startswith(".") or name in SKIPPED_NAMES or any(name.endswith(s) for s in SKIPPED_SUFFIXES)


def scan_ios_dir(ios_dir: Path, product_name: str) -> list[ProjectFile]:
    """Every file of the iOS project on disk that the Xcode project must reference, sorted."""
    root = Path(ios_dir)
    found: list[ProjectFile] = []

    def walk(directory: Path, rel: PurePosixPath | None) -> None:
        for entry in sorted(directory.iterdir(), key=lambda p: p.name):
            if _skipped(entry.name):
                continue
            entry_rel = rel / entry.name if rel else PurePosixPath(entry.name)
            if entry.is_dir() and entry.suffix not in PACKAGE_SUFFIXES:
                walk(entry, entry_rel)
            elif entry.is_file() or entry.is_dir():
                found.append(classify(entry_rel.as_posix(), product_name))

    walk(root, None)
    return found


def object_id(kind: str, key: str) -> str:
    """24 uppercase hex digits derived from a stable key, so regeneration gives the same IDs."""
    return hashlib.sha256(f"{kind}:{key}".encode("utf-8")).hexdigest()[:24].upper()


def _file_type(path: str) -> str:
    return FILE_TYPES.get(PurePosixPath(path).suffix.lower(), "file")


# --------------------------------------------------------------------------------------------
# Writing


@dataclass(frozen=True)
class SwiftPackage:
    """A remote Swift package on a branch and the products the app target links from it (the
    ExecuTorch runtime ships this way; the lite runtime uses CocoaPods instead)."""

    name: str  # what Xcode shows, the repository name
    url: str
    branch: str
    products: tuple[str, ...]
    # Static libraries whose only job is to register backends/kernels at load time: without
    # -all_load the linker drops them and the app fails with "backend not registered".
    force_load: bool = True


def _settings(product_name: str, bundle_id: str, deployment_target: str, swift_version: str,
              files: list[ProjectFile], cxx_standard: str,
              package: SwiftPackage | None) -> dict[str, dict[str, dict[str, Any]]]:
    paths = {f.path for f in files}
    info_plist = f"{product_name}/Info.plist"
    bridging = f"{product_name}/{product_name}-Bridging-Header.h"
    common = {
        "ALWAYS_SEARCH_USER_PATHS": "NO",
        "CLANG_ANALYZER_NONNULL": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": cxx_standard,
        "CLANG_CXX_LIBRARY": "libc++",
        "CLANG_ENABLE_MODULES": "YES",
        "CLANG_ENABLE_OBJC_ARC": "YES",
        "CLANG_ENABLE_OBJC_WEAK": "YES",
        "CLANG_WARN_DOCUMENTATION_COMMENTS": "YES",
        "CLANG_WARN_UNGUARDED_AVAILABILITY": "YES_AGGRESSIVE",
        "COPY_PHASE_STRIP": "NO",
        "ENABLE_STRICT_OBJC_MSGSEND": "YES",
        # CocoaPods adds shell-script phases that write outside the sandbox Xcode 15 enables.
        "ENABLE_USER_SCRIPT_SANDBOXING": "NO",
        "GCC_C_LANGUAGE_STANDARD": "gnu17",
        "GCC_NO_COMMON_BLOCKS": "YES",
        "IPHONEOS_DEPLOYMENT_TARGET": deployment_target,
        "MTL_FAST_MATH": "YES",
        "SDKROOT": "iphoneos",
    }
    project = {
        "Debug": {
            **common,
            "DEBUG_INFORMATION_FORMAT": "dwarf",
            "ENABLE_TESTABILITY": "YES",
            "GCC_DYNAMIC_NO_PIC": "NO",
            "GCC_OPTIMIZATION_LEVEL": "0",
            "GCC_PREPROCESSOR_DEFINITIONS": ["DEBUG=1", "$(inherited)"],
            "MTL_ENABLE_DEBUG_INFO": "INCLUDE_SOURCE",
            "ONLY_ACTIVE_ARCH": "YES",
            "SWIFT_ACTIVE_COMPILATION_CONDITIONS": "DEBUG",
            "SWIFT_OPTIMIZATION_LEVEL": "-Onone",
        },
        "Release": {
            **common,
            "DEBUG_INFORMATION_FORMAT": "dwarf-with-dsym",
            "ENABLE_NS_ASSERTIONS": "NO",
            "MTL_ENABLE_DEBUG_INFO": "NO",
            "SWIFT_COMPILATION_MODE": "wholemodule",
            "SWIFT_OPTIMIZATION_LEVEL": "-O",
            "VALIDATE_PRODUCT": "YES",
        },
    }
    app = {
        # Again on the target: the LibTorch-Lite pod's xcconfig (the target's base configuration)
        # sets c++14, which overrides the project level. `pod install` warns that the target
        # overrides it; that is intended.
        "CLANG_CXX_LANGUAGE_STANDARD": cxx_standard,
        "CODE_SIGN_STYLE": "Automatic",
        "CURRENT_PROJECT_VERSION": "1",
        "ENABLE_PREVIEWS": "YES",
        # The pod's xcconfig adds these too; listing them keeps the core's #includes resolvable
        # whichever of the two pods (stock or Metal nightly) the Podfile selects.
        "HEADER_SEARCH_PATHS": [
            "$(inherited)",
            '"$(PODS_ROOT)/LibTorch-Lite/install/include"',
            '"$(PODS_ROOT)/LibTorch-Lite-Nightly/install/include"',
        ],
        "IPHONEOS_DEPLOYMENT_TARGET": deployment_target,
        "LD_RUNPATH_SEARCH_PATHS": ["$(inherited)", "@executable_path/Frameworks"],
        "MARKETING_VERSION": "1.0",
        "PRODUCT_BUNDLE_IDENTIFIER": bundle_id,
        "PRODUCT_NAME": "$(TARGET_NAME)",
        "SWIFT_EMIT_LOC_STRINGS": "YES",
        "SWIFT_VERSION": swift_version,
        "TARGETED_DEVICE_FAMILY": "1,2",
    }
    if package is not None:
        # No CocoaPods: the pods' header paths would only point at nothing.
        del app["HEADER_SEARCH_PATHS"]
        if package.force_load:
            app["OTHER_LDFLAGS"] = ["$(inherited)", "-all_load"]
    if info_plist in paths:
        app.update(GENERATE_INFOPLIST_FILE="NO", INFOPLIST_FILE=info_plist)
    else:
        app.update(GENERATE_INFOPLIST_FILE="YES")
    tests = {
        "BUNDLE_LOADER": "$(TEST_HOST)",
        "CODE_SIGN_STYLE": "Automatic",
        "CURRENT_PROJECT_VERSION": "1",
        "GENERATE_INFOPLIST_FILE": "YES",
        "IPHONEOS_DEPLOYMENT_TARGET": deployment_target,
        "MARKETING_VERSION": "1.0",
        "PRODUCT_BUNDLE_IDENTIFIER": f"{bundle_id}.tests",
        "PRODUCT_NAME": "$(TARGET_NAME)",
        "SWIFT_EMIT_LOC_STRINGS": "NO",
        "SWIFT_VERSION": swift_version,
        "TARGETED_DEVICE_FAMILY": "1,2",
        "TEST_HOST": f"$(BUILT_PRODUCTS_DIR)/{product_name}.app/$(BUNDLE_EXECUTABLE_FOLDER_PATH)/{product_name}",
    }
    if bridging in paths:
        # The tests call ImageCore directly, so they import the same Objective-C headers.
        app["SWIFT_OBJC_BRIDGING_HEADER"] = bridging
        tests["SWIFT_OBJC_BRIDGING_HEADER"] = bridging
    return {
        "project": project,
        "app": {"Debug": app, "Release": dict(app)},
        "tests": {"Debug": tests, "Release": dict(tests)},
    }


def build_project(ios_dir: Path, *, product_name: str, bundle_id: str, deployment_target: str,
                  swift_version: str, cxx_standard: str = versions.IOS_CXX_LANGUAGE_STANDARD,
                  package: SwiftPackage | None = None,
                  ) -> tuple[dict[str, dict[str, Any]], str, dict[str, str], dict[str, str]]:
    """The project's objects for the files now in ios_dir: (objects, root id, comments, target ids).
    `package`: a Swift package whose products the app target links (Frameworks phase)."""
    validate_product_name(product_name)
    validate_bundle_id(bundle_id)
    validate_bundle_id(f"{bundle_id}.tests")
    files = scan_ios_dir(ios_dir, product_name)
    objects: dict[str, dict[str, Any]] = {}
    comments: dict[str, str] = {}

    def add(kind: str, key: str, comment: str | None, body: dict[str, Any]) -> str:
        oid = object_id(kind, key)
        if oid in objects:
            raise RuntimeError(f"object id collision for {kind}:{key}")
        objects[oid] = {"isa": kind, **body}
        if comment is not None:
            comments[oid] = comment
        return oid

    names = {"app": product_name, "tests": f"{product_name}Tests"}
    root_id = object_id("PBXProject", product_name)
    comments[root_id] = "Project object"

    # Products
    products = {
        "app": add("PBXFileReference", f"product:{product_name}.app", f"{product_name}.app", {
            "explicitFileType": "wrapper.application", "includeInIndex": "0",
            "path": f"{product_name}.app", "sourceTree": "BUILT_PRODUCTS_DIR"}),
        "tests": add("PBXFileReference", f"product:{product_name}Tests.xctest", f"{product_name}Tests.xctest", {
            "explicitFileType": "wrapper.cfbundle", "includeInIndex": "0",
            "path": f"{product_name}Tests.xctest", "sourceTree": "BUILT_PRODUCTS_DIR"}),
    }

    # File references and the group tree mirroring the folders
    file_refs: dict[str, str] = {}
    for f in files:
        file_refs[f.path] = add("PBXFileReference", f.path, f.name, {
            "lastKnownFileType": _file_type(f.path), "path": f.name, "sourceTree": "<group>"})

    group_children: dict[str, list[tuple[int, str, str]]] = {"": []}  # dir -> (order, name, id)
    for f in files:
        parts = PurePosixPath(f.path).parts
        for depth in range(1, len(parts)):
            parent, directory = "/".join(parts[: depth - 1]), "/".join(parts[:depth])
            if directory not in group_children:
                group_children[directory] = []
                group_children.setdefault(parent, []).append((0, parts[depth - 1], object_id("PBXGroup", directory)))
        group_children.setdefault("/".join(parts[:-1]), []).append((1, parts[-1], file_refs[f.path]))

    def group_body(directory: str) -> dict[str, Any]:
        # Folders first, then files, each by name: what Xcode's "Sort by Name" gives.
        children = [cid for _, _, cid in sorted(group_children[directory], key=lambda c: (c[0], c[1].lower(), c[1]))]
        return {"children": children, "sourceTree": "<group>"}

    products_group = add("PBXGroup", "Products", "Products", {
        "children": [products["app"], products["tests"]], "name": "Products", "sourceTree": "<group>"})
    for directory in sorted(d for d in group_children if d):
        add("PBXGroup", directory, PurePosixPath(directory).name,
            {**group_body(directory), "path": PurePosixPath(directory).name})
    main_body = group_body("")
    main_body["children"] = main_body["children"] + [products_group]
    main_group = add("PBXGroup", "<main>", None, main_body)

    # Build phases, one build file per (target, file)
    phase_ids: dict[str, dict[str, str]] = {}
    for target in ("app", "tests"):
        phase_ids[target] = {}
        for phase, isa, label in (("sources", "PBXSourcesBuildPhase", "Sources"),
                                  ("frameworks", "PBXFrameworksBuildPhase", "Frameworks"),
                                  ("resources", "PBXResourcesBuildPhase", "Resources")):
            build_files = []
            if target == "app" and phase == "frameworks" and package is not None:
                for product in package.products:
                    build_files.append(add("PBXBuildFile", f"app:package:{product}", f"{product} in Frameworks",
                                           {"productRef": object_id("XCSwiftPackageProductDependency", product)}))
            for f in files:
                if f.target == target and f.phase == phase:
                    build_files.append(add("PBXBuildFile", f"{target}:{f.path}", f"{f.name} in {label}",
                                           {"fileRef": file_refs[f.path]}))
            phase_ids[target][phase] = add(isa, f"{target}:{phase}", label, {
                "buildActionMask": "2147483647", "files": build_files,
                "runOnlyForDeploymentPostprocessing": "0"})

    # Build configurations
    settings = _settings(product_name, bundle_id, deployment_target, swift_version, files, cxx_standard, package)
    config_lists: dict[str, str] = {}
    for owner, label in (("project", f'PBXProject "{product_name}"'),
                         ("app", f'PBXNativeTarget "{names["app"]}"'),
                         ("tests", f'PBXNativeTarget "{names["tests"]}"')):
        configs = [
            add("XCBuildConfiguration", f"{owner}:{name}", name, {"buildSettings": settings[owner][name], "name": name})
            for name in ("Debug", "Release")
        ]
        config_lists[owner] = add("XCConfigurationList", owner, f"Build configuration list for {label}", {
            "buildConfigurations": configs, "defaultConfigurationIsVisible": "0",
            "defaultConfigurationName": "Release"})

    # Targets
    target_ids = {t: object_id("PBXNativeTarget", t) for t in ("app", "tests")}
    proxy = add("PBXContainerItemProxy", "tests->app", "PBXContainerItemProxy", {
        "containerPortal": root_id, "proxyType": "1", "remoteGlobalIDString": target_ids["app"],
        "remoteInfo": product_name})
    dependency = add("PBXTargetDependency", "tests->app", "PBXTargetDependency", {
        "target": target_ids["app"], "targetProxy": proxy})
    package_ref = None
    if package is not None:
        package_ref = add("XCRemoteSwiftPackageReference", package.url,
                          f'XCRemoteSwiftPackageReference "{package.name}"', {
                              "repositoryURL": package.url,
                              "requirement": {"branch": package.branch, "kind": "branch"}})
        for product in package.products:
            add("XCSwiftPackageProductDependency", product, product,
                {"package": package_ref, "productName": product})
    for target, product_type in (("app", APP_PRODUCT_TYPE), ("tests", TEST_PRODUCT_TYPE)):
        extra = {}
        if target == "app" and package is not None:
            extra["packageProductDependencies"] = [
                object_id("XCSwiftPackageProductDependency", p) for p in package.products]
        add("PBXNativeTarget", target, names[target], {**extra,
            "buildConfigurationList": config_lists[target],
            "buildPhases": [phase_ids[target][p] for p in ("sources", "frameworks", "resources")],
            "buildRules": [],
            "dependencies": [dependency] if target == "tests" else [],
            "name": names[target],
            "productName": names[target],
            "productReference": products[target],
            "productType": product_type,
        })

    objects[root_id] = {
        "isa": "PBXProject",
        "attributes": {
            "BuildIndependentTargetsInParallel": "1",
            "LastSwiftUpdateCheck": XCODE_VERSION,
            "LastUpgradeCheck": XCODE_VERSION,
            "TargetAttributes": {
                target_ids["app"]: {"CreatedOnToolsVersion": "15.0"},
                target_ids["tests"]: {"CreatedOnToolsVersion": "15.0", "TestTargetID": target_ids["app"]},
            },
        },
        "buildConfigurationList": config_lists["project"],
        "compatibilityVersion": COMPATIBILITY_VERSION,
        "developmentRegion": "en",
        "hasScannedForEncodings": "0",
        "knownRegions": ["en", "Base"],
        "mainGroup": main_group,
        "productRefGroup": products_group,
        "projectDirPath": "",
        "projectRoot": "",
        "targets": [target_ids["app"], target_ids["tests"]],
        **({"packageReferences": [package_ref]} if package_ref else {}),
    }
    return objects, root_id, comments, target_ids


def _xml_attr(text: str) -> str:
    return (text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
            .replace(">", "&gt;").replace("\n", "&#10;"))


def scheme_xml(product_name: str, app_id: str, tests_id: str) -> str:
    """A shared scheme: `xcodebuild test -scheme <product>` on CI needs one checked in, since
    Xcode only autocreates schemes (per user, unshared) when the project is opened in the UI."""
    container = _xml_attr(f"container:{product_name}.xcodeproj")

    def reference(blueprint: str, name: str, buildable: str, indent: str) -> str:
        return (
            f"{indent}<BuildableReference\n"
            f'{indent}   BuildableIdentifier = "primary"\n'
            f'{indent}   BlueprintIdentifier = "{blueprint}"\n'
            f'{indent}   BuildableName = "{_xml_attr(buildable)}"\n'
            f'{indent}   BlueprintName = "{_xml_attr(name)}"\n'
            f'{indent}   ReferencedContainer = "{container}">\n'
            f"{indent}</BuildableReference>\n"
        )

    app_ref = lambda indent: reference(app_id, product_name, f"{product_name}.app", indent)  # noqa: E731
    tests_ref = reference(tests_id, f"{product_name}Tests", f"{product_name}Tests.xctest", " " * 12)
    lldb = (
        'selectedDebuggerIdentifier = "Xcode.DebuggerFoundation.Debugger.LLDB"\n'
        '      selectedLauncherIdentifier = "Xcode.DebuggerFoundation.Launcher.LLDB"'
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<Scheme\n"
        f'   LastUpgradeVersion = "{XCODE_VERSION}"\n'
        '   version = "1.7">\n'
        "   <BuildAction\n"
        '      parallelizeBuildables = "YES"\n'
        '      buildImplicitDependencies = "YES">\n'
        "      <BuildActionEntries>\n"
        "         <BuildActionEntry\n"
        '            buildForTesting = "YES"\n'
        '            buildForRunning = "YES"\n'
        '            buildForProfiling = "YES"\n'
        '            buildForArchiving = "YES"\n'
        '            buildForAnalyzing = "YES">\n'
        f"{app_ref(' ' * 12)}"
        "         </BuildActionEntry>\n"
        "      </BuildActionEntries>\n"
        "   </BuildAction>\n"
        "   <TestAction\n"
        '      buildConfiguration = "Debug"\n'
        f"      {lldb}\n"
        '      shouldUseLaunchSchemeArgsEnv = "YES">\n'
        "      <Testables>\n"
        "         <TestableReference\n"
        '            skipped = "NO">\n'
        f"{tests_ref}"
        "         </TestableReference>\n"
        "      </Testables>\n"
        "   </TestAction>\n"
        "   <LaunchAction\n"
        '      buildConfiguration = "Debug"\n'
        f"      {lldb}\n"
        '      launchStyle = "0"\n'
        '      useCustomWorkingDirectory = "NO"\n'
        '      ignoresPersistentStateOnLaunch = "NO"\n'
        '      debugDocumentVersioning = "YES"\n'
        '      debugServiceExtension = "internal"\n'
        '      allowLocationSimulation = "YES">\n'
        "      <BuildableProductRunnable\n"
        '         runnableDebuggingMode = "0">\n'
        f"{app_ref(' ' * 9)}"
        "      </BuildableProductRunnable>\n"
        "   </LaunchAction>\n"
        "   <ProfileAction\n"
        '      buildConfiguration = "Release"\n'
        '      shouldUseLaunchSchemeArgsEnv = "YES"\n'
        '      savedToolIdentifier = ""\n'
        '      useCustomWorkingDirectory = "NO"\n'
        '      debugDocumentVersioning = "YES">\n'
        "      <BuildableProductRunnable\n"
        '         runnableDebuggingMode = "0">\n'
        f"{app_ref(' ' * 9)}"
        "      </BuildableProductRunnable>\n"
        "   </ProfileAction>\n"
        "   <AnalyzeAction\n"
        '      buildConfiguration = "Debug">\n'
        "   </AnalyzeAction>\n"
        "   <ArchiveAction\n"
        '      buildConfiguration = "Release"\n'
        '      revealArchiveInOrganizer = "YES">\n'
        "   </ArchiveAction>\n"
        "</Scheme>\n"
    )


def write_xcode_project(ios_dir: Path, *, product_name: str, bundle_id: str, deployment_target: str,
                        swift_version: str, cxx_standard: str = versions.IOS_CXX_LANGUAGE_STANDARD,
                        package: SwiftPackage | None = None) -> list[Path]:
    """Write {product}.xcodeproj (project.pbxproj + a shared scheme) for the files in ios_dir.

    Run it after every other file of the iOS project is written: files added later are not in
    the project (check_xcode_project reports them). Returns the paths written.
    """
    ios_dir = Path(ios_dir)
    objects, root_id, comments, target_ids = build_project(
        ios_dir, product_name=product_name, bundle_id=bundle_id,
        deployment_target=deployment_target, swift_version=swift_version, cxx_standard=cxx_standard,
        package=package)
    project_dir = ios_dir / f"{product_name}.xcodeproj"
    pbxproj = project_dir / "project.pbxproj"
    scheme = project_dir / "xcshareddata" / "xcschemes" / f"{product_name}.xcscheme"
    scheme.parent.mkdir(parents=True, exist_ok=True)
    pbxproj.write_bytes(serialize_pbxproj(objects, root_id, comments).encode("utf-8"))
    scheme.write_bytes(scheme_xml(product_name, target_ids["app"], target_ids["tests"]).encode("utf-8"))
    return [pbxproj, scheme]


# Reading and checking moved to pbxparse.py; these names still resolve here (lazily: pbxparse
# imports this module) for callers written before the split.
_MOVED_TO_PBXPARSE = {"PbxprojError", "parse_pbxproj", "check_xcode_project", "app_cxx_standard",
                      "referenced_paths", "check_swift_package"}


def __getattr__(name: str) -> Any:
    if name in _MOVED_TO_PBXPARSE:
        from generator import pbxparse

        return getattr(pbxparse, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

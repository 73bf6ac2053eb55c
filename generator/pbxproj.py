"""The Xcode project of the generated iOS app, written by code from the files actually rendered.

A template could not know which files a model's task renders, and a stale hand-edited
project.pbxproj is the classic way to ship an app whose model file is missing from the bundle.
So the project is derived from the ios/ directory after rendering: every file under
``{product}/`` belongs to the app target, every file under ``{product}Tests/`` to the unit-test
target, and the build phase follows from the file type. ``check_xcode_project`` parses the
result with a real parser for the old-style plist format and compares it with the disk.

Output is deterministic: object IDs are hashes of stable keys, objects and keys are sorted.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import xml.etree.ElementTree as ET
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


class PbxprojError(ValueError):
    """The text is not a well-formed old-style property list."""


class _Parser:
    _DELIMITERS = set('{}();,="')

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, message: str) -> PbxprojError:
        line = self.text.count("\n", 0, self.pos) + 1
        return PbxprojError(f"line {line}: {message}")

    def skip(self) -> None:
        text, n = self.text, len(self.text)
        while self.pos < n:
            ch = text[self.pos]
            if ch in " \t\r\n\ufeff":
                self.pos += 1
            elif text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = n if end < 0 else end + 1
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.fail("unterminated comment")
                self.pos = end + 2
            else:
                return

    def peek(self) -> str:
        self.skip()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, ch: str) -> None:
        if self.peek() != ch:
            found = self.text[self.pos] if self.pos < len(self.text) else "end of file"
            raise self.fail(f"expected {ch!r}, found {found!r}")
        self.pos += 1

    def value(self) -> Any:
        ch = self.peek()
        if ch == "{":
            return self.dictionary()
        if ch == "(":
            return self.array()
        if ch == '"':
            return self.quoted()
        if not ch:
            raise self.fail("unexpected end of file")
        return self.bare()

    def dictionary(self) -> dict[str, Any]:
        self.expect("{")
        result: dict[str, Any] = {}
        while self.peek() != "}":
            if not self.peek():
                raise self.fail("unterminated dictionary")
            key = self.quoted() if self.peek() == '"' else self.bare()
            if key in result:
                raise self.fail(f"duplicate key {key!r}")
            self.expect("=")
            result[key] = self.value()
            self.expect(";")
        self.pos += 1
        return result

    def array(self) -> list[Any]:
        self.expect("(")
        result: list[Any] = []
        while self.peek() != ")":
            if not self.peek():
                raise self.fail("unterminated array")
            result.append(self.value())
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() != ")":
                raise self.fail(f"expected ',' or ')', found {self.peek()!r}")
        self.pos += 1
        return result

    def quoted(self) -> str:
        self.expect('"')
        text, out = self.text, []
        escapes = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "'": "'", "b": "\b", "f": "\f"}
        while True:
            if self.pos >= len(text):
                raise self.fail("unterminated string")
            ch = text[self.pos]
            if ch == '"':
                self.pos += 1
                return "".join(out)
            if ch == "\\":
                nxt = text[self.pos + 1 : self.pos + 2]
                if nxt in escapes:
                    out.append(escapes[nxt])
                    self.pos += 2
                elif nxt == "U" and re.fullmatch(r"[0-9A-Fa-f]{4}", text[self.pos + 2 : self.pos + 6]):
                    out.append(chr(int(text[self.pos + 2 : self.pos + 6], 16)))
                    self.pos += 6
                else:
                    raise self.fail(f"unknown escape \\{nxt}")
            else:
                out.append(ch)
                self.pos += 1

    def bare(self) -> str:
        start, text = self.pos, self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch.isspace() or ch in self._DELIMITERS or text.startswith(("//", "/*"), self.pos):
                break
            self.pos += 1
        if self.pos == start:
            raise self.fail(f"unexpected {text[self.pos]!r}")
        return text[start : self.pos]

    def document(self) -> dict[str, Any]:
        if self.peek() != "{":
            raise self.fail("a project file starts with '{'")
        result = self.dictionary()
        if self.peek():
            raise self.fail("text after the closing '}'")
        return result


def parse_pbxproj(text: str) -> dict[str, Any]:
    """Parse an old-style (OpenStep) property list: dicts, arrays, quoted and bare strings,
    // and /* */ comments. Scalars come back as str. Raises PbxprojError with the line."""
    return _Parser(text).document()


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


def _settings(product_name: str, bundle_id: str, deployment_target: str, swift_version: str,
              files: list[ProjectFile], cxx_standard: str) -> dict[str, dict[str, dict[str, Any]]]:
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
        # The tests call TorchModule directly, so they import the same Objective-C header.
        app["SWIFT_OBJC_BRIDGING_HEADER"] = bridging
        tests["SWIFT_OBJC_BRIDGING_HEADER"] = bridging
    return {
        "project": project,
        "app": {"Debug": app, "Release": dict(app)},
        "tests": {"Debug": tests, "Release": dict(tests)},
    }


def build_project(ios_dir: Path, *, product_name: str, bundle_id: str, deployment_target: str,
                  swift_version: str, cxx_standard: str = versions.IOS_CXX_LANGUAGE_STANDARD) -> tuple[dict[str, dict[str, Any]], str, dict[str, str], dict[str, str]]:
    """The project's objects for the files now in ios_dir: (objects, root id, comments, target ids)."""
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
            for f in files:
                if f.target == target and f.phase == phase:
                    build_files.append(add("PBXBuildFile", f"{target}:{f.path}", f"{f.name} in {label}",
                                           {"fileRef": file_refs[f.path]}))
            phase_ids[target][phase] = add(isa, f"{target}:{phase}", label, {
                "buildActionMask": "2147483647", "files": build_files,
                "runOnlyForDeploymentPostprocessing": "0"})

    # Build configurations
    settings = _settings(product_name, bundle_id, deployment_target, swift_version, files, cxx_standard)
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
    for target, product_type in (("app", APP_PRODUCT_TYPE), ("tests", TEST_PRODUCT_TYPE)):
        add("PBXNativeTarget", target, names[target], {
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
                        swift_version: str, cxx_standard: str = versions.IOS_CXX_LANGUAGE_STANDARD) -> list[Path]:
    """Write {product}.xcodeproj (project.pbxproj + a shared scheme) for the files in ios_dir.

    Run it after every other file of the iOS project is written: files added later are not in
    the project (check_xcode_project reports them). Returns the paths written.
    """
    ios_dir = Path(ios_dir)
    objects, root_id, comments, target_ids = build_project(
        ios_dir, product_name=product_name, bundle_id=bundle_id,
        deployment_target=deployment_target, swift_version=swift_version, cxx_standard=cxx_standard)
    project_dir = ios_dir / f"{product_name}.xcodeproj"
    pbxproj = project_dir / "project.pbxproj"
    scheme = project_dir / "xcshareddata" / "xcschemes" / f"{product_name}.xcscheme"
    scheme.parent.mkdir(parents=True, exist_ok=True)
    pbxproj.write_bytes(serialize_pbxproj(objects, root_id, comments).encode("utf-8"))
    scheme.write_bytes(scheme_xml(product_name, target_ids["app"], target_ids["tests"]).encode("utf-8"))
    return [pbxproj, scheme]


# --------------------------------------------------------------------------------------------
# Checking


_REFERENCE_KEYS = {
    "baseConfigurationReference", "buildConfigurationList", "buildConfigurations", "buildPhases", "children", "containerPortal",
    "dependencies", "fileRef", "files", "mainGroup", "productRefGroup", "productReference",
    "target", "targetProxy", "targets",
}


def _resolve_paths(objects: dict[str, Any], main_group: str, problems: list[str]) -> dict[str, str | None]:
    """Object id -> path relative to ios/ for every file reference and group reachable from the
    main group (None for references outside the project folder, e.g. built products)."""
    resolved: dict[str, str | None] = {}

    def visit(oid: str, parent: str | None, seen: tuple[str, ...]) -> None:
        if oid in seen:
            problems.append(f"group {oid} contains itself")
            return
        obj = objects.get(oid)
        if not isinstance(obj, dict):
            return
        tree, path = obj.get("sourceTree", "<group>"), obj.get("path")
        if tree == "<group>":
            base = parent
        elif tree == "SOURCE_ROOT":
            base = ""
        else:
            base = None
        if base is None:
            here = None
        elif path:
            here = f"{base}/{path}" if base else path
        else:
            here = base
        resolved[oid] = here
        for child in obj.get("children", []) if obj.get("isa") in ("PBXGroup", "PBXVariantGroup") else []:
            visit(child, here, (*seen, oid))

    visit(main_group, "", ())
    return resolved


def _scheme_problems(project_dir: Path, objects: dict[str, Any], app_id: str | None, tests_id: str | None,
                     product: str) -> list[str]:
    scheme = project_dir / "xcshareddata" / "xcschemes" / f"{product}.xcscheme"
    rel = f"{project_dir.name}/xcshareddata/xcschemes/{scheme.name}"
    if not scheme.is_file():
        return [f"{rel}: missing; `xcodebuild test -scheme {product}` needs a shared scheme"]
    try:
        root = ET.fromstring(scheme.read_bytes())
    except ET.ParseError as exc:
        return [f"{rel}: not valid XML ({exc})"]
    problems = []
    blueprints = [e.get("BlueprintIdentifier") for e in root.iter("BuildableReference")]
    for blueprint in blueprints:
        if blueprint not in objects:
            problems.append(f"{rel}: refers to target {blueprint}, which is not in the project")
    testables = [e.get("BlueprintIdentifier") for t in root.iter("TestableReference") for e in t.iter("BuildableReference")]
    if tests_id and tests_id not in testables:
        problems.append(f"{rel}: the unit-test target is not among its testables")
    if app_id and app_id not in blueprints:
        problems.append(f"{rel}: does not build the app target")
    return problems


def check_xcode_project(ios_dir: Path) -> list[str]:
    """Problems with the Xcode project in ios_dir, one line each (empty when it is sound):
    parse errors, dangling object references, files on disk the project does not reference (or
    puts in the wrong phase or target), references to missing files, invalid bundle ids and
    product names, and a missing or inconsistent shared scheme."""
    ios_dir = Path(ios_dir)
    projects = sorted(p for p in ios_dir.glob("*.xcodeproj") if p.is_dir())
    if len(projects) != 1:
        return [f"expected one .xcodeproj in {ios_dir}, found {len(projects)}"]
    project_dir = projects[0]
    pbx_rel = f"{project_dir.name}/project.pbxproj"
    try:
        data = parse_pbxproj((project_dir / "project.pbxproj").read_text(encoding="utf-8"))
    except OSError as exc:
        return [f"{pbx_rel}: cannot read ({exc.strerror})"]
    except (PbxprojError, UnicodeDecodeError) as exc:
        return [f"{pbx_rel}: parse error: {exc}"]

    problems: list[str] = []
    objects = data.get("objects")
    root = objects.get(data.get("rootObject", "")) if isinstance(objects, dict) else None
    if not isinstance(root, dict) or root.get("isa") != "PBXProject":
        return [f"{pbx_rel}: rootObject is not a PBXProject"]

    for oid, obj in objects.items():
        if not isinstance(obj, dict) or "isa" not in obj:
            problems.append(f"{pbx_rel}: object {oid} has no isa")
            continue
        for key in _REFERENCE_KEYS & obj.keys():
            refs = obj[key] if isinstance(obj[key], list) else [obj[key]]
            for ref in refs:
                if isinstance(ref, str) and ref not in objects:
                    problems.append(f"{pbx_rel}: {obj['isa']} {oid} refers to missing object {ref} ({key})")

    resolved = _resolve_paths(objects, root.get("mainGroup", ""), problems)
    path_to_ref: dict[str, str] = {}
    for oid, path in resolved.items():
        obj = objects[oid]
        if obj.get("isa") != "PBXFileReference" or path is None:
            continue
        path_to_ref[path] = oid
        if path.split("/")[0] == "Pods":
            continue  # CocoaPods' own files; present after `pod install`
        if not (ios_dir / path).exists():
            problems.append(f"{path}: referenced by the project but missing on disk")
    for oid, obj in objects.items():
        if isinstance(obj, dict) and obj.get("isa") == "PBXFileReference" and oid not in resolved:
            problems.append(f"{pbx_rel}: file reference {obj.get('path', oid)} is in no group")

    # Targets and what their phases build
    targets = {}
    for tid in root.get("targets", []):
        target = objects.get(tid)
        if isinstance(target, dict) and target.get("isa") == "PBXNativeTarget":
            targets[tid] = target
    app_ids = [t for t, o in targets.items() if o.get("productType") == APP_PRODUCT_TYPE]
    test_ids = [t for t, o in targets.items() if o.get("productType") == TEST_PRODUCT_TYPE]
    if len(app_ids) != 1:
        return problems + [f"{pbx_rel}: expected one application target, found {len(app_ids)}"]
    app_id = app_ids[0]
    product = targets[app_id].get("name", "")
    try:
        validate_product_name(product)
    except UsageError as exc:
        problems.append(f"{pbx_rel}: {exc}")
    if project_dir.name != f"{product}.xcodeproj":
        problems.append(f"{project_dir.name}: expected {product}.xcodeproj, named after the app target")
    tests_id = next((t for t in test_ids if targets[t].get("name") == f"{product}Tests"), None)
    if tests_id is None:
        problems.append(f"{pbx_rel}: no unit-test target named {product}Tests")

    phase_names = {"PBXSourcesBuildPhase": "sources", "PBXResourcesBuildPhase": "resources"}
    built: dict[tuple[str, str], set[str]] = {}  # (target role, phase) -> paths
    roles = {app_id: "app", **({tests_id: "tests"} if tests_id else {})}
    for tid, role in roles.items():
        resource_names: dict[str, str] = {}
        for phase_id in targets[tid].get("buildPhases", []):
            phase = objects.get(phase_id, {})
            kind = phase_names.get(phase.get("isa", ""))
            if kind is None:
                continue
            for build_file in phase.get("files", []):
                ref = objects.get(build_file, {}).get("fileRef")
                path = resolved.get(ref) if ref else None
                if path is None:
                    continue
                built.setdefault((role, kind), set()).add(path)
                if kind == "resources":
                    name = PurePosixPath(path).name
                    if name in resource_names and resource_names[name] != path:
                        problems.append(
                            f"{path}: same bundle name as {resource_names[name]} in {targets[tid]['name']}'s resources"
                        )
                    resource_names[name] = path

    target_names = {"app": product, "tests": f"{product}Tests"}
    expected = scan_ios_dir(ios_dir, product)
    expected_paths = {f.path for f in expected}
    for f in expected:
        if f.path not in path_to_ref:
            problems.append(f"{f.path}: on disk but not referenced by the project")
            continue
        for role in ("app", "tests"):
            for kind in ("sources", "resources"):
                inside = f.path in built.get((role, kind), set())
                wanted = f.target == role and f.phase == kind
                if wanted and not inside and (role in roles.values()):
                    problems.append(f"{f.path}: not in the {kind.capitalize()} phase of {target_names[role]}")
                elif inside and not wanted:
                    problems.append(f"{f.path}: wrongly in the {kind.capitalize()} phase of {target_names[role]}")
    for (role, kind), paths in built.items():
        for path in sorted(paths - expected_paths):
            if (ios_dir / path).exists() and path.split("/")[0] != "Pods":
                problems.append(
                    f"{path}: in the {kind.capitalize()} phase of {target_names[role]} but not part of the project folders"
                )

    # Build settings
    for tid, role in roles.items():
        list_id = targets[tid].get("buildConfigurationList")
        for config_id in objects.get(list_id, {}).get("buildConfigurations", []):
            config = objects.get(config_id, {})
            settings = config.get("buildSettings", {})
            where = f"{target_names[role]} ({config.get('name', '?')})"
            bundle = settings.get("PRODUCT_BUNDLE_IDENTIFIER")
            if bundle is None:
                problems.append(f"{where}: no PRODUCT_BUNDLE_IDENTIFIER")
            elif "$(" not in bundle:
                try:
                    validate_bundle_id(bundle)
                except UsageError as exc:
                    problems.append(f"{where}: {exc}")
            for key in ("INFOPLIST_FILE", "SWIFT_OBJC_BRIDGING_HEADER"):
                value = settings.get(key)
                if value and "$(" not in value and not (ios_dir / value).is_file():
                    problems.append(f"{where}: {key} {value} does not exist")
            if role == "app" and settings.get("GENERATE_INFOPLIST_FILE") != "YES" and not settings.get("INFOPLIST_FILE"):
                problems.append(f"{where}: neither INFOPLIST_FILE nor GENERATE_INFOPLIST_FILE")
            if role == "tests":
                host = settings.get("TEST_HOST", "")
                if f"/{product}.app/" not in host:
                    problems.append(f"{where}: TEST_HOST does not point into {product}.app")
                if settings.get("BUNDLE_LOADER") != "$(TEST_HOST)":
                    problems.append(f"{where}: BUNDLE_LOADER is not $(TEST_HOST)")

    problems += _scheme_problems(project_dir, objects, app_id, tests_id, product)
    return problems


def app_cxx_standard(ios_dir: Path) -> tuple[str | None, list[str]]:
    """The C++ standard (CLANG_CXX_LANGUAGE_STANDARD, e.g. "c++17") the app target's own build
    configurations set, and the problems that make it unreliable: a configuration that leaves it
    to the project level (where the LibTorch-Lite pod's c++14 wins), or configurations that
    disagree. Returns (None, problems) when there is no single value."""
    ios_dir = Path(ios_dir)
    projects = sorted(p for p in ios_dir.glob("*.xcodeproj") if p.is_dir())
    if len(projects) != 1:
        return None, [f"expected one .xcodeproj in {ios_dir}, found {len(projects)}"]
    try:
        data = parse_pbxproj((projects[0] / "project.pbxproj").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, PbxprojError) as exc:
        return None, [f"{projects[0].name}/project.pbxproj: {exc}"]
    objects = data.get("objects", {})
    apps = [o for o in objects.values()
            if isinstance(o, dict) and o.get("isa") == "PBXNativeTarget" and o.get("productType") == APP_PRODUCT_TYPE]
    if len(apps) != 1:
        return None, [f"expected one application target, found {len(apps)}"]
    configs = [objects.get(c, {}) for c in objects.get(apps[0].get("buildConfigurationList"), {}).get("buildConfigurations", [])]
    if not configs:
        return None, [f"{apps[0].get('name')}: no build configurations"]
    values: dict[str, str | None] = {}
    for config in configs:
        value = config.get("buildSettings", {}).get("CLANG_CXX_LANGUAGE_STANDARD")
        values[str(config.get("name", "?"))] = value if isinstance(value, str) else None
    unset = [name for name, value in values.items() if value is None]
    if unset:
        return None, [f"{apps[0].get('name')} ({', '.join(unset)}): CLANG_CXX_LANGUAGE_STANDARD not set on the target, "
                      "so the LibTorch-Lite pod's c++14 applies"]
    distinct = sorted(set(values.values()))
    if len(distinct) != 1:
        return None, [f"{apps[0].get('name')}: CLANG_CXX_LANGUAGE_STANDARD differs between configurations: "
                      + ", ".join(f"{k}={v}" for k, v in sorted(values.items()))]
    return distinct[0], []


def referenced_paths(ios_dir: Path) -> list[str]:
    """Paths (relative to ios/) of every file the project references, for reports and tests."""
    ios_dir = Path(ios_dir)
    project = next(iter(sorted(ios_dir.glob("*.xcodeproj"))))
    data = parse_pbxproj((project / "project.pbxproj").read_text(encoding="utf-8"))
    objects = data["objects"]
    resolved = _resolve_paths(objects, objects[data["rootObject"]]["mainGroup"], [])
    return sorted(p for oid, p in resolved.items() if p is not None and objects[oid]["isa"] == "PBXFileReference")

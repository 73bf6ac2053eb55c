"""Reading generated Xcode projects back: a parser for the old-style plist format of
project.pbxproj and the checks `scaffold check` runs on the result (pbxproj.py writes them).

The parser is deliberately independent of the writer, so a writer bug cannot hide itself by
being read back with the same mistake.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath
from typing import Any

from generator.errors import UsageError
from generator.pbxproj import (APP_PRODUCT_TYPE, TEST_PRODUCT_TYPE, SwiftPackage, scan_ios_dir,
                               validate_bundle_id, validate_product_name)


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


# --------------------------------------------------------------------------------------------
# Checking


_REFERENCE_KEYS = {
    "baseConfigurationReference", "buildConfigurationList", "buildConfigurations", "buildPhases", "children", "containerPortal",
    "dependencies", "fileRef", "files", "mainGroup", "package", "packageProductDependencies",
    "packageReferences", "productRef", "productRefGroup", "productReference",
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


def _version_tuple(text: str) -> tuple[int, ...] | None:
    parts = text.split(".")
    if not all(p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts) + (0,) * (3 - len(parts))  # "17" == "17.0"


def _target_configs(objects: dict[str, Any], target: dict[str, Any]) -> list[dict[str, Any]]:
    configs = objects.get(target.get("buildConfigurationList"), {}).get("buildConfigurations", [])
    return [objects.get(c, {}) for c in configs]


def check_swift_package(ios_dir: Path, package: SwiftPackage, min_deployment_target: str) -> list[str]:
    """Problems with how the project links `package`, one line each: the remote reference's URL
    and branch, the app target's product dependencies and their Frameworks build files, -all_load
    on the app target (backends register themselves from static initializers the linker would
    otherwise drop), and every target's deployment target against the package's minimum."""
    ios_dir = Path(ios_dir)
    projects = sorted(p for p in ios_dir.glob("*.xcodeproj") if p.is_dir())
    if len(projects) != 1:
        return [f"expected one .xcodeproj in {ios_dir}, found {len(projects)}"]
    try:
        data = parse_pbxproj((projects[0] / "project.pbxproj").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, PbxprojError) as exc:
        return [f"{projects[0].name}/project.pbxproj: {exc}"]
    objects = data.get("objects", {})
    root = objects.get(data.get("rootObject", ""), {})
    problems: list[str] = []

    refs = [r for r in root.get("packageReferences", [])
            if objects.get(r, {}).get("isa") == "XCRemoteSwiftPackageReference"
            and objects[r].get("repositoryURL") == package.url]
    if len(refs) != 1:
        return [f"the project has {len(refs)} package references to {package.url}, expected one"]
    requirement = objects[refs[0]].get("requirement", {})
    if requirement.get("kind") != "branch" or requirement.get("branch") != package.branch:
        problems.append(f"package {package.url} is not pinned to branch {package.branch} "
                        f"(found {requirement.get('kind')} {requirement.get('branch') or requirement.get('version')})")

    apps = [o for o in objects.values()
            if isinstance(o, dict) and o.get("isa") == "PBXNativeTarget" and o.get("productType") == APP_PRODUCT_TYPE]
    if len(apps) != 1:
        return problems + [f"expected one application target, found {len(apps)}"]
    app = apps[0]
    linked = {objects.get(d, {}).get("productName"): objects.get(d, {}).get("package")
              for d in app.get("packageProductDependencies", [])}
    in_frameworks = set()
    for phase_id in app.get("buildPhases", []):
        phase = objects.get(phase_id, {})
        if phase.get("isa") == "PBXFrameworksBuildPhase":
            for build_file in phase.get("files", []):
                product_ref = objects.get(build_file, {}).get("productRef")
                in_frameworks.add(objects.get(product_ref, {}).get("productName"))
    for product in package.products:
        if product not in linked:
            problems.append(f"{app.get('name')}: does not depend on package product {product}")
        elif linked[product] != refs[0]:
            problems.append(f"{app.get('name')}: product {product} does not come from {package.url}")
        if product not in in_frameworks:
            problems.append(f"{app.get('name')}: {product} is not in the Frameworks phase")

    for target in (objects.get(t, {}) for t in root.get("targets", [])):
        if target is not app and any(objects.get(d, {}).get("package") == refs[0]
                                     for d in target.get("packageProductDependencies", [])):
            # The hosted tests run inside the app: a second copy of the static runtime in the
            # test bundle would register backends and kernels twice.
            problems.append(f"{target.get('name')}: links the package too; only the app target should")

    minimum = _version_tuple(min_deployment_target)
    for config in _target_configs(objects, app):
        settings = config.get("buildSettings", {})
        where = f"{app.get('name')} ({config.get('name', '?')})"
        flags = settings.get("OTHER_LDFLAGS", [])
        flags = flags.split() if isinstance(flags, str) else flags
        if package.force_load and "-all_load" not in flags:
            problems.append(f"{where}: OTHER_LDFLAGS lacks -all_load, so the backends are stripped "
                            "(\"backend not registered\" at run time)")
    targets = [objects.get(t, {}) for t in root.get("targets", [])]
    owners = [(f"project {root.get('name', '')}".strip(), objects.get(root.get("buildConfigurationList"), {}))]
    owners += [(t.get("name", "?"), objects.get(t.get("buildConfigurationList"), {})) for t in targets]
    for name, config_list in owners:
        for config_id in config_list.get("buildConfigurations", []):
            config = objects.get(config_id, {})
            value = config.get("buildSettings", {}).get("IPHONEOS_DEPLOYMENT_TARGET")
            if value is None:
                continue
            found = _version_tuple(value) if isinstance(value, str) else None
            if found is None or minimum is None or found < minimum:
                problems.append(f"{name} ({config.get('name', '?')}): IPHONEOS_DEPLOYMENT_TARGET {value} "
                                f"is below {min_deployment_target}, which the package requires")
    return problems


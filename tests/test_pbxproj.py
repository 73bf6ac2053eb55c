"""The iOS templates and the Xcode project generated from them: Swift parses, Info.plist parses,
project.pbxproj round-trips through a real parser and references every file in the right phase
of the right target, and output is deterministic."""

from __future__ import annotations

import plistlib
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jinja2
import pytest
import yaml

from generator import names, pbxparse, pbxproj, render, syntax, versions
from generator.errors import UsageError

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
TASKS = ("image-to-image", "classification", "segmentation", "tensor", "detection")
PRODUCT = "Zebraify"
HOSTILE_APP_NAME = 'Zebra "\\(x)" & <b>]]> \u00e9\U0001F993'


# ------------------------------------------------------------------------------------------
# Local rendering (the lead's render.py can replace this helper)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), keep_trailing_newline=True, trim_blocks=True,
        lstrip_blocks=True, undefined=jinja2.StrictUndefined, autoescape=False,
    )
    env.filters.update(xml=names.xml_escape, plist=names.xml_escape, swift_str=names.swift_string,
                       java_str=names.java_string, pbx_str=names.pbx_string)
    return env


def make_context(task: str = "image-to-image", app_name: str = "Zebraify", product: str = PRODUCT) -> dict:
    classes = {"classification": 3, "segmentation": 3, "detection": 3}.get(task, 0)
    shape = {"classification": [1, 3], "tensor": [1, 8, 8], "detection": [1, 16, 8]}.get(task, [1, 3, 8, 8])
    detection = {"layout": "yolo", "box_units": "pixels", "scores": "probabilities", "score_threshold": 0.25,
                 "iou_threshold": 0.45, "max_detections": 100} if task == "detection" else None
    return {
        "name": "zebraify", "app_name": app_name, "package": "com.example.zebra_ify",
        "package_path": "com/example/zebra_ify", "product_name": product, "bundle_id": "com.example.zebra-ify",
        "task": task, "input_width": 8, "input_height": 8, "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225], "output_mean": [0.5] * 3, "output_std": [0.5] * 3,
        "output_shape": shape, "num_classes": classes, "labels": ['a "label"', "b", "c"][:classes],
        "palette": [[255, 0, 0], [0, 255, 0], [0, 0, 255]][:classes], "tolerance": 1e-4, "rtol": 1e-5,
        "model_file": "model.ptl", "metadata_key": "scaffold.json", "sample_file": "sample.png",
        "expected_file": "expected_output.bin", "use_vulkan_default": False, "android_api": "java",
        "platforms": ["android", "ios"], "v": versions, "generator_version": "0.0.0",
        "jni_prefix": "Java_com_example_zebra_1ify_NativeCore",
        "input_channels": 3, "detection": detection, "metadata_format": 2,
        "runtime": "lite", "backends": [], "vulkan_model_file": None, "coreml_model_file": None,
        "metadata_method": "scaffold_metadata", "input_shape": None, "input_dtype": None, "tolerance_reason": "",
    }


def render_ios(out: Path, context: dict) -> Path:
    """The iOS templates (common tree, the runtime's tree, the shared core) plus stand-in
    artifacts, as the generator lays them out."""
    render.write_files(out, render.render_platform("ios", context))
    product = context["product_name"]
    for rel in (f"{product}/Resources/{context['model_file']}", f"{product}/Resources/sample.png",
                f"{product}Tests/Resources/expected_output.bin"):
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(b"stand-in")
    return out


def generate(out: Path, context: dict) -> Path:
    render_ios(out, context)
    pbxproj.write_xcode_project(out, product_name=context["product_name"], bundle_id=context["bundle_id"],
                                deployment_target=versions.IOS_DEPLOYMENT_TARGET, swift_version=versions.SWIFT_VERSION)
    return out


@pytest.fixture
def ios_dir(tmp_path) -> Path:
    return generate(tmp_path / "ios", make_context())


def load(ios_dir: Path, product: str = PRODUCT) -> dict:
    return pbxparse.parse_pbxproj((ios_dir / f"{product}.xcodeproj" / "project.pbxproj").read_text("utf-8"))


def phase_paths(ios_dir: Path, target_name: str, isa: str) -> set[str]:
    data = load(ios_dir)
    objects = data["objects"]
    resolved = {path: oid for oid, path in zip(*_resolved(ios_dir))}
    by_id = {v: k for k, v in resolved.items()}
    target = next(o for o in objects.values() if o["isa"] == "PBXNativeTarget" and o["name"] == target_name)
    paths = set()
    for phase_id in target["buildPhases"]:
        if objects[phase_id]["isa"] == isa:
            paths |= {by_id[objects[f]["fileRef"]] for f in objects[phase_id]["files"]}
    return paths


def _resolved(ios_dir: Path) -> tuple[list[str], list[str]]:
    data = load(ios_dir)
    resolved = pbxparse._resolve_paths(data["objects"], data["objects"][data["rootObject"]]["mainGroup"], [])
    pairs = [(oid, p) for oid, p in resolved.items() if p is not None and data["objects"][oid]["isa"] == "PBXFileReference"]
    return [oid for oid, _ in pairs], [p for _, p in pairs]


# ------------------------------------------------------------------------------------------
# Templates


@pytest.mark.parametrize("task", TASKS)
def test_swift_parses_for_every_task(tmp_path, task):
    out = render_ios(tmp_path / "ios", make_context(task, app_name=HOSTILE_APP_NAME))
    swift = sorted(out.rglob("*.swift"))
    assert {p.name for p in swift} == {"ZebraifyApp.swift", "ContentView.swift", "Inference.swift", "InferenceTests.swift"}
    for path in swift:
        source = path.read_bytes()
        assert syntax.syntax_errors("swift", source) == [], path.name
        assert b"{{" not in source and b"{%" not in source
    inference = (out / PRODUCT / "Inference.swift").read_text()
    assert f'static let task = "{task}"' in inference
    # Task-specific post-processing is rendered for this task only.
    assert ("let picture: UIImage?" in inference) == (task == "image-to-image")
    assert ("let top: [Score]" in inference) == (task == "classification")
    assert ("let mask: UIImage?" in inference) == (task == "segmentation")


def test_swift_check_catches_broken_source():
    # Negative control for the check above: tree-sitter-swift does report errors.
    assert syntax.syntax_errors("swift", b"struct A { func f( { }\n") != []


def test_info_plist_parses_with_escaped_user_strings(tmp_path):
    out = render_ios(tmp_path / "ios", make_context(app_name=HOSTILE_APP_NAME))
    info = plistlib.loads((out / PRODUCT / "Info.plist").read_bytes())
    assert info["CFBundleDisplayName"] == HOSTILE_APP_NAME
    assert info["CFBundleIdentifier"] == "$(PRODUCT_BUNDLE_IDENTIFIER)"
    assert info["CFBundleExecutable"] == "$(EXECUTABLE_NAME)"
    assert HOSTILE_APP_NAME in info["NSCameraUsageDescription"]
    assert info["NSPhotoLibraryUsageDescription"]
    swift = (out / PRODUCT / "ContentView.swift").read_text()
    assert names.swift_string(HOSTILE_APP_NAME) in swift


def test_bridge_and_tests_agree(tmp_path):
    out = render_ios(tmp_path / "ios", make_context())
    header = (out / PRODUCT / "TorchModule.h").read_text() + (out / PRODUCT / "ImageCore.h").read_text()
    bridge = (out / PRODUCT / "TorchModule.mm").read_text() + (out / PRODUCT / "ImageCore.mm").read_text()
    bridging = (out / PRODUCT / f"{PRODUCT}-Bridging-Header.h").read_text()
    tests = (out / f"{PRODUCT}Tests" / "InferenceTests.swift").read_text()
    assert '#import "TorchModule.h"' in bridging and '#import "ImageCore.h"' in bridging
    assert bridge.count('#include "Core/inference_core.h"') == 2
    assert "#include" not in header.replace("#import <Foundation/Foundation.h>", "")  # Swift cannot read C++
    assert f"@testable import {PRODUCT}" in tests
    assert '"expected_output.bin"' in tests and "Bundle(for: InferenceTests.self)" in tests
    assert "(0.0001 + 1e-05 * abs(Double(wanted)))" in tests and "XCTAssertLessThanOrEqual(worst, 0," in tests
    # Every Objective-C selector Swift calls through NS_SWIFT_NAME is implemented.
    for selector in ("initWithFileAtPath:", "runWithInput:", "tensorFromRGBA:", "rgbaFromTensor:", "softmaxOf:",
                     "topKOf:", "argmaxOf:"):
        assert selector.rstrip(":") in header and selector.rstrip(":") in bridge


def test_podfile_and_workflow(tmp_path):
    out = render_ios(tmp_path / "ios", make_context())
    podfile = (out / "Podfile").read_text()
    assert f"platform :ios, '{versions.IOS_DEPLOYMENT_TARGET}'" in podfile
    assert f"pod 'LibTorch-Lite', '~> {versions.LIBTORCH_LITE_POD}'" in podfile
    assert f"pod 'LibTorch-Lite-Nightly', '{versions.LIBTORCH_LITE_NIGHTLY_POD}'" in podfile
    assert f"target '{PRODUCT}Tests' do\n    # Hosted tests" in podfile and "inherit! :search_paths" in podfile
    assert "installer.pods_project.targets" in podfile and "user_project" in podfile
    assert podfile.count("= 'arm64'") == 2  # pod targets and the user project
    code = [line.split("#")[0] for line in podfile.splitlines()]
    opened = sum(len(re.findall(r"\bdo\b", line)) + len(re.findall(r"^\s*if\b", line)) for line in code)
    closed = sum(len(re.findall(r"^\s*end\b", line)) for line in code)
    assert opened == closed, "unbalanced Ruby blocks"

    env = _environment()
    workflow = env.get_template("project/.github/workflows/ios.yml.jinja").render(**make_context())
    steps = yaml.safe_load(workflow)["jobs"]["test"]["steps"]
    runs = " ".join(step.get("run", "") for step in steps)
    assert "pod install" in runs
    assert f"-workspace ios/{PRODUCT}.xcworkspace" in runs and f"-scheme {PRODUCT}" in runs
    assert f"platform=iOS Simulator,name={versions.IOS_CI_SIMULATOR}" in runs
    assert next(s for s in steps if s.get("run") == "pod install")["working-directory"] == "ios"


# ------------------------------------------------------------------------------------------
# The generated project


@pytest.mark.parametrize("task", TASKS)
def test_project_is_sound_for_every_task(tmp_path, task):
    out = generate(tmp_path / "ios", make_context(task))
    assert pbxparse.check_xcode_project(out) == []


def test_every_file_in_the_right_phase(ios_dir):
    files = {p.relative_to(ios_dir).as_posix() for p in ios_dir.rglob("*") if p.is_file()}
    files = {f for f in files if ".xcodeproj/" not in f and f not in ("Podfile", ".gitignore")}
    assert set(pbxparse.referenced_paths(ios_dir)) == files
    app_sources = phase_paths(ios_dir, PRODUCT, "PBXSourcesBuildPhase")
    app_resources = phase_paths(ios_dir, PRODUCT, "PBXResourcesBuildPhase")
    test_sources = phase_paths(ios_dir, f"{PRODUCT}Tests", "PBXSourcesBuildPhase")
    test_resources = phase_paths(ios_dir, f"{PRODUCT}Tests", "PBXResourcesBuildPhase")
    assert app_sources == {f"{PRODUCT}/{n}" for n in ("ContentView.swift", "Inference.swift", f"{PRODUCT}App.swift",
                                                     "TorchModule.mm", "ImageCore.mm", "Core/inference_core.cpp",
                                                     "Core/image_ops.cpp")}
    assert app_resources == {f"{PRODUCT}/Resources/model.ptl", f"{PRODUCT}/Resources/sample.png"}
    assert test_sources == {f"{PRODUCT}Tests/InferenceTests.swift"}
    assert test_resources == {f"{PRODUCT}Tests/Resources/expected_output.bin"}
    in_phases = app_sources | app_resources | test_sources | test_resources
    for group_only in ("Info.plist", "TorchModule.h", "ImageCore.h", f"{PRODUCT}-Bridging-Header.h", "Core/inference_core.h",
                       "Core/image_ops.h"):
        assert f"{PRODUCT}/{group_only}" not in in_phases


def test_build_settings(ios_dir):
    objects = load(ios_dir)["objects"]
    configs = {}
    for target in (o for o in objects.values() if o["isa"] == "PBXNativeTarget"):
        for config_id in objects[target["buildConfigurationList"]]["buildConfigurations"]:
            configs[(target["name"], objects[config_id]["name"])] = objects[config_id]["buildSettings"]
    assert set(configs) == {(PRODUCT, "Debug"), (PRODUCT, "Release"), (f"{PRODUCT}Tests", "Debug"), (f"{PRODUCT}Tests", "Release")}
    app, tests = configs[(PRODUCT, "Debug")], configs[(f"{PRODUCT}Tests", "Release")]
    assert app["PRODUCT_BUNDLE_IDENTIFIER"] == "com.example.zebra-ify"
    assert app["INFOPLIST_FILE"] == f"{PRODUCT}/Info.plist"
    assert app["SWIFT_OBJC_BRIDGING_HEADER"] == tests["SWIFT_OBJC_BRIDGING_HEADER"] == f"{PRODUCT}/{PRODUCT}-Bridging-Header.h"
    assert app["IPHONEOS_DEPLOYMENT_TARGET"] == versions.IOS_DEPLOYMENT_TARGET
    assert app["SWIFT_VERSION"] == versions.SWIFT_VERSION
    assert '"$(PODS_ROOT)/LibTorch-Lite/install/include"' in app["HEADER_SEARCH_PATHS"]
    assert tests["TEST_HOST"] == f"$(BUILT_PRODUCTS_DIR)/{PRODUCT}.app/$(BUNDLE_EXECUTABLE_FOLDER_PATH)/{PRODUCT}"
    assert tests["BUNDLE_LOADER"] == "$(TEST_HOST)"
    assert tests["GENERATE_INFOPLIST_FILE"] == "YES"
    project_configs = [objects[c]["buildSettings"] for c in
                       objects[objects[load(ios_dir)["rootObject"]]["buildConfigurationList"]]["buildConfigurations"]]
    assert all(c["CLANG_CXX_LANGUAGE_STANDARD"] == "c++17" for c in project_configs)


def test_scheme_runs_the_tests(ios_dir):
    objects = load(ios_dir)["objects"]
    targets = {o["name"]: oid for oid, o in objects.items() if o["isa"] == "PBXNativeTarget"}
    scheme = ET.parse(ios_dir / f"{PRODUCT}.xcodeproj/xcshareddata/xcschemes/{PRODUCT}.xcscheme").getroot()
    testables = [r.get("BlueprintIdentifier") for t in scheme.iter("TestableReference") for r in t.iter("BuildableReference")]
    assert testables == [targets[f"{PRODUCT}Tests"]]
    built = {r.get("BlueprintIdentifier") for r in scheme.iter("BuildableReference")}
    assert built == {targets[PRODUCT], targets[f"{PRODUCT}Tests"]}
    assert {r.get("ReferencedContainer") for r in scheme.iter("BuildableReference")} == {f"container:{PRODUCT}.xcodeproj"}


def test_output_is_deterministic(tmp_path):
    first = generate(tmp_path / "a" / "ios", make_context())
    second = generate(tmp_path / "b" / "ios", make_context())
    for rel in (f"{PRODUCT}.xcodeproj/project.pbxproj", f"{PRODUCT}.xcodeproj/xcshareddata/xcschemes/{PRODUCT}.xcscheme"):
        assert (first / rel).read_bytes() == (second / rel).read_bytes()
    text = (first / f"{PRODUCT}.xcodeproj/project.pbxproj").read_text()
    ids = list(load(first)["objects"])
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[0-9A-F]{24}", i) for i in ids)
    # Writing again over an existing project gives the same bytes (no state carried over).
    pbxproj.write_xcode_project(first, product_name=PRODUCT, bundle_id="com.example.zebra-ify",
                                deployment_target=versions.IOS_DEPLOYMENT_TARGET, swift_version=versions.SWIFT_VERSION)
    assert (first / f"{PRODUCT}.xcodeproj/project.pbxproj").read_text() == text


def test_round_trip_through_the_parser(ios_dir):
    objects, root_id, comments, _ = pbxproj.build_project(
        ios_dir, product_name=PRODUCT, bundle_id="com.example.zebra-ify",
        deployment_target=versions.IOS_DEPLOYMENT_TARGET, swift_version=versions.SWIFT_VERSION)
    parsed = load(ios_dir)
    assert parsed["rootObject"] == root_id
    assert parsed["objectVersion"] == pbxproj.OBJECT_VERSION
    assert parsed["objects"] == objects
    again = pbxproj.serialize_pbxproj(parsed["objects"], parsed["rootObject"], comments)
    assert again == (ios_dir / f"{PRODUCT}.xcodeproj/project.pbxproj").read_text()


# ------------------------------------------------------------------------------------------
# The checker


def test_unreferenced_and_missing_files_are_reported(ios_dir):
    (ios_dir / PRODUCT / "Extra.swift").write_text("struct Extra {}\n")
    (ios_dir / PRODUCT / "Resources" / "labels.json").write_text("[]\n")
    (ios_dir / PRODUCT / "Resources" / "sample.png").unlink()
    problems = pbxparse.check_xcode_project(ios_dir)
    assert f"{PRODUCT}/Extra.swift: on disk but not referenced by the project" in problems
    assert f"{PRODUCT}/Resources/labels.json: on disk but not referenced by the project" in problems
    assert f"{PRODUCT}/Resources/sample.png: referenced by the project but missing on disk" in problems
    assert len(problems) == 3
    # Regenerating picks the new files up.
    pbxproj.write_xcode_project(ios_dir, product_name=PRODUCT, bundle_id="com.example.zebra-ify",
                                deployment_target="16.0", swift_version="5.0")
    assert pbxparse.check_xcode_project(ios_dir) == []
    assert f"{PRODUCT}/Resources/labels.json" in phase_paths(ios_dir, PRODUCT, "PBXResourcesBuildPhase")


def test_wrong_phase_and_target_are_reported(ios_dir):
    path = ios_dir / f"{PRODUCT}.xcodeproj" / "project.pbxproj"
    objects, root_id, comments, _ = pbxproj.build_project(
        ios_dir, product_name=PRODUCT, bundle_id="com.example.zebra-ify", deployment_target="16.0", swift_version="5.0")
    phases = {o["isa"] + ":" + k: o for k, o in objects.items() if o["isa"].endswith("BuildPhase")}
    by_name = {comments.get(oid, ""): oid for oid in objects}
    model_build = by_name["model.ptl in Resources"]
    test_build = by_name["InferenceTests.swift in Sources"]
    for phase in phases.values():
        if model_build in phase["files"]:
            phase["files"].remove(model_build)
    app_sources = next(o for k, o in objects.items() if k == pbxproj.object_id("PBXSourcesBuildPhase", "app:sources"))
    app_sources["files"].append(test_build)  # the test file also compiled into the app
    path.write_text(pbxproj.serialize_pbxproj(objects, root_id, comments))
    problems = pbxparse.check_xcode_project(ios_dir)
    assert f"{PRODUCT}/Resources/model.ptl: not in the Resources phase of {PRODUCT}" in problems
    assert f"{PRODUCT}Tests/InferenceTests.swift: wrongly in the Sources phase of {PRODUCT}" in problems


def test_parse_errors_and_bad_settings_are_reported(ios_dir):
    path = ios_dir / f"{PRODUCT}.xcodeproj" / "project.pbxproj"
    text = path.read_text()
    path.write_text(text.replace("com.example.zebra-ify;", "com..zebra;", 1))
    assert any("bundle identifier 'com..zebra' is invalid" in p for p in pbxparse.check_xcode_project(ios_dir))
    path.write_text(text.replace("isa = PBXProject;", "isa = PBXProject", 1))
    [problem] = pbxparse.check_xcode_project(ios_dir)
    assert problem.startswith(f"{PRODUCT}.xcodeproj/project.pbxproj: parse error: line ")
    path.write_text(text)
    (ios_dir / f"{PRODUCT}.xcodeproj/xcshareddata/xcschemes/{PRODUCT}.xcscheme").unlink()
    assert pbxparse.check_xcode_project(ios_dir) == [
        f"{PRODUCT}.xcodeproj/xcshareddata/xcschemes/{PRODUCT}.xcscheme: missing; `xcodebuild test -scheme {PRODUCT}` needs a shared scheme"]


def test_what_pod_install_adds_is_accepted(ios_dir):
    # `pod install` rewrites the project: a Pods group of xcconfigs, a Pods framework built by
    # the Pods project, script phases and base configurations. None of that is a problem.
    objects, root_id, comments, targets = pbxproj.build_project(
        ios_dir, product_name=PRODUCT, bundle_id="com.example.zebra-ify", deployment_target="16.0", swift_version="5.0")
    xcconfig = f"Target Support Files/Pods-{PRODUCT}/Pods-{PRODUCT}.debug.xcconfig"
    (ios_dir / "Pods" / xcconfig).parent.mkdir(parents=True)
    (ios_dir / "Pods" / xcconfig).write_text("HEADER_SEARCH_PATHS = $(inherited)\n")
    objects["A" * 24] = {"isa": "PBXFileReference", "includeInIndex": "1", "lastKnownFileType": "text.xcconfig",
                         "name": "Pods-debug.xcconfig", "path": xcconfig, "sourceTree": "<group>"}
    objects["B" * 24] = {"isa": "PBXGroup", "children": ["A" * 24], "name": "Pods", "path": "Pods", "sourceTree": "<group>"}
    objects["C" * 24] = {"isa": "PBXFileReference", "explicitFileType": "wrapper.framework", "includeInIndex": "0",
                         "path": f"Pods_{PRODUCT}.framework", "sourceTree": "BUILT_PRODUCTS_DIR"}
    objects["D" * 24] = {"isa": "PBXGroup", "children": ["C" * 24], "name": "Frameworks", "sourceTree": "<group>"}
    objects["E" * 24] = {"isa": "PBXBuildFile", "fileRef": "C" * 24}
    objects["F" * 24] = {"isa": "PBXShellScriptBuildPhase", "buildActionMask": "2147483647", "files": [],
                         "name": "[CP] Check Pods Manifest.lock", "shellScript": 'diff "${PODS_ROOT}/../Podfile.lock"\n'}
    main = objects[objects[root_id]["mainGroup"]]
    main["children"] += ["B" * 24, "D" * 24]
    app = objects[targets["app"]]
    app["buildPhases"].insert(0, "F" * 24)
    frameworks = next(p for p in app["buildPhases"] if objects[p]["isa"] == "PBXFrameworksBuildPhase")
    objects[frameworks]["files"].append("E" * 24)
    for config in objects[app["buildConfigurationList"]]["buildConfigurations"]:
        objects[config]["baseConfigurationReference"] = "A" * 24
    (ios_dir / f"{PRODUCT}.xcodeproj/project.pbxproj").write_text(pbxproj.serialize_pbxproj(objects, root_id, comments))
    (ios_dir / "Podfile.lock").write_text("PODS:\n")
    (ios_dir / f"{PRODUCT}.xcworkspace").mkdir()
    assert pbxparse.check_xcode_project(ios_dir) == []


def test_hostile_file_names_are_quoted(ios_dir):
    weird = ['weird name "q".json', "back\\slash.txt", "a+b;c{d}.bin", "dépôt.png", "a*b=c.txt", "new\nline.txt"]
    for name in weird:
        (ios_dir / PRODUCT / "Resources" / name).write_bytes(b"x")
    pbxproj.write_xcode_project(ios_dir, product_name=PRODUCT, bundle_id="com.example.zebra-ify",
                                deployment_target="16.0", swift_version="5.0")
    assert pbxparse.check_xcode_project(ios_dir) == []
    resources = phase_paths(ios_dir, PRODUCT, "PBXResourcesBuildPhase")
    assert {f"{PRODUCT}/Resources/{n}" for n in weird} <= resources
    text = (ios_dir / f"{PRODUCT}.xcodeproj/project.pbxproj").read_text()
    assert 'path = "weird name \\"q\\".json";' in text
    assert 'path = "back\\\\slash.txt";' in text


# ------------------------------------------------------------------------------------------
# Parser and quoting


@pytest.mark.parametrize("value", ["plain", "", "with space", 'quote"d', "back\\slash", "new\nline", "tab\there",
                                   "//comment", "a/*b*/", "$(inherited)", "semi;colon", "{brace}", "(paren)",
                                   "équipe 🦓", "bell\x07", "-Onone", "c++17", "<group>"])
def test_quote_round_trips(value):
    quoted = pbxproj.pbx_quote(value)
    assert pbxparse.parse_pbxproj(f"{{key = {quoted}; list = ({quoted}, {quoted});}}") == {"key": value, "list": [value, value]}
    bare = bool(re.fullmatch(r"[A-Za-z0-9_$/:.-]+", value)) and "//" not in value and "/*" not in value
    assert quoted.startswith('"') != bare


def test_parser_handles_comments_and_layout():
    text = """// !$*UTF8*$!
    {
        /* a comment */ a = 1; // trailing comment
        b = ( x /* item */ , "y" , );
        c = { d = "e"; };
        "quoted key" = "\\U00e9\\t";
        empty = ( );
    }
    """
    assert pbxparse.parse_pbxproj(text) == {"a": "1", "b": ["x", "y"], "c": {"d": "e"}, "quoted key": "é\t", "empty": []}


@pytest.mark.parametrize("text, message", [
    ('{a = "open;}', "unterminated string"),
    ("{a = b}", "expected ';'"),
    ("{a = (b c);}", "expected ',' or ')'"),
    ("{a = b; a = c;}", "duplicate key"),
    ("{a = b;} trailing", "text after"),
    ("{a = /* open", "unterminated comment"),
    ("(a)", "starts with '{'"),
    ("{a = b;", "unterminated dictionary"),
])
def test_parser_errors_name_the_line(text, message):
    with pytest.raises(pbxparse.PbxprojError, match=re.escape(message)) as info:
        pbxparse.parse_pbxproj("\n" + text)
    assert str(info.value).startswith("line 2:")


# ------------------------------------------------------------------------------------------
# Names


@pytest.mark.parametrize("name, product", [("my-app 2", "MyApp2"), ("zebraify", "Zebraify"), ("zebra_ify", "ZebraIfy"),
                                           ("2fast", "App2fast"), ("myApp", "MyApp"), ("x", "X"),
                                           ("Zürich ünï", "ZurichUni")])
def test_product_name_from(name, product):
    assert pbxproj.product_name_from(name) == product


@pytest.mark.parametrize("bad", ["---", "", "SwiftUI", "swift ui", "\U0001F993"])
def test_product_name_errors(bad):
    if bad == "swift ui":
        assert pbxproj.product_name_from(bad) == "SwiftUi"  # not the framework's exact name
        with pytest.raises(UsageError):
            pbxproj.validate_product_name("SwiftUI")
        return
    with pytest.raises(UsageError) as info:
        pbxproj.product_name_from(bad)
    assert "\n" not in str(info.value)


def test_bundle_ids():
    assert pbxproj.derive_bundle_id("com.example.zebra_ify") == "com.example.zebra-ify"
    assert pbxproj.validate_bundle_id("com.example.app-2") == "com.example.app-2"
    for bad in (".com.example", "com.example.", "com..example", "com.exa mple", "com.exämple", "", "com/example"):
        with pytest.raises(UsageError) as info:
            pbxproj.validate_bundle_id(bad)
        assert "\n" not in str(info.value)
    with pytest.raises(UsageError):
        pbxproj.write_xcode_project(Path("/nonexistent"), product_name="Zebra-ify", bundle_id="com.example.x",
                                    deployment_target="16.0", swift_version="5.0")


# ------------------------------------------------------------------------------------------
# Swift package (the ExecuTorch runtime)

ET_PACKAGE = pbxproj.SwiftPackage(
    name="executorch", url=versions.EXECUTORCH_SWIFTPM_URL, branch=versions.EXECUTORCH_SWIFTPM_BRANCH,
    products=("executorch", "backend_xnnpack", "kernels_optimized", "backend_coreml"))


@pytest.fixture
def package_dir(tmp_path) -> Path:
    out = render_ios(tmp_path / "ios", make_context())
    pbxproj.write_xcode_project(out, product_name=PRODUCT, bundle_id="com.example.zebra-ify",
                                deployment_target=versions.EXECUTORCH_IOS_DEPLOYMENT_TARGET,
                                swift_version=versions.SWIFT_VERSION, package=ET_PACKAGE)
    return out


def _pbx(ios_dir: Path) -> Path:
    return ios_dir / f"{PRODUCT}.xcodeproj" / "project.pbxproj"


def test_package_project_is_sound(package_dir):
    assert pbxparse.check_xcode_project(package_dir) == []
    assert pbxparse.check_swift_package(package_dir, ET_PACKAGE, versions.EXECUTORCH_IOS_DEPLOYMENT_TARGET) == []


def test_package_objects_have_xcodes_shape(package_dir):
    text = _pbx(package_dir).read_text("utf-8")
    # The lines Xcode 15+ writes for a branch-pinned remote package and a linked product.
    assert re.search(r'/\* executorch in Frameworks \*/ = \{isa = PBXBuildFile; productRef = [0-9A-F]{24} '
                     r'/\* executorch \*/; \};', text)
    assert re.search(r'isa = XCRemoteSwiftPackageReference;\n\t+repositoryURL = "https://github.com/pytorch/'
                     r'executorch.git";\n\t+requirement = \{\n\t+branch = swiftpm-1.4.1;\n\t+kind = branch;', text)
    assert re.search(r'isa = XCSwiftPackageProductDependency;\n\t+package = [0-9A-F]{24} '
                     r'/\* XCRemoteSwiftPackageReference "executorch" \*/;\n\t+productName = backend_coreml;', text)
    data = load(package_dir)
    objects = data["objects"]
    app = next(o for o in objects.values() if o.get("productType") == pbxproj.APP_PRODUCT_TYPE)
    assert [objects[d]["productName"] for d in app["packageProductDependencies"]] == list(ET_PACKAGE.products)
    for config in (objects[c] for c in objects[app["buildConfigurationList"]]["buildConfigurations"]):
        assert config["buildSettings"]["OTHER_LDFLAGS"] == ["$(inherited)", "-all_load"]
        assert config["buildSettings"]["IPHONEOS_DEPLOYMENT_TARGET"] == "17.0"
        assert "HEADER_SEARCH_PATHS" not in config["buildSettings"]  # no Pods
    tests = next(o for o in objects.values() if o.get("productType") == pbxproj.TEST_PRODUCT_TYPE)
    assert "packageProductDependencies" not in tests  # linked once, into the app the tests run in


def test_package_project_is_reproducible(package_dir, tmp_path):
    first = _pbx(package_dir).read_bytes()
    pbxproj.write_xcode_project(package_dir, product_name=PRODUCT, bundle_id="com.example.zebra-ify",
                                deployment_target=versions.EXECUTORCH_IOS_DEPLOYMENT_TARGET,
                                swift_version=versions.SWIFT_VERSION, package=ET_PACKAGE)
    assert _pbx(package_dir).read_bytes() == first


@pytest.mark.parametrize("old, new, problem", [
    ("branch = swiftpm-1.4.1;", "branch = swiftpm-1.3.0;", "not pinned to branch swiftpm-1.4.1"),
    ("\t-all_load,\n", "\n", "lacks -all_load"),
    ("IPHONEOS_DEPLOYMENT_TARGET = 17.0;", "IPHONEOS_DEPLOYMENT_TARGET = 16.0;", "below 17.0"),
    ("productName = backend_coreml;", "productName = backend_mps;", "does not depend on package product backend_coreml"),
    ('repositoryURL = "https://github.com/pytorch/executorch.git";',
     'repositoryURL = "https://github.com/example/executorch.git";', "0 package references"),
])
def test_broken_package_project_is_reported(package_dir, old, new, problem):
    path = _pbx(package_dir)
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new), "utf-8")
    problems = pbxparse.check_swift_package(package_dir, ET_PACKAGE, versions.EXECUTORCH_IOS_DEPLOYMENT_TARGET)
    assert any(problem in p for p in problems), problems


def test_product_missing_from_frameworks_phase_is_reported(package_dir):
    path = _pbx(package_dir)
    lines = path.read_text("utf-8").split("\n")
    # Drop the xnnpack build file from the Frameworks phase's list (not the object itself).
    kept = [line for line in lines if not (line.startswith("\t\t\t\t") and "backend_xnnpack in Frameworks" in line)]
    assert len(kept) == len(lines) - 1
    path.write_text("\n".join(kept), "utf-8")
    problems = pbxparse.check_swift_package(package_dir, ET_PACKAGE, versions.EXECUTORCH_IOS_DEPLOYMENT_TARGET)
    assert problems == ["Zebraify: backend_xnnpack is not in the Frameworks phase"]


def test_dangling_product_reference_is_reported(package_dir):
    path = _pbx(package_dir)
    data = load(package_dir)
    dep = next(i for i, o in data["objects"].items() if o.get("productName") == "kernels_optimized")
    text = path.read_text("utf-8")
    path.write_text(text.replace(f"\t\t{dep} /* kernels_optimized */ = {{", "\t\tX_UNUSED = {"), "utf-8")
    assert any(f"refers to missing object {dep} (productRef)" in p for p in pbxparse.check_xcode_project(package_dir))


def test_package_linked_into_the_test_bundle_is_reported(package_dir):
    path = _pbx(package_dir)
    text = path.read_text("utf-8")
    data = load(package_dir)
    dep = next(i for i, o in data["objects"].items() if o.get("productName") == "executorch")
    marker = "\t\t\tproductType = com.apple.product-type.bundle.unit-test;"
    assert text.count(marker) == 1
    path.write_text(text.replace(marker, f"\t\t\tpackageProductDependencies = ({dep}, );\n{marker}"), "utf-8")
    problems = pbxparse.check_swift_package(package_dir, ET_PACKAGE, versions.EXECUTORCH_IOS_DEPLOYMENT_TARGET)
    assert problems == ["ZebraifyTests: links the package too; only the app target should"]

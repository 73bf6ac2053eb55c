"""generator/ios.py for the ExecuTorch runtime: the rendered app, its Xcode project and the
`scaffold check` rows that guard them. Swift cannot be compiled here; these tests hold the
project to what Xcode and the ExecuTorch Swift package need, and parse every Swift file."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import context as ctx, ios, pbxparse, pbxproj, render, syntax, versions
from generator.checks import FAIL, PASS, CheckReport
from generator.metadata import describe

PRODUCT = "ZebraIfy"
TASKS = {
    "classification": dict(output_shape=(1, 3), output_range=None, labels=("a", "b", "c")),
    "image-to-image": dict(output_shape=(1, 3, 8, 8), output_range=(-1.0, 1.0), labels=None),
    "segmentation": dict(output_shape=(1, 4, 8, 8), output_range=None, labels=None),
    "detection": dict(output_shape=(1, 16, 7), output_range=None, labels=("circle", "square")),
    "tensor": dict(output_shape=(1, 8, 8), output_range=None, labels=None),
}


def et_context(task: str = "classification", backends: tuple[str, ...] = ("xnnpack", "coreml"),
               runtime: str = "executorch", channels: int = 3) -> dict:
    meta = describe(task=task, input_size=(8, 8), mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
                    input_channels=channels, **TASKS[task])
    config = ctx.ProjectConfig("zebra-ify", "Zebra Ify", "com.example.zebra_ify", PRODUCT, "com.example.zebra-ify",
                               ("ios",), "java", runtime=runtime, backends=backends if runtime == "executorch" else ())
    return ctx.build(config, meta)


def generate(project: Path, context: dict) -> Path:
    artifacts = render.Artifacts(model=b"stand-in model", sample_png=b"stand-in png", expected=b"", vectors={})
    ios.generate(project, context, artifacts)
    root = ios.output_dir(project)
    if context["coreml_model_file"]:  # placed by the wiring (render.Artifacts) once it knows the kind
        (root / PRODUCT / "Resources" / context["coreml_model_file"]).write_bytes(b"stand-in")
    pbxproj.write_xcode_project(root, product_name=PRODUCT, bundle_id=context["bundle_id"],
                                deployment_target=ios.deployment_target(context),
                                swift_version=versions.SWIFT_VERSION, package=ios.swift_package(context))
    return root


def ios_rows(project: Path, context: dict) -> dict[str, tuple[str, str]]:
    report = CheckReport()
    ios.check(project, context, report, run_native=False)
    return {c.name: (c.status, c.detail) for c in report.checks if c.scope == "ios"}


@pytest.fixture(scope="module")
def coreml_project(tmp_path_factory) -> tuple[Path, dict]:
    project = tmp_path_factory.mktemp("et-coreml")
    context = et_context()
    generate(project, context)
    return project, context


PACKAGE_ROW = f"ExecuTorch Swift package {versions.EXECUTORCH_SWIFTPM_BRANCH} linked with what the backends need"


def test_executorch_project_passes_every_ios_row(coreml_project):
    project, context = coreml_project
    rows = ios_rows(project, context)
    assert rows[PACKAGE_ROW][0] == PASS
    failed = {name: row for name, row in rows.items() if row[0] == FAIL}
    assert not failed, failed


def test_executorch_project_has_no_pods_and_no_libtorch(coreml_project):
    project, _ = coreml_project
    root = ios.output_dir(project)
    files = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert "Podfile" not in files
    assert not any("TorchModule" in f for f in files)
    assert {f"{PRODUCT}/ImageCore.h", f"{PRODUCT}/ImageCore.mm", f"{PRODUCT}/{PRODUCT}-Bridging-Header.h"} <= files
    assert b"LibTorch" not in (root / f"{PRODUCT}.xcodeproj" / "project.pbxproj").read_bytes()


def test_products_follow_the_backends(tmp_path):
    with_coreml = ios.swift_package(et_context(backends=("xnnpack", "coreml")))
    without = ios.swift_package(et_context(backends=("xnnpack",)))
    assert with_coreml.products == ("executorch", "backend_xnnpack", "kernels_optimized", "backend_coreml")
    assert without.products == ("executorch", "backend_xnnpack", "kernels_optimized")
    assert with_coreml.branch == versions.EXECUTORCH_SWIFTPM_BRANCH and with_coreml.url == versions.EXECUTORCH_SWIFTPM_URL
    assert ios.swift_package(et_context(runtime="lite")) is None
    assert ios.deployment_target(et_context()) == versions.EXECUTORCH_IOS_DEPLOYMENT_TARGET
    assert ios.deployment_target(et_context(runtime="lite")) == versions.IOS_DEPLOYMENT_TARGET


def test_swift_calls_executorch_directly(coreml_project):
    project, _ = coreml_project
    source = (ios.output_dir(project) / PRODUCT / "Inference.swift").read_text()
    # The ExecuTorch Swift API at v1.4.1 (extension/apple/ExecuTorch/Exported/*.swift, *.h).
    for call in ("import ExecuTorch", "Module(filePath: modelURL.path)", 'try module.load("forward")',
                 "try module.execute(ModelSpec.metadataMethod).first?.string", "Tensor<Float>(input.floats(),",
                 "try module.forward(tensor)", "let tensor: Tensor<Float> = value.tensor()", "tensor.scalars()",
                 'static let metadataMethod = "scaffold_metadata"', 'static let coreMLModelFile = "model_coreml.pte"'):
        assert call in source, call
    assert "TorchModule" not in source
    view = (ios.output_dir(project) / PRODUCT / "ContentView.swift").read_text()
    assert "Toggle(" in view and "$model.useCoreML" in view


def test_no_coreml_switch_without_the_backend(tmp_path):
    context = et_context(backends=("xnnpack",))
    root = generate(tmp_path, context)
    assert "Toggle(" not in (root / PRODUCT / "ContentView.swift").read_text()
    source = (root / PRODUCT / "Inference.swift").read_text()
    assert "coreML" not in source and "static func bundled() throws" in source
    assert "backend_coreml" not in (root / f"{PRODUCT}.xcodeproj" / "project.pbxproj").read_text()
    assert all(row[0] != FAIL for row in ios_rows(tmp_path, context).values())


@pytest.mark.parametrize("task, channels", [(t, 3) for t in TASKS] + [("image-to-image", 1)])
def test_every_task_renders_swift_that_parses(tmp_path, task, channels):
    context = et_context(task=task, channels=channels)
    files = render.render_platform("ios", context)
    swift = [f for f in files if f.path.endswith(".swift")]
    assert len(swift) == 4  # app, ContentView, Inference, InferenceTests
    for f in swift:
        assert syntax.syntax_errors("swift", f.data) == [], f.path


@pytest.mark.parametrize("old, new, problem", [
    ("\t-all_load,\n", "\n", "lacks -all_load"),
    ("IPHONEOS_DEPLOYMENT_TARGET = 17.0;", "IPHONEOS_DEPLOYMENT_TARGET = 16.0;", "below 17.0"),
    ("productName = backend_coreml;", "productName = backend_mps;", "backend_coreml"),
    ("branch = swiftpm-1.4.1;", "branch = main;", "not pinned to branch"),
])
def test_check_fails_on_a_broken_package_setup(tmp_path, old, new, problem):
    context = et_context()
    root = generate(tmp_path, context)
    pbx = root / f"{PRODUCT}.xcodeproj" / "project.pbxproj"
    text = pbx.read_text("utf-8")
    assert old in text
    pbx.write_text(text.replace(old, new), "utf-8")
    status, detail = ios_rows(tmp_path, context)[PACKAGE_ROW]
    assert status == FAIL and problem in detail, detail


def test_check_fails_when_a_podfile_appears(tmp_path):
    context = et_context()
    root = generate(tmp_path, context)
    (root / "Podfile").write_text("platform :ios, '17.0'\n")
    status, detail = ios_rows(tmp_path, context)[PACKAGE_ROW]
    assert status == FAIL and "Podfile" in detail


def test_check_fails_when_a_swift_file_is_left_out_of_the_project(tmp_path):
    context = et_context()
    root = generate(tmp_path, context)
    (root / PRODUCT / "Extra.swift").write_text("struct Extra {}\n")
    status, detail = ios_rows(tmp_path, context)["project.pbxproj parses and references every file"]
    assert status == FAIL and "Extra.swift" in detail


def test_lite_project_links_no_package(tmp_path):
    context = et_context(runtime="lite")
    root = generate(tmp_path, context)
    assert (root / "Podfile").is_file()
    data = pbxparse.parse_pbxproj((root / f"{PRODUCT}.xcodeproj" / "project.pbxproj").read_text("utf-8"))
    assert not any(o.get("isa") == "XCRemoteSwiftPackageReference" for o in data["objects"].values())
    assert PACKAGE_ROW not in ios_rows(tmp_path, context)


def test_executorch_workflow_resolves_packages_on_an_arm64_runner(tmp_path):
    from generator import ci
    from generator.tools import Actionlint

    context = et_context()
    render.write_files(tmp_path, render.render_platform("project", context))
    workflow = (tmp_path / ".github" / "workflows" / "ios.yml").read_text()
    assert f"runs-on: {versions.IOS_CI_RUNNER_EXECUTORCH}\n" in workflow
    assert "pod install" not in workflow and "xcworkspace" not in workflow
    resolve = workflow.index("xcodebuild -resolvePackageDependencies")
    assert resolve < workflow.index("xcodebuild test")
    assert f"-project ios/{PRODUCT}.xcodeproj" in workflow
    assert f"name={versions.IOS_CI_SIMULATOR},arch=arm64'" in workflow
    tool = Actionlint()
    assert tool.available(), "actionlint comes with the test extras"
    report = CheckReport()
    ci.check_actionlint(tmp_path, report, tool)
    assert [c.status for c in report.checks] == [PASS], report.checks


def test_executorch_flattens_outputs_in_the_order_the_swift_app_assumes(tmp_path):
    # Predictor.chosenOutput (Swift, not runnable here) indexes ExecuTorch's flat output list as
    # "depth first, tuple items in order, dict values in insertion order". Check that on the
    # host runtime, which shares the runtime code with the iOS package.
    import torch

    from generator.runtimes import executorch

    class DictAndTuple(torch.nn.Module):
        """Outputs nested as {"z": (a, b), "a": c}: insertion order differs from key order."""

        def forward(self, x):
            return {"z": (x + 1, x * 2), "a": x - 3}

    x = torch.arange(4, dtype=torch.float32).reshape(1, 1, 2, 2)
    (asset,) = executorch.export(DictAndTuple().eval(), x, tmp_path, "{}", backends=("xnnpack",))
    from executorch.runtime import Runtime

    outputs = Runtime.get().load_program(asset.path).load_method("forward").execute([x])
    assert [o.flatten().tolist() for o in outputs] == [(x + 1).flatten().tolist(), (x * 2).flatten().tolist(),
                                                      (x - 3).flatten().tolist()]


@pytest.mark.parametrize("runtime", ["executorch", "lite"])
def test_swift_calls_only_what_the_imagecore_bridge_declares_and_implements(runtime, coreml_project, tmp_path):
    # Objective-C++ cannot be compiled here (no Foundation): hold the three files to each other.
    import re

    if runtime == "executorch":
        root = ios.output_dir(coreml_project[0])
    else:
        root = generate(tmp_path, et_context(task="image-to-image", runtime="lite"))
    header = (root / PRODUCT / "ImageCore.h").read_text()
    implementation = (root / PRODUCT / "ImageCore.mm").read_text()
    swift = "".join(p.read_text() for p in root.rglob("*.swift"))
    declared = set(re.findall(r"NS_SWIFT_NAME\((\w+)\(", header))
    called = set(re.findall(r"\bImageCore\.(\w+)\(", swift))
    assert called and called <= declared, called - declared
    selectors = re.findall(r"^\+ \([^)]*\)(\w+):", header, re.M)
    assert len(selectors) == header.count("NS_SWIFT_NAME(") == 8  # rgba(...) is overloaded
    for selector in selectors:
        assert re.search(rf"^\+ \([^)]*\){selector}:", implementation, re.M), selector
    assert '#import "ImageCore.h"' in (root / PRODUCT / f"{PRODUCT}-Bridging-Header.h").read_text()


def test_both_runtimes_ship_one_imagecore_and_lite_keeps_only_the_model_in_torchmodule(coreml_project, tmp_path):
    """The image half lives once, in templates/ios: both apps get the same bytes, both Xcode
    projects compile it, and the lite bridge no longer declares or implements a copy of it."""
    et_root = ios.output_dir(coreml_project[0])
    lite_root = generate(tmp_path, et_context(task="image-to-image", runtime="lite"))
    for name in ("ImageCore.h", "ImageCore.mm"):
        assert (lite_root / PRODUCT / name).read_bytes() == (et_root / PRODUCT / name).read_bytes(), name
    for root in (et_root, lite_root):
        assert f"{PRODUCT}/ImageCore.mm" in pbxparse.referenced_paths(root)
        objects = pbxparse.parse_pbxproj((root / f"{PRODUCT}.xcodeproj" / "project.pbxproj").read_text())["objects"]
        app = next(o for o in objects.values() if o["isa"] == "PBXNativeTarget" and o["name"] == PRODUCT)
        compiled = {objects[objects[f]["fileRef"]].get("path") for phase in app["buildPhases"]
                    if objects[phase]["isa"] == "PBXSourcesBuildPhase" for f in objects[phase]["files"]}
        assert "ImageCore.mm" in compiled, compiled
    torch_module = (lite_root / PRODUCT / "TorchModule.h").read_text() + (lite_root / PRODUCT / "TorchModule.mm").read_text()
    for selector in ("tensorFromRGBA", "rgbaFromTensor", "lumaTensorFromRGBA", "rgbaFromLuma", "detectionsFrom",
                     "softmaxOf", "topKOf", "argmaxOf", "ReadTriple"):
        assert selector not in torch_module, selector
    assert "TorchModule." not in "".join(p.read_text() for p in lite_root.rglob("*.swift")).replace(
        "TorchModule.self", "")

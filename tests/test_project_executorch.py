"""`scaffold new/export/inspect/check --runtime executorch` from outside, on one shared tiny project.

Lowering is slow (seconds per backend even for a 3x3 conv): the module exports once, with every
backend, through the real CLI, and every test reads or copies that project.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tomllib

import pytest

pytest.importorskip("executorch")

from typer.testing import CliRunner  # noqa: E402

from conftest import build, run_cli, save_torchscript  # noqa: E402
from generator import context as ctx, record  # noqa: E402
from generator.check import check_asset  # noqa: E402
from generator.checks import CheckReport  # noqa: E402
from generator.cli import app  # noqa: E402
from generator.project import new_project  # noqa: E402
from generator.runtimes.lite import PLAY_16KB_NOTE  # noqa: E402

WIDE = {"COLUMNS": "250"}  # rich wraps table cells to the terminal width


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("et")
    model = save_torchscript(build("image-to-image"), root / "model.pt")
    proc = run_cli("new", "demo", "--model", str(model), "--output", str(root / "demo"), "--input-size", "16x16",
                   "--runtime", "executorch", "--backend", "vulkan", "--backend", "coreml", env=WIDE)
    assert proc.returncode == 0, proc.stderr
    return root / "demo", proc


def test_every_platform_gets_the_cpu_asset_and_only_its_own_delegate(made):
    project, _ = made
    assert (project / "android/app/src/main/assets/model.pte").read_bytes() == (project / "ios/Demo/Resources/model.pte").read_bytes()
    assert (project / "android/app/src/main/assets/model_vulkan.pte").is_file()
    assert (project / "ios/Demo/Resources/model_coreml.pte").is_file()
    assert not list((project / "ios").rglob("model_vulkan.pte")) and not list((project / "android").rglob("model_coreml.pte"))
    assert not list(project.rglob("*.ptl"))
    # each platform has its copy: export/ keeps none of the assets (as for lite)
    assert not list((project / "export").glob("*.pte"))


def test_summary_says_what_was_exported_and_what_was_verified(made):
    _, proc = made
    out = " ".join(proc.stdout.split())
    assert "model.pte (xnnpack, verified on this host)" in out
    assert "model_vulkan.pte (vulkan, exported, not run here)" in out and "model_coreml.pte (coreml, exported, not run here)" in out
    assert "16 KB" not in out  # the Play note is for lite projects
    for stage in ("converting TorchScript with TS2EPConverter", "lowering to ExecuTorch xnnpack",
                  "lowering to ExecuTorch vulkan", "lowering to ExecuTorch coreml"):
        assert stage in proc.stderr
    # Core ML's partitioner logs every op at INFO and coremltools draws progress bars: not for the user
    assert "INFO:" not in proc.stderr and "MIL" not in proc.stderr


def test_record_names_runtime_backends_and_every_asset(made):
    project, _ = made
    doc = tomllib.loads((project / "scaffold.toml").read_text())
    assert doc["project"]["runtime"] == "executorch"
    assert doc["project"]["backends"] == ["xnnpack", "vulkan", "coreml"]
    assets = doc["model"]["assets"]
    for backend, path in (("xnnpack", "android/app/src/main/assets/model.pte"),
                          ("vulkan", "android/app/src/main/assets/model_vulkan.pte"),
                          ("coreml", "ios/Demo/Resources/model_coreml.pte")):
        data = (project / path).read_bytes()
        assert assets[backend] == {"file": path.rsplit("/", 1)[1], "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def test_report_has_sizes_delegation_versions_and_says_what_did_not_run(made):
    project, _ = made
    report = (project / "export/report.md").read_text()
    assert "| runtime | executorch |" in report
    assert re.search(r"\| asset model\.pte \| xnnpack, \d+ bytes", report)
    assert "XnnpackBackend: 1 subgraph(s)" in report and "VulkanBackend" in report and "CoreMLBackend" in report
    assert "portable kernels:" in report
    assert "model_vulkan.pte | vulkan" in report and "exported but NOT run here" in report
    assert "pip executorch 1.4.1" in report and "ExecuTorch 1.4.1" in report and "swiftpm-1.4.1" in report
    assert "Core ML compute precision fp32" in report


def checks(project) -> dict[str, tuple[str, str]]:
    """The model rows of `scaffold check` (the platform rows are the platform modules' tests)."""
    config, meta, model = record.load(project)
    report = CheckReport()
    check_asset(project, config, meta, ctx.build(config, meta), report, model=model)
    return {f"{c.scope}: {c.name}": (c.status, c.detail) for c in report.checks}


def test_check_runs_the_cpu_asset_and_skips_the_delegates_it_cannot_run(made):
    project, _ = made
    table = checks(project)
    for name in ("asset loads in the ExecuTorch host runtime", "embedded metadata matches scaffold.toml",
                 "asset reproduces the expected output", "model.pte is the exported one",
                 "model_vulkan.pte (vulkan, android) carries the same metadata",
                 "model_vulkan.pte (vulkan, android) delegates to VulkanBackend",
                 "model_coreml.pte (coreml, ios) delegates to CoreMLBackend"):
        assert table[f"model: {name}"][0] == "pass", (name, table[f"model: {name}"])
    status, detail = table["model: model_coreml.pte (coreml, ios) reproduces the expected output"]
    assert status == "skip" and "not run here" in detail and "CoreMLBackend" in detail
    assert table["model: model_vulkan.pte (vulkan, android) reproduces the expected output"][0] == "skip"


def test_check_catches_a_changed_expected_output(made, tmp_path):
    project, _ = made
    copy = shutil.copytree(project, tmp_path / "demo")
    for expected in (copy / "android/app/src/androidTest/assets/expected_output.bin",
                     copy / "ios/DemoTests/Resources/expected_output.bin"):
        data = bytearray(expected.read_bytes())
        data[:4] = b"\x00\x00\x80\x7f"  # +inf in the first value
        expected.write_bytes(bytes(data))
    assert checks(copy)["model: asset reproduces the expected output"][0] == "fail"


def test_check_catches_a_swapped_gpu_asset_and_metadata_that_disagrees(made, tmp_path):
    project, _ = made
    copy = shutil.copytree(project, tmp_path / "demo")
    shutil.copyfile(copy / "android/app/src/main/assets/model.pte", copy / "android/app/src/main/assets/model_vulkan.pte")
    rec = copy / "scaffold.toml"
    rec.write_text(rec.read_text().replace("input_width = 16", "input_width = 17"))
    table = checks(copy)
    assert table["model: model_vulkan.pte is the exported one"][0] == "fail"
    assert table["model: model_vulkan.pte (vulkan, android) delegates to VulkanBackend"][0] == "fail"
    assert table["model: embedded metadata matches scaffold.toml"][0] == "fail"
    assert table["model: model_coreml.pte (coreml, ios) carries the same metadata"][0] == "fail"


def test_inspect_prints_methods_delegation_and_metadata(made):
    project, _ = made
    # in-process: a subprocess would pay ExecuTorch's import (many seconds) once more
    result = CliRunner().invoke(app, ["inspect", str(project / "android/app/src/main/assets/model_vulkan.pte")])
    assert result.exit_code == 0, result.output
    assert "methods: forward, scaffold_metadata" in result.output
    assert "VulkanBackend: 1 subgraph(s)" in result.output and "runs on this host: no" in result.output
    assert '"task": "image-to-image"' in result.output


def test_inspect_refuses_other_suffixes_in_one_line(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a model")
    proc = run_cli("inspect", str(bad))
    assert proc.returncode == 2 and "neither a .ptl nor a .pte" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args, fragment", [
    (["--runtime", "tflite"], "unknown runtime 'tflite'; choose one of: lite, executorch"),
    (["--backend", "vulkan"], "--backend vulkan needs --runtime executorch"),
    (["--runtime", "executorch", "--backend", "mps"], "ExecuTorch removed its MPS backend"),
    (["--runtime", "executorch", "--backend", "npu"], "unknown ExecuTorch backend 'npu'"),
    (["--runtime", "executorch", "--backend", "xnnpack,vulkan", "--platforms", "ios"],
     "--backend vulkan runs only on android; add android to --platforms"),
    (["--runtime", "executorch", "--backend", "coreml", "--platforms", "android"],
     "--backend coreml runs only on ios; add ios to --platforms"),
    (["--runtime", "executorch", "--coreml-precision", "fp8"], "--coreml-precision 'fp8' is unknown"),
    (["--runtime", "executorch", "--script"], "--script applies only to --runtime lite: ExecuTorch captures the model "
     "with torch.export, not TorchScript; drop --script"),
])
def test_bad_runtime_flags_are_one_line_usage_errors_leaving_nothing(tmp_path, ts_model, args, fragment):
    out = tmp_path / "out"
    proc = run_cli("new", "demo", "--model", str(ts_model("image-to-image")), "--output", str(out), *args)
    assert proc.returncode == 2, proc.stderr
    assert fragment in " ".join(proc.stderr.split()) and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not out.exists()


def test_export_rejects_backends_for_lite_too(tmp_path, ts_model):
    proc = run_cli("export", "--model", str(ts_model("image-to-image")), "--output", str(tmp_path / "e"), "--backend", "coreml")
    assert proc.returncode == 2 and "needs --runtime executorch" in proc.stderr and not (tmp_path / "e").exists()


def test_uncapturable_model_is_one_line_suggesting_lite_and_leaves_nothing(tmp_path):
    (tmp_path / "branchy.py").write_text(
        "import torch\n"
        "class Branchy(torch.nn.Module):\n"
        "    def forward(self, x):\n"
        "        if x.mean() > 0.5:\n"
        "            return x * 2\n"
        "        return x - 1\n"
        "def make():\n    return Branchy()\n")
    out = tmp_path / "out"
    proc = run_cli("export", "--model", f"{tmp_path / 'branchy.py'}:make", "--output", str(out), "--input-size", "8x8",
                   "--task", "image-to-image", "--runtime", "executorch")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    err = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and "data-dependent control flow" in err[0] and "--runtime lite" in err[0], proc.stderr
    assert "branchy.py:4" in err[0]
    assert not out.exists()


def test_lite_asset_as_input_to_executorch_names_the_fix(tmp_path, made):
    lite = tmp_path / "model.ptl"
    module = build("image-to-image").eval()
    import torch

    torch.jit.trace(module, torch.rand(1, 3, 8, 8))._save_for_lite_interpreter(str(lite))
    proc = run_cli("export", "--model", str(lite), "--output", str(tmp_path / "e"), "--input-size", "8x8",
                   "--runtime", "executorch")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "ExecuTorch cannot read" in proc.stderr and "--runtime lite" in proc.stderr
    assert not (tmp_path / "e").exists()


def test_lite_projects_say_play_refuses_them_and_what_fixes_it(tmp_path):
    model = save_torchscript(build("image-to-image"), tmp_path / "m.pt")
    result = new_project(name="demo", model=model, output=tmp_path / "demo", input_size="8x8", platforms=("android",),
                         find_gradle=False)
    assert PLAY_16KB_NOTE in result.notes
    assert "Android 15+" in PLAY_16KB_NOTE and "--runtime executorch" in PLAY_16KB_NOTE
    doc = tomllib.loads((tmp_path / "demo/scaffold.toml").read_text())
    assert doc["project"]["runtime"] == "lite" and doc["project"]["backends"] == []


# ---- dict and tuple outputs: ExecuTorch returns them flat, in pytree order ---------------------------

_MULTI_OUTPUT = '''import torch


class AuxFirst(torch.nn.Module):
    """DeepLabV3's layout, with 'aux' inserted first: 'out' is the second value ExecuTorch returns."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.aux = torch.nn.Conv2d(3, 5, 1)
        self.head = torch.nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        return {"aux": self.aux(x), "out": self.head(x)}


class Nested(torch.nn.Module):
    """((a, b), c): --output-index 1 is c, the third value ExecuTorch returns."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.a = torch.nn.Conv2d(3, 2, 1)
        self.b = torch.nn.Conv2d(3, 3, 1)
        self.c = torch.nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        return (self.a(x), self.b(x)), self.c(x)


def aux_first():
    return AuxFirst().eval()


def nested():
    return Nested().eval()
'''


@pytest.fixture(scope="module")
def multi_output(tmp_path_factory):
    root = tmp_path_factory.mktemp("multi")
    (root / "multi.py").write_text(_MULTI_OUTPUT)
    return root


@pytest.mark.parametrize("runtime", ["lite", "executorch"])
@pytest.mark.parametrize("factory, choice, flat", [("aux_first", [], 1), ("nested", ["--output-index", "1"], 2)])
def test_the_chosen_dict_entry_or_tuple_item_is_what_every_consumer_uses(multi_output, tmp_path, runtime, factory,
                                                                          choice, flat):
    import json

    import numpy as np
    import torch

    project = tmp_path / "seg"
    proc = run_cli("new", "seg", "--model", f"{multi_output / 'multi.py'}:{factory}", "--output", str(project),
                   "--input-size", "8x8", "--task", "segmentation", "--runtime", runtime, *choice)
    assert proc.returncode == 0, proc.stderr
    spec = tomllib.loads((project / "scaffold.toml").read_text())["metadata"]
    # ExecuTorch: the position in its flat output list, which the apps and the C++ core read;
    # lite keeps the structure, so the user's key or index.
    assert spec.get("output_key") == (None if choice else "out")
    assert spec.get("output_index") == (flat if runtime == "executorch" else (1 if choice else None))
    runner = next((project / "android").rglob("ModelRunner.java")).read_text()
    assert f"DEFAULT_OUTPUT_INDEX = {spec.get('output_index', -1)};" in runner
    from generator.loading import load_model

    model = load_model(f"{multi_output / 'multi.py'}:{factory}").module  # as the CLI loaded it
    expected = np.fromfile(next((project / "android").rglob("expected_output.bin")), dtype="<f4")
    sample = torch.from_numpy(np.fromfile(next(project.rglob("input_chw.bin")), dtype="<f4").reshape(1, 3, 8, 8))
    with torch.no_grad():
        out = model(sample)
    chosen = out["out"] if not choice else out[1]
    assert expected.size == chosen.numel() == 4 * 8 * 8
    np.testing.assert_allclose(expected, chosen.numpy().reshape(-1), atol=1e-4)
    if runtime == "executorch":
        from generator.runtimes import executorch as et

        embedded = json.loads(et.read_metadata(next((project / "android").rglob("model.pte"))))
        assert embedded["output"]["index"] == flat
    checked = run_cli("check", str(project), "--skip-host-tests", env=WIDE)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rows = [" ".join(line.split()) for line in checked.stdout.splitlines()]
    assert any("reproduces the expected output" in r and "pass" in r for r in rows), checked.stdout
    assert any("C++ core reproduces" in r and "pass" in r for r in rows), checked.stdout

"""The issue's "done when", on the real samples: train, `scaffold new`, `scaffold check`."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock

from conftest import REPO, run_cli
from generator import record, versions
from generator.project import check_project
from generator.runtimes.lite import inspect_asset

# `make test` trains the samples here first, on idle cores (training beside other tests
# oversubscribes the two cores badly); run alone, the tests train them themselves.
CACHE = Path(os.environ.get("SCAFFOLD_SAMPLES", REPO / "build" / "samples")).resolve()


def _trained(sample: str, artifact: str) -> Path:
    """Train a sample once per machine state; xdist workers share it through a file lock."""
    out = CACHE / sample
    CACHE.mkdir(parents=True, exist_ok=True)
    with FileLock(str(CACHE / f"{sample}.lock")):
        if not (out / artifact).is_file():
            subprocess.run([sys.executable, str(REPO / "samples" / sample / "train.py"), "--out", str(out)],
                           check=True, capture_output=True, text=True, timeout=1200)
    return out


@pytest.fixture(scope="session")
def zebraify_sample() -> Path:
    return _trained("zebraify", "cyclegan.pt")


@pytest.fixture(scope="session")
def classifier_sample() -> Path:
    return _trained("classifier", "classifier.pt")


@pytest.fixture(scope="session")
def detector_sample() -> Path:
    return _trained("detector", "detector.pt")


def _check(project: Path) -> str:
    proc = run_cli("check", str(project))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_zebraify_from_torchscript_with_defaults(zebraify_sample, tmp_path):
    proc = run_cli("new", "zebraify", "--model", str(zebraify_sample / "cyclegan.pt"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    project = tmp_path / "zebraify"
    config, meta, model = record.load(project)
    assert meta.task == "image-to-image" and (meta.input_width, meta.input_height) == (256, 256)
    assert meta.mean == (0.0, 0.0, 0.0) and meta.std == (1.0, 1.0, 1.0) and meta.output_range == (-1.0, 1.0)
    asset = project / "android/app/src/main/assets/model.ptl"
    info = inspect_asset(asset)
    assert info.bytecode_version <= versions.LITE_BYTECODE_MAX
    assert model["max_abs_error"] <= 1e-4
    out = _check(project)
    assert "0 failed" in out and "host unit tests" in out


def test_zebraify_from_factory_with_weights_and_horse(zebraify_sample, tmp_path):
    proc = run_cli("new", "zebraify", "--model", f"{REPO / 'samples/zebraify/model.py'}:build_generator",
                   "--weights", str(zebraify_sample / "weights.pth"), "--sample-image", str(zebraify_sample / "horse.png"),
                   "--output", str(tmp_path / "z"))
    assert proc.returncode == 0, proc.stderr
    _, meta, model = record.load(tmp_path / "z")
    # Tanh at the end of the generator decides the range, not the values.
    assert meta.output_range == (-1.0, 1.0) and model["kind"] == "factory"
    with zipfile.ZipFile(tmp_path / "z/android/app/src/main/assets/model.ptl") as zf:
        assert zf.testzip() is None


def test_classifier_sample_with_labels(classifier_sample, tmp_path):
    proc = run_cli("new", "shapes", "--model", str(classifier_sample / "classifier.pt"), "--input-size", "96x96",
                   "--labels", str(classifier_sample / "labels.txt"), "--sample-image", str(classifier_sample / "sample.png"),
                   "--output", str(tmp_path / "shapes"))
    assert proc.returncode == 0, proc.stderr
    _, meta, _ = record.load(tmp_path / "shapes")
    labels = (classifier_sample / "labels.txt").read_text().split()
    assert meta.task == "classification" and list(meta.labels) == labels
    _check(tmp_path / "shapes")


@pytest.mark.parametrize("runtime", ["lite", "executorch"])
def test_classifier_sample_int8_from_factory(runtime, classifier_sample, tmp_path):
    """--quantize int8 on held-out pictures the sample's own drawing code makes: about 4x smaller,
    the agreement measured and recorded, the device tolerance derived from the output step (lite:
    one step; ExecuTorch: the steps its kernels landed from the PT2E reference), host checks pass."""
    model = ["--model", f"{REPO / 'samples/classifier/model.py'}:build_classifier",
             "--weights", str(classifier_sample / "weights.pth")]
    _classifier_int8(model, runtime, classifier_sample, tmp_path)


def test_classifier_sample_int8_from_torchscript_on_lite(classifier_sample, tmp_path):
    """The same from the traced classifier.pt: torch's TorchScript graph mode quantizes it."""
    _classifier_int8(["--model", str(classifier_sample / "classifier.pt")], "lite", classifier_sample, tmp_path)


def _classifier_int8(model: list[str], runtime: str, classifier_sample: Path, tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "samples" / "classifier"))
    try:
        import shapes
    finally:
        sys.path.pop(0)
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    rng = np.random.default_rng(2024)
    for i in range(32):
        shapes.draw_example(rng, 96)[0].save(pictures / f"shape{i:02d}.png")
    proc = run_cli("new", "shapes", *model, "--input-size", "96x96",
                   "--labels", str(classifier_sample / "labels.txt"), "--sample-image", str(classifier_sample / "sample.png"),
                   "--quantize", "int8", "--calibration", str(pictures),
                   "--platforms", "android", "--runtime", runtime, "--output", str(tmp_path / "shapes"))
    assert proc.returncode == 0, proc.stderr
    assert "top-1 agreement" in proc.stdout and "held out" in proc.stdout
    config, _, model = record.load(tmp_path / "shapes")
    q = model["quantization"]
    # The default --min-agreement for classification (0.9) held; the trained sample agrees fully.
    assert q["agreement"]["pictures"] == 8 and q["agreement"]["value"] >= 0.9
    assert config.tolerance == pytest.approx(q["output_step"] * q.get("kernel_spread_steps", 1), rel=1e-5)
    assert config.tolerance_reason == q["device_tolerance"] and "output_step" in q["device_tolerance"]
    # Measured here: lite 3.85x (TorchScript: 3.74x), ExecuTorch 3.73x (the .pte keeps int32 biases and its
    # delegate header).
    assert q["float_parameter_bytes"] / model["asset_bytes"] > 3.4
    _check(tmp_path / "shapes")


def test_detector_sample_on_android_native_and_ios(detector_sample, tmp_path):
    """--task detection is required (a 1x64x8 output is not guessed); the goldens must find the
    sample's three shapes with their labels, and every host check must pass."""
    base = ["--model", str(detector_sample / "detector.pt"), "--input-size", "64x64",
            "--sample-image", str(detector_sample / "sample.png")]
    proc = run_cli("new", "finder", *base, "--output", str(tmp_path / "guessed"))
    assert proc.returncode == 2 and "pass --task" in proc.stderr and not (tmp_path / "guessed").exists()
    proc = run_cli("new", "finder", *base, "--task", "detection", "--labels", str(detector_sample / "labels.txt"),
                   "--android-api", "native", "--output", str(tmp_path / "finder"))
    assert proc.returncode == 0, proc.stderr
    project = tmp_path / "finder"
    _, meta, _ = record.load(project)
    assert meta.task == "detection" and meta.detection.layout == "yolo" and meta.output_shape == (1, 64, 8)
    golden = project / "android/app/src/test/resources/golden"
    found = np.frombuffer((golden / "detections.bin").read_bytes(), "<f4").reshape(-1, 6)
    assert sorted(meta.labels[int(k)] for k in found[:, 5]) == ["circle", "square", "triangle"], found
    report = check_project(project)
    # The one row that may be skipped: no official Gradle on this machine, so no wrapper jar.
    assert not report.failures, report.failures
    assert all(c.name == "gradle wrapper jar is official" for c in report.checks if c.status == "skip"), report.checks
    for scope in ("android", "ios"):
        assert any(c.scope == scope and "C++ detection" in c.name and c.status == "pass" for c in report.checks)


def _check_rows(project: Path) -> tuple[int, str]:
    proc = run_cli("check", str(project), env={"COLUMNS": "250"})
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("sample", ["zebraify", "classifier"])
def test_samples_on_executorch(sample, zebraify_sample, classifier_sample, tmp_path):
    """The issue's "done when" on ExecuTorch (XNNPACK only: lowering the CycleGAN for Vulkan takes
    minutes here). The XNNPACK asset must reproduce the source and pass every host check."""
    if sample == "zebraify":
        # fp32 XNNPACK differs from the TorchScript CycleGAN by 7.6e-4 on the 256x256 sample (reordered
        # sums through the residual blocks, measured here): above the lite default of 1e-4, so the
        # tolerance is given, as a user would.
        args = ["--model", str(zebraify_sample / "cyclegan.pt"), "--tolerance", "2e-3"]
    else:
        args = ["--model", str(classifier_sample / "classifier.pt"), "--input-size", "96x96",
                "--labels", str(classifier_sample / "labels.txt"), "--sample-image", str(classifier_sample / "sample.png")]
    project = tmp_path / sample
    proc = run_cli("new", sample, *args, "--runtime", "executorch", "--output", str(project))
    assert proc.returncode == 0, proc.stderr
    config, _, model = record.load(project)
    assert config.runtime == "executorch" and config.backends == ("xnnpack",)
    assert model["max_abs_error"] <= 2e-3 and model["assets"]["xnnpack"]["file"] == "model.pte"
    assert not list(project.rglob("*.ptl"))
    code, out = _check_rows(project)
    assert code == 0 and "0 failed" in out, out

"""Issue 7 item 4: `scaffold new --task tensor --input-shape/--input-dtype` (token, audio-feature
models): every generated app feeds sample_input.bin, and `scaffold check` runs the model, the C++
core and the JNI glue on it and compares with expected_output.bin."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest

from generator import new_project
from generator.checks import CheckReport
from generator.project import check_project
from tests.conftest import run_cli

MODELS = textwrap.dedent('''
    import torch
    from torch import nn


    class Tokens(nn.Module):
        """int64 token ids 1 x 32 -> 1 x 3 scores."""

        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.embed = nn.Embedding(10, 8)
            self.fc = nn.Linear(8, 3)

        def forward(self, ids):
            return self.fc(self.embed(ids).mean(1))


    class Audio(nn.Module):
        """1 x 16 mel bands x 40 frames (float32) -> 1 x 2 scores."""

        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.conv = nn.Conv1d(16, 4, 3)
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(torch.relu(self.conv(x)).mean(2))


    def tokens():
        return Tokens().eval()


    def audio():
        return Audio().eval()
''')

TOKENS = dict(task="tensor", input_shape="1x32", input_dtype="int64")
AUDIO = dict(task="tensor", input_shape="1x16x40", input_dtype="float32")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("models") / "models.py"
    path.write_text(MODELS)
    return path


def _new(models: Path, out: Path, factory: str, options: dict, **kwargs) -> Path:
    new_project(name="demo", model=f"{models}:{factory}", output=out, find_gradle=False, **options, **kwargs)
    return out


@pytest.fixture(scope="module")
def token_lite(models, tmp_path_factory) -> Path:
    return _new(models, tmp_path_factory.mktemp("tok") / "demo", "tokens", TOKENS)


def _rows(report: CheckReport) -> dict[str, tuple[str, str]]:
    return {f"{c.scope}: {c.name}": (c.status, c.detail) for c in report.checks}


def _assert_passes(report: CheckReport) -> dict[str, tuple[str, str]]:
    assert report.ok, [(c.scope, c.name, c.detail) for c in report.failures]
    return _rows(report)


SAMPLE_ROWS = ("model: asset reproduces the expected output", "android: host unit tests (javac + JUnit 4)")


def test_token_model_lite_java_both_platforms(token_lite):
    android = token_lite / "android" / "app" / "src"
    sample = (android / "main" / "assets" / "sample_input.bin").read_bytes()
    assert len(sample) == 32 * 8 and not (android / "main" / "assets" / "sample.png").exists()
    ids = np.frombuffer(sample, "<i8")
    assert ids.min() >= 0 and ids.max() <= 9
    assert (token_lite / "ios" / "Demo" / "Resources" / "sample_input.bin").read_bytes() == sample
    assert (android / "test" / "resources" / "golden" / "sample_input.bin").read_bytes() == sample
    runner = (android / "main" / "java" / "com" / "example" / "demo" / "ModelRunner.java").read_text()
    assert "Tensor.fromBlob(input.longs(), input.shape())" in runner
    assert 'SAMPLE_INPUT_ASSET = "sample_input.bin"' in runner
    activity = (android / "main" / "java" / "com" / "example" / "demo" / "MainActivity.java").read_text()
    assert "processSampleInput" in activity and "decodeSample" not in activity
    test = (android / "androidTest" / "java" / "com" / "example" / "demo" / "ModelOutputTest.java").read_text()
    assert "runner.run(input)" in test and "BitmapFactory" not in test
    swift = (token_lite / "ios" / "Demo" / "Inference.swift").read_text()
    assert "static let inputShape: [Int] = [1, 32]" in swift and 'static let inputDtype = "int64"' in swift
    assert "module.run(int64Input:" in swift

    rows = _assert_passes(check_project(token_lite))
    for name in SAMPLE_ROWS + ("ios: C++ core reproduces the expected output (host LibTorch)",):
        assert rows[name][0] == "pass", (name, rows[name])
    assert "sample_input.bin (int64)" in rows["ios: C++ core reproduces the expected output (host LibTorch)"][1]
    # TensorInputTest ran among the host tests (each of its 5 tests, plus the image helpers' own).
    assert rows["model: same sample_input.bin in every platform"][0] == "pass"


@pytest.fixture(scope="module")
def audio_native(models, tmp_path_factory) -> Path:
    return _new(models, tmp_path_factory.mktemp("aud") / "demo", "audio", AUDIO, android_api="native",
                platforms=("android",))


def test_audio_model_lite_native_runs_the_core_and_jni_on_the_sample(audio_native):
    rows = _assert_passes(check_project(audio_native))
    core = rows["android: C++ core reproduces the expected output (host LibTorch)"]
    assert core[0] == "pass" and "sample_input.bin (float32)" in core[1]
    assert rows["android: NativeCore (JNI) runs the model in a JVM"][0] == "pass"
    assert rows["android: C++ pixel and output helpers match the golden vectors"][0] == "skip"


def test_token_model_lite_native_feeds_int64_through_jni(models, tmp_path):
    out = _new(models, tmp_path / "demo", "tokens", TOKENS, android_api="native", platforms=("android",))
    runner = (out / "android/app/src/main/java/com/example/demo/ModelRunner.java").read_text()
    assert "core.runInt64(input.longs(), input.shape())" in runner
    rows = _assert_passes(check_project(out))
    assert "sample_input.bin (int64)" in rows["android: C++ core reproduces the expected output (host LibTorch)"][1]
    assert rows["android: NativeCore (JNI) runs the model in a JVM"][0] == "pass"


def test_token_model_executorch_java(models, tmp_path):
    out = _new(models, tmp_path / "demo", "tokens", TOKENS, runtime="executorch")
    runner = (out / "android/app/src/main/java/com/example/demo/ModelRunner.java").read_text()
    assert "Tensor.fromBlob(input.longs(), input.shape())" in runner and "EValue.from(tensor)" in runner
    assert "Tensor<Int64>(values, shape: input.shape)" in (out / "ios/Demo/Inference.swift").read_text()
    rows = _assert_passes(check_project(out))
    assert rows["model: asset reproduces the expected output"][0] == "pass"
    core = rows["ios: C++ core reproduces the expected output (host ExecuTorch, pip wheel)"]
    assert core[0] == "pass" and "sample_input.bin (int64)" in core[1]


@pytest.mark.parametrize("damage", ["short", "missing"])
def test_damaged_sample_input_fails_check_in_one_line(token_lite, tmp_path, damage):
    project = tmp_path / "demo"
    shutil.copytree(token_lite, project)
    sample = project / "android/app/src/main/assets/sample_input.bin"
    if damage == "short":
        sample.write_bytes(sample.read_bytes()[:-3])
    else:
        sample.unlink()
    report = check_project(project, run_native=False)
    status, detail = _rows(report)["model: asset reproduces the expected output"]
    assert status == "fail" and "\n" not in detail
    if damage == "short":
        assert detail.startswith("sample_input.bin has 253 bytes, but the 1x32 int64 input needs 256"), detail
    else:
        assert detail.startswith("sample_input.bin is missing"), detail
    proc = run_cli("check", str(project), "--no-exec")
    assert proc.returncode == 7 and "Traceback" not in proc.stderr + proc.stdout


def test_short_sample_input_fails_the_core_and_jni_rows(audio_native, tmp_path):
    project = tmp_path / "demo"
    shutil.copytree(audio_native, project)
    sample = project / "android/app/src/main/assets/sample_input.bin"
    sample.write_bytes(sample.read_bytes() + b"\0\0\0\0")
    rows = _rows(check_project(project))
    for name in ("android: C++ core reproduces the expected output (host LibTorch)", "model: asset reproduces the expected output"):
        status, detail = rows[name]
        assert status == "fail" and "sample_input.bin has 2564 bytes, but the 1x16x40 float32 input needs 2560" in detail, detail
    # The core row stops the native rows after it; called alone, the JNI check refuses the file too.
    from generator import native
    from generator.errors import CheckFailedError

    android = project / "android"
    with pytest.raises(CheckFailedError, match="sample_input.bin has 2564 bytes"):
        native.verify_jni(android, "com.example.demo", android / "app/src/main/assets/model.ptl", sample,
                          android / "app/src/androidTest/assets/expected_output.bin", [0.0] * 3, [1.0] * 3,
                          tensor_input=([1, 16, 40], "float32"))


def test_host_tests_catch_a_misread_sample(token_lite, tmp_path):
    # TensorInputTest compares the app's reader with numpy's values: a golden that disagrees fails it.
    project = tmp_path / "demo"
    shutil.copytree(token_lite, project)
    values = project / "android/app/src/test/resources/golden/input_values.bin"
    floats = np.frombuffer(values.read_bytes(), "<f4").copy()
    floats[0] += 1
    values.write_bytes(floats.astype("<f4").tobytes())
    report = CheckReport()
    from generator import android, context as ctx, record

    config, meta, _ = record.load(project)
    android.host_unit_tests(project / "android", ctx.build(config, meta), report)
    status, detail = _rows(report)["android: host unit tests (javac + JUnit 4)"]
    assert status == "fail" and "sampleReadsAsPythonWroteIt" in detail, detail


def test_update_to_a_retrained_token_model_keeps_the_tensor_input(token_lite, models, tmp_path):
    # The project's sample_input.bin is no picture: update must not hand it to --sample-image.
    from generator.update import update_project

    project = tmp_path / "demo"
    shutil.copytree(token_lite, project)
    sample = (project / "android/app/src/main/assets/sample_input.bin").read_bytes()
    retrained = tmp_path / "retrained.py"
    retrained.write_text(MODELS.replace("torch.manual_seed(0)", "torch.manual_seed(1)"))
    result = update_project(project, model=f"{retrained}:tokens", find_gradle=False)
    assert result.model_changed
    assert (project / "android/app/src/main/assets/sample_input.bin").read_bytes() == sample
    assert (project / "android/app/src/androidTest/assets/expected_output.bin").read_bytes() != (
        token_lite / "android/app/src/androidTest/assets/expected_output.bin").read_bytes()
    _assert_passes(check_project(project, run_native=False))


def test_new_says_what_the_apps_feed(models, tmp_path):
    proc = run_cli("new", "demo", "--model", f"{models}:tokens", "--task", "tensor", "--input-shape", "1x32",
                   "--input-dtype", "int64", "--platforms", "android", "--output", str(tmp_path / "n"),
                   env={"COLUMNS": "300"})
    assert proc.returncode == 0, proc.stderr
    assert "tensor, 1x32 int64 input," in proc.stdout, proc.stdout


@pytest.mark.parametrize("args, fragment", [
    (["--input-shape", "1x32"], "need --task tensor"),
    (["--task", "tensor", "--input-shape", "1x32", "--input-dtype", "float16"], "use float32 or int64"),
    (["--task", "tensor", "--input-shape", "1x32", "--sample-image", "x.png"], "--sample-image is a picture"),
])
def test_new_refuses_bad_tensor_options_in_one_line(models, tmp_path, args, fragment):
    proc = run_cli("new", "demo", "--model", f"{models}:tokens", *args, "--output", str(tmp_path / "n"))
    assert proc.returncode == 2 and fragment in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "n").exists()


def test_help_of_new_says_what_each_task_feeds():
    proc = run_cli("new", "--help", env={"COLUMNS": "400"})
    text = " ".join(proc.stdout.split())
    for task in ("image-to-image (an RGB picture", "classification (a picture", "segmentation (a picture",
                 "detection (a picture", "tensor (a picture"):
        assert task in text, task
    assert "sample_input.bin" in text

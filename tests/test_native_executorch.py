"""The ExecuTorch C++ core (templates/shared/cpp/executorch) built with g++ against the pip wheel
and compared with ExecuTorch's Python runtime on tiny exported programs.

Exports are shared by the module (each takes seconds); the core builds are cached like the lite
core's (SCAFFOLD_NATIVE_CACHE keeps them across sessions).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from PIL import Image

from generator import context as ctx, native, render, versions
from generator.checks import CheckReport
from generator.errors import CheckFailedError, UsageError
from generator.metadata import METADATA_METHOD, describe
from test_native import TwoConv

pytest.importorskip("executorch.runtime", reason="the ExecuTorch wheel is not installed")

from generator.runtimes import executorch as et  # noqa: E402

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
METADATA = json.dumps({"format": 1, "labels": ["zebra 🦓", "horse"]}, ensure_ascii=False, separators=(",", ":"))


class TupleOut(torch.nn.Module):
    def forward(self, x):
        return x.mean(1, keepdim=True) * 2.0, torch.relu(x) + 1.0


def _export(model: torch.nn.Module, out_dir: Path, metadata: str) -> Path:
    torch.manual_seed(0)
    out_dir.mkdir(parents=True, exist_ok=True)
    assets = et.export(model.eval(), torch.rand(1, 3, 8, 8), out_dir, metadata)
    return Path(assets[0].path)


def _python_runtime(pte: Path, x: torch.Tensor) -> list[np.ndarray]:
    from executorch.runtime import Runtime

    outputs = Runtime.get().load_program(pte).load_method("forward").execute([x.contiguous()])
    return [o.detach().numpy() for o in outputs]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    if os.environ.get("SCAFFOLD_NATIVE_CACHE"):
        return Path(os.environ["SCAFFOLD_NATIVE_CACHE"])
    return tmp_path_factory.getbasetemp() / "native-cache"


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("pte")
    with_index = json.dumps({"format": 1, "output": {"index": 1}}, separators=(",", ":"))
    return {"two_conv": _export(TwoConv(), root / "two_conv", METADATA),
            "tuple": _export(TupleOut(), root / "tuple", with_index)}


@pytest.fixture(scope="module")
def core_dir(tmp_path_factory) -> Path:
    """The ExecuTorch core exactly as the manifest ships it (file name -> template)."""
    core = tmp_path_factory.mktemp("core")
    for name, template in native.core_template_files("executorch").items():
        shutil.copyfile(template, core / name)
    return core


@pytest.fixture(scope="module")
def driver(core_dir, cache_dir) -> native.CoreDriver:
    return native.CoreDriver(native.build_core_driver(core_dir, cache_dir, runtime="executorch"))


@pytest.fixture(scope="module")
def sample(tmp_path_factory, models) -> dict:
    root = tmp_path_factory.mktemp("sample")
    pixels = (np.random.RandomState(1).rand(8, 8, 3) * 255).astype(np.uint8)
    Image.fromarray(pixels, "RGB").save(root / "sample.png")
    x = TF.normalize(TF.to_tensor(Image.open(root / "sample.png").convert("RGB")), MEAN, STD).unsqueeze(0)
    expected = _python_runtime(models["two_conv"], x)[0].astype("<f4")
    (root / "expected_output.bin").write_bytes(expected.tobytes())
    return {"png": root / "sample.png", "expected": root / "expected_output.bin", "x": x, "y": expected}


def test_the_manifest_ships_the_executorch_core_on_ios_only_with_shared_helpers():
    lite, ext = native.core_template_files("lite"), native.core_template_files("executorch")
    assert set(lite) == set(ext) == {"inference_core.h", "inference_core.cpp", "image_ops.h", "image_ops.cpp"}
    assert ext["inference_core.cpp"].parent.name == "executorch" and lite["inference_core.cpp"].parent.name == "lite"
    assert all(lite[n] == ext[n] for n in ("inference_core.h", "image_ops.h", "image_ops.cpp"))
    # The runtime-neutral half must not need any runtime's headers.
    for name in ("image_ops.h", "image_ops.cpp", "inference_core.h"):
        text = lite[name].read_text()
        assert "#include <ATen" not in text and "#include <torch" not in text and "#include <executorch" not in text
    meta = describe(task="image-to-image", input_size=(8, 8), mean=(0.5,) * 3, std=(0.25,) * 3,
                    output_shape=(1, 3, 8, 8), output_range=(-1.0, 1.0), labels=None)
    config = ctx.ProjectConfig("zebra", "Zebra", "com.example.zebra", "Zebra", "com.example.zebra",
                               runtime="executorch", backends=("xnnpack",))
    files = {f.path: f.data for f in render.render_platform("ios", ctx.build(config, meta))}
    assert files["Zebra/Core/inference_core.cpp"] == ext["inference_core.cpp"].read_bytes()
    assert files["Zebra/Core/image_ops.cpp"] == ext["image_ops.cpp"].read_bytes()


def test_core_reproduces_the_python_runtime(driver, models):
    x = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    result = driver.run_model(models["two_conv"], x.numpy().astype("<f4").tobytes(), [1, 3, 8, 8])
    expected = _python_runtime(models["two_conv"], x)[0]
    assert result["shape"] == list(expected.shape)
    actual = np.frombuffer(result["output"], "<f4")
    # Same runtime, same kernels (XNNPACK) on the same input: equal up to threading order.
    assert np.max(np.abs(actual - expected.ravel())) <= 1e-6
    assert result["metadata"] == METADATA == et.read_metadata(models["two_conv"])
    assert result["gpu"] is False


def test_core_picks_the_output_the_metadata_names(driver, models):
    x = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(4)) - 0.5
    result = driver.run_model(models["tuple"], x.numpy().astype("<f4").tobytes(), [1, 3, 8, 8])
    second = _python_runtime(models["tuple"], x)[1]
    assert result["shape"] == [1, 3, 8, 8]
    assert np.array_equal(np.frombuffer(result["output"], "<f4"), second.ravel().astype("<f4"))
    # The model's relu_-free graph must not have changed the caller's buffer either.
    assert np.array_equal(np.frombuffer(result["output"], "<f4"), (torch.relu(x) + 1.0).numpy().ravel())


def test_verify_core_end_to_end_on_the_sample(tmp_path, models, sample, core_dir, cache_dir):
    platform = tmp_path / "ios"
    shutil.copytree(core_dir, platform / "App" / "Core")
    result = native.verify_core(platform, models["two_conv"], sample["png"], sample["expected"], MEAN, STD,
                                1e-5, build_dir=cache_dir, runtime="executorch")
    assert result["max_abs_error"] <= 1e-6 and result["values"] == 3 * 8 * 8
    # A wrong expected output is caught: the check can fail.
    wrong = tmp_path / "wrong.bin"
    wrong.write_bytes((sample["y"] + np.float32(1e-3)).astype("<f4").tobytes())
    with pytest.raises(CheckFailedError, match="differs from wrong.bin"):
        native.verify_core(platform, models["two_conv"], sample["png"], wrong, MEAN, STD, 1e-5,
                           build_dir=cache_dir, runtime="executorch")


@pytest.mark.parametrize("case", ["missing", "garbage", "lite archive", "wrong shape"])
def test_errors_are_one_line(driver, models, tmp_path, case):
    model, shape = models["two_conv"], [1, 3, 8, 8]
    if case == "missing":
        model = tmp_path / "nope.pte"
    elif case == "garbage":
        model = tmp_path / "garbage.pte"
        model.write_bytes(os.urandom(4096))
    elif case == "lite archive":
        model = tmp_path / "model.ptl"
        torch.jit.trace(TwoConv().eval(), torch.rand(1, 3, 8, 8))._save_for_lite_interpreter(str(model))
    else:
        shape = [1, 3, 4, 4]
    n = int(np.prod(shape))
    with pytest.raises(CheckFailedError) as info:
        driver.run_model(model, np.zeros(n, "<f4").tobytes(), shape)
    message = str(info.value)
    assert "\n" not in message
    expected = {"missing": "cannot open model file", "garbage": "not an ExecuTorch program",
                "lite archive": "not an ExecuTorch program", "wrong shape": "does not accept an input of this shape"}[case]
    assert expected in message, message


def test_core_is_valid_cxx17_and_the_check_can_fail(core_dir, cache_dir, tmp_path):
    assert native.check_core_standard(core_dir, "-std=c++17", cache_dir, runtime="executorch") == []
    bad = tmp_path / "bad"
    shutil.copytree(core_dir, bad)
    with open(bad / "inference_core.cpp", "a") as fh:
        fh.write("\n#include <span>\nstatic std::span<const int> cxx20Only;\n")
    problems = native.check_core_standard(bad, "-std=c++17", tmp_path / "cache", runtime="executorch")
    assert problems and "inference_core.cpp" in problems[0]


def _ios_project(root: Path, core_dir: Path, models: dict, sample: dict, context: dict) -> Path:
    from generator import pbxproj

    ios = root / render.section("ios")["output"]
    shutil.copytree(core_dir, ios / "Zebraify" / "Core")
    for kind, source in (("model", models["two_conv"]), ("sample", sample["png"]), ("expected", sample["expected"])):
        target = ios / render.artifact_path("ios", kind, context)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    pbxproj.write_xcode_project(ios, product_name="Zebraify", bundle_id="com.example.zebraify",
                                deployment_target=versions.EXECUTORCH_IOS_DEPLOYMENT_TARGET,
                                swift_version=versions.SWIFT_VERSION)
    return ios


def test_scaffold_check_runs_the_executorch_core_or_skips(tmp_path, models, sample, core_dir, cache_dir, monkeypatch):
    monkeypatch.setattr(native.build, "default_build_dir", lambda: cache_dir)
    context = {
        "runtime": "executorch", "product_name": "Zebraify", "model_file": "model.pte", "sample_file": "sample.png",
        "expected_file": "expected_output.bin", "mean": MEAN, "std": STD, "tolerance": 1e-4, "rtol": 1e-5,
        "task": "image-to-image", "input_width": 8, "input_height": 8, "output_shape": [1, 3, 8, 8],
    }
    _ios_project(tmp_path, core_dir, models, sample, context)
    report = CheckReport()
    native.check_ios(tmp_path, context, report)
    rows = {c.name: c for c in report.checks}
    core = rows["C++ core reproduces the expected output (host ExecuTorch, pip wheel)"]
    assert core.status == "pass", core.detail
    assert rows["C++ core compiles in the standard of the Xcode app target"].status == "pass"

    # Without the wheel the row is a skip that names the fix, not a failure or a crash.
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "executorch" else real(name, *a))
    report = CheckReport()
    native.check_ios(tmp_path, context, report)
    assert [(c.status, c.name) for c in report.checks] == [
        ("skip", "C++ core reproduces the expected output (host ExecuTorch, pip wheel)")]
    assert "pip install executorch==" in report.checks[0].detail


def test_android_native_with_executorch_is_refused_in_one_line():
    from generator import project

    with pytest.raises(UsageError) as info:
        project.make_config(name="zebra", package=None, bundle_id=None, platforms=("android",), android_api="native",
                            use_vulkan=False, tolerance=1e-4, runtime="executorch")
    assert "\n" not in str(info.value) and "--android-api java" in str(info.value)
    # The same runtime for iOS only, or the Java variant, stays available.
    for platforms, api in ((("ios",), "native"), (("android", "ios"), "java")):
        config = project.make_config(name="zebra", package=None, bundle_id=None, platforms=platforms,
                                     android_api=api, use_vulkan=False, tolerance=1e-4, runtime="executorch")
        assert config.runtime == "executorch"
    assert project.make_config(name="zebra", package=None, bundle_id=None, platforms=("android",), android_api="native",
                               use_vulkan=False, tolerance=1e-4).runtime == "lite"


def test_metadata_method_name_is_the_one_the_core_reads():
    source = native.core_template_files("executorch")["inference_core.cpp"].read_text()
    assert f'kMetadataMethod = "{METADATA_METHOD}"' in source

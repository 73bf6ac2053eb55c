"""The shared C++ core, its host driver and the Android JNI variant, built with g++ against the
host torch and compared with torch, torchvision and numpy.

The core is compiled once per session (about 25 s on two cores); every other build reuses its
object file. Set SCAFFOLD_NATIVE_CACHE to a directory to keep builds across sessions.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import struct
import subprocess
import time
from pathlib import Path

import jinja2
import numpy as np
import pytest
import torch
import torch.jit.mobile
import torchvision.transforms.functional as TF
from PIL import Image

from generator import native, names, versions
from generator.checks import CheckReport
from generator.errors import CheckFailedError, ToolMissingError
from generator.tools import Gxx, Javac

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
PACKAGE = "com.example.zebra_ify"  # '_' exercises JNI mangling
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
METADATA = json.dumps({"format": 1, "labels": ["zebra 🦓", "horse"]}, ensure_ascii=False, separators=(",", ":"))


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


def _context(package: str = PACKAGE) -> dict:
    return {"package": package, "package_path": package.replace(".", "/"),
            "jni_prefix": native.jni_prefix(package), "v": versions}


def render_android_native(root: Path, package: str = PACKAGE) -> Path:
    """The native variant's files of an Android project, rendered into root (android/)."""
    env, ctx = _environment(), _context(package)
    cpp = root / "app" / "src" / "main" / "cpp"
    cpp.mkdir(parents=True, exist_ok=True)
    for name in ("scaffold_jni.cpp", "CMakeLists.txt"):
        (cpp / name).write_text(env.get_template(f"android/app/src/main/cpp/{name}.jinja").render(**ctx))
    for name, template in native.core_template_files("lite").items():
        shutil.copyfile(template, cpp / name)
    java_dir = root / "app" / "src" / "main" / "java" / ctx["package_path"]
    java_dir.mkdir(parents=True, exist_ok=True)
    template = "android/app/src/main/java/{{ package_path }}/NativeCore.java.jinja"
    (java_dir / "NativeCore.java").write_text(env.get_template(template).render(**ctx))
    return root


# ------------------------------------------------------------------------------------------
# Models and fixtures


class TwoConv(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first = torch.nn.Conv2d(3, 6, 3, padding=1)
        self.second = torch.nn.Conv2d(6, 3, 3, padding=1)

    def forward(self, x):
        return torch.tanh(self.second(torch.relu(self.first(x))))


class TupleOut(torch.nn.Module):
    def forward(self, x):
        return x.mean(1, keepdim=True) * 2.0, x + 1.0


class ChannelsLastOut(torch.nn.Module):
    def forward(self, x):
        return (x * 2.0 - 1.0).contiguous(memory_format=torch.channels_last)


class InPlace(torch.nn.Module):
    def forward(self, x):
        return x.relu_() * 3.0


def save_lite(model: torch.nn.Module, path: Path, size: int = 8, metadata: str | None = METADATA) -> Path:
    torch.manual_seed(0)
    traced = torch.jit.trace(model.eval(), torch.rand(1, 3, size, size), check_trace=False)
    extra = {"scaffold.json": metadata} if metadata is not None else {}
    traced._save_for_lite_interpreter(str(path), _extra_files=extra)
    return path


def lite_output(path: Path, x: torch.Tensor) -> torch.Tensor:
    out = torch.jit.mobile._load_for_lite_interpreter(str(path))(x)
    return out[0] if isinstance(out, (tuple, list)) else out


def f32(values) -> bytes:
    return np.asarray(values, dtype="<f4").tobytes()


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    if os.environ.get("SCAFFOLD_NATIVE_CACHE"):
        return Path(os.environ["SCAFFOLD_NATIVE_CACHE"])
    base = tmp_path_factory.getbasetemp()
    # xdist workers get basetemp/popen-gwN: share one cache between them (builds are atomic).
    return (base.parent if base.name.startswith("popen-gw") else base) / "native-cache"


@pytest.fixture(scope="session")
def android_dir(tmp_path_factory) -> Path:
    return render_android_native(tmp_path_factory.mktemp("project") / "android")


@pytest.fixture(scope="session")
def core_dir(android_dir) -> Path:
    return android_dir / "app" / "src" / "main" / "cpp"


@pytest.fixture(scope="session")
def driver_build(core_dir, cache_dir) -> dict:
    start = time.monotonic()
    path = native.build_core_driver(core_dir, cache_dir)
    return {"path": path, "seconds": time.monotonic() - start}


@pytest.fixture(scope="session")
def driver(driver_build, tmp_path_factory) -> native.CoreDriver:
    return native.CoreDriver(driver_build["path"], tmp_path_factory.mktemp("driver-io"))


@pytest.fixture(scope="session")
def model_path(tmp_path_factory) -> Path:
    return save_lite(TwoConv(), tmp_path_factory.mktemp("models") / "two_conv.ptl")


@pytest.fixture(scope="session")
def sample(tmp_path_factory, model_path) -> dict:
    """A sample picture and the expected output computed the way the generator does."""
    root = tmp_path_factory.mktemp("sample")
    pixels = (np.random.RandomState(1).rand(8, 8, 3) * 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    image.save(root / "sample.png")
    x = TF.normalize(TF.to_tensor(image), MEAN, STD).unsqueeze(0)
    expected = lite_output(model_path, x).detach().numpy().astype("<f4")
    (root / "expected_output.bin").write_bytes(expected.tobytes())
    return {"png": root / "sample.png", "expected": root / "expected_output.bin", "image": image, "x": x,
            "y": expected}


# ------------------------------------------------------------------------------------------
# Builds


def test_driver_build_is_cached(driver_build, core_dir, cache_dir):
    print(f"\ncore + driver build: {driver_build['seconds']:.1f} s "
          f"(core object {native.build_info(native.build_core_object(core_dir, cache_dir)).get('seconds')} s)")
    start = time.monotonic()
    again = native.build_core_driver(core_dir, cache_dir)
    assert again == driver_build["path"]
    assert time.monotonic() - start < 5, "a cached driver must not be rebuilt"
    assert os.access(again, os.X_OK)


def test_build_key_follows_content_not_location(core_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(core_dir, copy)
    assert native.core_build_key(copy) == native.core_build_key(core_dir)
    with open(copy / "inference_core.cpp", "a") as fh:
        fh.write("\n// changed\n")
    assert native.core_build_key(copy) != native.core_build_key(core_dir)


def test_core_is_valid_cxx17(core_dir, cache_dir, tmp_path):
    assert native.check_core_standard(core_dir, "-std=c++17", cache_dir) == []
    # Negative control (a stand-in core without torch includes, to keep it fast): a C++20-only
    # construct in the core's own file must be reported.
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "inference_core.h").write_text("#pragma once\n")
    (bad / "inference_core.cpp").write_text('#include "inference_core.h"\n#include <span>\nstatic std::span<const int> cxx20Only;\n')
    problems = native.check_core_standard(bad, "-std=c++17", tmp_path / "cache")
    assert problems and "inference_core.cpp:3" in problems[0]
    # The flag is part of the verdict's cache key: the same file is fine in C++20.
    assert native.check_core_standard(bad, "-std=c++20", tmp_path / "cache") == []


def test_std_flags_come_from_the_project_files():
    assert native.xcode_std_flag("c++17") == "-std=c++17"
    assert native.xcode_std_flag("gnu++20") == "-std=gnu++20"
    assert native.xcode_std_flag("compiler-default") is None
    assert native.xcode_std_flag(None) is None
    cmake = (TEMPLATES / "android/app/src/main/cpp/CMakeLists.txt.jinja").read_text()
    assert native.cmake_std_flag(cmake) == "-std=c++17"
    assert native.cmake_std_flag("set(CMAKE_CXX_STANDARD 20)\n") == "-std=gnu++20"  # CMake's extensions default
    assert native.cmake_std_flag("project(x)\n") is None


def test_missing_tools_raise_tool_missing(core_dir, tmp_path, monkeypatch):
    with pytest.raises(ToolMissingError, match="g\\+\\+ not found"):
        native.build_core_driver(core_dir, tmp_path, Gxx(path=tmp_path / "no-gxx"))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(ToolMissingError, match="javac not found"):
        native.find_jni_include_dirs(Javac(path=tmp_path / "no-javac"))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ToolMissingError, match="torch not found"):
        native.find_torch()


# ------------------------------------------------------------------------------------------
# The model path


def test_run_matches_lite_interpreter(driver, model_path):
    x = torch.from_numpy(np.random.RandomState(2).randn(1, 3, 8, 8).astype(np.float32))
    result = driver.run_model(model_path, x.numpy().tobytes(), [1, 3, 8, 8])
    expected = lite_output(model_path, x).detach().numpy()
    actual = np.frombuffer(result["output"], dtype="<f4")
    assert result["shape"] == list(expected.shape)
    assert actual.size == expected.size
    assert float(np.max(np.abs(actual - expected.reshape(-1)))) <= 1e-5
    assert result["metadata"] == METADATA  # UTF-8 (emoji) survives the extra-files map
    assert result["gpu"] is False


def test_channels_last_output_comes_back_in_nchw_order(driver, tmp_path):
    # The lite interpreter keeps a channels-last output in NHWC memory order; the core must hand
    # the apps NCHW values (inference_core.cpp: .contiguous()).
    path = save_lite(ChannelsLastOut(), tmp_path / "channels_last.ptl", size=4)
    x = torch.from_numpy(np.random.RandomState(4).randn(1, 3, 4, 5).astype(np.float32))
    y = lite_output(path, x)
    assert y.is_contiguous(memory_format=torch.channels_last) and not y.is_contiguous()
    result = driver.run_model(path, x.numpy().tobytes(), [1, 3, 4, 5])
    assert result["shape"] == [1, 3, 4, 5]
    assert result["output"] == y.contiguous().detach().numpy().astype("<f4").tobytes()


def test_first_tensor_of_a_tuple_and_input_left_intact(driver, tmp_path):
    x = np.random.RandomState(3).randn(1, 3, 4, 4).astype(np.float32)
    tuple_model = save_lite(TupleOut(), tmp_path / "tuple.ptl", size=4, metadata=None)
    result = driver.run_model(tuple_model, x.tobytes(), [1, 3, 4, 4])
    assert result["shape"] == [1, 1, 4, 4]
    np.testing.assert_allclose(np.frombuffer(result["output"], "<f4"), (x.mean(1) * 2).reshape(-1), atol=1e-6)
    assert result["metadata"] == ""  # no scaffold.json in this archive
    # A model that modifies its input in place must not see (or change) the caller's buffer.
    inplace = save_lite(InPlace(), tmp_path / "inplace.ptl", size=4, metadata=None)
    result = driver.run_model(inplace, x.tobytes(), [1, 3, 4, 4])
    np.testing.assert_allclose(np.frombuffer(result["output"], "<f4"), (np.maximum(x, 0) * 3).reshape(-1), atol=1e-6)


class DictOut(torch.nn.Module):
    def forward(self, x):
        return {"out": x * 2.0, "aux \\ \"q\"": x - 1.0}


def test_output_chosen_by_the_metadata(driver, tmp_path):
    """The core picks the dict key / tuple index recorded in scaffold.json, as export and goldens do."""
    x = np.random.RandomState(4).randn(1, 3, 4, 4).astype(np.float32)

    def run(model, output: dict) -> np.ndarray:
        meta = json.dumps({"format": 1, "output": {**output, "range": None, "shape": [1, 3, 4, 4]}},
                          sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        path = tmp_path / f"m{len(list(tmp_path.iterdir()))}.ptl"
        torch.jit.trace(model, torch.rand(1, 3, 4, 4), check_trace=False, strict=False)._save_for_lite_interpreter(
            str(path), _extra_files={"scaffold.json": meta})
        return np.frombuffer(driver.run_model(path, x.tobytes(), [1, 3, 4, 4])["output"], "<f4")

    np.testing.assert_allclose(run(TupleOut(), {"index": 1}), (x + 1).reshape(-1), atol=1e-6)
    np.testing.assert_allclose(run(DictOut(), {"key": "out"}), (x * 2).reshape(-1), atol=1e-6)
    np.testing.assert_allclose(run(DictOut(), {"key": 'aux \\ "q"'}), (x - 1).reshape(-1), atol=1e-6)
    with pytest.raises(CheckFailedError, match="no tensor entry 'nope'"):
        run(DictOut(), {"key": "nope"})


def test_gpu_build_falls_back_to_the_cpu(core_dir, cache_dir, model_path, tmp_path):
    # With SCAFFOLD_USE_METAL the core first tries at::kMetal; the host has no Metal backend, so
    # this runs the exact fallback an iPhone takes when an operator has no Metal kernel.
    metal = native.CoreDriver(native.build_core_driver(core_dir, cache_dir, defines=["SCAFFOLD_USE_METAL"]), tmp_path)
    x = np.random.RandomState(8).randn(1, 3, 8, 8).astype(np.float32)
    result = metal.run_model(model_path, x.tobytes(), [1, 3, 8, 8])
    expected = lite_output(model_path, torch.from_numpy(x)).detach().numpy().reshape(-1)
    assert float(np.max(np.abs(np.frombuffer(result["output"], "<f4") - expected))) <= 1e-5
    assert result["gpu"] is False


@pytest.mark.parametrize(
    "setup, message",
    [
        ("missing", "cannot open model file"),
        ("garbage", "cannot load model"),
        ("shape", "values but its shape needs"),
        ("negative", "dimensions must be positive"),
    ],
)
def test_errors_become_one_line_failures(driver, model_path, tmp_path, setup, message):
    model, data, shape = model_path, f32(np.zeros(192)), [1, 3, 8, 8]
    if setup == "missing":
        model = tmp_path / "nowhere.ptl"
    elif setup == "garbage":
        model = tmp_path / "garbage.ptl"
        model.write_bytes(b"PK\x03\x04 this is not a model")
    elif setup == "shape":
        shape = [1, 3, 8, 9]
    else:
        shape = [1, 3, -8, -8]
    with pytest.raises(CheckFailedError, match=message) as info:
        driver.run_model(model, data, shape)
    assert "\n" not in str(info.value)
    # The executable itself: non-zero exit, one "error:" line, no crash.
    inp = tmp_path / "in.f32"
    inp.write_bytes(data)
    proc = subprocess.run([str(driver.path), "run", str(model), str(inp), ",".join(map(str, shape)), str(tmp_path / "o")],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1


# ------------------------------------------------------------------------------------------
# Pixel and output helpers


def _all_levels_image() -> Image.Image:
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    return Image.fromarray(np.stack([levels, levels[::-1], levels.T], axis=-1), "RGB")


@pytest.mark.parametrize("mean, std", [(MEAN, STD), ([0.0] * 3, [1.0] * 3), ([0.5] * 3, [0.5] * 3), ([-1.0, 0.3, 7.0], [3.0, 1e-3, 0.1])])
def test_rgba_to_chw_bit_matches_torchvision(driver, mean, std):
    image = _all_levels_image()
    rgba = bytearray(image.convert("RGBA").tobytes())
    rgba[3::4] = bytes(np.random.RandomState(4).randint(0, 256, 256, dtype=np.uint8))  # alpha is ignored
    expected = TF.normalize(TF.to_tensor(image), mean, std).contiguous().numpy().astype("<f4").tobytes()
    assert driver.rgba_to_chw(bytes(rgba), 16, 16, mean, std) == expected
    assert native.reference_chw(bytes(rgba), 16, 16, mean, std) == expected


def _reference_rgba(chw: np.ndarray, mean, std) -> bytes:
    m = np.asarray(mean, np.float32).reshape(3, 1)
    s = np.asarray(std, np.float32).reshape(3, 1)
    with np.errstate(invalid="ignore"):
        v = chw.reshape(3, -1) * s + m
        v = np.where(np.isnan(v), np.float32(0), np.clip(v, np.float32(0), np.float32(1)))
        q = np.floor(v * np.float32(255) + np.float32(0.5)).astype(np.uint8)
    rgba = np.full((chw.size // 3, 4), 255, np.uint8)
    rgba[:, :3] = q.T
    return rgba.tobytes()


@pytest.mark.parametrize("mean, std", [([0.0] * 3, [1.0] * 3), ([0.5] * 3, [0.5] * 3), (MEAN, STD), ([0.1, 0.2, 0.3], [3.0, 0.7, 1e-3])])
def test_chw_to_rgba_matches_numpy(driver, mean, std):
    rng = np.random.RandomState(5)
    chw = rng.uniform(-3, 3, 3 * 32 * 8).astype(np.float32)
    specials = np.array([np.nan, np.inf, -np.inf, -0.0, 0.5 / 255, 1.5 / 255, 254.5 / 255, 1.0, 2.0], np.float32)
    chw[: specials.size] = specials
    chw[specials.size : specials.size + 256] = np.arange(256, dtype=np.float32) / 255  # exact levels
    assert driver.chw_to_rgba(chw.tobytes(), 32, 8, mean, std) == _reference_rgba(chw, mean, std)


def test_every_level_round_trips(driver):
    rgba = _all_levels_image().convert("RGBA").tobytes()
    chw = driver.rgba_to_chw(rgba, 16, 16, [0.0] * 3, [1.0] * 3)
    assert driver.chw_to_rgba(chw, 16, 16, [0.0] * 3, [1.0] * 3) == rgba


def test_softmax_top_k_and_argmax(driver):
    logits = np.random.RandomState(6).randn(1000).astype(np.float32) * 10
    logits[[7, 500]] = logits.max() + 1  # a tie for first place
    probabilities = np.frombuffer(driver.softmax(logits.tobytes()), "<f4")
    np.testing.assert_allclose(probabilities, torch.softmax(torch.from_numpy(logits), 0).numpy(), atol=1e-7, rtol=0)
    assert driver.top_k(logits.tobytes(), 5) == list(np.argsort(-logits.astype(np.float64), kind="stable")[:5])
    assert driver.top_k(logits.tobytes(), 5)[:2] == [7, 500]

    with_nan = np.array([1.0, np.nan, 3.0], np.float32)
    assert np.isnan(np.frombuffer(driver.softmax(with_nan.tobytes()), "<f4")).all()
    assert driver.top_k(with_nan.tobytes(), 3) == [2, 0, 1]  # NaN ranks last
    assert driver.top_k(with_nan.tobytes(), 10) == [2, 0, 1]

    scores = np.random.RandomState(7).randn(4, 6, 5).astype(np.float32)
    scores[2, 0, 0] = scores[1, 0, 0] = scores[:, 0, 0].max() + 1  # tie goes to the lower class
    expected = np.argmax(scores, axis=0).reshape(-1).tolist()
    assert driver.argmax(scores.tobytes(), 4, 5, 6) == expected
    assert expected[0] == 1


def test_luma_helpers_match_the_generator_and_torch(driver):
    """YCbCr, the Y tensor and the Y + upscaled CbCr picture against goldens.py (bit for bit),
    the bilinear upscale against torch's interpolate (same mapping, float rounding apart)."""
    from generator import goldens

    image = _all_levels_image()
    rgb = np.asarray(image)
    rgba = image.convert("RGBA").tobytes()
    planes = goldens.rgb_to_ycbcr(rgb)
    assert driver.rgba_to_ycbcr(rgba, 16, 16) == planes.astype("<f4").tobytes()
    ycbcr_pil = np.asarray(image.convert("YCbCr"), np.float32).transpose(2, 0, 1)
    assert np.abs(planes - ycbcr_pil).max() <= 1.0  # Pillow rounds its fixed-point result to bytes
    y = driver.rgba_to_y(rgba, 16, 16, 0.25, 0.5)
    assert y == native.reference_input(rgba, 16, 16, [0.25] * 3, [0.5] * 3, channels=1)
    assert y == (((planes[0] / np.float32(255)) - np.float32(0.25)) / np.float32(0.5)).astype("<f4").tobytes()

    for out_w, out_h in ((48, 48), (37, 20), (16, 16), (5, 9)):
        resized = goldens.resize_bilinear(planes[1], out_w, out_h)
        torch_resized = torch.nn.functional.interpolate(torch.from_numpy(planes[1])[None, None], size=(out_h, out_w),
                                                        mode="bilinear", align_corners=False)[0, 0].numpy()
        np.testing.assert_allclose(resized, torch_resized, atol=1e-3, rtol=0)
        y_out = np.random.RandomState(out_w).uniform(-1.2, 1.2, out_w * out_h).astype(np.float32)
        y_out[:3] = [np.nan, np.inf, -np.inf]
        expected = goldens.ycbcr_output_argb(y_out, out_w, out_h, 0.5, 0.5, rgb)
        pixels = driver.y_to_rgba(y_out.tobytes(), out_w, out_h, 0.5, 0.5, rgba, 16, 16)
        assert native.rgba_to_argb(pixels) == expected.astype("<i4").tobytes(), (out_w, out_h)
    # The luma of the picture itself, at its own size, gives the picture back within one level.
    same = driver.y_to_rgba(driver.rgba_to_y(rgba, 16, 16, 0.0, 1.0), 16, 16, 0.0, 1.0, rgba, 16, 16)
    assert np.abs(np.frombuffer(same, np.uint8).astype(int) - np.frombuffer(rgba, np.uint8).astype(int)).max() <= 1


@pytest.mark.parametrize("layout, units, scores, iou", [
    ("yolo", "pixels", "probabilities", 0.45), ("yolo", "normalized", "logits", 0.2), ("boxes", "pixels", "probabilities", 0.7),
    ("boxes", "normalized", "probabilities", 0.0),
])
def test_detection_decode_and_nms_match_torchvision(driver, layout, units, scores, iou):
    from generator import goldens
    from generator.metadata import DetectionSpec, Metadata

    rng = np.random.RandomState(11)
    cols = 8 if layout == "yolo" else 6
    raw = rng.uniform(0, 1, (200, cols)).astype(np.float32)
    if layout == "boxes":
        raw[:, 2:4] += raw[:, 0:2]  # x2 >= x1
        raw[:, 5] = rng.randint(0, 5, 200)
    if scores == "logits":
        raw[:, 4:] = rng.normal(0, 3, (200, 4))
    raw[[3, 9], :] = raw[[5, 5], :]  # exact duplicates: equal scores, IoU 1
    spec = DetectionSpec(layout=layout, box_units=units, scores=scores, score_threshold=0.3, iou_threshold=iou,
                         max_detections=20)
    meta = Metadata("detection", 48, 32, (0, 0, 0), (1, 1, 1), (1, 200, cols) if layout == "yolo" else (200, 6),
                    detection=spec)
    decoded, keep = driver.detect(raw.tobytes(), spec.to_dict(), meta.num_classes, 48, 32)
    reference = goldens.decode_detections(raw, meta)
    actual = np.frombuffer(decoded, "<f4").reshape(-1, 6)
    if scores == "logits":  # libm's exp and torch's vectorized sigmoid may differ in the last bit
        np.testing.assert_allclose(actual, reference, atol=1e-6, rtol=0)
    else:
        assert actual.tobytes() == reference.tobytes()
    assert keep == goldens.select_detections(reference, meta).tolist() and 0 < len(keep) <= 20


# ------------------------------------------------------------------------------------------
# High-level checks


def test_verify_core_passes_and_catches_differences(android_dir, model_path, sample, cache_dir, tmp_path):
    result = native.verify_core(android_dir, model_path, sample["png"], sample["expected"], MEAN, STD,
                                tolerance=1e-5, build_dir=cache_dir)
    assert result["max_abs_error"] <= 1e-5
    assert result["output_shape"] == [1, 3, 8, 8]
    assert result["metadata"] == METADATA
    assert result["core_dir"] == android_dir / "app" / "src" / "main" / "cpp"

    nudged = sample["y"].reshape(-1).copy()
    nudged[17] += 1e-3
    (tmp_path / "nudged.bin").write_bytes(nudged.astype("<f4").tobytes())
    with pytest.raises(CheckFailedError, match=r"max abs error 0\.001 at index 17"):
        native.verify_core(android_dir, model_path, sample["png"], tmp_path / "nudged.bin", MEAN, STD, build_dir=cache_dir)
    (tmp_path / "short.bin").write_bytes(nudged[:-1].astype("<f4").tobytes())
    with pytest.raises(CheckFailedError, match="191"):
        native.verify_core(android_dir, model_path, sample["png"], tmp_path / "short.bin", MEAN, STD, build_dir=cache_dir)
    # Different normalization than the expected output was computed with: caught.
    with pytest.raises(CheckFailedError):
        native.verify_core(android_dir, model_path, sample["png"], sample["expected"], [0.0] * 3, [1.0] * 3,
                           build_dir=cache_dir)


def _goldens(root: Path, image: Image.Image, output: np.ndarray, task: str, out_mean, out_std) -> Path:
    """Golden vectors as docs/ARCHITECTURE.md describes them, computed here independently."""
    root.mkdir(parents=True, exist_ok=True)
    rgba = np.asarray(image.convert("RGBA"), np.uint32).reshape(-1, 4)
    argb = (rgba[:, 3] << 24) | (rgba[:, 0] << 16) | (rgba[:, 1] << 8) | rgba[:, 2]
    (root / "sample_argb.bin").write_bytes(argb.astype("<u4").tobytes())
    x = TF.normalize(TF.to_tensor(image), MEAN, STD)
    (root / "input_chw.bin").write_bytes(x.numpy().astype("<f4").tobytes())
    (root / "output_chw.bin").write_bytes(output.astype("<f4").tobytes())
    if task == "image-to-image":
        pixels = np.frombuffer(_reference_rgba(output.reshape(-1), out_mean, out_std), np.uint8).reshape(-1, 4).astype(np.uint32)
        packed = (np.uint32(255) << 24) | (pixels[:, 0] << 16) | (pixels[:, 1] << 8) | pixels[:, 2]
        (root / "output_argb.bin").write_bytes(packed.astype("<u4").tobytes())
    elif task == "classification":
        probabilities = torch.softmax(torch.from_numpy(output.reshape(-1)), 0).numpy()
        (root / "softmax.bin").write_bytes(probabilities.astype("<f4").tobytes())
        top = np.argsort(-probabilities.astype(np.float64), kind="stable")[:5]
        (root / "top5.bin").write_bytes(top.astype("<i4").tobytes())
    elif task == "segmentation":
        (root / "argmax.bin").write_bytes(np.argmax(output.reshape(3, -1), 0).astype("<i4").tobytes())
    return root


@pytest.mark.parametrize("task", ["image-to-image", "classification", "segmentation"])
def test_pixel_helpers_against_goldens(android_dir, sample, cache_dir, tmp_path, task):
    golden = _goldens(tmp_path / "golden", sample["image"], sample["y"], task, [0.5] * 3, [0.5] * 3)
    result = native.verify_pixel_helpers(android_dir, golden, width=8, height=8, mean=MEAN, std=STD,
                                         output_mean=[0.5] * 3, output_std=[0.5] * 3, build_dir=cache_dir)
    expected = {"image-to-image": ["rgbaToChw", "chwToRgba"], "classification": ["rgbaToChw", "softmax", "topK"],
                "segmentation": ["rgbaToChw", "argmaxChannels"]}[task]
    assert result["checked"] == expected
    # One ULP off in the golden input tensor must fail the bit-exact comparison.
    data = bytearray((golden / "input_chw.bin").read_bytes())
    (value,) = struct.unpack_from("<I", data, 40)
    struct.pack_into("<I", data, 40, value + 1)
    (golden / "input_chw.bin").write_bytes(bytes(data))
    with pytest.raises(CheckFailedError, match="bit for bit"):
        native.verify_pixel_helpers(android_dir, golden, width=8, height=8, mean=MEAN, std=STD, build_dir=cache_dir)


# ------------------------------------------------------------------------------------------
# JNI


def test_jni_prefix():
    assert native.jni_prefix("com.example.zebraify") == "Java_com_example_zebraify_NativeCore"
    assert native.jni_prefix(PACKAGE) == "Java_com_example_zebra_1ify_NativeCore"
    assert native.jni_prefix("org.app1.x") == "Java_org_app1_x_NativeCore"
    assert native.jni_mangle("a.b$c") == "a_b_00024c"
    assert native.jni_mangle("é") == "_000e9"
    assert native.jni_mangle("\U0001F993") == "_0d83e_0dd93"  # UTF-16 surrogate pair, lowercase hex
    assert native.jni_mangle("[L;") == "_3L_2"


def test_jni_library_runs_in_a_jvm(android_dir, model_path, sample, cache_dir, tmp_path):
    result = native.verify_jni(android_dir, PACKAGE, model_path, sample["png"], sample["expected"], MEAN, STD,
                               tolerance=1e-5, build_dir=cache_dir)
    assert result["max_abs_error"] <= 1e-5
    assert result["shape"] == "1,3,8,8"
    assert result["metadata"] == METADATA  # UTF-8 bytes across JNI, emoji included
    assert result["bad_shape_error"].startswith("java.lang.IllegalArgumentException: input has 192 values")
    assert result["closed_error"].startswith("java.lang.IllegalStateException")

    library = result["library"]
    symbols = subprocess.run(["nm", "-D", "--defined-only", str(library)], capture_output=True, text=True).stdout
    for method in ("nativeLoad", "nativeRun", "nativeOutputShape", "nativeMetadata", "nativeClose"):
        assert f"{native.jni_prefix(PACKAGE)}_{method}" in symbols

    garbage = tmp_path / "garbage.ptl"
    garbage.write_bytes(b"not a model")
    java_file = android_dir / "app/src/main/java/com/example/zebra_ify/NativeCore.java"
    chw = native.reference_chw(*native.png_to_rgba(sample["png"]), MEAN, STD)
    report = native.run_native_core_java(library, java_file, PACKAGE, model_path, chw, [1, 3, 8, 8], sample["expected"],
                                         1e-5, bad_model=garbage, build_dir=cache_dir)
    assert report["bad_model_error"].startswith("java.lang.RuntimeException: cannot load model")
    # A mismatch inside the JVM is a CheckFailedError with the JVM's reason.
    wrong = tmp_path / "wrong.bin"
    wrong.write_bytes((sample["y"].reshape(-1) + 0.5).astype("<f4").tobytes())
    with pytest.raises(CheckFailedError, match="exceeds tolerance"):
        native.run_native_core_java(library, java_file, PACKAGE, model_path, chw, [1, 3, 8, 8], wrong, 1e-5,
                                    build_dir=cache_dir)


def test_jni_check_applies_rtol_like_compare_outputs(android_dir, model_path, sample, cache_dir, tmp_path):
    # Off by 0.1% of each value: beyond an absolute 1e-6, within rtol 2e-3. verify.compare_outputs
    # (export, scaffold check's asset row, the C++ core row) accepts this; the JNI row must agree.
    import torch

    from generator.verify import compare_outputs

    shifted = (sample["y"].reshape(-1).astype(np.float64) * (1 + 1e-3)).astype("<f4")
    expected = tmp_path / "expected_rtol.bin"
    expected.write_bytes(shifted.tobytes())
    compare_outputs(torch.from_numpy(shifted.copy()), torch.from_numpy(sample["y"].reshape(-1).copy()), 1e-6, 2e-3)
    result = native.verify_jni(android_dir, PACKAGE, model_path, sample["png"], expected, MEAN, STD,
                               tolerance=1e-6, rtol=2e-3, build_dir=cache_dir)
    assert result["max_abs_error"] > 1e-6  # the absolute tolerance alone would have failed it
    with pytest.raises(CheckFailedError, match=r"exceeds tolerance 1.0E-6 \+ rtol 0.0 x"):
        native.verify_jni(android_dir, PACKAGE, model_path, sample["png"], expected, MEAN, STD,
                          tolerance=1e-6, rtol=0.0, build_dir=cache_dir)


def test_jni_check_passes_the_project_rtol(monkeypatch, tmp_path):
    # check_android hands scaffold.toml's rtol to the JNI row, not only the absolute tolerance.
    from generator.checks import CheckReport
    from generator.native import checks

    seen = {}
    monkeypatch.setattr(checks, "_report_core", lambda *a, **k: True)
    monkeypatch.setattr(checks, "_report_pixel_helpers", lambda *a, **k: None)
    monkeypatch.setattr(checks, "verify_jni", lambda *a, **k: seen.update(k) or {"max_abs_error": 0.0})
    context = {"package": PACKAGE, "mean": MEAN, "std": STD, "tolerance": 1e-4, "rtol": 0.25, "task": "tensor",
               "output_shape": [1, 3], "model_file": "model.ptl", "sample_file": "sample.png",
               "expected_file": "expected_output.bin", "product_name": "P", "package_path": "p"}
    checks.check_android(tmp_path, context, CheckReport())
    assert seen["rtol"] == 0.25


def test_android_native_templates_agree(android_dir):
    cmake = (android_dir / "app/src/main/cpp/CMakeLists.txt").read_text()
    java = (android_dir / "app/src/main/java/com/example/zebra_ify/NativeCore.java").read_text()
    glue = (android_dir / "app/src/main/cpp/scaffold_jni.cpp").read_text()
    assert f"cmake_minimum_required(VERSION {versions.CMAKE})" in cmake
    assert f"add_library({native.JNI_LIBRARY_NAME} SHARED" in cmake
    assert f'System.loadLibrary("{native.JNI_LIBRARY_NAME}")' in java
    assert java.startswith(f"package {PACKAGE};\n")
    assert "{{" not in glue and "Java_com_example_zebra_1ify_NativeCore_nativeRun" in glue
    for source in ("scaffold_jni.cpp", "inference_core.cpp", "image_ops.cpp"):
        assert source in cmake
    from generator import syntax

    assert syntax.syntax_errors("java", java.encode()) == []


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake not installed")
def test_cmakelists_finds_the_unpacked_aar(android_dir, tmp_path):
    # Configure only (the compile itself is covered by the g++ builds above): the script must
    # find headers and libraries where the Gradle task unpacks them, and fail with the fix when
    # they are missing.
    cpp = android_dir / "app" / "src" / "main" / "cpp"
    unpacked = tmp_path / "pytorch_native"
    (unpacked / "headers" / "torch" / "csrc" / "jit" / "mobile").mkdir(parents=True)
    (unpacked / "headers" / "torch" / "csrc" / "jit" / "mobile" / "import.h").write_text("")
    (unpacked / "jni" / "x86_64").mkdir(parents=True)
    for lib in ("libpytorch_jni_lite.so", "libfbjni.so"):
        (unpacked / "jni" / "x86_64" / lib).write_bytes(b"")
    configure = ["cmake", "-S", str(cpp), "-DANDROID_ABI=x86_64"]
    ok = subprocess.run([*configure, "-B", str(tmp_path / "ok"), f"-DPYTORCH_NATIVE_DIR={unpacked}"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    build_files = "".join(p.read_text(errors="replace") for p in (tmp_path / "ok").rglob("*") if p.is_file()
                          and p.suffix in (".make", ".txt", ".ninja", ".cmake"))
    assert "libpytorch_jni_lite.so" in build_files and "libfbjni.so" in build_files
    missing = subprocess.run([*configure, "-B", str(tmp_path / "missing"), f"-DPYTORCH_NATIVE_DIR={tmp_path / 'none'}"],
                             capture_output=True, text=True)
    assert missing.returncode != 0
    assert "extractPytorchNative" in missing.stderr


# ------------------------------------------------------------------------------------------
# `scaffold check` entry points


def test_check_entry_points_report(tmp_path, model_path, sample, cache_dir, monkeypatch):
    from generator import render

    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_dir.parent / "xdg"))
    monkeypatch.setattr(native.build, "default_build_dir", lambda: cache_dir)
    context = {
        "package": PACKAGE, "package_path": PACKAGE.replace(".", "/"), "product_name": "Zebraify",
        "model_file": "model.ptl", "sample_file": "sample.png", "expected_file": "expected_output.bin",
        "mean": MEAN, "std": STD, "tolerance": 1e-4, "rtol": 1e-5, "task": "image-to-image", "input_width": 8,
        "input_height": 8, "output_shape": [1, 3, 8, 8], "output_mean": [0.5] * 3, "output_std": [0.5] * 3,
    }
    project = tmp_path / "project"
    android = render_android_native(project / render.section("android")["output"])
    ios_core = project / render.section("ios")["output"] / "Zebraify" / "Core"
    ios_core.mkdir(parents=True)
    for name, template in native.core_template_files("lite").items():
        shutil.copyfile(template, ios_core / name)
    for platform, root in (("android", android), ("ios", ios_core.parent.parent)):
        for kind, source in (("model", model_path), ("sample", sample["png"]), ("expected", sample["expected"])):
            target = root / render.artifact_path(platform, kind, context)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    from generator import pbxproj

    pbxproj.write_xcode_project(ios_core.parent.parent, product_name="Zebraify", bundle_id="com.example.zebraify",
                                deployment_target=versions.IOS_DEPLOYMENT_TARGET, swift_version=versions.SWIFT_VERSION)
    _goldens(android / render.artifact_path("android", "goldens", context), sample["image"], sample["y"],
             "image-to-image", [0.5] * 3, [0.5] * 3)

    report = CheckReport()
    native.check_ios(project, context, report)
    native.check_android(project, context, report)
    statuses = {(c.scope, c.name): c.status for c in report.checks}
    assert report.ok, [c for c in report.checks if c.status != "pass"]
    assert statuses[("ios", "C++ core reproduces the expected output (host LibTorch)")] == "pass"
    assert statuses[("android", "NativeCore (JNI) runs the model in a JVM")] == "pass"
    details = {(c.scope, c.name): c.detail for c in report.checks}
    assert "-std=c++17" in details[("ios", "C++ core compiles in the standard of the Xcode app target")]
    assert "-std=c++17" in details[("android", "C++ core compiles in the standard of app/src/main/cpp/CMakeLists.txt")]
    assert len(report.checks) == 6

    # A broken expected output turns into a failed check with a one-line reason, not an exception.
    expected = android / render.artifact_path("android", "expected", context)
    expected.write_bytes(expected.read_bytes()[:-4])
    report = CheckReport()
    native.check_android(project, context, report)
    assert [c.status for c in report.checks] == ["fail"]
    assert "\n" not in report.checks[0].detail

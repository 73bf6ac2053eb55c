"""Host builds and checks of the shared C++ inference core that generated projects ship.

The core (``templates/shared/cpp``) is the runtime-neutral ``image_ops.cpp`` plus one
``inference_core.cpp`` per runtime: LibTorch-Lite's runs on phones inside LibTorch-Lite (iOS)
and pytorch_android_lite (Android native variant), ExecuTorch's inside the ExecuTorch runtime.
None of those runs here, but the host torch wheel carries the same lite interpreter with C++
headers (native/lite.py) and the executorch wheel the same runtime (native/executorch.py), so
this module compiles the core with g++ against the runtime of the project and compares the
results with what Python computed. ``scaffold check`` and the test suite call the functions below.

Builds are cached in a directory keyed by a hash of the sources, flags, compiler and runtime
build: compiling the lite core against the torch headers takes 15-30 s, the ExecuTorch core
about 5, linking about one. The core object is compiled once (position independent) and linked
into both the command-line driver and the JNI library.
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
import tempfile
from pathlib import Path
from typing import Sequence

from generator.errors import CheckFailedError
from generator.goldens import read_sample_input
from generator.native import build as builds
from generator.native.build import (COMPILE_TIMEOUT, CXX_DIR, RUN_TIMEOUT, _cached, _compile, _compiler_identity,
                                    _define_flags, _first_error, _hash, _read, build_info)
from generator.native.executorch import ExecutorchInstall, find_executorch
from generator.native.lite import TorchInstall, find_torch
from generator.tools import Gxx

CORE_DRIVER_SOURCE = CXX_DIR / "core_driver.cpp"
CORE_HEADER = "inference_core.h"
CORE_SOURCE = "inference_core.cpp"
OPS_HEADER = "image_ops.h"
OPS_SOURCE = "image_ops.cpp"
# image_ops.cpp includes no runtime header, so one object serves every runtime; C++17 as on phones.
OPS_FLAGS = ("-std=c++17", "-O1", "-fPIC")
RUNTIMES = ("lite", "executorch")


def find_runtime(runtime: str = "lite") -> TorchInstall | ExecutorchInstall:
    """The host install of the runtime a project's core is written for."""
    if runtime == "executorch":
        return find_executorch()
    if runtime == "lite":
        return find_torch()
    raise ValueError(f"unknown runtime {runtime!r}; expected one of {', '.join(RUNTIMES)}")


def core_template_files(runtime: str = "lite") -> dict[str, Path]:
    """The core's files for a runtime as the manifest maps them (file name -> template path)."""
    from generator import render

    files: dict[str, Path] = {}
    for spec in (render.section("ios"), render.runtime_section("ios", runtime)):
        for shared_rel, dest in spec.get("shared", {}).items():
            files[Path(dest).name] = render.TEMPLATES_DIR / "shared" / shared_rel
    return files


def core_build_key(core_dir: Path, gxx: Gxx | None = None, defines: Sequence[str] = (), runtime: str = "lite") -> str:
    """Cache key of the core object: its files' bytes, the flags, compiler and runtime build
    (not the directory: identical copies in android/ and ios/ share one build)."""
    gxx = gxx or Gxx()
    install = find_runtime(runtime)
    header = _read(Path(core_dir) / CORE_HEADER, "C++ core header")
    ops_header = _read(Path(core_dir) / OPS_HEADER, "C++ image_ops header")
    source = _read(Path(core_dir) / CORE_SOURCE, "C++ core source")
    flags = " ".join([*install.cxx_flags, *_define_flags(defines)])
    return _hash("core", runtime, header, ops_header, source, flags, _compiler_identity(gxx), install.identity)


def build_core_object(core_dir: Path, build_dir: Path, gxx: Gxx | None = None, defines: Sequence[str] = (),
                      runtime: str = "lite") -> Path:
    """Compile inference_core.cpp from core_dir (position independent) against the host install
    of ``runtime`` into a cached object. ``defines`` are preprocessor symbols, e.g.
    SCAFFOLD_USE_METAL to exercise the lite core's GPU fallback."""
    gxx = gxx or Gxx()
    core_dir = Path(core_dir)
    key = core_build_key(core_dir, gxx, defines, runtime)
    install = find_runtime(runtime)

    def build(out: Path) -> None:
        args = [*install.cxx_flags, *_define_flags(defines), *install.compile_flags(), "-I", str(core_dir),
                "-c", str(core_dir / CORE_SOURCE), "-o", str(out)]
        _compile(gxx, args, f"the C++ core {core_dir / CORE_SOURCE}")

    return _cached(Path(build_dir) / f"core-{key}", "inference_core.o", build)


def build_ops_object(core_dir: Path, build_dir: Path, gxx: Gxx | None = None) -> Path:
    """Compile the runtime-neutral image_ops.cpp from core_dir into a cached object."""
    gxx = gxx or Gxx()
    core_dir = Path(core_dir)
    key = _hash("ops", _read(core_dir / OPS_HEADER, "C++ image_ops header"),
                _read(core_dir / OPS_SOURCE, "C++ image_ops source"), " ".join(OPS_FLAGS), _compiler_identity(gxx))

    def build(out: Path) -> None:
        _compile(gxx, [*OPS_FLAGS, "-I", str(core_dir), "-c", str(core_dir / OPS_SOURCE), "-o", str(out)],
                 f"the C++ helpers {core_dir / OPS_SOURCE}")

    return _cached(Path(build_dir) / f"ops-{key}", "image_ops.o", build)


def build_core_driver(core_dir: Path, build_dir: Path, gxx: Gxx | None = None, defines: Sequence[str] = (),
                      runtime: str = "lite") -> Path:
    """Build (or reuse) the host driver executable around the core found in core_dir."""
    gxx = gxx or Gxx()
    core_dir = Path(core_dir)
    core_object = build_core_object(core_dir, build_dir, gxx, defines, runtime)
    ops_object = build_ops_object(core_dir, build_dir, gxx)
    install = find_runtime(runtime)
    driver_source = _read(CORE_DRIVER_SOURCE, "core driver source")
    key = _hash("driver", core_object.parent.name, ops_object.parent.name, driver_source, " ".join(install.cxx_flags))

    def build(out: Path) -> None:
        args = [*install.cxx_flags, "-I", str(core_dir), str(CORE_DRIVER_SOURCE), str(core_object), str(ops_object),
                "-o", str(out), *install.link_flags()]
        _compile(gxx, args, "the core driver")

    return _cached(Path(build_dir) / f"driver-{key}", "core_driver", build)


def xcode_std_flag(standard: str | None) -> str | None:
    """The g++ flag for an Xcode CLANG_CXX_LANGUAGE_STANDARD value ("c++17" -> "-std=c++17",
    "gnu++17" -> "-std=gnu++17"); None for "compiler-default" or anything unknown."""
    if standard and re.fullmatch(r"(c|gnu)\+\+(98|0x|11|1y|14|1z|17|2a|20|2b|23)", standard):
        return f"-std={standard}"
    return None


def cmake_std_flag(cmakelists: str) -> str | None:
    """The g++ flag for CMAKE_CXX_STANDARD (and CMAKE_CXX_EXTENSIONS) in a CMakeLists.txt."""
    level = re.search(r"^\s*set\s*\(\s*CMAKE_CXX_STANDARD\s+(\d+)\s*\)", cmakelists, re.M | re.I)
    if not level:
        return None
    # CMake's default for CMAKE_CXX_EXTENSIONS is ON, i.e. gnu++NN.
    off = re.search(r"^\s*set\s*\(\s*CMAKE_CXX_EXTENSIONS\s+(OFF|FALSE|NO|0)\s*\)", cmakelists, re.M | re.I)
    return f"-std={'c' if off else 'gnu'}++{level.group(1)}"


def check_core_standard(core_dir: Path, std_flag: str, build_dir: Path | None = None,
                        gxx: Gxx | None = None, runtime: str = "lite") -> list[str]:
    """Problems that make the core invalid in the standard ``std_flag`` (e.g. "-std=c++17"), the
    one the mobile build compiles it with (read from the generated project by the callers).

    The host torch headers need C++20, so an older-standard compile of the core fails inside
    them; the errors that matter are the ones located in the core's own files. The verdict is
    cached next to the builds, keyed like them.
    """
    gxx = gxx or Gxx()
    core_dir = Path(core_dir).resolve()
    install = find_runtime(runtime)
    sources = [core_dir / CORE_SOURCE] + ([core_dir / OPS_SOURCE] if (core_dir / OPS_SOURCE).is_file() else [])
    key = _hash("std", std_flag, runtime, _read(core_dir / CORE_HEADER, "C++ core header"),
                *(_read(source, "C++ core source") for source in sources),
                *(_read(h, "C++ core header") for h in [core_dir / OPS_HEADER] if h.is_file()),
                _compiler_identity(gxx), install.identity)
    cache = Path(build_dir or builds.default_build_dir()) / f"std-{key}.json"
    try:
        return json.loads(cache.read_text())
    except (OSError, ValueError):
        pass
    # SCAFFOLD_USE_METAL: the Metal branch is only compiled by iOS builds that opt in, so check it too.
    defines = [f for f in install.cxx_flags if f.startswith("-D")]
    args = [std_flag, "-fsyntax-only", "-DSCAFFOLD_USE_METAL", *defines, *install.compile_flags(), "-I", str(core_dir),
            *map(str, sources)]
    result = gxx.run(args, timeout=COMPILE_TIMEOUT)
    problems = [
        line.strip() for line in result.output.splitlines()
        if ": error:" in line and line.startswith(str(core_dir))
    ]
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(problems) + "\n")
    return problems


# --------------------------------------------------------------------------------------------
# Running the driver


def _float32(value: float) -> float:
    return struct.unpack("<f", struct.pack("<f", float(value)))[0]


def _triple(values: Sequence[float], name: str) -> str:
    if len(values) != 3:
        raise ValueError(f"{name} needs 3 values (R, G, B), got {len(values)}")
    # Hex floats of the float32-rounded values: the C++ side then sees exactly the float32 that
    # torch and Java use, with no decimal round trip in between.
    return ",".join(_float32(v).hex() for v in values)


def _run_driver(driver: Path, args: list[str], what: str) -> str:
    try:
        proc = subprocess.run(
            [str(driver), *args], capture_output=True, text=True, errors="replace",
            timeout=RUN_TIMEOUT, check=False,
        )
    except subprocess.TimeoutExpired:
        raise CheckFailedError(f"C++ core timed out after {RUN_TIMEOUT} s while {what}") from None
    if proc.returncode != 0:
        message = _first_error(proc.stderr) if proc.stderr.strip() else f"exit status {proc.returncode}"
        raise CheckFailedError(f"C++ core failed while {what}: {message.removeprefix('error: ')}")
    return proc.stdout


def _key_values(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values


def _floats(data: bytes) -> list[float]:
    if len(data) % 4:
        raise CheckFailedError(f"float32 data has {len(data)} bytes, not a multiple of 4")
    return list(struct.unpack(f"<{len(data) // 4}f", data))


def _ints(data: bytes) -> list[int]:
    if len(data) % 4:
        raise CheckFailedError(f"int32 data has {len(data)} bytes, not a multiple of 4")
    return list(struct.unpack(f"<{len(data) // 4}i", data))


class CoreDriver:
    """The built driver executable, with one method per mode; data in and out as bytes."""

    def __init__(self, path: Path, work_dir: Path | None = None) -> None:
        self.path = Path(path)
        self._work_dir = work_dir

    def _tmp(self) -> tempfile.TemporaryDirectory:
        return tempfile.TemporaryDirectory(prefix="scaffold-core-", dir=self._work_dir)

    def run_model(self, model: Path, input_f32: bytes, shape: Sequence[int], dtype: str = "float32") -> dict:
        """{"output": bytes (float32 LE), "shape": [..], "metadata": str, "load_ms", "run_ms"}; the
        input is float32 LE values, or with dtype "int64" int64 LE values (the core's runInt64)."""
        with self._tmp() as tmp:
            src, dst, meta = Path(tmp, "input.bin"), Path(tmp, "output.f32"), Path(tmp, "meta.json")
            src.write_bytes(input_f32)
            stdout = _run_driver(
                self.path,
                ["run-int64" if dtype == "int64" else "run", str(model), str(src), ",".join(str(int(d)) for d in shape),
                 str(dst), str(meta)],
                f"running {Path(model).name}",
            )
            info = _key_values(stdout)
            return {
                "output": dst.read_bytes(),
                "shape": [int(d) for d in info.get("shape", "").split(",") if d],
                "metadata": meta.read_bytes().decode("utf-8", errors="replace"),
                "load_ms": float(info.get("load_ms", "nan")),
                "run_ms": float(info.get("run_ms", "nan")),
                "gpu": info.get("gpu") == "1",
            }

    def rgba_to_chw(self, rgba: bytes, width: int, height: int, mean, std) -> bytes:
        return self._convert("rgba2chw", rgba, width, height, mean, std, "converting RGBA pixels to a tensor")

    def chw_to_rgba(self, chw_f32: bytes, width: int, height: int, mean, std) -> bytes:
        return self._convert("chw2rgba", chw_f32, width, height, mean, std, "converting a tensor to RGBA pixels")

    def _convert(self, mode: str, data: bytes, width: int, height: int, mean, std, what: str) -> bytes:
        with self._tmp() as tmp:
            src, dst = Path(tmp, "in.bin"), Path(tmp, "out.bin")
            src.write_bytes(data)
            _run_driver(self.path, [mode, str(src), str(width), str(height), _triple(mean, "mean"), _triple(std, "std"), str(dst)], what)
            return dst.read_bytes()

    def rgba_to_ycbcr(self, rgba: bytes, width: int, height: int) -> bytes:
        return self._files("rgba2ycbcr", [rgba], [str(width), str(height)], "converting RGBA pixels to YCbCr")

    def rgba_to_y(self, rgba: bytes, width: int, height: int, mean: float, std: float) -> bytes:
        return self._files("rgba2y", [rgba], [str(width), str(height), _float32(mean).hex(), _float32(std).hex()],
                           "converting RGBA pixels to a luma tensor")

    def y_to_rgba(self, y_f32: bytes, out_width: int, out_height: int, mean: float, std: float,
                  rgba: bytes, in_width: int, in_height: int) -> bytes:
        with self._tmp() as tmp:
            src, pixels, dst = Path(tmp, "y.f32"), Path(tmp, "in.u8"), Path(tmp, "out.u8")
            src.write_bytes(y_f32)
            pixels.write_bytes(rgba)
            _run_driver(self.path, ["y2rgba", str(src), str(out_width), str(out_height), _float32(mean).hex(),
                                    _float32(std).hex(), str(pixels), str(in_width), str(in_height), str(dst)],
                        "combining a luma output with the input's colors")
            return dst.read_bytes()

    def _files(self, mode: str, inputs: list[bytes], args: list[str], what: str) -> bytes:
        """MODE IN... ARGS... OUT: the shape most conversion modes share."""
        with self._tmp() as tmp:
            paths = []
            for i, data in enumerate(inputs):
                paths.append(Path(tmp, f"in{i}.bin"))
                paths[-1].write_bytes(data)
            dst = Path(tmp, "out.bin")
            _run_driver(self.path, [mode, *map(str, paths), *args, str(dst)], what)
            return dst.read_bytes()

    def input_tensor(self, rgba: bytes, width: int, height: int, mean, std, channels: int = 3) -> tuple[bytes, list[int]]:
        """What the apps feed the model: RGB planes, or the Y plane for a luma model."""
        if channels == 1:
            return self.rgba_to_y(rgba, width, height, mean[0], std[0]), [1, 1, height, width]
        return self.rgba_to_chw(rgba, width, height, mean, std), [1, 3, height, width]

    def detect(self, raw_f32: bytes, detection: dict, classes: int, width: int, height: int) -> tuple[bytes, list[int]]:
        """The core's decode + threshold + NMS: (decoded rows as float32 bytes, kept indices)."""
        with self._tmp() as tmp:
            src, decoded, keep = Path(tmp, "raw.f32"), Path(tmp, "decoded.f32"), Path(tmp, "keep.i32")
            src.write_bytes(raw_f32)
            _run_driver(self.path, [
                "detect", str(src), detection["layout"], str(classes), str(int(detection["box_units"] == "normalized")),
                str(int(detection["scores"] == "logits")), str(width), str(height),
                _float32(detection["score_threshold"]).hex(), repr(float(detection["iou_threshold"])),
                str(int(detection["max_detections"])), str(decoded), str(keep),
            ], "decoding detections")
            return decoded.read_bytes(), _ints(keep.read_bytes())

    def softmax(self, logits_f32: bytes) -> bytes:
        with self._tmp() as tmp:
            src, dst = Path(tmp, "in.f32"), Path(tmp, "out.f32")
            src.write_bytes(logits_f32)
            _run_driver(self.path, ["softmax", str(src), str(dst)], "computing softmax")
            return dst.read_bytes()

    def top_k(self, values_f32: bytes, k: int) -> list[int]:
        with self._tmp() as tmp:
            src, dst = Path(tmp, "in.f32"), Path(tmp, "out.i32")
            src.write_bytes(values_f32)
            _run_driver(self.path, ["topk", str(src), str(k), str(dst)], "computing top-k")
            return _ints(dst.read_bytes())

    def argmax(self, scores_f32: bytes, channels: int, width: int, height: int) -> list[int]:
        with self._tmp() as tmp:
            src, dst = Path(tmp, "in.f32"), Path(tmp, "out.i32")
            src.write_bytes(scores_f32)
            _run_driver(
                self.path, ["argmax", str(src), str(channels), str(width), str(height), str(dst)],
                "computing the per-pixel argmax",
            )
            return _ints(dst.read_bytes())


# --------------------------------------------------------------------------------------------
# Pixels


def png_to_rgba(path: Path) -> tuple[bytes, int, int]:
    """RGBA8 bytes (straight alpha) of an image file, as the apps feed the core."""
    from PIL import Image  # heavy; only checks need it

    with Image.open(path) as image:
        rgba = image.convert("RGBA")
        return rgba.tobytes(), rgba.width, rgba.height


def reference_chw(rgba: bytes, width: int, height: int, mean: Sequence[float], std: Sequence[float]) -> bytes:
    """What the core's rgbaToChw must produce, computed with numpy in float32 exactly as
    torchvision's to_tensor (divide by 255) and normalize (subtract, divide) do."""
    import numpy as np

    pixels = np.frombuffer(rgba, dtype=np.uint8).reshape(height, width, 4)[..., :3]
    unit = pixels.astype(np.float32) / np.float32(255)
    m = np.asarray(mean, dtype=np.float32)
    s = np.asarray(std, dtype=np.float32)
    chw = ((unit - m) / s).transpose(2, 0, 1)
    return np.ascontiguousarray(chw).astype("<f4").tobytes()


def reference_input(rgba: bytes, width: int, height: int, mean: Sequence[float], std: Sequence[float],
                    channels: int = 3) -> bytes:
    """reference_chw, or for a luma model the generator's Y tensor (goldens.input_tensor)."""
    if channels != 1:
        return reference_chw(rgba, width, height, mean, std)
    import numpy as np

    from generator.goldens import rgb_to_ycbcr

    pixels = np.frombuffer(rgba, dtype=np.uint8).reshape(height, width, 4)[..., :3]
    y = rgb_to_ycbcr(pixels)[0]
    t = ((y / np.float32(255)) - np.float32(mean[0])) / np.float32(std[0])
    return np.ascontiguousarray(t, dtype="<f4").tobytes()


def argb_to_rgba(argb: bytes) -> bytes:
    """Android's ARGB_8888 ints (Bitmap.getPixels, int32 LE) to RGBA8 bytes."""
    out = bytearray()
    for (pixel,) in struct.iter_unpack("<I", argb):
        out += bytes(((pixel >> 16) & 0xFF, (pixel >> 8) & 0xFF, pixel & 0xFF, (pixel >> 24) & 0xFF))
    return bytes(out)


def rgba_to_argb(rgba: bytes) -> bytes:
    out = bytearray()
    for i in range(0, len(rgba), 4):
        r, g, b, a = rgba[i : i + 4]
        out += struct.pack("<I", (a << 24) | (r << 16) | (g << 8) | b)
    return bytes(out)


# --------------------------------------------------------------------------------------------
# High-level checks


def find_core_dir(project_platform_dir: Path) -> Path:
    """The directory holding the core inside a rendered platform (android/ or ios/)."""
    root = Path(project_platform_dir)
    skip = {"build", "Pods", ".gradle", "DerivedData", ".cxx"}
    found = sorted(
        p.parent
        for p in root.rglob(CORE_SOURCE)
        if not skip.intersection(p.relative_to(root).parts) and (p.parent / CORE_HEADER).is_file()
    )
    if not found:
        raise CheckFailedError(f"no {CORE_SOURCE} with {CORE_HEADER} under {root}; regenerate the project")
    if len(found) > 1:
        raise CheckFailedError(f"several copies of the C++ core under {root}: {', '.join(map(str, found))}")
    return found[0]


def compare_floats(actual: Sequence[float], expected: Sequence[float]) -> dict:
    """max/mean absolute error and the worst index; NaN on either side counts as infinite."""
    if len(actual) != len(expected):
        raise ValueError(f"{len(actual)} values vs {len(expected)} expected")
    worst, max_error, total = -1, 0.0, 0.0
    for i, (a, e) in enumerate(zip(actual, expected)):
        error = abs(a - e)
        if error != error:  # NaN
            error = float("inf")
        total += error
        if worst < 0 or error > max_error:
            worst, max_error = i, max(max_error, error)
    return {
        "max_abs_error": max_error,
        "mean_abs_error": total / len(actual) if actual else 0.0,
        "worst_index": worst,
        "values": len(actual),
    }


def verify_core(
    project_platform_dir: Path,
    model_path: Path,
    sample_png: Path,
    expected_bin: Path,
    mean: Sequence[float],
    std: Sequence[float],
    tolerance: float = 1e-5,
    *,
    rtol: float = 0.0,
    input_channels: int = 3,
    tensor_input: tuple[Sequence[int], str] | None = None,
    build_dir: Path | None = None,
    gxx: Gxx | None = None,
    runtime: str = "lite",
) -> dict:
    """Run the project's own C++ core on the host the way the app does (PNG -> RGBA8 ->
    rgbaToChw, or rgbaToY for a luma model -> model) and compare with the expected output
    Python computed. With ``tensor_input`` (shape, dtype) the sample is the non-image input's
    sample_input.bin (``sample_png`` is its path), fed as it is through run or runInt64.

    The input tensor must equal torchvision's bit for bit (reference_chw). Returns
    {"max_abs_error", "mean_abs_error", "worst_index", "values", "output_shape", "metadata",
    "load_ms", "run_ms", "core_dir", "driver", "build_seconds"}; raises CheckFailedError (one
    line) when the input differs or the output differs by more than tolerance.
    """
    core_dir = find_core_dir(project_platform_dir)
    driver_path = build_core_driver(core_dir, Path(build_dir or builds.default_build_dir()), gxx, runtime=runtime)
    driver = CoreDriver(driver_path)
    if tensor_input is not None:
        shape, dtype = list(tensor_input[0]), tensor_input[1]
        result = driver.run_model(Path(model_path), read_sample_input(Path(sample_png), shape, dtype), shape, dtype)
    else:
        rgba, width, height = png_to_rgba(Path(sample_png))
        chw, shape = driver.input_tensor(rgba, width, height, mean, std, input_channels)
        if chw != reference_input(rgba, width, height, mean, std, input_channels):
            what = "the generator's luma (Y) tensor" if input_channels == 1 else "torchvision's to_tensor+normalize"
            raise CheckFailedError(
                f"C++ {'rgbaToY' if input_channels == 1 else 'rgbaToChw'} differs from {what} on {Path(sample_png).name}; "
                "it must match bit for bit"
            )
        result = driver.run_model(Path(model_path), chw, shape)
    expected = _floats(_read(Path(expected_bin), "expected output"))
    actual = _floats(result["output"])
    name = Path(expected_bin).name
    if len(actual) != len(expected):
        raise CheckFailedError(
            f"C++ core output has {len(actual)} values (shape {result['shape']}) but {name} has "
            f"{len(expected)}; regenerate the project's goldens"
        )
    stats = compare_floats(actual, expected)
    # numpy.allclose's rule; a NaN compares false and fails.
    if not all(abs(x - y) <= tolerance + rtol * abs(y) for x, y in zip(actual, expected)):
        raise CheckFailedError(
            f"C++ core output differs from {name}: max abs error {stats['max_abs_error']:.3g} at "
            f"index {stats['worst_index']} exceeds tolerance {tolerance:g} + rtol {rtol:g} x |value|"
        )
    return {
        **stats,
        "output_shape": result["shape"],
        "metadata": result["metadata"],
        "load_ms": result["load_ms"],
        "run_ms": result["run_ms"],
        "core_dir": core_dir,
        "driver": driver_path,
        "build_seconds": build_info(driver_path).get("seconds"),
    }


def same_ranking(probabilities: Sequence[float], expected: Sequence[int], actual: Sequence[int], tolerance: float) -> bool:
    """Same top-k, except that classes whose probabilities tie (within tolerance) may swap: float32
    softmax rounds tiny logit gaps into exact ties, and the apps rank on their own softmax."""
    if len(expected) != len(actual):
        return False
    return all(abs(probabilities[a] - probabilities[e]) <= tolerance for a, e in zip(actual, expected))


def verify_pixel_helpers(
    core_or_platform_dir: Path,
    golden_dir: Path,
    *,
    width: int,
    height: int,
    mean: Sequence[float],
    std: Sequence[float],
    output_mean: Sequence[float] | None = None,
    output_std: Sequence[float] | None = None,
    output_size: tuple[int, int] | None = None,
    input_channels: int = 3,
    detection: dict | None = None,
    detection_classes: int = 0,
    softmax_tolerance: float = 1e-6,
    build_dir: Path | None = None,
    gxx: Gxx | None = None,
    runtime: str = "lite",
) -> dict:
    """Check the core's pixel and output helpers against the generator's golden vectors.

    Always: sample_argb.bin -> rgbaToChw must equal input_chw.bin bit for bit. When present:
    output_argb.bin (chwToRgba of output_chw.bin with output_mean/output_std, exact),
    softmax.bin (within softmax_tolerance) and top5.bin (exact), argmax.bin (exact). For a luma
    model (input_channels 1): rgbaToY against input_chw.bin, rgbaToYcbcr against ycbcr.bin and
    yToRgba against output_argb.bin, all exact. For a detector (detection settings given):
    decodeYolo/decodeBoxes against decoded.bin (exact; 1e-5 for logits) and selectDetections
    against nms_keep.bin (exact).
    Returns the names of the checks that ran; raises CheckFailedError on the first mismatch.
    """
    root = Path(core_or_platform_dir)
    core_dir = root if (root / CORE_SOURCE).is_file() else find_core_dir(root)
    driver = CoreDriver(build_core_driver(core_dir, Path(build_dir or builds.default_build_dir()), gxx, runtime=runtime))
    golden = Path(golden_dir)
    checked: list[str] = []

    rgba = argb_to_rgba(_read(golden / "sample_argb.bin", "golden sample_argb.bin"))
    chw, _ = driver.input_tensor(rgba, width, height, mean, std, input_channels)
    convert = "rgbaToY" if input_channels == 1 else "rgbaToChw"
    expected_chw = _read(golden / "input_chw.bin", "golden input_chw.bin")
    if chw != expected_chw:
        stats = compare_floats(_floats(chw), _floats(expected_chw)) if len(chw) == len(expected_chw) else None
        detail = (
            f"max abs error {stats['max_abs_error']:.3g} at index {stats['worst_index']}"
            if stats else f"{len(chw) // 4} values vs {len(expected_chw) // 4}"
        )
        raise CheckFailedError(f"C++ {convert} differs from golden input_chw.bin ({detail}); it must match bit for bit")
    checked.append(convert)

    output_path = golden / "output_chw.bin"
    output_chw = output_path.read_bytes() if output_path.is_file() else None
    out_w, out_h = output_size or (width, height)

    if input_channels == 1 and (golden / "ycbcr.bin").is_file():
        if driver.rgba_to_ycbcr(rgba, width, height) != _read(golden / "ycbcr.bin", "golden ycbcr.bin"):
            raise CheckFailedError("C++ rgbaToYcbcr differs from golden ycbcr.bin; it must match bit for bit")
        checked.append("rgbaToYcbcr")

    if output_chw is not None and (golden / "output_argb.bin").is_file() and output_mean and output_std:
        if input_channels == 1:
            pixels = driver.y_to_rgba(output_chw, out_w, out_h, output_mean[0], output_std[0], rgba, width, height)
        else:
            pixels = driver.chw_to_rgba(output_chw, out_w, out_h, output_mean, output_std)
        expected = _read(golden / "output_argb.bin", "golden output_argb.bin")
        if rgba_to_argb(pixels) != expected:
            actual_px, expected_px = _ints(rgba_to_argb(pixels)), _ints(expected)
            first = next((i for i, (a, e) in enumerate(zip(actual_px, expected_px)) if a != e), -1)
            raise CheckFailedError(
                f"C++ {'yToRgba' if input_channels == 1 else 'chwToRgba'} differs from golden output_argb.bin "
                f"(first difference at pixel {first})"
            )
        checked.append("yToRgba" if input_channels == 1 else "chwToRgba")

    if output_chw is not None and (golden / "softmax.bin").is_file():
        probabilities = _floats(driver.softmax(output_chw))
        expected_probabilities = _floats(_read(golden / "softmax.bin", "golden softmax.bin"))
        if len(probabilities) != len(expected_probabilities):
            raise CheckFailedError("C++ softmax length differs from golden softmax.bin")
        stats = compare_floats(probabilities, expected_probabilities)
        if not stats["max_abs_error"] <= softmax_tolerance:
            raise CheckFailedError(
                f"C++ softmax differs from golden softmax.bin: max abs error {stats['max_abs_error']:.3g}"
            )
        checked.append("softmax")
        if (golden / "top5.bin").is_file():
            expected_top = _ints(_read(golden / "top5.bin", "golden top5.bin"))
            top = driver.top_k(output_chw, len(expected_top))
            if not same_ranking(expected_probabilities, expected_top, top, softmax_tolerance):
                raise CheckFailedError(f"C++ topK gives {top}, golden top5.bin has {expected_top} (ties allowed)")
            checked.append("topK")

    if output_chw is not None and (golden / "argmax.bin").is_file():
        plane = out_w * out_h
        channels = (len(output_chw) // 4) // plane if plane else 0
        if channels * plane * 4 != len(output_chw) or channels == 0:
            raise CheckFailedError(f"output_chw.bin does not hold whole {out_w}x{out_h} planes")
        classes = driver.argmax(output_chw, channels, out_w, out_h)
        expected_classes = _ints(_read(golden / "argmax.bin", "golden argmax.bin"))
        if classes != expected_classes:
            first = next((i for i, (a, e) in enumerate(zip(classes, expected_classes)) if a != e), -1)
            raise CheckFailedError(
                f"C++ argmaxChannels differs from golden argmax.bin (first difference at pixel {first})"
            )
        checked.append("argmaxChannels")

    if output_chw is not None and detection is not None and (golden / "decoded.bin").is_file():
        import numpy as np

        decoded, keep = driver.detect(output_chw, detection, detection_classes, width, height)
        expected_decoded = np.frombuffer(_read(golden / "decoded.bin", "golden decoded.bin"), "<f4")
        actual = np.frombuffer(decoded, "<f4")
        limit = 1e-5 if detection["scores"] == "logits" else 0.0
        if actual.shape != expected_decoded.shape or not float(np.max(np.abs(actual - expected_decoded), initial=0.0)) <= limit:
            raise CheckFailedError("C++ detection decoding differs from golden decoded.bin")
        expected_keep = _ints(_read(golden / "nms_keep.bin", "golden nms_keep.bin"))
        if keep != expected_keep:
            raise CheckFailedError(f"C++ selectDetections keeps {keep}, golden nms_keep.bin has {expected_keep}")
        checked.append("detection")

    return {"checked": checked, "core_dir": core_dir}


def verify_detections(driver_path: Path, expected_bin: Path, context: dict) -> int:
    """The core's decodeYolo/decodeBoxes + selectDetections on the expected output against
    goldens.decode_detections (box_convert) and select_detections (torchvision.ops.nms); returns
    how many boxes were kept."""
    import numpy as np

    from generator.goldens import decode_detections, select_detections
    from generator.metadata import DetectionSpec

    det = context["detection"]
    meta = _detection_meta(context, DetectionSpec.from_dict(det))
    raw = _read(Path(expected_bin), "expected output")
    decoded, keep = CoreDriver(driver_path).detect(raw, det, meta.num_classes, meta.input_width, meta.input_height)
    reference = decode_detections(np.frombuffer(raw, "<f4"), meta)
    actual = np.frombuffer(decoded, "<f4")
    if actual.size != reference.size:
        raise CheckFailedError(f"C++ decode gives {actual.size // 6} boxes, torchvision {reference.size // 6}")
    # A sigmoid (logits) may differ in the last bit between libm and torch; all else is exact.
    limit = 1e-5 if det["scores"] == "logits" else 0.0
    error = float(np.max(np.abs(actual - reference.reshape(-1)))) if actual.size else 0.0
    if not error <= limit:
        raise CheckFailedError(f"C++ decoded boxes differ from torchvision's box_convert by {error:.3g}")
    expected_keep = select_detections(reference, meta).tolist()
    if keep != expected_keep:
        raise CheckFailedError(f"C++ NMS keeps boxes {keep}, torchvision.ops.nms {expected_keep}")
    return len(keep)


def _detection_meta(context: dict, detection):
    from generator.metadata import Metadata

    return Metadata(context["task"], context["input_width"], context["input_height"], tuple(context["mean"]),
                    tuple(context["std"]), tuple(context["output_shape"]), detection=detection)


def verify_luma_picture(driver_path: Path, sample_png: Path, expected_bin: Path, context: dict) -> None:
    """The picture a luma app shows, from the core's yToRgba, against goldens.ycbcr_output_argb."""
    import numpy as np

    from generator.goldens import ycbcr_output_argb

    rgba, width, height = png_to_rgba(Path(sample_png))
    out_h, out_w = context["output_shape"][-2:]
    y = _read(Path(expected_bin), "expected output")
    mean, std = context["output_mean"][0], context["output_std"][0]
    pixels = CoreDriver(driver_path).y_to_rgba(y, out_w, out_h, mean, std, rgba, width, height)
    rgb = np.frombuffer(rgba, np.uint8).reshape(height, width, 4)[..., :3]
    expected = ycbcr_output_argb(np.frombuffer(y, "<f4"), out_w, out_h, mean, std, rgb).astype("<i4").tobytes()
    if rgba_to_argb(pixels) != expected:
        first = next((i for i, (a, e) in enumerate(zip(_ints(rgba_to_argb(pixels)), _ints(expected))) if a != e), -1)
        raise CheckFailedError(f"C++ yToRgba differs from the generator's picture (first difference at pixel {first})")

"""The apps' pixel conversions after the speed-up compute exactly what they computed before.

ImageTensors.java (every Android project) is compiled with tests/java/PixelReference.java, the
code it replaced, and tests/java/PixelIdentity.java compares the two bit for bit: every byte value
of every channel for argbToChw, and for chwToArgb every float near each of the 255 level changes
and the clamp edges plus random bit patterns, for many normalizations (negative and tiny std
included). The C++ core's conversions get the same comparison from benchmarks/cpp/pixel_bench.cpp.
The speed itself is measured in benchmarks/bench_pixels.py, not here.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

import pytest

from generator import native
from generator.tools import Gxx, Java, Javac

REPO = Path(__file__).resolve().parent.parent
JAVA = REPO / "tests/java"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_pixels", REPO / "benchmarks/bench_pixels.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def classes(tmp_path_factory):
    if not (Javac().available() and Java().available()):
        pytest.skip("javac/java not installed")
    tmp = tmp_path_factory.mktemp("pixels")
    bench = _bench()
    out = tmp / "classes"
    bench.compile_java([bench.render_image_tensors(tmp / "src"), JAVA / "PixelReference.java",
                        JAVA / "PixelIdentity.java"], out)
    return out


def test_java_conversions_are_bit_identical_to_the_reference(classes):
    ran = Java().run(["-cp", str(classes), "PixelIdentity"], timeout=600)
    assert ran.returncode == 0, ran.output
    checked = int(ran.stdout.split()[1])
    assert checked > 20_000_000, ran.stdout


def test_the_identity_check_catches_a_one_level_difference(classes, tmp_path):
    """The oracle can fail: a reference that rounds half down instead of up is caught."""
    broken = (JAVA / "PixelReference.java").read_text().replace(
        "(int) Math.floor(v * 255.0f + 0.5f);\n                argb[i]", "(int) Math.ceil(v * 255.0f - 0.5f);\n                argb[i]")
    assert broken != (JAVA / "PixelReference.java").read_text()
    (tmp_path / "PixelReference.java").write_text(broken)
    out = tmp_path / "classes"
    _bench().compile_java([tmp_path / "PixelReference.java"], out)
    ran = Java().run(["-cp", os.pathsep.join([str(out), str(classes)]), "PixelIdentity"], timeout=600)
    assert ran.returncode == 1
    assert "chwToArgb differs from the reference" in ran.stdout


def test_cpp_conversions_are_bit_identical_to_the_replaced_code(tmp_path, tmp_path_factory):
    """benchmarks/cpp/pixel_bench.cpp checks the core's rgbaToChw / chwToRgba against the code
    they replaced (every byte value; every 61st float bit pattern, NaNs and infinities included)
    before timing anything, and exits 1 on a difference. Built here against the same cached core
    object as tests/test_native.py (its session cache, or SCAFFOLD_NATIVE_CACHE)."""
    gxx = Gxx()
    if not gxx.available():
        pytest.skip("g++ not installed")
    core_dir = REPO / "templates/shared/cpp"
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if base.name.startswith("popen-gw") else base) / "native-cache"
    cache = Path(os.environ.get("SCAFFOLD_NATIVE_CACHE") or shared)
    ops = native.build_ops_object(core_dir, cache, gxx)
    exe = tmp_path / "pixel_bench"
    built = gxx.run(["-std=c++17", "-O2", "-I", str(core_dir), str(REPO / "benchmarks/cpp/pixel_bench.cpp"), str(ops),
                     "-o", str(exe)], timeout=600)
    assert built.returncode == 0, built.output
    ran = subprocess.run([str(exe), "64", "32", "1"], capture_output=True, text=True, timeout=600, check=False)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "chwToRgba after" in ran.stdout

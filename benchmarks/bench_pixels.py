"""The apps' pixel conversions against a plain copy of the same data, on one 1920x1080 frame.

Java (host JVM): ImageTensors.argbToChw / chwToArgb as rendered into every Android project, and
the code they replaced (tests/java/PixelReference.java, the bit-identity oracle) as "before" rows,
each as a ratio to System.arraycopy of the CHW float array (3 * w * h floats) they produce or
consume. C++ (g++ -O2, the optimization level of the mobile Release builds): the shared core's
rgbaToChw / chwToRgba against memcpy of that float array. Median of --runs timed runs after a
warm-up, in thread CPU time (the host is shared), all in this one run. Target: every "after" row within 2x.

The Java "after" rows time the reusing overloads (the call the apps make), "new array" rows the
allocating ones; --java adds the rows of another JDK (C2 vectorizes int/float conversions only
since JDK 20).

    python benchmarks/bench_pixels.py [--width 1920] [--height 1080] [--runs 21] [--java PATH]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from generator import context as ctx, native, render  # noqa: E402
from generator.metadata import describe  # noqa: E402
from generator.tools import Gxx, Java, Javac  # noqa: E402

PACKAGE = "com.example.pixels"  # the Java harnesses import com.example.pixels.ImageTensors
REFERENCE = REPO / "tests/java/PixelReference.java"
JAVA_BENCH = REPO / "benchmarks/java/PixelBench.java"
CPP_BENCH = REPO / "benchmarks/cpp/pixel_bench.cpp"
TARGET = 2.0


def render_image_tensors(dest: Path) -> Path:
    """Write the ImageTensors.java every Android project gets (package PACKAGE) under dest."""
    meta = describe(task="image-to-image", input_size=(8, 8), mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0),
                    output_shape=(1, 3, 8, 8), output_range=(-1.0, 1.0), labels=None)
    config = ctx.ProjectConfig("pixels", "Pixels", PACKAGE, "Pixels", PACKAGE, ("android",))
    wanted = f"app/src/main/java/{PACKAGE.replace('.', '/')}/ImageTensors.java"
    source = next(f.data for f in render.render_platform("android", ctx.build(config, meta)) if f.path == wanted)
    out = dest / PACKAGE.replace(".", "/") / "ImageTensors.java"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(source)
    return out


def compile_java(sources: list[Path], classes: Path) -> None:
    result = Javac().run(["-d", str(classes), *map(str, sources)], timeout=300)
    if result.returncode != 0:
        raise SystemExit(f"javac failed: {result.output}")


def rows(output: str) -> dict[str, float]:
    return {name: float(ms) for name, ms in (line.split("\t") for line in output.strip().splitlines())}


def java_rows(tmp: Path, width: int, height: int, runs: int, java: str | None = None) -> dict[str, float]:
    classes = tmp / "classes"
    if not classes.exists():
        compile_java([render_image_tensors(tmp / "src"), REFERENCE, JAVA_BENCH], classes)
    # A heap that holds a few frames without collecting in the middle of a timed run.
    result = Java(java).run(["-Xms2g", "-Xmx2g", "-cp", str(classes), "PixelBench", str(width), str(height), str(runs)],
                        timeout=900)
    if result.returncode != 0:
        raise SystemExit(f"java failed: {result.output}")
    return rows(result.stdout)


def cpp_rows(tmp: Path, width: int, height: int, runs: int) -> dict[str, float]:
    # The conversions are runtime-neutral (image_ops.cpp): no LibTorch needed to time them.
    exe = tmp / "pixel_bench"
    core = REPO / "templates/shared/cpp"
    result = Gxx().run(["-std=c++17", "-O2", "-I", str(core), str(CPP_BENCH),
                        str(core / "image_ops.cpp"), "-o", str(exe)], timeout=900)
    if result.returncode != 0:
        raise SystemExit(f"g++ failed: {result.output}")
    ran = subprocess.run([str(exe), str(width), str(height), str(runs)], capture_output=True, text=True, check=False)
    if ran.returncode != 0:
        raise SystemExit(f"pixel_bench failed: {ran.stdout}{ran.stderr}")
    return rows(ran.stdout)


def table(title: str, measured: dict[str, float], baseline: str) -> list[str]:
    lines = [f"{title}: median ms, ratio to {baseline}"]
    for name, ms in measured.items():
        ratio = ms / measured[baseline]
        verdict = ("ok" if ratio <= TARGET else "MISSES") + f" <= {TARGET:g}x" if name.endswith("after") else ""
        lines.append(f"  {name:<28} {ms:9.3f} ms  {ratio:6.2f}x  {verdict}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--java", action="append", default=[], metavar="PATH",
                        help="also time on this java executable (another JDK), besides the one on PATH")
    parser.add_argument("--skip-cpp", action="store_true", help="Java only (no LibTorch headers needed)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        lines = []
        for java in [None, *args.java]:
            version = Java(java).run(["-version"]).stderr.splitlines()[0]
            lines += table(f"Java ({version}), {args.width}x{args.height}",
                           java_rows(tmp, args.width, args.height, args.runs, java), "arraycopy float[3*w*h]")
        if not args.skip_cpp:
            lines += table(f"C++ g++ -O2, {args.width}x{args.height}",
                           cpp_rows(tmp, args.width, args.height, args.runs), "memcpy float[3*w*h]")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

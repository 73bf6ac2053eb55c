"""The Android native variant's JNI glue on the host: JNI names, a host libscaffold_native.so
built from the rendered glue and core, and a JVM that loads it through the rendered NativeCore."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

from generator.errors import CheckFailedError, ToolMissingError
from generator.goldens import read_sample_input
from generator.native import build as builds
from generator.native.build import COMPILE_TIMEOUT, CXX_DIR, RUN_TIMEOUT, _cached, _compile, _first_error, _hash, _read
from generator.native.core import CoreDriver, _key_values, build_core_driver, build_core_object, build_ops_object, png_to_rgba
from generator.native.lite import CXX_FLAGS, find_torch
from generator.tools import Gxx, Java, Javac

JNI_CHECK_SOURCE = CXX_DIR / "NativeCoreCheck.java"
JNI_SOURCE = "scaffold_jni.cpp"
JNI_LIBRARY_NAME = "scaffold_native"  # System.loadLibrary name in NativeCore.java


def find_jni_include_dirs(javac: Javac | None = None) -> list[Path]:
    """jni.h and its platform directory from the JDK that provides javac (or JAVA_HOME)."""
    javac = javac or Javac()
    homes: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        homes.append(Path(os.environ["JAVA_HOME"]))
    found = javac.find()
    if found:
        # javac is usually a symlink chain (/usr/bin/javac -> alternatives -> jdk/bin/javac).
        homes.append(Path(os.path.realpath(found)).parent.parent)
    for home in homes:
        include = home / "include"
        if (include / "jni.h").is_file():
            platform_dirs = [d for d in ("linux", "darwin") if (include / d / "jni_md.h").is_file()]
            return [include, *(include / d for d in platform_dirs)]
    javac.verify()  # names the missing JDK if javac itself is absent
    raise ToolMissingError(
        "jni.h not found (builds the Android JNI glue on the host); install a full JDK, not a "
        "JRE (Debian: apt-get install openjdk-17-jdk-headless), or set JAVA_HOME"
    )


# --------------------------------------------------------------------------------------------
# JNI names


def jni_mangle(text: str) -> str:
    """Mangle a fully qualified class or method name for a JNI short name (JNI spec, 'Resolving
    Native Method Names'): '/' and '.' become '_', '_' becomes '_1', ';' '_2', '[' '_3', and
    anything that is not an ASCII letter or digit becomes '_0' plus four lowercase hex digits per
    UTF-16 code unit."""
    out: list[str] = []
    for ch in text:
        if ch in "/.":
            out.append("_")
        elif ch == "_":
            out.append("_1")
        elif ch == ";":
            out.append("_2")
        elif ch == "[":
            out.append("_3")
        elif ch.isascii() and ch.isalnum():
            out.append(ch)
        else:
            units = ch.encode("utf-16-be")
            for i in range(0, len(units), 2):
                out.append(f"_0{units[i]:02x}{units[i + 1]:02x}")
    return "".join(out)


def jni_prefix(package: str, class_name: str = "NativeCore") -> str:
    """The exported-symbol prefix of the native methods of ``package.class_name``; the JNI glue
    template appends ``_<method>``. Context key ``jni_prefix`` = ``jni_prefix(package)``."""
    if not package or not class_name:
        raise ValueError("package and class name must not be empty")
    return "Java_" + jni_mangle(f"{package}.{class_name}")


def build_jni_library(
    jni_dir: Path,
    core_dir: Path,
    build_dir: Path,
    gxx: Gxx | None = None,
    javac: Javac | None = None,
) -> Path:
    """Build (or reuse) a host libscaffold_native.so from the rendered JNI glue in jni_dir and
    the core in core_dir; load it in a JVM with -Djava.library.path=<its directory>."""
    gxx = gxx or Gxx()
    jni_dir, core_dir = Path(jni_dir), Path(core_dir)
    jni_includes = find_jni_include_dirs(javac)
    core_object = build_core_object(core_dir, build_dir, gxx)
    ops_object = build_ops_object(core_dir, build_dir, gxx)
    torch = find_torch()
    glue = _read(jni_dir / JNI_SOURCE, "JNI glue (render the native variant with --android-api native)")
    key = _hash("jni", core_object.parent.name, ops_object.parent.name, glue, " ".join(CXX_FLAGS), *map(str, jni_includes))

    def build(out: Path) -> None:
        includes: list[str] = []
        for include in jni_includes:
            includes += ["-isystem", str(include)]
        args = [
            *CXX_FLAGS, "-shared", *includes, "-I", str(core_dir),
            str(jni_dir / JNI_SOURCE), str(core_object), str(ops_object), "-o", str(out), *torch.link_flags(),
        ]
        _compile(gxx, args, f"the JNI glue {jni_dir / JNI_SOURCE}")

    return _cached(Path(build_dir) / f"jni-{key}", f"lib{JNI_LIBRARY_NAME}.so", build)


def compile_java(sources: Sequence[Path], build_dir: Path, javac: Javac | None = None) -> Path:
    """Compile Java sources into a class directory cached under build_dir by their content."""
    javac = javac or Javac()
    exe = os.path.realpath(javac.verify())
    key = _hash("java", exe, *(Path(s).read_bytes() for s in sources), *(Path(s).name for s in sources))
    classes = Path(build_dir) / f"java-{key}"
    if classes.is_dir():
        return classes
    Path(build_dir).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".java-", dir=build_dir))
    try:
        result = javac.run(["-encoding", "UTF-8", "-d", str(tmp), *map(str, sources)], timeout=COMPILE_TIMEOUT)
        if result.returncode != 0:
            names = ", ".join(Path(s).name for s in sources)
            raise CheckFailedError(f"javac failed on {names}: {_first_error(result.output)}")
        try:
            os.rename(tmp, classes)
        except OSError:
            if not classes.is_dir():  # a concurrent build may have won the race; that is fine
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return classes


def run_native_core_java(
    library: Path,
    native_core_java: Path,
    package: str,
    model_path: Path,
    input_f32: bytes,
    shape: Sequence[int],
    expected_bin: Path,
    tolerance: float,
    *,
    rtol: float = 0.0,
    dtype: str = "float32",
    bad_model: Path | None = None,
    build_dir: Path | None = None,
    javac: Javac | None = None,
    java: Java | None = None,
) -> dict:
    """Compile the generated NativeCore.java with the host check program and run it in a JVM
    that loads ``library``; returns the check's key=value report (max_abs_error, shape,
    metadata, *_error). ``input_f32`` holds float32 values, or int64 ones with dtype "int64"
    (fed through NativeCore.runInt64); a value passes within tolerance + rtol x |expected|, as
    verify.compare_outputs allows. Raises CheckFailedError when a check inside the JVM failed."""
    java = java or Java()
    classes = compile_java([Path(native_core_java), JNI_CHECK_SOURCE], Path(build_dir or builds.default_build_dir()), javac)
    with tempfile.TemporaryDirectory(prefix="scaffold-jni-") as tmp:
        input_path = Path(tmp, "input.bin")
        input_path.write_bytes(input_f32)
        args = [
            f"-Djava.library.path={Path(library).parent}", "-cp", str(classes), "NativeCoreCheck",
            f"{package}.NativeCore", str(model_path), str(input_path), dtype,
            ",".join(str(int(d)) for d in shape), str(expected_bin), repr(float(tolerance)), repr(float(rtol)),
        ]
        if bad_model is not None:
            args.append(str(bad_model))
        result = java.run(args, timeout=RUN_TIMEOUT)
    report = _key_values(result.stdout)
    if "metadata_hex" in report:
        report["metadata"] = bytes.fromhex(report.pop("metadata_hex")).decode("utf-8")
    if "max_abs_error" in report:
        report["max_abs_error"] = float(report["max_abs_error"])
    report["returncode"] = result.returncode
    if result.returncode != 0:
        reason = report.get("failure") or report.get("error") or _first_error(result.output)
        raise CheckFailedError(f"NativeCore (JNI) check failed: {reason}")
    return report


def verify_jni(
    android_dir: Path,
    package: str,
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
    javac: Javac | None = None,
    java: Java | None = None,
) -> dict:
    """The native variant end to end on the host: build the rendered JNI glue + core into a
    host library, load it from a JVM through the rendered NativeCore.java, feed it the sample
    (converted by the core's rgbaToChw; with ``tensor_input`` (shape, dtype) the raw
    sample_input.bin at ``sample_png``) and compare with the expected output."""
    android_dir = Path(android_dir)
    jni_dir = android_dir / "app" / "src" / "main" / "cpp"
    native_core_java = android_dir / "app" / "src" / "main" / "java" / Path(*package.split(".")) / "NativeCore.java"
    if not native_core_java.is_file():
        raise CheckFailedError(f"{native_core_java} missing; the project was not generated with --android-api native")
    build_dir = Path(build_dir or builds.default_build_dir())
    library = build_jni_library(jni_dir, jni_dir, build_dir, gxx, javac)
    if tensor_input is not None:
        shape, dtype = list(tensor_input[0]), tensor_input[1]
        data = read_sample_input(Path(sample_png), shape, dtype)
    else:
        driver = CoreDriver(build_core_driver(jni_dir, build_dir, gxx))
        rgba, width, height = png_to_rgba(Path(sample_png))
        (data, shape), dtype = driver.input_tensor(rgba, width, height, mean, std, input_channels), "float32"
    report = run_native_core_java(
        library, native_core_java, package, Path(model_path), data, shape,
        Path(expected_bin), tolerance, rtol=rtol, dtype=dtype, build_dir=build_dir, javac=javac, java=java,
    )
    report["library"] = library
    return report

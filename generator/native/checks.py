"""`scaffold check` entry points (generator/check.py and generator/ios.py call these)."""

from __future__ import annotations

from pathlib import Path

from generator.errors import CheckFailedError, ToolMissingError
from generator.native.core import (check_core_standard, cmake_std_flag, verify_core, verify_detections,
                                   verify_luma_picture, verify_pixel_helpers, xcode_std_flag)
from generator.native.jni import verify_jni

# What the host check runs each runtime's core on (the check's name says it).
HOST_RUNTIME = {"lite": "host LibTorch", "executorch": "host ExecuTorch, pip wheel"}
PIXEL_HELPERS = "C++ pixel and output helpers match the golden vectors"


def _platform_paths(project_dir: Path, platform: str, context: dict) -> dict[str, Path]:
    from generator import render

    root = Path(project_dir) / render.section(platform)["output"]
    paths = {"root": root}
    for kind in ("model", "sample", "expected", "goldens"):
        if kind in render.section(platform)["artifacts"]:
            paths[kind] = root / render.artifact_path(platform, kind, context)
    return paths


def _report_core(report, scope: str, paths: dict[str, Path], context: dict, std_flag: str | None, where: str) -> bool:
    runtime = context.get("runtime", "lite")
    name = f"C++ core reproduces the expected output ({HOST_RUNTIME[runtime]})"
    tensor_input = _tensor_input(context)
    try:
        result = verify_core(paths["root"], paths["model"], paths["sample"], paths["expected"],
                             context["mean"], context["std"], float(context["tolerance"]),
                             rtol=float(context["rtol"]), input_channels=context.get("input_channels", 3),
                             tensor_input=tensor_input, runtime=runtime)
    except ToolMissingError as exc:
        report.skip(scope, name, str(exc))
        return False
    except CheckFailedError as exc:
        report.add(scope, name, False, str(exc))
        return False
    fed = (f"{paths['sample'].name} ({tensor_input[1]})" if tensor_input else "input bit-exact")
    report.add(scope, name, True, f"max abs error {result['max_abs_error']:.3g}, {fed}, "
                                  f"{result['run_ms']:.1f} ms on the host")
    if context["task"] == "detection":
        name = "C++ detection decode and NMS match torchvision on the expected output"
        try:
            count = verify_detections(result["driver"], paths["expected"], context)
            report.add(scope, name, True, f"{count} boxes kept, indices exact")
        except CheckFailedError as exc:
            report.add(scope, name, False, str(exc))
    if context["task"] == "image-to-image" and context.get("input_channels", 3) == 1:
        name = "C++ yToRgba (Y output + upscaled CbCr) matches the generator's picture"
        try:
            verify_luma_picture(result["driver"], paths["sample"], paths["expected"], context)
            report.add(scope, name, True, "bit-exact on the expected output")
        except CheckFailedError as exc:
            report.add(scope, name, False, str(exc))
    name = f"C++ core compiles in the standard of {where}"
    if std_flag is None:
        report.add(scope, name, False, f"no C++ standard could be read from {where}")
        return True
    problems = check_core_standard(result["core_dir"], std_flag, runtime=runtime)
    report.add(scope, name, not problems,
               f"g++ {std_flag}: no errors in the core's own files" if not problems else problems[0])
    return True


def _tensor_input(context: dict) -> tuple[list[int], str] | None:
    """(shape, dtype) of a non-image input (--input-shape), None for a picture."""
    shape = context.get("input_shape")
    return (list(shape), context.get("input_dtype") or "float32") if shape else None


def report_ios_cxx_standard(report, ios_root: Path, host_flag: str | None) -> None:
    """`scaffold check` row: the app target itself pins CLANG_CXX_LANGUAGE_STANDARD (else the
    LibTorch-Lite pod's c++14 applies), and it is the standard the host compiles the core with."""
    from generator import pbxproj

    name = "iOS app target's C++ standard is the one the core is checked with"
    standard, problems = pbxproj.app_cxx_standard(ios_root)
    flag = xcode_std_flag(standard)
    if problems:
        report.add("ios", name, False, problems[0])
    elif flag is None:
        report.add("ios", name, False, f"CLANG_CXX_LANGUAGE_STANDARD = {standard} has no g++ equivalent; set e.g. c++17")
    else:
        report.add("ios", name, flag == host_flag,
                   f"app target: {standard} in every configuration; host check: {host_flag or 'none'}")


def ios_std_flag(ios_root: Path) -> str | None:
    """The g++ flag for the C++ standard the Xcode app target builds the core with."""
    from generator import pbxproj

    return xcode_std_flag(pbxproj.app_cxx_standard(ios_root)[0])


def check_ios(project_dir: Path, context: dict, report) -> None:
    """Build the iOS project's copy of the core on the host and run it on the sample, in the C++
    standard the app target compiles it with."""
    paths = _platform_paths(project_dir, "ios", context)
    _report_core(report, "ios", paths, context, ios_std_flag(paths["root"]), "the Xcode app target")


def check_android(project_dir: Path, context: dict, report) -> None:
    """The native variant: the core on the sample, its pixel helpers on the goldens, and the
    JNI glue loaded in a JVM through the generated NativeCore class."""
    scope = "android"
    paths = _platform_paths(project_dir, "android", context)
    cmakelists = paths["root"] / "app" / "src" / "main" / "cpp" / "CMakeLists.txt"
    std_flag = cmake_std_flag(cmakelists.read_text(encoding="utf-8")) if cmakelists.is_file() else None
    if not _report_core(report, scope, paths, context, std_flag, "app/src/main/cpp/CMakeLists.txt"):
        return
    tensor_input = _tensor_input(context)
    if tensor_input:
        report.skip(scope, PIXEL_HELPERS, f"the model's input is a tensor of {tensor_input[1]} ({paths['sample'].name}), "
                                          "not a picture: no pixel helpers run")
    else:
        _report_pixel_helpers(report, scope, paths, context)
    name = "NativeCore (JNI) runs the model in a JVM"
    try:
        result = verify_jni(paths["root"], context["package"], paths["model"], paths["sample"], paths["expected"],
                            context["mean"], context["std"], float(context["tolerance"]), rtol=float(context["rtol"]),
                            input_channels=context.get("input_channels", 3), tensor_input=tensor_input)
    except ToolMissingError as exc:
        report.skip(scope, name, str(exc))
        return
    except CheckFailedError as exc:
        report.add(scope, name, False, str(exc))
        return
    report.add(scope, name, True, f"max abs error {result['max_abs_error']:.3g}; errors map to Java exceptions")


def _report_pixel_helpers(report, scope: str, paths: dict[str, Path], context: dict) -> None:
    shape = list(context["output_shape"])
    out_h, out_w = (shape[-2], shape[-1]) if len(shape) >= 3 else (0, 0)
    image_task = context["task"] == "image-to-image"
    detection = context.get("detection")
    try:
        pixel = verify_pixel_helpers(
            paths["root"], paths["goldens"], width=context["input_width"], height=context["input_height"],
            mean=context["mean"], std=context["std"],
            output_mean=context["output_mean"] if image_task else None,
            output_std=context["output_std"] if image_task else None,
            output_size=(out_w, out_h) if out_w and out_h else None,
            input_channels=context.get("input_channels", 3),
            detection=detection, detection_classes=int(shape[-1]) - 5 if detection else 0,
        )
        report.add(scope, PIXEL_HELPERS, True, ", ".join(pixel["checked"]))
    except CheckFailedError as exc:
        report.add(scope, PIXEL_HELPERS, False, str(exc))

"""Host builds and checks of the C++ that generated projects ship, one module per thing built:

- ``build``: the content-keyed build cache and the g++ wrapper every build goes through;
- ``lite`` / ``executorch``: the host install of each runtime (torch wheel, executorch wheel);
- ``core``: the shared inference core (runtime-neutral image_ops + the runtime's
  inference_core.cpp), its command-line driver and the comparisons with Python;
- ``jni``: the Android native variant's JNI glue, loaded in a JVM;
- ``checks``: the `scaffold check` entry points.

The names below are the package's interface (generator/check.py, generator/ios.py, tests).
"""

from generator.native.build import build_info, default_build_dir
from generator.native.checks import check_android, check_ios, ios_std_flag, report_ios_cxx_standard
from generator.native.core import (
    CORE_HEADER,
    CORE_SOURCE,
    OPS_HEADER,
    OPS_SOURCE,
    CoreDriver,
    argb_to_rgba,
    build_core_driver,
    build_core_object,
    build_ops_object,
    check_core_standard,
    cmake_std_flag,
    compare_floats,
    core_build_key,
    core_template_files,
    find_core_dir,
    find_runtime,
    png_to_rgba,
    reference_chw,
    reference_input,
    rgba_to_argb,
    same_ranking,
    verify_core,
    verify_detections,
    verify_luma_picture,
    verify_pixel_helpers,
    xcode_std_flag,
)
from generator.native.executorch import ExecutorchInstall, find_executorch
from generator.native.jni import (
    JNI_LIBRARY_NAME,
    build_jni_library,
    compile_java,
    find_jni_include_dirs,
    jni_mangle,
    jni_prefix,
    run_native_core_java,
    verify_jni,
)
from generator.native.lite import TorchInstall, find_torch

__all__ = [
    "CORE_HEADER", "CORE_SOURCE", "JNI_LIBRARY_NAME", "OPS_HEADER", "OPS_SOURCE", "CoreDriver", "ExecutorchInstall",
    "TorchInstall", "argb_to_rgba", "build_core_driver", "build_core_object", "build_info", "build_jni_library",
    "build_ops_object", "check_android", "check_core_standard", "check_ios", "cmake_std_flag", "compare_floats",
    "compile_java", "core_build_key", "core_template_files", "default_build_dir", "find_core_dir", "find_executorch",
    "find_jni_include_dirs", "find_runtime", "find_torch", "ios_std_flag", "jni_mangle", "jni_prefix", "png_to_rgba",
    "reference_chw", "reference_input", "report_ios_cxx_standard", "rgba_to_argb", "run_native_core_java",
    "same_ranking", "verify_core", "verify_detections", "verify_jni", "verify_luma_picture", "verify_pixel_helpers",
    "xcode_std_flag",
]

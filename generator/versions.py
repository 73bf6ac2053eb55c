"""Every pinned version the generator writes into projects or checks at export time.

When bumping one, also update:
- LITE_BYTECODE_MAX: only together with PYTORCH_ANDROID_LITE and LIBTORCH_LITE_POD; both runtimes
  must load the new version (they check min <= v <= max), and re-run the golden refresh
  (``python tests/refresh_goldens.py``).
- GRADLE: GRADLE_DISTRIBUTION_SHA256 must be the published sha256 of gradle-<GRADLE>-bin.zip;
  AGP's minimum Gradle version must stay <= GRADLE.
- AGP: COMPILE_SDK/TARGET_SDK must be within the API levels that AGP release supports.
- Any Android or iOS library: the golden trees (``python tests/refresh_goldens.py``).
"""

from __future__ import annotations

# PyTorch Mobile runtimes (both are the last releases; the lite interpreter is unmaintained).
PYTORCH_ANDROID_LITE = "2.1.0"  # org.pytorch:pytorch_android_lite + _torchvision_lite
LIBTORCH_LITE_POD = "1.13.0.1"  # CocoaPods LibTorch-Lite
LIBTORCH_LITE_NIGHTLY_POD = "1.14.0.20221109"  # last published LibTorch-Lite-Nightly (pod search), only for Metal
LITE_BYTECODE_MAX = 8  # highest bytecode version both runtimes above load
LITE_BYTECODE_MIN = 4  # lowest version _backport_for_mobile can write
# The native libraries the pytorch_android_lite AAR ships in jni/<abi>/, for the ABIs of
# ABI_FILTERS in pytorch/pytorch android/gradle.properties (re-check both when bumping it). The
# native variant's CMake build links the first two as IMPORTED libraries and ships
# libc++_shared.so (ANDROID_STL), so each reaches the APK twice and must be in pickFirsts.
PYTORCH_ANDROID_LITE_JNI_LIBS = ("libpytorch_jni_lite.so", "libfbjni.so", "libc++_shared.so")
PYTORCH_ANDROID_LITE_ABIS = ("arm64-v8a", "armeabi-v7a", "x86", "x86_64")

# Android toolchain
GRADLE = "8.13"
GRADLE_DISTRIBUTION_SHA256 = "20f1b1176237254a6fc204d8434196fa11a4cfb387567519c61556e8710aed78"
AGP = "8.9.2"  # needs Gradle >= 8.11.1, supports API <= 35
COMPILE_SDK = 35
TARGET_SDK = 35
MIN_SDK = 24
JAVA = 17
NDK = "27.0.12077973"  # AGP 8.9's default NDK, for --android-api native
CMAKE = "3.22.1"

# AndroidX and test libraries
ANDROIDX_APPCOMPAT = "1.7.0"
ANDROIDX_ACTIVITY = "1.9.3"  # PickVisualMedia / TakePicture contracts
ANDROIDX_CORE = "1.13.1"
MATERIAL = "1.12.0"
JUNIT4 = "4.13.2"
ANDROIDX_TEST_EXT_JUNIT = "1.2.1"
ANDROIDX_TEST_RUNNER = "1.6.2"
ANDROIDX_TEST_CORE = "1.6.1"
ANDROIDX_TEST_RULES = "1.6.1"

# iOS toolchain
IOS_DEPLOYMENT_TARGET = "16.0"  # SwiftUI PhotosPicker needs iOS 16
SWIFT_VERSION = "5.0"
# Set on the app target, not only the project: the LibTorch-Lite pod's user_target_xcconfig sets
# c++14 in the target's base xcconfig, which beats project-level settings. `scaffold check`
# compiles the core on the host with the standard it reads back from the generated project.
IOS_CXX_LANGUAGE_STANDARD = "c++17"

# CI in generated projects
ANDROID_EMULATOR_API = 34

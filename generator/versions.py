"""Every pinned version the generator writes into projects or checks at export time.

When bumping one, also update:
- LITE_BYTECODE_MAX: only together with PYTORCH_ANDROID_LITE and LIBTORCH_LITE_POD; both runtimes
  must load the new version (they check min <= v <= max), and re-run the golden refresh
  (``python tests/refresh_goldens.py``).
- GRADLE: GRADLE_DISTRIBUTION_SHA256 must be the published sha256 of gradle-<GRADLE>-bin.zip and
  GRADLE_WRAPPER_JAR_SHA256 the published checksum of that release's wrapper jar (add it to
  OFFICIAL_WRAPPER_JARS); AGP's minimum Gradle version must stay <= GRADLE.
- AGP: COMPILE_SDK/TARGET_SDK must be within the API levels that AGP release supports, and
  TARGET_SDK >= PLAY_MIN_TARGET_SDK.
- PYTORCH_ANDROID_LITE, EXECUTORCH: R8_MISSING_CLASSES[runtime] (re-read the AAR's and fbjni's imports).
- IOS_CI_*: the Xcode and simulator must exist on the runner image (actions/runner-images
  images/macos/<image>-Readme.md) and the Xcode must meet APP_STORE_MIN_XCODE.
- ACTION_*: a new major must run on a runtime GitHub still provides (`runs.using` in its action.yml).
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
# sha256 of the official gradle-wrapper.jar that `gradle wrapper` of Gradle <GRADLE> writes.
GRADLE_WRAPPER_JAR_SHA256 = "81a82aaea5abcc8ff68b3dfcb58b3c3c429378efd98e7433460610fecd7ae45f"
# Official wrapper jars a project may carry (sha256 -> the Gradle releases that write it), from
# gradle/actions sources/src/wrapper-validation/wrapper-checksums.json, the list
# gradle/actions/setup-gradle validates against. Any other jar (e.g. Debian's rebuild in its
# gradle 4.4.1 package) fails CI's wrapper validation.
OFFICIAL_WRAPPER_JARS = {
    "cb0da6751c2b753a16ac168bb354870ebb1e162e9083f116729cec9c781156b8": "8.7, 8.8",
    "498495120a03b9a6ab5d155f5de3c8f0d986a449153702fb80fc80e134484f17": "8.9",
    "2db75c40782f5e8ba1fc278a5574bab070adccb2d21ca5a6e5ed840888448046": "8.10 - 8.12.1",
    GRADLE_WRAPPER_JAR_SHA256: "8.13",
    "7d3a4ac4de1c32b59bc6a4eb8ecb8e612ccd0cf1ae1e99f66902da64df296172": "8.14 - 8.14.4",
    "76805e32c009c0cf0dd5d206bddc9fb22ea42e84db904b764f3047de095493f3": "9.0.0, 9.1.0",
    "423cb469ccc0ecc31f0e4e1c309976198ccb734cdcbb7029d4bda0f18f57e8d9": "9.2.0, 9.2.1",
    "b3a875ddc1f044746e1b1a55f645584505f4a10438c1afea9f15e92a7c42ec13": "9.3.0, 9.3.1",
    "55243ef57851f12b070ad14f7f5bb8302daceeebc5bce5ece5fa6edb23e1145c": "9.4.0",
}
# AGP 8.13 release notes (developer.android.com/build/releases/agp-8-13-0-release-notes): maximum
# API level 36, minimum and default Gradle 8.13, default NDK 27.0.12077973, JDK 17.
AGP = "8.13.2"
COMPILE_SDK = 36
TARGET_SDK = 36
MIN_SDK = 24
JAVA = 17
NDK = "27.0.12077973"  # AGP 8.13's default NDK, for --android-api native
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

# Classes the pinned AARs' bytecode references but no runtime dependency provides: R8 (AGP 8+)
# fails the release build on a missing class unless proguard-rules.pro says -dontwarn for it.
# fbjni-java-only 0.2.2 (pytorch's android/build.gradle fbjniJavaOnlyVersion) imports
# javax.annotation.Nullable in com/facebook/jni/IteratorHelper.java and MapIteratorHelper.java;
# its build.gradle has jsr305 as compileOnly (read at fbjni tag v0.2.2: the only import outside
# java.* and com.facebook.*). Of org/pytorch, LiteModuleLoader/PyTorchAndroid were read (android.*,
# java.*, com.facebook.jni, com.facebook.soloader.nativeloader only); the AAR itself was not
# scanned, so the first release build in CI is the final word.
# executorch-android (EXECUTORCH): its build.gradle@v1.4.1 depends on com.facebook.fbjni:fbjni:0.7.0
# and com.facebook.soloader:nativeloader:0.10.5. fbjni at tag v0.7.0 imports javax.annotation.Nullable
# in IteratorHelper.java and MapIteratorHelper.java (jsr305 compileOnly in its build.gradle) and
# nothing else outside java.*, com.facebook.*; nativeloader's NativeLoader/SystemDelegate import
# java.* only; the AAR's Kotlin sources (Module, EValue, Tensor, ExecuTorchRuntime, DType) import
# android.util.Log, java.*, com.facebook.jni, com.facebook.soloader.nativeloader and kotlin (whose
# stdlib the POM brings). The AAR itself was not scanned here either.
# When bumping either runtime, re-read its list.
R8_MISSING_CLASSES = {
    "lite": ("javax.annotation.Nullable",),
    "executorch": ("javax.annotation.Nullable",),
}

# What the stores accept today, with the date each rule took effect.
PLAY_MIN_TARGET_SDK = 36  # Google Play: new apps and updates target Android 16 (API 36)
PLAY_MIN_TARGET_SDK_SINCE = "2026-08-31"
APP_STORE_MIN_XCODE = 26  # App Store Connect: built with Xcode 26 and the iOS 26 SDK
APP_STORE_MIN_XCODE_SINCE = "2026-04-28"

# CI in generated projects. Actions at their current majors, all on `runs.using: node24` (read in
# each action.yml at that tag); Node 20 is gone from GitHub's runners.
ACTION_CHECKOUT = "actions/checkout@v7"
ACTION_SETUP_JAVA = "actions/setup-java@v5"
ACTION_UPLOAD_ARTIFACT = "actions/upload-artifact@v7"
ACTION_SETUP_GRADLE = "gradle/actions/setup-gradle@v6"  # has the gradle-version input
ACTION_ANDROID_EMULATOR = "reactivecircus/android-emulator-runner@v2"  # v2.37, node24
ANDROID_EMULATOR_API = 36  # system-images;android-36;google_apis;x86_64 exists
ANDROID_EMULATOR_TARGET = "google_apis"
ANDROID_EMULATOR_ARCH = "x86_64"
# actions/runner-images images/macos/macos-26-Readme.md (image 20260729): Xcode 26.0.1 - 26.6
# under /Applications/Xcode_<v>.app; iOS 26.2/26.4/26.5 simulators include iPhone 17. The
# x64 image (label macos-26-intel) runs LibTorch-Lite's x86_64-only simulator slice natively,
# without Rosetta.
IOS_CI_RUNNER = "macos-26-intel"
IOS_CI_XCODE = "26.6"
IOS_CI_SIMULATOR = "iPhone 17"
# The same image's arm64 label, for the ExecuTorch app: its Swift package ships arm64 simulator
# slices only (CMakePresets.json@v1.4.1: ios-simulator preset PLATFORM SIMULATORARM64), so that
# app is tested on an Apple-silicon runner.
IOS_CI_RUNNER_EXECUTORCH = "macos-26"

# ExecuTorch (--runtime executorch). A .pte runs on the same or a newer runtime, never an older
# one, so the exporter (pip) and the app runtimes (Maven, SwiftPM) carry the same version.
# Evidence, read in pytorch/executorch at tag v1.4.1 (commit e4d02f41f7909e8ed5bf4a14ffc520d733453d9f):
# - Maven: extension/android/executorch_android/build.gradle publishes
#   coordinates("org.pytorch", "executorch-android" + ("-" + flavor unless xnnpack), execuTorchVersion)
#   and .github/workflows/android-release-artifacts.yml offers the "vulkan" flavor, so the release
#   writes org.pytorch:executorch-android:1.4.1 and org.pytorch:executorch-android-vulkan:1.4.1.
#   scripts/build_android_library.sh builds the native code with -DANDROID_PLATFORM=android-26
#   (the AAR's manifest says minSdk 23, its .so files need 26).
# - SwiftPM: branch swiftpm-1.4.1 (head 1e16db53f23996df64af6a243068f13ed7768e36) has a Package.swift
#   with `let version = "1.4.1"`, platforms .iOS(.v17), products executorch, backend_xnnpack,
#   backend_coreml, kernels_optimized (each with a _debug twin); docs/source/using-executorch-ios.md
#   at the tag names branch "swiftpm-1.4.1".
# - 1.5.1 is on PyPI but no swiftpm-1.5.1 branch exists (only swiftpm-1.5.0.<date> nightlies), so
#   pinning 1.5.1 would make the exporter newer than the iOS runtime.
# - pip: executorch 1.4.1 requires torch>=2.13, torchao>=0.18.0 and coremltools==9.0 (Linux, Python
#   < 3.14); `pip install --dry-run` beside torch 2.14.1 keeps torch/torchvision/numpy unchanged.
# When bumping: EXECUTORCH_PIP and TORCHAO_PIP together (Makefile's venv step reads neither:
# update its pins too), re-check that Maven has org.pytorch:executorch-android(-vulkan):<v> and the
# repo has branch swiftpm-<v> (never pin pip newer than both), re-read the Java/Swift API names
# used by the templates (Module.load, EValue, Tensor.fromBlob; Module(filePath:), Tensor<Float>),
# re-check minSdk and the iOS deployment target, and refresh the golden trees.
EXECUTORCH = "1.4.1"  # app runtimes: Maven org.pytorch:executorch-android(-vulkan), SwiftPM swiftpm-<v>
EXECUTORCH_PIP = "1.4.1"  # the exporter; must equal EXECUTORCH (or be older)
TORCHAO_PIP = "0.18.0"  # executorch 1.4.1: torchao>=0.18.0 (1.5.1 caps it <0.19)
COREMLTOOLS_PIP = "9.0"  # executorch 1.4.1 pins coremltools==9.0 on Linux/macOS
EXECUTORCH_MAVEN_GROUP = "org.pytorch"
EXECUTORCH_ANDROID_ARTIFACT = "executorch-android"
EXECUTORCH_ANDROID_VULKAN_ARTIFACT = "executorch-android-vulkan"
EXECUTORCH_ANDROID_MIN_SDK = 26
EXECUTORCH_ANDROID_ABIS = ("arm64-v8a", "x86_64")
EXECUTORCH_SWIFTPM_URL = "https://github.com/pytorch/executorch.git"
EXECUTORCH_SWIFTPM_BRANCH = f"swiftpm-{EXECUTORCH}"
EXECUTORCH_IOS_DEPLOYMENT_TARGET = "17.0"  # Package.swift platforms: .iOS(.v17)

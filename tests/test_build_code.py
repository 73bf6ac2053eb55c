"""What a real Android/iOS build would hit (issue 11), checked on the host: native libraries
packaged twice, edge-to-edge insets, channels-last outputs, the iOS C++ standard, deprecated
SwiftUI API. Each `scaffold check` row is shown to fail on a broken project and pass on a good one.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
import torch
import torch.jit.mobile

from generator import android, native, pbxparse, pbxproj, render, syntax, versions
from generator.checks import CheckReport
from generator.tools import Java, Javac
from test_render import _context

PACKAGE_PATH = "com/example/zebra_ify"


def _render_android(tmp_path: Path, android_api: str) -> tuple[Path, dict]:
    context = _context(task="image-to-image", android_api=android_api)
    root = tmp_path / "android"
    render.write_files(root, render.render_platform("android", context))
    return root, context


def _rows(root: Path, context: dict) -> dict[str, tuple[str, str]]:
    report = CheckReport()
    android.build_code_checks(root, context, report)
    return {c.name: (c.status, c.detail) for c in report.checks}


PACKAGED_TWICE = "native libraries are never packaged twice"
INSETS = "screen applies window insets (edge to edge since API 35)"


# ---- native libraries packaged twice (item 3) ---------------------------------------------------

def test_native_variant_picks_first_every_library_cmake_and_the_aar_both_ship(tmp_path):
    root, context = _render_android(tmp_path, "native")
    assert _rows(root, context)[PACKAGED_TWICE][0] == "pass"
    cmake = (root / "app/src/main/cpp/CMakeLists.txt").read_text()
    assert android.cmake_imported_libraries(cmake) == {"libpytorch_jni_lite.so", "libfbjni.so"}

    build = root / "app/build.gradle.kts"
    good = build.read_text()
    # The state before the fix: only libc++_shared.so was picked first.
    build.write_text(re.sub(r'pickFirsts \+= listOf\([^)]*\)', 'pickFirsts += "**/libc++_shared.so"', good))
    status, detail = _rows(root, context)[PACKAGED_TWICE]
    assert status == "fail"
    assert "lib/arm64-v8a/libpytorch_jni_lite.so" in detail and "libfbjni.so" in detail

    # A pattern that only sits in a comment does not count.
    build.write_text(good.replace('"**/libfbjni.so",', '// "**/libfbjni.so",'))
    assert _rows(root, context)[PACKAGED_TWICE][0] == "fail"


def test_packaging_patterns_in_every_kotlin_form():
    cmake = ('add_library(a SHARED IMPORTED)\nset_target_properties(a PROPERTIES IMPORTED_LOCATION "${D}/libfbjni.so")\n'
             '# add_library(b SHARED IMPORTED)\n')
    assert android.cmake_imported_libraries(cmake) == {"libfbjni.so"}
    assert android.cmake_imported_libraries(
        'add_library(c SHARED IMPORTED GLOBAL)\nset_property(TARGET c PROPERTY IMPORTED_LOCATION ${L}/libpytorch_jni_lite.so)\n'
    ) == {"libpytorch_jni_lite.so"}
    for kotlin in ('android { packaging { jniLibs { pickFirsts.add("**/libfbjni.so") } } }',
                   'android { packaging.jniLibs.pickFirsts += "lib/*/libfbjni.so" }',
                   'android { packaging { jniLibs { excludes += setOf("**/libfbjni.so") } } }'):
        assert android.native_libraries_packaged_twice(cmake, kotlin) == [], kotlin
    # A resources pattern is not a jniLibs pattern; an ABI-specific one leaves the other ABIs.
    assert len(android.native_libraries_packaged_twice(
        cmake, 'android { packaging { resources { pickFirsts += "**/libfbjni.so" } } }')) == len(versions.PYTORCH_ANDROID_LITE_ABIS)
    left = android.native_libraries_packaged_twice(cmake, 'jniLibs { pickFirsts += "lib/x86/libfbjni.so" }')
    assert "lib/x86/libfbjni.so" not in left and "lib/arm64-v8a/libfbjni.so" in left
    # ANDROID_STL=c++_shared makes the CMake build ship libc++_shared.so too.
    assert android.native_libraries_packaged_twice("", 'arguments += "-DANDROID_STL=c++_shared"') == [
        f"lib/{abi}/libc++_shared.so" for abi in versions.PYTORCH_ANDROID_LITE_ABIS]


def test_java_variant_has_no_packaging_row(tmp_path):
    root, context = _render_android(tmp_path, "java")
    assert PACKAGED_TWICE not in _rows(root, context)


# ---- first Android Studio sync (item 4) ----------------------------------------------------------

def test_native_headers_are_unpacked_at_configuration_time(tmp_path):
    """Studio's sync configures CMake without running tasks: the unpacking must not live only in a
    task, and CMake must get the same (versioned) directory the configuration step fills."""
    root, _ = _render_android(tmp_path, "native")
    kts = (root / "app/build.gradle.kts").read_text()
    code = android._strip_comments(kts, "//")
    top_level = [line for line in code.splitlines() if line.startswith("if (!pytorchNativeDir.isDirectory)")]
    assert top_level, "no configuration-time extraction"
    assert f'dir("pytorch_native/{versions.PYTORCH_ANDROID_LITE}")' in code
    assert '"-DPYTORCH_NATIVE_DIR=" + pytorchNativeDir.absolutePath' in code
    cmake = (root / "app/src/main/cpp/CMakeLists.txt").read_text()
    assert f"build/pytorch_native/{versions.PYTORCH_ANDROID_LITE}" in cmake


# ---- window insets (item 12) -----------------------------------------------------------------------

@pytest.mark.parametrize("android_api", ["java", "native"])
def test_screen_pads_for_system_bars(tmp_path, android_api):
    root, context = _render_android(tmp_path, android_api)
    assert _rows(root, context)[INSETS][0] == "pass"
    layout = (root / "app/src/main/res/layout/activity_main.xml").read_text()
    assert 'android:id="@+id/root"' in layout and "fitsSystemWindows" not in layout

    activity = root / "app/src/main/java" / PACKAGE_PATH / "MainActivity.java"
    good = activity.read_text()
    broken = {
        "no listener": good.replace("ViewCompat.setOnApplyWindowInsetsListener(root,", "java.util.Objects.requireNonNull(root,"),
        "status bar only": good.replace(
            "WindowInsetsCompat.Type.systemBars() | WindowInsetsCompat.Type.displayCutout()",
            "WindowInsetsCompat.Type.statusBars()"),
        "insets read but never applied": good.replace(
            "view.setPadding(left + bars.left, top + bars.top, right + bars.right, bottom + bars.bottom);", ""),
        "helper never called": good.replace("padForSystemBars(findViewById(R.id.root));", ""),
        "only in a comment": good.replace("ViewCompat.setOnApplyWindowInsetsListener", "// ViewCompat.setOnApplyWindowInsetsListener", 1)
                                 .replace("padForSystemBars(findViewById(R.id.root));", ""),
    }
    for what, source in broken.items():
        assert source != good, what
        activity.write_text(source)
        status, detail = _rows(root, context)[INSETS]
        assert status == "fail", what
    activity.write_text(good)
    assert syntax.syntax_errors("java", good.encode()) == []


def test_androidx_core_has_the_insets_api():
    # WindowInsetsCompat.Type (systemBars, displayCutout) exists since androidx.core 1.5.0.
    assert tuple(int(p) for p in versions.ANDROIDX_CORE.split(".")[:2]) >= (1, 5)


# ---- channels-last outputs (item 5) ---------------------------------------------------------------

class EndsChannelsLast(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        return torch.tanh(self.conv(x)).contiguous(memory_format=torch.channels_last)


@pytest.fixture(scope="module")
def channels_last_model(tmp_path_factory) -> dict:
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("channels-last")
    model = EndsChannelsLast().eval()
    x = torch.rand(1, 3, 5, 4)
    traced = torch.jit.trace(model, x)
    path = root / "model.ptl"
    traced._save_for_lite_interpreter(str(path))
    y = torch.jit.mobile._load_for_lite_interpreter(str(path))(x)
    return {"path": path, "x": x, "y": y, "module": traced, "root": root}


def test_the_lite_interpreter_keeps_channels_last(channels_last_model):
    """The premise: the runtime hands such an output over in NHWC memory order."""
    y = channels_last_model["y"]
    assert y.is_contiguous(memory_format=torch.channels_last) and not y.is_contiguous()


def test_export_goldens_are_in_nchw_order(channels_last_model, tmp_path):
    """What the generator records as the expected output (and the apps compare against) is the
    logical NCHW order, whatever the memory format."""
    from generator.project import ModelOptions, export_pipeline

    ts = tmp_path / "m.pt"
    torch.jit.save(channels_last_model["module"], str(ts))
    exp = export_pipeline(ModelOptions(str(ts), input_size="4x5", task="image-to-image"), tmp_path / "out")
    from generator import goldens as goldens_mod

    expected = torch.frombuffer(bytearray(exp.goldens.expected_bytes), dtype=torch.float32)
    lite = torch.jit.mobile._load_for_lite_interpreter(str(exp.asset))
    with torch.no_grad():
        y = lite(goldens_mod.input_tensor(goldens_mod.load_sample(None, 4, 5), exp.meta))
    assert y.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(expected, y.contiguous().reshape(-1))
    assert not torch.equal(expected, y.permute(0, 2, 3, 1).reshape(-1))


_HARNESS = """
import java.io.*;
import java.nio.*;
import java.nio.file.*;

public class ChannelsLastHarness {
    public static void main(String[] args) throws Exception {
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(Paths.get(args[0]))).order(ByteOrder.LITTLE_ENDIAN);
        float[] data = new float[in.remaining() / 4];
        in.asFloatBuffer().get(data);
        String[] dims = args[1].split(",");
        long[] shape = new long[dims.length];
        for (int i = 0; i < dims.length; i++) shape[i] = Long.parseLong(dims[i]);
        float[] out = %s.ImageTensors.channelsLastToContiguous(data, shape);
        ByteBuffer bytes = ByteBuffer.allocate(out.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(out);
        Files.write(Paths.get(args[2]), bytes.array());
    }
}
"""


def test_java_turns_the_channels_last_buffer_into_nchw(channels_last_model, tmp_path):
    javac, java = Javac(), Java()
    if not (javac.available() and java.available()):
        pytest.skip("javac/java not installed")
    context = _context(task="image-to-image")
    files = {f.path: f.data for f in render.render_platform("android", context)}
    sources = tmp_path / "src"
    (sources / PACKAGE_PATH).mkdir(parents=True)
    (sources / PACKAGE_PATH / "ImageTensors.java").write_bytes(files[f"app/src/main/java/{PACKAGE_PATH}/ImageTensors.java"])
    (sources / "ChannelsLastHarness.java").write_text(_HARNESS % context["package"])
    classes = tmp_path / "classes"
    compiled = javac.run(["-d", str(classes), *map(str, sources.rglob("*.java"))], timeout=300)
    assert compiled.returncode == 0, compiled.output

    y = channels_last_model["y"]
    # What pytorch_android's JNI copies into the Java tensor for a channels-last output: the
    # storage as it lies in memory (NHWC), with the NCHW sizes as the shape.
    raw = torch.as_strided(y, (y.numel(),), (1,)).detach().numpy().astype("<f4").tobytes()
    assert raw != y.contiguous().detach().numpy().astype("<f4").tobytes()
    (tmp_path / "raw.bin").write_bytes(raw)
    ran = java.run(["-cp", str(classes), "ChannelsLastHarness", str(tmp_path / "raw.bin"),
                    ",".join(map(str, y.shape)), str(tmp_path / "out.bin")], timeout=300)
    assert ran.returncode == 0, ran.output
    assert (tmp_path / "out.bin").read_bytes() == y.contiguous().detach().numpy().astype("<f4").tobytes()


def test_model_runner_converts_by_memory_format():
    """The Java variant reads MemoryFormat (org.pytorch 2.1.0: Tensor.memoryFormat()) before
    handing the data on; the native core returns contiguous data itself (.contiguous())."""
    files = {f.path: f.data.decode() for f in render.render_platform("android", _context(task="image-to-image"))}
    runner = files[f"app/src/main/java/{PACKAGE_PATH}/ModelRunner.java"]
    assert "import org.pytorch.MemoryFormat;" in runner
    assert re.search(r"if \(tensor\.memoryFormat\(\) != MemoryFormat\.CONTIGUOUS\) \{\s*//[^\n]*\n\s*//[^\n]*\n\s*"
                     r"data = ImageTensors\.channelsLastToContiguous\(data, shape\);", runner)
    core = (Path(render.__file__).resolve().parent.parent / "templates/shared/cpp/lite/inference_core.cpp").read_text()
    assert "output = output.to(at::kFloat).contiguous();" in core


# ---- Vulkan log (item 6) ------------------------------------------------------------------------------

def test_vulkan_log_says_what_happens():
    files = {f.path: f.data.decode() for f in render.render_platform("android", _context(task="image-to-image"))}
    # The log messages with Java's string concatenations joined.
    runner = re.sub(r'"\s*\+\s*"', "", files[f"app/src/main/java/{PACKAGE_PATH}/ModelRunner.java"])
    assert "still runs on the CPU" not in runner
    assert "with it the first forward() fails and the model is reloaded on the CPU" in runner
    assert "forward() failed on Vulkan (expected with the stock pytorch_android_lite AAR" in runner
    assert "still runs on the CPU" not in files["gradle.properties"]


# ---- iOS C++ standard (item 7) ------------------------------------------------------------------------

def _ios_project(tmp_path: Path) -> Path:
    context = _context(task="image-to-image")
    root = tmp_path / "ios"
    render.write_files(root, render.render_platform("ios", context))
    pbxproj.write_xcode_project(root, product_name=context["product_name"], bundle_id=context["bundle_id"],
                                deployment_target=versions.IOS_DEPLOYMENT_TARGET, swift_version=versions.SWIFT_VERSION,
                                cxx_standard=versions.IOS_CXX_LANGUAGE_STANDARD)
    return root


CXX_ROW = "iOS app target's C++ standard is the one the core is checked with"


def _cxx_row(root: Path, host_flag: str | None) -> tuple[str, str]:
    report = CheckReport()
    native.report_ios_cxx_standard(report, root, host_flag)
    (check,) = report.checks
    assert check.name == CXX_ROW
    return check.status, check.detail


def test_app_target_pins_the_cxx_standard_the_host_checks(tmp_path):
    root = _ios_project(tmp_path)
    assert pbxparse.app_cxx_standard(root) == (versions.IOS_CXX_LANGUAGE_STANDARD, [])
    flag = native.xcode_std_flag(versions.IOS_CXX_LANGUAGE_STANDARD)
    assert flag == "-std=c++17"
    assert _cxx_row(root, flag)[0] == "pass"
    # The host compiling the core as C++14 (or with no flag) is not what Xcode builds.
    assert _cxx_row(root, "-std=c++14")[0] == "fail"
    assert _cxx_row(root, None)[0] == "fail"


def _edit_app_configs(root: Path, edit) -> None:
    path = next(root.glob("*.xcodeproj")) / "project.pbxproj"
    data = pbxparse.parse_pbxproj(path.read_text())
    objects = data["objects"]
    app = next(o for o in objects.values() if o.get("productType") == pbxproj.APP_PRODUCT_TYPE)
    for config_id in objects[app["buildConfigurationList"]]["buildConfigurations"]:
        edit(objects[config_id]["name"], objects[config_id]["buildSettings"])
    comments = {}
    path.write_text(pbxproj.serialize_pbxproj(objects, data["rootObject"], comments))


def test_cxx_standard_left_to_the_project_level_fails(tmp_path):
    """Project-level c++17 alone loses to the pod's c++14 in the target's base xcconfig."""
    root = _ios_project(tmp_path)
    _edit_app_configs(root, lambda name, settings: settings.pop("CLANG_CXX_LANGUAGE_STANDARD"))
    status, detail = _cxx_row(root, "-std=c++17")
    assert status == "fail" and "c++14" in detail


def test_ios_check_has_the_row_even_without_native_builds(tmp_path):
    from generator import ios

    root = _ios_project(tmp_path)
    context = _context(task="image-to-image")

    def row() -> str:
        report = CheckReport()
        ios.check(tmp_path, context, report, run_native=False)
        return next(c.status for c in report.checks if c.name == CXX_ROW)

    assert row() == "pass"
    _edit_app_configs(root, lambda name, settings: settings.pop("CLANG_CXX_LANGUAGE_STANDARD"))
    assert row() == "fail"


def test_cxx_standard_differing_between_configurations_fails(tmp_path):
    root = _ios_project(tmp_path)
    _edit_app_configs(root, lambda name, settings: settings.update(
        CLANG_CXX_LANGUAGE_STANDARD="gnu++20" if name == "Release" else "c++17"))
    status, detail = _cxx_row(root, "-std=c++17")
    assert status == "fail" and "Release=gnu++20" in detail
    _edit_app_configs(root, lambda name, settings: settings.update(CLANG_CXX_LANGUAGE_STANDARD="compiler-default"))
    assert _cxx_row(root, "-std=c++17")[0] == "fail"


# ---- SwiftUI onChange (item 10) ---------------------------------------------------------------------

def _swift_calls(source: bytes, name: str) -> list[str]:
    """Text of every call whose callee ends in `.name` (tree-sitter-swift), ignoring comments."""
    tree = syntax._parser("swift").parse(source)
    found, stack = [], [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "navigation_suffix" and node.text.decode().lstrip(".").strip() == name:
            call = node.parent.parent if node.parent is not None else None
            if call is not None and call.type == "call_expression":
                found.append(call.text.decode())
        stack.extend(node.children)
    return found


def test_no_deprecated_onchange_for_the_deployment_target():
    major = int(versions.IOS_DEPLOYMENT_TARGET.split(".")[0])
    for task in ("image-to-image", "classification", "segmentation", "tensor"):
        files = {f.path: f.data for f in render.render_platform("ios", _context(task=task))}
        for path, data in files.items():
            if not path.endswith(".swift"):
                continue
            # Below iOS 17 every onChange form is either deprecated on 17+ or unavailable on 16.
            if major < 17:
                assert _swift_calls(data, "onChange") == [], path
            # Deprecated in the current SDKs; foregroundStyle works from iOS 15.
            assert _swift_calls(data, "foregroundColor") == [], path
        content = files["ZebraIfy/ContentView.swift"]
        assert syntax.syntax_errors("swift", content) == []
        assert any("pickerItem" in call for call in _swift_calls(content, "task"))
    # The detector itself sees the old form.
    old = b"struct V: View { var body: some View { Text(\"\").onChange(of: x) { item in print(item) } } }"
    assert _swift_calls(old, "onChange")

import pytest

from generator import context as ctx, render
from generator.metadata import describe


def _context(task="classification", android_api="java", platforms=("android", "ios")):
    shape = {"classification": (1, 4), "image-to-image": (1, 3, 8, 8), "segmentation": (1, 3, 8, 8), "tensor": (1, 8, 8)}[task]
    meta = describe(task=task, input_size=(8, 8), mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), output_shape=shape,
                    output_range=(-1.0, 1.0) if task == "image-to-image" else None,
                    labels=("O'Brien \"q\" <a> & \\", "b", "c", "d") if task == "classification" else None)
    config = ctx.ProjectConfig("zebra-ify", "Zebra Ify", "com.example.zebra_ify", "ZebraIfy", "com.example.zebra-ify",
                               platforms, android_api)
    return ctx.build(config, meta)


def test_every_manifest_platform_renders_deterministically():
    c = _context()
    for platform in ("project", "android", "ios"):
        first = render.render_platform(platform, c)
        assert first, platform
        assert [(f.path, f.data) for f in first] == [(f.path, f.data) for f in render.render_platform(platform, c)]
        assert not any(f.path.endswith(render.SUFFIX) or "{{" in f.path for f in first)


def test_conditional_files_follow_the_manifest():
    java = {f.path for f in render.render_platform("android", _context(android_api="java"))}
    native = {f.path for f in render.render_platform("android", _context(android_api="native"))}
    assert not any("/cpp/" in p for p in java)
    assert "app/src/main/cpp/inference_core.cpp" in native and "app/src/main/cpp/inference_core.h" in native
    assert any(p.endswith("NativeCore.java") for p in native) and not any(p.endswith("NativeCore.java") for p in java)
    only_android = {f.path for f in render.render_platform("project", _context(platforms=("android",)))}
    assert ".github/workflows/android.yml" in only_android and ".github/workflows/ios.yml" not in only_android


def test_shared_core_is_byte_identical_in_both_platforms():
    c = _context(android_api="native")
    android = {f.path: f.data for f in render.render_platform("android", c)}
    ios = {f.path: f.data for f in render.render_platform("ios", c)}
    for name in ("inference_core.h", "inference_core.cpp", "image_ops.h", "image_ops.cpp"):
        assert android[f"app/src/main/cpp/{name}"] == ios[f"ZebraIfy/Core/{name}"]


def test_artifact_paths_come_from_the_manifest():
    c = _context()
    assert render.artifact_path("android", "model", c) == "app/src/main/assets/model.ptl"
    assert render.artifact_path("ios", "expected", c) == "ZebraIfyTests/Resources/expected_output.bin"


def test_unknown_context_key_fails_loudly():
    env = render.environment()
    with pytest.raises(Exception, match="undefined"):
        env.from_string("{{ nope }}").render()


def test_context_carries_the_jni_prefix():
    assert _context()["jni_prefix"] == "Java_com_example_zebra_1ify_NativeCore"
    assert ctx.jni_prefix("com.example.zebra_ify") == "Java_com_example_zebra_1ify_NativeCore"

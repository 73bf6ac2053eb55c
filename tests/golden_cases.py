"""Fixed render contexts whose output is kept under tests/golden/ (refresh: make goldens)."""

from __future__ import annotations

from pathlib import Path

from generator import context as ctx, render
from generator.metadata import describe

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
HOSTILE_LABEL = "O'Brien \"quoted\" <tag> & back\\slash $x"

CASES = {
    "classification-java": dict(task="classification", shape=(1, 3), android_api="java",
                                labels=(HOSTILE_LABEL, "zebra", "horse"), rng=None),
    "image-to-image-java": dict(task="image-to-image", shape=(1, 3, 8, 8), android_api="java", labels=None, rng=(-1.0, 1.0)),
    "segmentation-native": dict(task="segmentation", shape=(1, 4, 8, 8), android_api="native", labels=None, rng=None),
    # ESPCN-style luma super-resolution: 1x1x8x8 in, 1x1x24x24 out.
    "super-resolution-native": dict(task="image-to-image", shape=(1, 1, 24, 24), android_api="native", labels=None,
                                    rng=(0.0, 1.0), channels=1),
    # YOLO-style raw predictions: 1 x 16 boxes x (4 + 1 + 2 classes).
    "detection-java": dict(task="detection", shape=(1, 16, 7), android_api="java", labels=("circle", HOSTILE_LABEL),
                           rng=None),
    # ExecuTorch with every delegate: both platforms, the GPU (Android) and Neural Engine (iOS) assets.
    "image-to-image-executorch": dict(task="image-to-image", shape=(1, 3, 8, 8), android_api="java", labels=None,
                                      rng=(-1.0, 1.0), runtime="executorch", backends=("xnnpack", "vulkan", "coreml")),
    # ExecuTorch on the CPU only (`--android-api native` is refused with ExecuTorch: the AAR has no C++ API).
    "classification-executorch-java": dict(task="classification", shape=(1, 3), android_api="java",
                                             labels=(HOSTILE_LABEL, "zebra", "horse"), rng=None, runtime="executorch",
                                             backends=("xnnpack",)),
    # A token model (--task tensor --input-shape 1x32 --input-dtype int64): the apps feed sample_input.bin.
    "tensor-input-java": dict(task="tensor", shape=(1, 3), android_api="java", labels=None, rng=None,
                              input_shape=(1, 32), input_dtype="int64", size=(32, 1)),
    # --quantize int8: the device tolerance derived from the output's quantization step, its reason
    # rendered beside the value in the device tests (the pipeline's own wording for each runtime).
    "classification-int8-java": dict(task="classification", shape=(1, 3), android_api="java", labels=("zebra", "horse", "okapi"),
                                     rng=None, tolerance=0.0478739,
                                     tolerance_reason="output_step, one quantization step of the int8 output (the scale of "
                                                      "its last dequantize): the phones' int8 kernels may round the last "
                                                      "requantization differently"),
    "classification-int8-executorch": dict(task="classification", shape=(1, 3), android_api="java",
                                           labels=("zebra", "horse", "okapi"), rng=None, runtime="executorch", backends=("xnnpack",),
                                           tolerance=0.430865,
                                           tolerance_reason="9 x output_step 0.0478739 (the int8 output's quantization "
                                                            "step): ExecuTorch's int8 kernels on this host and the PT2E "
                                                            "reference, which round intermediate values differently, "
                                                            "differed by up to 9 step(s) on the 32 calibration pictures; the "
                                                            "phones' XNNPACK kernels may round differently from this host's"),
}


def case_context(case: str) -> dict:
    c = CASES[case]
    mean, std = ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)) if c["task"] in ("image-to-image", "detection") else ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    meta = describe(task=c["task"], input_size=c.get("size", (8, 8)), mean=mean, std=std, output_shape=c["shape"],
                    output_range=c["rng"], labels=c["labels"], input_channels=c.get("channels", 3),
                    input_shape=c.get("input_shape"), input_dtype=c.get("input_dtype"))
    config = ctx.ProjectConfig("zebra-ify", "Zebra Ify", "com.example.zebra_ify", "ZebraIfy", "com.example.zebra-ify",
                               ("android", "ios"), c["android_api"], runtime=c.get("runtime", "lite"),
                               backends=c.get("backends", ()), tolerance=c.get("tolerance", 1e-4),
                               tolerance_reason=c.get("tolerance_reason", ""))
    return ctx.build(config, meta)


def rendered(case: str) -> dict[str, bytes]:
    context = case_context(case)
    files: dict[str, bytes] = {}
    for platform in ("project", "android", "ios"):
        prefix = render.section(platform)["output"]
        for f in render.render_platform(platform, context):
            files[f"{prefix}/{f.path}".removeprefix("./")] = f.data
    return files

"""The values every template sees (documented in docs/ARCHITECTURE.md), built in one place.

`scaffold check` rebuilds the same context from DIR/scaffold.toml, so generation and checking
cannot disagree about names or paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from generator import __version__, versions
from generator.native import jni_prefix
from generator.metadata import METADATA_FORMAT, METADATA_KEY, METADATA_METHOD, Metadata
from generator.goldens import SAMPLE_INPUT_NAME
from generator.verify import DEFAULT_RTOL

PLATFORMS = ("android", "ios")
ANDROID_APIS = ("java", "native")
RUNTIMES = ("lite", "executorch")
# The asset each runtime's apps load on the CPU, and the GPU/NPU ones a backend adds (the names
# are the runtimes' own: generator/runtimes/lite.py, generator/runtimes/executorch.py).
MODEL_FILES = {"lite": "model.ptl", "executorch": "model.pte"}
BACKEND_MODEL_FILES = {"vulkan": "model_vulkan.pte", "coreml": "model_coreml.pte"}
MODEL_FILE = MODEL_FILES["lite"]
SAMPLE_FILE = "sample.png"
# A non-image input (--task tensor --input-shape): the seeded tensor, raw little-endian.
SAMPLE_INPUT_FILE = SAMPLE_INPUT_NAME
EXPECTED_FILE = "expected_output.bin"


@dataclass(frozen=True)
class ProjectConfig:
    """Everything about a project that is not the model: names and switches."""

    name: str
    app_name: str
    package: str
    product_name: str
    bundle_id: str
    platforms: tuple[str, ...] = PLATFORMS
    android_api: str = "java"
    use_vulkan: bool = False
    tolerance: float = 1e-4
    rtol: float = DEFAULT_RTOL
    runtime: str = "lite"
    backends: tuple[str, ...] = ()  # executorch only: xnnpack always, vulkan (Android), coreml (iOS)
    extra: dict[str, Any] = field(default_factory=dict)
    # Why `tolerance` is what it is, when scaffold derived it (--quantize int8: from the output's
    # quantization step); the apps' device tests show it beside the value.
    tolerance_reason: str = ""


def build(config: ProjectConfig, meta: Metadata) -> dict[str, Any]:
    output_mean, output_std = meta.output_mean_std()
    return {
        "name": config.name,
        "app_name": config.app_name,
        "package": config.package,
        "package_path": config.package.replace(".", "/"),
        "product_name": config.product_name,
        "bundle_id": config.bundle_id,
        "platforms": list(config.platforms),
        "android_api": config.android_api,
        "use_vulkan_default": config.use_vulkan,
        "jni_prefix": jni_prefix(config.package),
        "task": meta.task,
        "input_width": meta.input_width,
        "input_height": meta.input_height,
        "mean": list(meta.mean),
        "std": list(meta.std),
        "output_mean": output_mean,
        "output_std": output_std,
        "output_range": list(meta.output_range) if meta.output_range else None,
        "output_shape": list(meta.output_shape),
        "input_channels": meta.input_channels,
        "detection": meta.detection.to_dict() if meta.detection is not None else None,
        "num_classes": meta.num_classes,
        "labels": list(meta.labels),
        "palette": [list(c) for c in meta.palette],
        "tolerance": config.tolerance,
        "rtol": config.rtol,
        "tolerance_reason": config.tolerance_reason,
        "output_key": meta.output_key,
        "output_index": meta.output_index,
        "runtime": config.runtime,
        "backends": list(config.backends),
        "model_file": MODEL_FILES[config.runtime],
        "vulkan_model_file": BACKEND_MODEL_FILES["vulkan"] if "vulkan" in config.backends else None,
        "coreml_model_file": BACKEND_MODEL_FILES["coreml"] if "coreml" in config.backends else None,
        "metadata_key": METADATA_KEY,
        "metadata_method": METADATA_METHOD,
        "metadata_format": METADATA_FORMAT,
        "sample_file": SAMPLE_INPUT_FILE if meta.input_shape else SAMPLE_FILE,
        "input_shape": list(meta.input_shape) if meta.input_shape else None,
        "input_dtype": meta.input_dtype,
        "expected_file": EXPECTED_FILE,
        "v": versions,
        "generator_version": __version__,
    }

"""DIR/scaffold.toml: what a project was generated from, readable by people and by `check`."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from generator import __version__
from generator.context import RUNTIMES, ProjectConfig
from generator.errors import CheckFailedError
from generator.metadata import DetectionSpec, Metadata

FILE_NAME = "scaffold.toml"
HEADER = "# Written by scaffold; `scaffold check` reads it. Regenerate instead of editing.\n"


def dumps(config: ProjectConfig, meta: Metadata, model: dict[str, Any], options: dict[str, Any] | None = None) -> str:
    doc = {
        "generator": {"name": "scaffold", "version": __version__},
        "project": {
            "name": config.name,
            "app_name": config.app_name,
            "package": config.package,
            "product_name": config.product_name,
            "bundle_id": config.bundle_id,
            "platforms": list(config.platforms),
            "android_api": config.android_api,
            "use_vulkan": config.use_vulkan,
            "runtime": config.runtime,
            "backends": list(config.backends),
        },
        "model": model,
        "metadata": {
            "task": meta.task,
            "input_width": meta.input_width,
            "input_height": meta.input_height,
            "mean": list(meta.mean),
            "std": list(meta.std),
            "output_shape": list(meta.output_shape),
            "labels": list(meta.labels),
            "palette": [list(c) for c in meta.palette],
        },
    }
    if meta.output_range is not None:
        doc["metadata"]["output_range"] = list(meta.output_range)
    if meta.output_key is not None:
        doc["metadata"]["output_key"] = meta.output_key
    if meta.output_index is not None:
        doc["metadata"]["output_index"] = meta.output_index
    if meta.input_channels != 3:
        doc["metadata"]["input_channels"] = meta.input_channels
    if meta.input_shape:
        doc["metadata"]["input_shape"] = list(meta.input_shape)
        doc["metadata"]["input_dtype"] = meta.input_dtype
    if meta.detection is not None:
        doc["metadata"]["detection"] = meta.detection.to_dict()
    doc["model"]["tolerance"] = config.tolerance
    doc["model"]["rtol"] = config.rtol
    if options:
        doc["options"] = options  # new's arguments, for `scaffold update` to run it again
    return HEADER + tomli_w.dumps(doc)


def load(project_dir: Path) -> tuple[ProjectConfig, Metadata, dict[str, Any]]:
    path = Path(project_dir) / FILE_NAME
    if not path.is_file():
        raise CheckFailedError(f"{path} not found; pass the directory `scaffold new` generated")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        p, m, model = doc["project"], doc["metadata"], doc["model"]
        config = ProjectConfig(
            name=p["name"],
            app_name=p["app_name"],
            package=p["package"],
            product_name=p["product_name"],
            bundle_id=p["bundle_id"],
            platforms=tuple(p["platforms"]),
            android_api=p["android_api"],
            use_vulkan=bool(p["use_vulkan"]),
            tolerance=float(model["tolerance"]),
            rtol=float(model.get("rtol", 0.0)),
            runtime=str(p.get("runtime", "lite")),
            backends=tuple(str(b) for b in p.get("backends", ())),
            tolerance_reason=str(model.get("quantization", {}).get("device_tolerance", "")),
        )
        if config.runtime not in RUNTIMES:
            raise ValueError(f"unknown runtime {config.runtime!r}")
        rng = m.get("output_range")
        meta = Metadata(
            task=m["task"],
            input_width=int(m["input_width"]),
            input_height=int(m["input_height"]),
            mean=tuple(m["mean"]),
            std=tuple(m["std"]),
            output_shape=tuple(m["output_shape"]),
            output_range=(float(rng[0]), float(rng[1])) if rng else None,
            labels=tuple(m["labels"]),
            palette=tuple(tuple(c) for c in m["palette"]),
            output_key=str(m["output_key"]) if "output_key" in m else None,
            output_index=int(m["output_index"]) if "output_index" in m else None,
            input_channels=int(m.get("input_channels", 3)),
            input_shape=tuple(int(d) for d in m["input_shape"]) if "input_shape" in m else None,
            input_dtype=str(m["input_dtype"]) if "input_shape" in m else None,
            detection=DetectionSpec.from_dict(m["detection"]) if "detection" in m else None,
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        raise CheckFailedError(f"{path} is unreadable ({type(exc).__name__}: {exc}); regenerate the project") from None
    return config, meta, model

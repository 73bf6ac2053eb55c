"""`scaffold check DIR`: verify a generated project offline, without an Android SDK or Xcode.

Project-wide checks (record, asset, expected output) live here; each platform module adds its
own. The asset is verified with the same code export uses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from generator import context as ctx, goldens, record, render, versions
from generator.checks import CheckReport
from generator.errors import ModelError, ScaffoldError
from generator.metadata import Metadata, read_embedded
from generator.verify import inspect_asset, load_lite, run_module


def _first_platform_artifact(project_dir: Path, config: ctx.ProjectConfig, context: dict, kind: str) -> Path:
    platform = config.platforms[0]
    return project_dir / render.section(platform)["output"] / render.artifact_path(platform, kind, context)


def check_asset(project_dir: Path, config: ctx.ProjectConfig, meta: Metadata, context: dict, report: CheckReport) -> None:
    scope = "model"
    copies = [project_dir / render.section(p)["output"] / render.artifact_path(p, "model", context) for p in config.platforms]
    present = [c for c in copies if c.is_file()]
    if not report.add(scope, "asset present in every platform", len(present) == len(copies),
                      ", ".join(str(c.relative_to(project_dir)) for c in copies)):
        return
    report.add(scope, "same asset bytes in every platform", len({c.read_bytes() for c in present}) == 1, f"{len(present)} copies")
    asset = present[0]
    try:
        info = inspect_asset(asset)
    except ScaffoldError as exc:
        report.add(scope, "asset loads in the lite interpreter", False, str(exc))
        return
    report.add(scope, "asset loads in the lite interpreter", True, f"{info.size} bytes, {len(info.operators)} operators")
    report.add(scope, "bytecode version loadable by the app runtimes",
               versions.LITE_BYTECODE_MIN <= info.bytecode_version <= versions.LITE_BYTECODE_MAX,
               f"version {info.bytecode_version}, runtimes load {versions.LITE_BYTECODE_MIN}..{versions.LITE_BYTECODE_MAX}")
    try:
        if info.metadata_raw is None:
            raise ModelError(info.metadata_error or "the asset has no scaffold.json")
        embedded = Metadata.from_embedded(read_embedded(info.metadata_raw))
    except ScaffoldError as exc:
        report.add(scope, "embedded metadata matches scaffold.toml", False, str(exc))
    else:
        report.add(scope, "embedded metadata matches scaffold.toml", embedded == meta,
                   "task, sizes, normalization, labels" if embedded == meta else "differs: regenerate the project")
    sample = _first_platform_artifact(project_dir, config, context, "sample")
    expected_path = _first_platform_artifact(project_dir, config, context, "expected")
    if not (sample.is_file() and expected_path.is_file()):
        report.add(scope, "asset reproduces the expected output", False, "sample or expected output missing")
        return
    img = goldens.load_sample(sample, meta.input_width, meta.input_height)
    out = run_module(load_lite(asset), goldens.input_tensor(img, meta), "the asset")
    expected = goldens.read_floats(expected_path)
    actual = out.reshape(-1).numpy()
    if actual.shape != expected.shape:
        report.add(scope, "asset reproduces the expected output", False, f"{actual.size} values, expected {expected.size}")
        return
    err = float(np.max(np.abs(actual - expected))) if actual.size else 0.0
    report.add(scope, "asset reproduces the expected output", err <= config.tolerance,
               f"max abs error {err:.3g} (tolerance {config.tolerance:g})")


def check_project(project_dir: Path, *, run_host_tests: bool = True, run_native: bool = True,
                  progress=lambda _: None) -> CheckReport:
    report = CheckReport()
    config, meta, _model = record.load(project_dir)
    context = ctx.build(config, meta)
    progress("checking the model asset")
    check_asset(project_dir, config, meta, context, report)
    promised = [p for p in render.promised_paths("project", context) if not (project_dir / p).is_file()]
    report.add("project", "top-level files exist", not promised, "README, workflows" if not promised else ", ".join(promised))
    for platform in config.platforms:
        progress(f"checking the {platform} project")
        if platform == "android":
            from generator import android

            android.check(project_dir, context, report, run_host_tests=run_host_tests)
            if config.android_api == "native" and run_native:
                from generator import native

                native.check_android(project_dir, context, report)
        else:
            from generator import ios

            ios.check(project_dir, context, report, run_native=run_native)
    return report

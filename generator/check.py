"""`scaffold check DIR`: verify a generated project offline, without an Android SDK or Xcode.

Project-wide checks (record, asset, expected output) live here; each platform module adds its
own. The asset is verified with the same code export uses.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from generator import ci, context as ctx, goldens, qengine, record, render, versions
from generator.checks import CheckReport
from generator.errors import CheckFailedError, ModelError, ScaffoldError
from generator.metadata import METADATA_METHOD, Metadata, read_embedded
from generator.runtimes.lite import inspect_asset, load_lite
from generator.verify import excess_error, first_tensor, run_module


def _first_platform_artifact(project_dir: Path, config: ctx.ProjectConfig, context: dict, kind: str) -> Path:
    platform = config.platforms[0]
    return project_dir / render.section(platform)["output"] / render.artifact_path(platform, kind, context)


def _same_in_every_platform(project_dir: Path, config: ctx.ProjectConfig, context: dict, report: CheckReport) -> None:
    """Only the first platform's sample and expected output are run below; the others must be
    byte-identical copies, whatever else is skipped."""
    for kind in ("sample", "expected"):
        copies = [project_dir / render.section(p)["output"] / render.artifact_path(p, kind, context) for p in config.platforms]
        missing = [str(c.relative_to(project_dir)) for c in copies if not c.is_file()]
        differ = [str(c.relative_to(project_dir)) for c in copies[1:]
                  if c.is_file() and copies[0].is_file() and c.read_bytes() != copies[0].read_bytes()]
        detail = (f"missing: {', '.join(missing)}" if missing else
                  f"{', '.join(differ)} differ from {copies[0].relative_to(project_dir)}" if differ else
                  f"{len(copies)} copies")
        report.add("model", f"same {copies[0].name} in every platform", not missing and not differ, detail)


def check_asset(project_dir: Path, config: ctx.ProjectConfig, meta: Metadata, context: dict, report: CheckReport,
                engine: str | None = None, model: dict | None = None) -> None:
    scope = "model"
    copies = [project_dir / render.section(p)["output"] / render.artifact_path(p, "model", context) for p in config.platforms]
    present = [c for c in copies if c.is_file()]
    if not report.add(scope, "asset present in every platform", len(present) == len(copies),
                      ", ".join(str(c.relative_to(project_dir)) for c in copies)):
        return
    report.add(scope, "same asset bytes in every platform", len({c.read_bytes() for c in present}) == 1, f"{len(present)} copies")
    _same_in_every_platform(project_dir, config, context, report)
    asset = present[0]
    if config.runtime == "executorch":
        _check_programs(project_dir, config, meta, context, report, asset, model or {})
        return
    try:
        info = inspect_asset(asset)
    except ScaffoldError as exc:
        report.add(scope, "asset loads in the lite interpreter", False, str(exc))
        return
    report.add(scope, "asset loads in the lite interpreter", True, f"{info.size} bytes, {len(info.operators)} operators")
    report.add(scope, "bytecode version loadable by the app runtimes",
               versions.LITE_BYTECODE_MIN <= info.bytecode_version <= versions.LITE_BYTECODE_MAX,
               f"version {info.bytecode_version}, runtimes load {versions.LITE_BYTECODE_MIN}..{versions.LITE_BYTECODE_MAX}")
    if info.metadata_raw is None:
        report.add(scope, "embedded metadata matches scaffold.toml", False, info.metadata_error or "the asset has no scaffold.json")
    else:
        _embedded_matches(scope, "embedded metadata matches scaffold.toml", info.metadata_raw, meta, report)
    sample = _first_platform_artifact(project_dir, config, context, "sample")
    expected_path = _first_platform_artifact(project_dir, config, context, "expected")
    if not expected_path.is_file():
        report.add(scope, "asset reproduces the expected output", False, f"{expected_path.name} missing")
        return
    try:
        example = _sample_tensor(sample, meta)
    except ScaffoldError as exc:
        report.add(scope, "asset reproduces the expected output", False, str(exc))
        return
    with qengine.restored():
        if engine:
            qengine.select(engine)  # before loading: the weights are packed for the engine current then
        out = run_module(load_lite(asset), example, "the asset", key=meta.output_key, index=meta.output_index)
    _reproduces(scope, out, expected_path, config, report)


def _sample_tensor(sample: Path, meta: Metadata):
    """The input the apps feed: sample_input.bin for a non-image input, else the sample picture
    converted as torchvision does."""
    if meta.input_shape:
        return goldens.sample_input_tensor(sample, meta.input_shape, meta.input_dtype or "float32")
    if not sample.is_file():
        raise CheckFailedError(f"{sample.name} is missing; {goldens.RESTORE_HINT}")
    return goldens.input_tensor(goldens.load_sample(sample, meta.input_width, meta.input_height), meta)


def _embedded_matches(scope: str, name: str, raw: str | None, meta: Metadata, report: CheckReport) -> None:
    try:
        if raw is None:
            raise ModelError(f"the asset has no {METADATA_METHOD} method")
        embedded = Metadata.from_embedded(read_embedded(raw))
    except ScaffoldError as exc:
        report.add(scope, name, False, str(exc))
    else:
        report.add(scope, name, embedded == meta,
                   "task, sizes, normalization, labels" if embedded == meta else "differs: regenerate the project")


def _recorded_bytes(scope: str, path: Path, backend: str, model: dict, report: CheckReport) -> None:
    recorded = model.get("assets", {}).get(backend, {})
    if not recorded:
        report.add(scope, f"{path.name} recorded in scaffold.toml", False, f"no [model.assets.{backend}] entry; regenerate the project")
        return
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    report.add(scope, f"{path.name} is the exported one", digest == recorded.get("sha256"),
               f"sha256 {digest[:16]}..., {path.stat().st_size} bytes" if digest == recorded.get("sha256")
               else "differs from the sha256 in scaffold.toml: the asset was replaced; regenerate the project")


def _check_programs(project_dir: Path, config: ctx.ProjectConfig, meta: Metadata, context: dict, report: CheckReport,
                    asset: Path, model: dict) -> None:
    """ExecuTorch: the XNNPACK .pte runs here against expected_output.bin; the GPU/NPU assets are
    checked for what can be checked without their delegate (presence, metadata, delegation)."""
    from generator.runtimes import executorch as et

    scope = "model"
    try:
        info = et.inspect(asset)
    except ScaffoldError as exc:
        report.add(scope, "asset loads in the ExecuTorch host runtime", False, str(exc))
        return
    report.add(scope, "asset loads in the ExecuTorch host runtime", True,
               f"{info.size} bytes, methods {', '.join(info.methods)}; " + "; ".join(info.delegation.lines()))
    _recorded_bytes(scope, asset, "xnnpack", model, report)
    _embedded_matches(scope, "embedded metadata matches scaffold.toml", info.metadata, meta, report)
    sample = _first_platform_artifact(project_dir, config, context, "sample")
    expected_path = _first_platform_artifact(project_dir, config, context, "expected")
    if not expected_path.is_file():
        report.add(scope, "asset reproduces the expected output", False, f"{expected_path.name} missing")
    else:
        try:
            outputs = et.run(asset, _sample_tensor(sample, meta))
            # ExecuTorch flattens tuple and dict outputs: the metadata's index is the position the
            # apps read; without one, the apps' own rule (the first tensor, or a detector triple packed).
            index = meta.output_index
            if index is not None and not 0 <= index < len(outputs):
                raise ModelError(f"the asset returns {len(outputs)} outputs, the metadata picks index {index}; "
                                 "regenerate the project")
            out = first_tensor(outputs[index] if index is not None else outputs, "the asset")
        except ScaffoldError as exc:
            report.add(scope, "asset reproduces the expected output", False, str(exc))
        else:
            _reproduces(scope, out, expected_path, config, report)
    for backend in config.backends[1:]:
        platform = et.PLATFORM_OF[backend]
        if platform not in config.platforms:
            continue
        kind = et.ARTIFACT_KINDS[backend]
        path = project_dir / render.section(platform)["output"] / render.artifact_path(platform, kind, context)
        name = f"{path.name} ({backend}, {platform})"
        if not report.add(scope, f"{name} present", path.is_file(), str(path.relative_to(project_dir))):
            continue
        _recorded_bytes(scope, path, backend, model, report)
        try:
            extra = et.inspect(path)
        except ScaffoldError as exc:
            report.add(scope, f"{name} is an ExecuTorch program", False, str(exc))
            continue
        _embedded_matches(scope, f"{name} carries the same metadata", extra.metadata, meta, report)
        delegate = et.BACKEND_IDS[backend]
        took = [d for d in extra.delegation.delegates if d.backend_id == delegate]
        report.add(scope, f"{name} delegates to {delegate}", bool(took), "; ".join(extra.delegation.lines()))
        report.skip(scope, f"{name} reproduces the expected output",
                    f"exported but not run here: this host has no {delegate} (it runs only on {platform} devices)")


def _reproduces(scope: str, out, expected_path: Path, config: ctx.ProjectConfig, report: CheckReport) -> None:
    import torch

    expected = goldens.read_floats(expected_path)
    actual = out.reshape(-1).numpy()
    if actual.shape != expected.shape:
        report.add(scope, "asset reproduces the expected output", False, f"{actual.size} values, expected {expected.size}")
        return
    err = float(np.max(np.abs(actual - expected))) if actual.size else 0.0
    reference = torch.from_numpy(expected.copy())
    within = excess_error(reference, out.reshape(-1), config.tolerance, config.rtol) <= 0
    report.add(scope, "asset reproduces the expected output", within,
               f"max abs error {err:.3g} (tolerance {config.tolerance:g} + rtol {config.rtol:g} x |value|)")


def check_project(project_dir: Path, *, run_host_tests: bool = True, run_native: bool = True, execute: bool = True,
                  progress=lambda _: None) -> CheckReport:
    """execute=False (--no-exec) compiles and runs none of the project's code: no javac/java of its
    Java sources and JUnit tests, no g++ build of its C++ core or JNI glue. The model asset is
    still loaded and run by the lite interpreter, which runs TorchScript operators, never Python."""
    report = CheckReport()
    host_why = "--skip-host-tests" if execute else "--no-exec: the project's Java is not compiled or run"
    native_why = "--skip-native" if execute else "--no-exec: the project's C++ is not compiled or run"
    run_host_tests, run_native = run_host_tests and execute, run_native and execute
    config, meta, model = record.load(project_dir)
    context = ctx.build(config, meta)
    progress("checking the model asset")
    check_asset(project_dir, config, meta, context, report, model.get("quantized_engine"), model)
    promised = [p for p in render.promised_paths("project", context) if not (project_dir / p).is_file()]
    report.add("project", "top-level files exist", not promised, "README, workflows" if not promised else ", ".join(promised))
    ci.check(project_dir, context, report)
    for platform in config.platforms:
        progress(f"checking the {platform} project")
        if platform == "android":
            from generator import android

            android.check(project_dir, context, report, run_host_tests=run_host_tests)
            if not run_host_tests:
                report.skip(platform, "host unit tests (javac + JUnit 4)", host_why)
            if config.android_api == "native" and run_native:
                from generator import native

                native.check_android(project_dir, context, report)
            elif config.android_api == "native":
                report.skip(platform, "C++ core and JNI glue (g++, JVM)", native_why)
        else:
            from generator import ios

            ios.check(project_dir, context, report, run_native=run_native)
            if not run_native:
                report.skip(platform, "C++ core reproduces the expected output (host LibTorch)", native_why)
    return report

"""`scaffold new` and friends, as a pipeline that reads like the list in docs/ARCHITECTURE.md:
load -> export -> verify -> describe -> goldens -> render platforms -> stamp -> (check).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from generator import __version__, context as ctx, goldens, record, render, versions
from generator.checks import CheckReport
from generator.errors import ModelError, OutputExistsError, UsageError
from generator.export import RUNTIME, export as export_lite, operators_yaml
from generator.loading import LoadedModel, load_model
from generator.metadata import (
    DEFAULT_INPUT_SIZE, DEFAULT_NORMALIZATION, Metadata, describe, detect_task, detection_spec, output_range_for,
    parse_floats, parse_range, parse_size, parse_std, read_embedded, read_labels,
)
from generator.names import app_name_from, derive_package, validate_name, validate_package
from generator.verify import compare_with_source, inspect_asset, run_module

Progress = Callable[[str], None]
PROBE_SIZE = 64  # cheap forward pass that tells the output layout before the real one


def _noop(_: str) -> None:
    pass


@dataclass
class ModelOptions:
    """What the user says about the model (all optional, as on the CLI)."""

    model: str
    weights: Path | None = None
    task: str | None = None
    input_size: str | None = None
    mean: str | None = None
    std: str | None = None
    labels: Path | None = None
    output_range: str | None = None
    sample_image: Path | None = None
    trust_pickle: bool = False
    script: bool = False
    tolerance: float = 1e-4
    # --task detection only (see metadata.DetectionSpec)
    score_threshold: float | None = None
    iou_threshold: float | None = None
    box_units: str | None = None
    scores: str | None = None

    def detection_options(self) -> dict[str, Any]:
        return {"score_threshold": self.score_threshold, "iou_threshold": self.iou_threshold,
                "box_units": self.box_units, "scores": self.scores}


@dataclass
class Exported:
    """Result of the model half of the pipeline (shared by `new` and `export`)."""

    loaded: LoadedModel
    meta: Metadata
    asset: Path
    export: Any
    max_abs_error: float
    goldens: goldens.Goldens
    notes: list[str]
    timings: dict[str, float] = field(default_factory=dict)
    range_reason: str = ""
    param_bytes: int | None = None

    def model_record(self, generator: str = __version__) -> dict[str, Any]:
        return {
            "source": self.loaded.source,
            "kind": self.loaded.kind,
            "sha256": self.loaded.sha256,
            "runtime": RUNTIME,
            "export_method": self.export.method,
            "bytecode_version": self.export.bytecode_version,
            "operators": len(self.export.operators),
            "asset_bytes": self.export.size,
            "max_abs_error": float(f"{self.max_abs_error:.6g}"),
        }


@dataclass
class NewResult:
    output: Path
    exported: Exported
    platforms: tuple[str, ...]
    notes: list[str]


@contextmanager
def _timed(timings: dict[str, float], key: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[key] = time.perf_counter() - start


def _param_bytes(module: Any) -> int | None:
    try:
        return sum(t.numel() * t.element_size() for t in module.state_dict().values())
    except Exception:  # noqa: BLE001 - lite modules have no state_dict
        return None


def _probe_task(loaded: LoadedModel, opts: ModelOptions, size: tuple[int, int] | None) -> tuple[str, int]:
    """The task and the input channels (3, or 1 for a luma model), from a small forward pass."""
    import torch

    probe_w, probe_h = size or (PROBE_SIZE, PROBE_SIZE)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, probe_h, probe_w, generator=gen)
    try:
        out = run_module(loaded.module, x, "the model")
    except ModelError as first:
        # Super-resolution models (ESPCN) take the Y plane alone: 1xHxW in, 1xrHxrW out.
        try:
            out = run_module(loaded.module, x[:, :1], "the model")
        except ModelError:
            out = None
        if out is not None and out.dim() == 4 and out.shape[1] == 1:
            return detect_task(tuple(out.shape), opts.task, input_channels=1), 1
        if size is not None:
            raise first
        # Some models need a minimum size (or a fixed one, when traced): try the common one.
        x = torch.rand(1, 3, 224, 224, generator=gen)
        out = run_module(loaded.module, x, "the model")
    if opts.task is not None and size is not None:
        return opts.task, 3
    return detect_task(tuple(out.shape), opts.task), 3


def export_pipeline(opts: ModelOptions, out_dir: Path, progress: Progress = _noop) -> Exported:
    """load -> describe -> export -> verify -> goldens, writing out_dir/model.ptl."""
    timings: dict[str, float] = {}
    size = parse_size(opts.input_size)
    mean_arg = parse_floats(opts.mean, "--mean", 3)
    std_arg = parse_std(opts.std)
    range_arg = parse_range(opts.output_range)
    labels = read_labels(opts.labels)
    if not (opts.tolerance >= 0):
        raise UsageError(f"--tolerance {opts.tolerance} must be >= 0; e.g. 1e-4")
    given = [k for k, v in opts.detection_options().items() if v is not None]
    if given and opts.task != "detection":
        option = "--" + given[0].replace("_", "-")
        raise UsageError(f"{option} only applies to --task detection; add --task detection or drop {option}")
    if opts.task == "detection":  # fail on bad thresholds before the slow steps
        detection_spec(output_shape=(1, 1, 6), **opts.detection_options())
    progress("loading the model")
    with _timed(timings, "load"):
        loaded = load_model(opts.model, weights=opts.weights, trust_pickle=opts.trust_pickle)
    progress("running the model on the sample")
    with _timed(timings, "reference"):
        task, channels = _probe_task(loaded, opts, size)
        if size is None:
            side = DEFAULT_INPUT_SIZE[task]
            size = (side, side)
        default_mean, default_std = DEFAULT_NORMALIZATION[task]
        mean = mean_arg or default_mean
        std = std_arg or default_std
        img = goldens.load_sample(opts.sample_image, *size)
        probe_meta = Metadata(task, size[0], size[1], tuple(mean), tuple(std), (), input_channels=channels)  # type: ignore[arg-type]
        example = goldens.input_tensor(img, probe_meta)
        reference = run_module(loaded.module, example, "the model")
        task = detect_task(tuple(reference.shape), opts.task, input_channels=channels)
        observed = (float(reference.min()), float(reference.max())) if reference.numel() else (0.0, 0.0)
        out_range, range_reason = output_range_for(task, range_arg, loaded.last_activation, observed)
        # image-to-image outputs may have another size (super-resolution): the apps show them at their own.
        detection = (detection_spec(output_shape=tuple(reference.shape), **opts.detection_options())
                     if task == "detection" else None)
        meta = describe(task=task, input_size=size, mean=mean, std=std, output_shape=tuple(reference.shape),
                        output_range=out_range, labels=labels, input_channels=channels, detection=detection)
    progress("exporting for the lite interpreter")
    with _timed(timings, "export"):
        result = export_lite(loaded, example, out_dir, meta.to_json(f"scaffold {__version__}"), script=opts.script)
    progress("checking the export against the source model")
    with _timed(timings, "verify"):
        err, lite_out = compare_with_source(result.path, reference, example, opts.tolerance)
    with _timed(timings, "goldens"):
        golden = goldens.compute(img, meta, lite_out)
    return Exported(loaded, meta, result.path, result, err, golden, list(result.warnings), timings, range_reason,
                    _param_bytes(loaded.module))


def report_markdown(exp: Exported) -> str:
    import torch

    e = exp.export
    rows = [
        ("model", f"`{exp.loaded.source}` ({exp.loaded.kind}, sha256 {exp.loaded.sha256[:16]}...)"),
        ("task", exp.meta.task),
        ("input", f"1x{exp.meta.input_channels}x{exp.meta.input_height}x{exp.meta.input_width}, mean {list(exp.meta.mean)}, std {list(exp.meta.std)}"),
        ("output", f"shape {list(exp.meta.output_shape)}" + (f", range {list(exp.meta.output_range)} ({exp.range_reason})" if exp.meta.output_range else "")),
        *([("detection", ", ".join(f"{k} {v}" for k, v in exp.meta.detection.to_dict().items()))]
          if exp.meta.detection is not None else []),
        ("export", e.method),
        ("passes run", "; ".join(e.passes_run) or "none"),
        ("passes skipped", "; ".join(f"{k}: {v}" for k, v in e.passes_skipped.items()) or "none"),
        ("bytecode version", f"{e.bytecode_version} (host wrote {e.bytecode_written}; runtimes load <= {versions.LITE_BYTECODE_MAX})"),
        ("asset size", f"{e.size} bytes" + (f" ({e.size / exp.param_bytes:.4f} x raw parameter bytes {exp.param_bytes})" if exp.param_bytes else "")),
        ("operators", f"{len(e.operators)}: " + ", ".join(e.operators)),
        ("max abs error vs source", f"{exp.max_abs_error:.3g}"),
        ("versions", f"host torch {torch.__version__}; pytorch_android_lite {versions.PYTORCH_ANDROID_LITE}; LibTorch-Lite {versions.LIBTORCH_LITE_POD}"),
    ]
    lines = ["# Export report", "", "| item | value |", "|---|---|"]
    lines += [f"| {k} | {str(v).replace('|', '/')} |" for k, v in rows]
    if exp.notes:
        lines += ["", "Notes:", *[f"- {n}" for n in exp.notes]]
    return "\n".join(lines) + "\n"


# ---- output directory handling ------------------------------------------------------------------

def _guard_output(output: Path, force: bool) -> None:
    if output.exists() and not output.is_dir():
        raise OutputExistsError(f"{output} exists and is not a directory; choose another --output")
    if output.is_dir() and any(output.iterdir()):
        if not force:
            raise OutputExistsError(f"{output} exists and is not empty; choose another --output or pass --force to replace it")
        resolved = output.resolve()
        cwd = Path.cwd().resolve()
        if resolved in (Path(resolved.anchor), Path.home().resolve()) or resolved == cwd or resolved in cwd.parents:
            raise OutputExistsError(f"refusing to replace {output} with --force: it is the root, your home or the current directory; choose a new --output")


@contextmanager
def _staging(output: Path, force: bool) -> Iterator[Path]:
    """Build in a temporary directory beside the target; move it into place only when complete."""
    output.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{output.name}.scaffold-", dir=output.parent))
    try:
        yield stage
        os.chmod(stage, 0o755)
        if output.is_dir() and any(output.iterdir()):
            old = Path(tempfile.mkdtemp(prefix=f".{output.name}.scaffold-old-", dir=output.parent))
            old.rmdir()
            output.rename(old)
            stage.rename(output)
            shutil.rmtree(old)
        else:
            if output.is_dir():
                output.rmdir()
            stage.rename(output)
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


def make_config(*, name: str, package: str | None, bundle_id: str | None, platforms: tuple[str, ...],
                android_api: str, use_vulkan: bool, tolerance: float) -> ctx.ProjectConfig:
    from generator import ios

    validate_name(name)
    package = validate_package(package) if package is not None else validate_package(derive_package(name))
    bad = [p for p in platforms if p not in ctx.PLATFORMS]
    if bad or not platforms:
        raise UsageError(f"--platforms {','.join(platforms)!r} is not valid; use android, ios or android,ios")
    if android_api not in ctx.ANDROID_APIS:
        raise UsageError(f"--android-api {android_api!r} is unknown; use java or native")
    product = ios.product_name_from(name)
    bundle = ios.validate_bundle_id(bundle_id) if bundle_id is not None else ios.derive_bundle_id(package)
    ordered = tuple(p for p in ctx.PLATFORMS if p in platforms)
    return ctx.ProjectConfig(name, app_name_from(name), package, product, bundle, ordered, android_api, use_vulkan, tolerance)


def _artifacts(exp: Exported):
    return render.Artifacts(exp.asset.read_bytes(), exp.goldens.sample_png, exp.goldens.expected_bytes, exp.goldens.vectors)


def new_project(*, name: str, model: str | Path, output: Path | None = None, force: bool = False,
                package: str | None = None, bundle_id: str | None = None,
                platforms: tuple[str, ...] = ctx.PLATFORMS, android_api: str = "java", use_vulkan: bool = False,
                weights: Path | None = None, task: str | None = None, input_size: str | None = None,
                mean: str | None = None, std: str | None = None, labels: Path | None = None,
                output_range: str | None = None, sample_image: Path | None = None, trust_pickle: bool = False,
                script: bool = False, tolerance: float = 1e-4, find_gradle: bool = True,
                score_threshold: float | None = None, iou_threshold: float | None = None,
                box_units: str | None = None, scores: str | None = None,
                progress: Progress = _noop) -> NewResult:
    """Generate DIR (default ./NAME) with android/ and ios/ projects for the model."""
    config = make_config(name=name, package=package, bundle_id=bundle_id, platforms=tuple(platforms),
                         android_api=android_api, use_vulkan=use_vulkan, tolerance=tolerance)
    output = Path(output) if output is not None else Path(name)
    _guard_output(output, force)
    opts = ModelOptions(str(model), weights, task, input_size, mean, std, labels, output_range, sample_image,
                        trust_pickle, script, tolerance, score_threshold=score_threshold, iou_threshold=iou_threshold,
                        box_units=box_units, scores=scores)
    notes: list[str] = []
    with _staging(output, force) as stage:
        exp = export_pipeline(opts, stage / "export", progress)
        notes += exp.notes
        (stage / "export" / "model_ops.yaml").write_text(operators_yaml(exp.export.operators))
        (stage / "export" / "report.md").write_text(report_markdown(exp))
        (stage / record.FILE_NAME).write_text(record.dumps(config, exp.meta, exp.model_record()))
        context = ctx.build(config, exp.meta)
        render.write_files(stage, render.render_platform("project", context))
        artifacts = _artifacts(exp)
        for platform in config.platforms:
            progress(f"rendering the {platform} project")
            notes += _platform_module(platform).generate(stage, context, artifacts, find_gradle=find_gradle)
        for path in sorted(stage.rglob("*")):
            if path.is_dir():
                os.chmod(path, 0o755)
            elif path.stat().st_mode & 0o777 not in (0o644, 0o755):
                os.chmod(path, 0o644)
    return NewResult(output, exp, config.platforms, notes)


def _platform_module(platform: str):
    if platform == "android":
        from generator import android

        return android
    from generator import ios

    return ios


def export_model(*, model: str | Path, output: Path = Path("export"), force: bool = False,
                 weights: Path | None = None, task: str | None = None, input_size: str | None = None,
                 mean: str | None = None, std: str | None = None, labels: Path | None = None,
                 output_range: str | None = None, sample_image: Path | None = None, trust_pickle: bool = False,
                 script: bool = False, tolerance: float = 1e-4,
                 score_threshold: float | None = None, iou_threshold: float | None = None,
                 box_units: str | None = None, scores: str | None = None, progress: Progress = _noop) -> Exported:
    """Only the model half: model.ptl, model_ops.yaml, report.md, metadata.json in OUTPUT."""
    output = Path(output)
    _guard_output(output, force)
    opts = ModelOptions(str(model), weights, task, input_size, mean, std, labels, output_range, sample_image,
                        trust_pickle, script, tolerance, score_threshold=score_threshold, iou_threshold=iou_threshold,
                        box_units=box_units, scores=scores)
    with _staging(output, force) as stage:
        exp = export_pipeline(opts, stage, progress)
        (stage / "model_ops.yaml").write_text(operators_yaml(exp.export.operators))
        (stage / "report.md").write_text(report_markdown(exp))
        (stage / "metadata.json").write_text(exp.meta.to_json(f"scaffold {__version__}") + "\n")
        (stage / goldens.SAMPLE_NAME).write_bytes(exp.goldens.sample_png)
        (stage / goldens.EXPECTED_NAME).write_bytes(exp.goldens.expected_bytes)
    exp.asset = output / exp.asset.name
    return exp


def inspect_model(path: Path) -> dict[str, Any]:
    info = inspect_asset(Path(path))
    meta = read_embedded(info.metadata_raw) if info.metadata_raw else None
    return {
        "path": str(info.path),
        "size": info.size,
        "bytecode_version": info.bytecode_version,
        "loads_in_runtimes": info.bytecode_version <= versions.LITE_BYTECODE_MAX,
        "operators": info.operators,
        "extra_files": info.extra_files,
        "metadata": meta,
    }


def doctor() -> list[tuple[str, bool, str]]:
    """What is installed for building/testing generated projects, and how to fix what is not."""
    from generator import gradle as gradle_mod
    from generator.tools import Adb, AndroidSdk, Gxx, Java, Javac, JUnit4, Pod, Xcodebuild

    rows: list[tuple[str, bool, str]] = []
    for tool in (Javac(), Java(), JUnit4(), AndroidSdk(), Adb(), Gxx(), Xcodebuild(), Pod()):
        rows.append((tool.name, tool.available(), tool.describe()))
    g = gradle_mod.find_gradle()
    rows.append(("gradle", g is not None, g.find() if g else f"missing: stamps the Gradle wrapper; {gradle_mod.Gradle.install_hint}"))
    return rows


def check_project(project_dir: Path, *, run_host_tests: bool = True, run_native: bool = True,
                  progress: Progress = _noop) -> CheckReport:
    from generator import check

    return check.check_project(Path(project_dir), run_host_tests=run_host_tests, run_native=run_native, progress=progress)

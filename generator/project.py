"""`scaffold new` and friends, as a pipeline that reads like the list in docs/ARCHITECTURE.md:
load -> export -> verify -> describe -> goldens -> render platforms -> stamp -> (check).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import tomllib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from generator import __version__, context as ctx, goldens, output as output_dir, qengine, quantize, record, render, runtimes, versions
from generator.checks import CheckReport
from generator.errors import ModelError, UsageError
from generator.loading import LoadedModel, _is_factory, load_model
from generator.metadata import (
    DEFAULT_INPUT_SIZE, DEFAULT_NORMALIZATION, METADATA_FORMAT, Metadata, clamp_warning, parse_input_shape, describe, detect_task,
    detection_spec, output_range_for, parse_floats, parse_range, parse_size, parse_std, parse_task, parse_tolerance, read_embedded,
    read_labels,
)
from generator.names import app_name_from, derive_package, validate_name, validate_package
from generator.runtimes import ExportOptions
from generator.runtimes.lite import PLAY_16KB_NOTE
from generator.verify import (
    DEFAULT_RTOL, call_module, check_finite, compare_outputs, first_tensor, flat_index, pick_like_source, run_module,
    select_output,
)

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
    rtol: float = DEFAULT_RTOL
    output_key: str | None = None
    output_index: int | None = None
    input_shape: str | None = None
    input_dtype: str | None = None
    # --task detection only (see metadata.DetectionSpec)
    score_threshold: float | None = None
    iou_threshold: float | None = None
    box_units: str | None = None
    scores: str | None = None
    quantize: quantize.QuantizeOptions | None = None
    runtime: str = "lite"
    backends: tuple[str, ...] = ()  # executorch only (see parse_backends)
    coreml_precision: str = "fp32"

    def detection_options(self) -> dict[str, Any]:
        return {"score_threshold": self.score_threshold, "iou_threshold": self.iou_threshold,
                "box_units": self.box_units, "scores": self.scores}


def model_options(arguments: dict[str, Any], backends: tuple[str, ...] | None = None) -> ModelOptions:
    """ModelOptions from the keyword arguments of new_project or export_model, which share these names."""
    shared = {f.name: arguments[f.name] for f in dataclasses.fields(ModelOptions) if f.name not in ("model", "quantize", "backends")}
    scheme = quantize.parse_options(arguments["quantize_scheme"], arguments["calibration"], arguments["min_agreement"],
                                    arguments["allow_float"])
    if backends is None:
        backends = parse_backends(arguments["runtime"], arguments["backends"], coreml_precision=arguments["coreml_precision"])
    return ModelOptions(model=str(arguments["model"]), quantize=scheme, backends=backends, **shared)


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
    quantized_engine: str | None = None  # the engine the host references ran on, for quantized models
    quantization: dict[str, Any] | None = None  # --quantize int8: what was done and what it cost
    output_step: float | None = None  # the int8 output's quantization step (the device tolerance's basis)
    int8_tolerance: tuple[float, str] | None = None  # the device tolerance derived from output_step, and why
    runtime: str = "lite"

    @property
    def assets(self) -> list[Path]:
        """Every asset file the export wrote: the CPU one first."""
        return [self.export.path, *runtimes.get(self.runtime).extra_assets(self.export).values()]

    def summary(self) -> str:
        return runtimes.get(self.runtime).summary(self.export)

    def model_record(self, generator: str = __version__) -> dict[str, Any]:
        return {
            "source": self.loaded.source,
            "kind": self.loaded.kind,
            "sha256": self.loaded.sha256,
            **runtimes.get(self.runtime).record(self.export),
            "max_abs_error": float(f"{self.max_abs_error:.6g}"),
            **({"quantized_engine": self.quantized_engine} if self.quantized_engine else {}),
            **({"quantization": self.quantization} if self.quantization else {}),
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


def _param_bytes(module: Any, quantized: bool = False) -> int | None:
    """Raw bytes of the parameters, or None when they cannot be counted fairly."""
    import torch

    if quantized and isinstance(module, torch.jit.ScriptModule):
        return None  # its quantized weights sit in packed-parameter objects that state_dict leaves out

    def size(value: Any) -> int:
        if isinstance(value, torch.Tensor):
            return value.numel() * value.element_size()
        if isinstance(value, (tuple, list)):  # eager quantized modules keep (weight, bias) packed
            return sum(size(v) for v in value)
        return 0

    try:
        return sum(size(v) for v in module.state_dict().values())
    except Exception:  # noqa: BLE001 - lite modules have no state_dict
        return None


def _probe_task(loaded: LoadedModel, opts: ModelOptions, size: tuple[int, int] | None) -> tuple[str, int]:
    """The task and the input channels (3, or 1 for a luma model), from a small forward pass."""
    import torch

    probe_w, probe_h = size or (PROBE_SIZE, PROBE_SIZE)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, probe_h, probe_w, generator=gen)
    try:
        out = run_module(loaded.module, x, "the model", key=opts.output_key, index=opts.output_index)
    except ModelError as first:
        # Super-resolution models (ESPCN) take the Y plane alone: 1xHxW in, 1xrHxrW out.
        try:
            out = run_module(loaded.module, x[:, :1], "the model", key=opts.output_key, index=opts.output_index)
        except ModelError:
            out = None
        if out is not None and out.dim() == 4 and out.shape[1] == 1:
            return detect_task(tuple(out.shape), opts.task, input_channels=1), 1
        if size is not None:
            raise first
        # Some models need a minimum size (or a fixed one, when traced): try the common one.
        x = torch.rand(1, 3, 224, 224, generator=gen)
        out = run_module(loaded.module, x, "the model", key=opts.output_key, index=opts.output_index)
    if opts.task is not None and size is not None:
        return opts.task, 3
    return detect_task(tuple(out.shape), opts.task), 3


def parse_backends(runtime: str, backends: tuple[str, ...] | list[str] | None, platforms: tuple[str, ...] = ctx.PLATFORMS,
                   coreml_precision: str = "fp32") -> tuple[str, ...]:
    """--runtime/--backend/--coreml-precision as the runtime's backend tuple (xnnpack first; empty for lite)."""
    rt = runtimes.get(runtime)
    names = [b.strip().lower() for item in (backends or ()) for b in str(item).split(",") if b.strip()]
    if coreml_precision not in ("fp32", "fp16"):
        raise UsageError(f"--coreml-precision {coreml_precision!r} is unknown; use fp32 (default) or fp16")
    if not rt.backends:
        if names:
            raise UsageError(f"--backend {','.join(names)} needs --runtime executorch; the {rt.name} runtime has no backends")
        return ()
    for b in names:
        if b == "mps":
            raise UsageError("--backend mps is not available: ExecuTorch removed its MPS backend; use coreml for Apple GPUs/Neural Engine")
        rt.asset_name(b)
    needs = {"vulkan": "android", "coreml": "ios"}
    for b in names:
        if b in needs and needs[b] not in platforms:
            raise UsageError(f"--backend {b} runs only on {needs[b]}; add {needs[b]} to --platforms or drop {b}")
    return tuple(dict.fromkeys([rt.backends[0], *names]))


def export_pipeline(opts: ModelOptions, out_dir: Path, progress: Progress = _noop) -> Exported:
    """load -> describe -> export -> verify -> goldens, writing the runtime's assets into out_dir."""
    with qengine.restored():
        return _export_pipeline(opts, out_dir, progress)


def _export_pipeline(opts: ModelOptions, out_dir: Path, progress: Progress) -> Exported:
    timings: dict[str, float] = {}
    parse_task(opts.task)
    parse_tolerance(opts.tolerance)
    size = parse_size(opts.input_size)
    mean_arg = parse_floats(opts.mean, "--mean", 3)
    std_arg = parse_std(opts.std)
    range_arg = parse_range(opts.output_range)
    labels = read_labels(opts.labels)
    tensor_input = parse_input_shape(opts.input_shape, opts.input_dtype, opts.task)
    if tensor_input and opts.sample_image is not None:
        raise UsageError("--sample-image is a picture, but --input-shape feeds a seeded tensor; drop one of them")
    if not (0 <= opts.rtol < 1):
        raise UsageError(f"--rtol {opts.rtol} must be >= 0 and < 1; e.g. {DEFAULT_RTOL:g}")
    if opts.output_index is not None and opts.output_index < 0:
        raise UsageError(f"--output-index {opts.output_index} must be >= 0; 0 is the first output")
    given = [k for k, v in opts.detection_options().items() if v is not None]
    if given and opts.task != "detection":
        option = "--" + given[0].replace("_", "-")
        raise UsageError(f"{option} only applies to --task detection; add --task detection or drop {option}")
    if opts.task == "detection":  # fail on bad thresholds before the slow steps
        detection_spec(output_shape=(1, 1, 6), **opts.detection_options())
    if opts.script and opts.runtime == "executorch":  # silently ignoring it would misreport how the model was captured
        raise UsageError("--script applies only to --runtime lite: ExecuTorch captures the model with torch.export, "
                         "not TorchScript; drop --script (for control flow use torch.cond, or --runtime lite --script)")

    rt = runtimes.get(opts.runtime)
    backends = parse_backends(opts.runtime, opts.backends, coreml_precision=opts.coreml_precision)
    if opts.quantize is not None and len(backends) > 1:
        # Measured with ExecuTorch 1.4.1 on a PT2E int8 conv net: the Vulkan partitioner fails
        # (AssertionError) and Core ML's converter rejects the int8 dequantize ("dtype ... int8").
        raise UsageError(f"--quantize int8 makes the XNNPACK (CPU) asset only: ExecuTorch's Vulkan and Core ML backends "
                         f"cannot lower an int8 program; drop --backend {','.join(backends[1:])} or drop --quantize")
    progress("loading the model")
    with _timed(timings, "load"):
        loaded = load_model(opts.model, weights=opts.weights, trust_pickle=opts.trust_pickle)
        # Only the lite interpreter runs PyTorch's own quantized engines on the phones.
        engine = qengine.PHONE_ENGINE if rt.uses_qengine and qengine.is_quantized(loaded.module) else None
        if engine:
            # Packed weights are packed for the engine current at load time: load again under it.
            qengine.select(engine)
            loaded = load_model(opts.model, weights=opts.weights, trust_pickle=opts.trust_pickle)
    progress("running the model on the sample")
    with _timed(timings, "reference"):
        if tensor_input:
            # Video, audio-feature and token models: a seeded tensor of the given shape, no picture.
            task, img, channels = "tensor", None, 3
            shape = tensor_input[0]
            size = (shape[-1], shape[-2] if len(shape) > 1 else 1)
            example = goldens.tensor_sample(*tensor_input)
        else:
            task, channels = _probe_task(loaded, opts, size)
            if size is None:
                side = DEFAULT_INPUT_SIZE[task]
                size = (side, side)
        default_mean, default_std = DEFAULT_NORMALIZATION[task]
        mean = mean_arg or default_mean
        std = std_arg or default_std
        if not tensor_input:
            img = goldens.load_sample(opts.sample_image, *size)
            probe_meta = Metadata(task, size[0], size[1], tuple(mean), tuple(std), (), input_channels=channels)  # type: ignore[arg-type]
            example = goldens.input_tensor(img, probe_meta)
        raw = call_module(loaded.module, example, "the model")
        _, picked = select_output(raw, "the model", key=opts.output_key, index=opts.output_index)
        reference = first_tensor(raw, "the model", key=opts.output_key, index=opts.output_index)
        check_finite(reference, "the model")
        task = detect_task(tuple(reference.shape), opts.task, input_channels=channels)
        out_range, range_reason = output_range_for(task, range_arg, loaded.last_activation, reference.numpy())
        notes: list[str] = []
        if picked.container is not None:
            notes.append(f"the model returns a {picked.container}; the apps use its output {picked.describe()} "
                         "(--output-key/--output-index choose another)")
        if out_range is not None:
            notes.append(f"output range {out_range[0]:g}..{out_range[1]:g}: {range_reason}")
            clamp = clamp_warning(reference.numpy(), out_range)
            if clamp:
                notes.append(clamp)
        # image-to-image outputs may have another size (super-resolution): the apps show them at their own.
        detection = (detection_spec(output_shape=tuple(reference.shape), **opts.detection_options())
                     if task == "detection" else None)
        meta = describe(task=task, input_size=size, mean=mean, std=std, output_shape=tuple(reference.shape),
                        output_range=out_range, labels=labels, output_key=picked.key,
                        output_index=flat_index(raw, picked) if rt.flattens_outputs else picked.index,
                        input_shape=tensor_input[0] if tensor_input else None,
                        input_dtype=tensor_input[1] if tensor_input else None,
                        input_channels=channels, detection=detection)
    float_module = qmodel = calib = None
    if opts.quantize is not None:
        progress("calibrating and quantizing to int8")
        with _timed(timings, "quantize"):
            if rt.uses_qengine:
                qengine.select(qengine.PHONE_ENGINE)
                engine = qengine.PHONE_ENGINE
            calib = quantize.calibration_set(opts.quantize, meta, opts.sample_image)
            qmodel = (quantize.quantize_lite(loaded.module, calib.fit, allow_float=opts.quantize.allow_float)
                      if rt.uses_qengine else
                      quantize.quantize_executorch(loaded.module, example, calib.fit, allow_float=opts.quantize.allow_float))
        notes += calib.notes
        if qmodel is None:
            engine = None
            notes.append("--allow-float: the model has no layers int8 quantization applies to; exported in float")
        else:
            # Everything downstream (asset, verification, goldens) is the int8 model's (lite: on qnnpack).
            float_module, loaded = loaded.module, dataclasses.replace(loaded, module=qmodel)
            # ExecuTorch lowers the quantized ExportedProgram; its module is the PT2E reference.
            qreference = qmodel if rt.uses_qengine else qmodel.module()
            raw = call_module(qreference, example, "the int8 model")
            reference = first_tensor(raw, "the int8 model", key=picked.key, index=picked.index)
    options = ExportOptions(script=opts.script, backends=backends, coreml_precision=opts.coreml_precision)
    with _timed(timings, "export"):
        result = rt.export_app(loaded, example, out_dir, meta.to_json(f"scaffold {__version__}"), options=options,
                               progress=progress)
    quantization = step = None
    int8_tolerance: tuple[float, str] | None = None
    verify_tolerance = opts.tolerance
    if qmodel is not None and not rt.uses_qengine:
        import torch

        captured = "TS2EPConverter" if isinstance(float_module, torch.jit.ScriptModule) else "torch.export"
        result.method = f"{captured} -> PT2E int8 (XNNPACKQuantizer, symmetric) -> torch.export"
        progress("measuring the int8 model against the float one")
        with _timed(timings, "agreement"):
            quantization, step, int8_tolerance = _measure_int8_executorch(rt, result.path, float_module, qmodel, calib,
                                                                          meta, opts.quantize, picked.key, picked.index)
        # Against its PT2E reference the asset may differ by what the kernels' rounding adds up to.
        verify_tolerance = max(opts.tolerance, int8_tolerance[0] if int8_tolerance else 0.0)
        notes += [quantization["summary"], f"int8 calibration: {calib.source}"]
    progress("checking the export against the source model")
    with _timed(timings, "verify"):
        exported_out = pick_like_source(raw, rt.run(result.path, example), "the exported model",
                                        key=picked.key, index=picked.index)
        err = compare_outputs(reference, exported_out, verify_tolerance, opts.rtol,
                              hint="try --runtime lite" if rt.backends else "try --script")
    with _timed(timings, "goldens"):
        # The apps' expected output is what the CPU asset computes, not the source model.
        golden = (goldens.compute_for_tensor(example, exported_out) if tensor_input
                  else goldens.compute(img, meta, exported_out))
    notes += rt.notes(result)
    if qmodel is not None and rt.uses_qengine:
        progress("measuring the int8 model against the float one")
        with _timed(timings, "agreement"):
            quantization, step = _measure_int8(result.path, float_module, qmodel, example, calib, meta, opts.quantize)
        if step:
            int8_tolerance = (step, "output_step, one quantization step of the int8 output (the scale of its last "
                                    "dequantize): the phones' int8 kernels may round the last requantization differently")
        notes += [quantization["summary"], f"int8 calibration: {calib.source}"]
    if engine:
        notes.append(f"quantized model: the host references (verification, goldens, C++ core) ran on the {engine} "
                     "engine, which the phones use")
    return Exported(loaded, meta, result.path, result, err, golden, notes, timings, range_reason,
                    _param_bytes(loaded.module, bool(engine)), engine, quantization=quantization, output_step=step,
                    runtime=rt.name, int8_tolerance=int8_tolerance)


def _measure_int8(asset: Path, float_module: Any, qmodel: Any, example: Any, calib: Any, meta: Metadata,
                  options: quantize.QuantizeOptions) -> tuple[dict[str, Any], float | None]:
    """Agreement of the int8 asset (run by the lite interpreter) with the float model; refuses
    below --min-agreement. Returns the scaffold.toml record and the output's quantization step."""
    from generator.runtimes.lite import load_lite

    lite = load_lite(asset)
    ref = [run_module(float_module, x, "the model", key=meta.output_key, index=meta.output_index).numpy()
           for x in calib.measure]
    out = [run_module(lite, x, "the int8 model", key=meta.output_key, index=meta.output_index).numpy()
           for x in calib.measure]
    agreement = quantize.measure(meta, ref, out, options.min_agreement)
    quantize.check(agreement)
    step = quantize.lite_output_step(qmodel, example)
    record_ = {"scheme": options.scheme, "engine": qengine.PHONE_ENGINE, "summary": agreement.line(),
               "calibration": calib.source,
               "float_parameter_bytes": _param_bytes(float_module) or 0, "agreement": agreement.record(),
               **({"output_step": float(f"{step:.6g}")} if step else {})}
    return record_, step


def _measure_int8_executorch(rt: runtimes.Runtime, asset: Path, float_module: Any, program: Any, calib: Any,
                             meta: Metadata, options: quantize.QuantizeOptions, key: str | None, index: int | None
                             ) -> tuple[dict[str, Any], float | None, tuple[float, str] | None]:
    """Agreement of the int8 .pte (run by ExecuTorch's host runtime) with the float model, and how
    many output steps it lands from its PT2E reference (program, the quantized ExportedProgram);
    refuses below --min-agreement. Returns the scaffold.toml record, the output step and the device
    tolerance with its reason."""
    qreference = program.module()
    pictures = calib.measure + ([] if calib.fit is calib.measure else calib.fit)
    ref, out, emulated = [], [], []
    for x in pictures:
        source = call_module(float_module, x, "the model")
        ref.append(first_tensor(source, "the model", key=key, index=index).numpy())
        out.append(pick_like_source(source, rt.run(asset, x), "the int8 model", key=key, index=index).numpy())
        emulated.append(run_module(qreference, x, "the int8 model", key=key, index=index).numpy())
    # The agreement counts the held-out pictures only; the kernels' spread is read on every picture.
    held = len(calib.measure)
    agreement = quantize.measure(meta, ref[:held], out[:held], options.min_agreement)
    quantize.check(agreement)
    record_ = {"scheme": options.scheme, "engine": "xnnpack", "summary": agreement.line(), "calibration": calib.source,
               "float_parameter_bytes": _param_bytes(float_module) or 0, "agreement": agreement.record()}
    step = quantize.executorch_output_step(program, meta.output_index)
    if step is None:  # the last layer runs in float: float kernels' rounding only
        return record_, None, None
    steps = quantize.kernel_spread(emulated, out, step)
    record_.update(output_step=float(f"{step:.6g}"), kernel_spread_steps=steps)
    why = (f"{steps} x output_step {step:.6g} (the int8 output's quantization step): ExecuTorch's int8 kernels on this "
           f"host and the PT2E reference, which round intermediate values differently, differed by up to {steps} "
           f"step(s) on the {len(out)} calibration pictures; the phones' XNNPACK kernels may round differently from this host's")
    return record_, step, (steps * step, why)


def _int8_rows(exp: Exported) -> list[tuple[str, str]]:
    q = exp.quantization
    assert q is not None
    floats = q["float_parameter_bytes"]
    size = (f"float {floats} bytes (raw parameters; a float {exp.export.path.suffix} holds about as many); "
            f"int8 asset {exp.export.size} bytes"
            + (f" = {floats / exp.export.size:.2f}x smaller" if floats else ""))
    return [("int8 size", size), ("int8 calibration", q["calibration"]), ("int8 cost", q["summary"]),
            *([("int8 output step", f"{q['output_step']:g} (the device tolerance: "
                                    + (f"{q['kernel_spread_steps']} step(s), as far as ExecuTorch's int8 kernels landed from the PT2E reference)"
                                       if "kernel_spread_steps" in q else "one quantization step of the output)"))]
              if "output_step" in q else [])]


def report_markdown(exp: Exported) -> str:
    import torch

    e = exp.export
    rt = runtimes.get(exp.runtime)
    rows = [
        ("model", f"`{exp.loaded.source}` ({exp.loaded.kind}, sha256 {exp.loaded.sha256[:16]}...)"),
        ("task", exp.meta.task),
        ("input", f"{'x'.join(map(str, exp.meta.input_shape))} {exp.meta.input_dtype} tensor, seeded sample in {goldens.SAMPLE_INPUT_NAME}"
                  if exp.meta.input_shape else
                  f"1x{exp.meta.input_channels}x{exp.meta.input_height}x{exp.meta.input_width}, mean {list(exp.meta.mean)}, std {list(exp.meta.std)}"),
        ("output", f"shape {list(exp.meta.output_shape)}" + (f", range {list(exp.meta.output_range)} ({exp.range_reason})" if exp.meta.output_range else "")),
        *([("detection", ", ".join(f"{k} {v}" for k, v in exp.meta.detection.to_dict().items()))]
          if exp.meta.detection is not None else []),
        ("runtime", rt.name),
        *rt.report_rows(e),
        ("asset size", f"{e.size} bytes" + (f" ({e.size / exp.param_bytes:.4f} x raw parameter bytes {exp.param_bytes})" if exp.param_bytes
                                            else " (raw parameter bytes not comparable: quantized weights sit in packed parameters)" if exp.quantized_engine else "")),
        *(_int8_rows(exp) if exp.quantization else []),
        ("quantized engine", f"{exp.quantized_engine} (what the phones run; every host reference used it)" if exp.quantized_engine else "not quantized"),
        ("max abs error vs source", f"{exp.max_abs_error:.3g} ({e.path.name} on this host)"),
        ("versions", f"host torch {torch.__version__}; {rt.runtime_versions()}"),
    ]
    lines = ["# Export report", "", "| item | value |", "|---|---|"]
    lines += [f"| {k} | {str(v).replace('|', '/')} |" for k, v in rows]
    if exp.notes:
        lines += ["", "Notes:", *[f"- {n}" for n in exp.notes]]
    return "\n".join(lines) + "\n"


# ---- what --force may replace, and which files must never be inside DIR ------------------------

def _is_project_record(data: bytes) -> bool:
    try:
        return tomllib.loads(data.decode("utf-8"))["generator"]["name"] == "scaffold"
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError):
        return False


def _is_export_metadata(data: bytes) -> bool:
    try:
        doc = json.loads(data)
        return doc["format"] == METADATA_FORMAT and str(doc["generator"]).startswith("scaffold ")
    except (ValueError, KeyError, TypeError):
        return False


def _project_ownership() -> output_dir.Ownership:
    tree = render.TEMPLATES_DIR / render.section("project")["tree"]
    entries = {p.name.removesuffix(".jinja") for p in tree.iterdir()}
    entries |= {record.FILE_NAME, "export", ".scaffold"} | {render.section(p)["output"] for p in ctx.PLATFORMS}
    return output_dir.Ownership(record.FILE_NAME, _is_project_record, frozenset(entries), "project")


ASSET_FILES = ("model.ptl", *ctx.MODEL_FILES.values(), *ctx.BACKEND_MODEL_FILES.values())
EXPORT_FILES = (*dict.fromkeys(ASSET_FILES), "model_ops.yaml", "report.md", "metadata.json", goldens.SAMPLE_NAME, goldens.EXPECTED_NAME)
EXPORT_OWNERSHIP = output_dir.Ownership("metadata.json", _is_export_metadata, frozenset(EXPORT_FILES), "export directory")


def _inputs(opts: ModelOptions) -> list[Path]:
    """Files the run reads: DIR may not hold any of them (--force would delete them)."""
    model = opts.model.rpartition(":")[0] if _is_factory(opts.model) else opts.model
    calibration = opts.quantize.calibration if opts.quantize else None
    return [Path(p) for p in (model, opts.weights, opts.labels, opts.sample_image, calibration) if p]


def make_config(*, name: str, package: str | None, bundle_id: str | None, platforms: tuple[str, ...],
                android_api: str, use_vulkan: bool, tolerance: float, rtol: float = DEFAULT_RTOL,
                runtime: str = "lite", backends: tuple[str, ...] = (), coreml_precision: str = "fp32") -> ctx.ProjectConfig:
    from generator import ios

    validate_name(name)
    package = validate_package(package) if package is not None else validate_package(derive_package(name))
    bad = [p for p in platforms if p not in ctx.PLATFORMS]
    if bad or not platforms:
        raise UsageError(f"--platforms {','.join(platforms)!r} is not valid; use android, ios or android,ios")
    if android_api not in ctx.ANDROID_APIS:
        raise UsageError(f"--android-api {android_api!r} is unknown; use java or native")
    if runtime == "executorch" and android_api == "native" and "android" in platforms:
        # The AAR ships only its stripped JNI library and Java classes (scripts/build_android_library.sh),
        # so C++ cannot link against it; building ExecuTorch from source inside the app is not verified here.
        raise UsageError("--android-api native is not available with --runtime executorch: the ExecuTorch AAR has no "
                         "C++ headers or linkable runtime for the native core; use --android-api java (same app on "
                         "ExecuTorch's Java API) or --runtime lite for the native variant")
    product = ios.product_name_from(name)
    bundle = ios.validate_bundle_id(bundle_id) if bundle_id is not None else ios.derive_bundle_id(package)
    ordered = tuple(p for p in ctx.PLATFORMS if p in platforms)
    chosen = parse_backends(runtime, backends, ordered, coreml_precision)
    return ctx.ProjectConfig(name, app_name_from(name), package, product, bundle, ordered, android_api, use_vulkan, tolerance,
                             rtol, runtime, chosen)


def _artifacts(exp: Exported):
    extra = {kind: path.read_bytes() for kind, path in runtimes.get(exp.runtime).extra_assets(exp.export).items()}
    # A non-image input ships its sample tensor where the others ship their picture (context sample_file).
    sample = exp.goldens.sample_input if exp.goldens.sample_input is not None else exp.goldens.sample_png
    return render.Artifacts(exp.asset.read_bytes(), sample, exp.goldens.expected_bytes, exp.goldens.vectors, extra)


def _write_side_files(exp: Exported, directory: Path) -> None:
    for name, text in runtimes.get(exp.runtime).side_files(exp.export).items():
        (directory / name).write_text(text)


def new_project(*, name: str, model: str | Path, output: Path | None = None, force: bool = False,
                package: str | None = None, bundle_id: str | None = None,
                platforms: tuple[str, ...] = ctx.PLATFORMS, android_api: str = "java", use_vulkan: bool = False,
                weights: Path | None = None, task: str | None = None, input_size: str | None = None,
                mean: str | None = None, std: str | None = None, labels: Path | None = None,
                output_range: str | None = None, sample_image: Path | None = None, trust_pickle: bool = False,
                script: bool = False, tolerance: float = 1e-4, rtol: float = DEFAULT_RTOL,
                output_key: str | None = None, output_index: int | None = None, keep_export_asset: bool = False,
                input_shape: str | None = None, input_dtype: str | None = None,
                score_threshold: float | None = None, iou_threshold: float | None = None,
                box_units: str | None = None, scores: str | None = None,
                quantize_scheme: str | None = None, calibration: Path | None = None, min_agreement: float | None = None,
                allow_float: bool = False, runtime: str = "lite", backends: tuple[str, ...] = (),
                coreml_precision: str = "fp32", find_gradle: bool = True, progress: Progress = _noop) -> NewResult:
    """Generate DIR (default ./NAME) with android/ and ios/ projects for the model."""
    arguments = dict(locals())  # first: exactly new's arguments, which scaffold.toml keeps for `scaffold update`
    from generator import update

    options = update.recorded_options(arguments)
    parse_input_shape(input_shape, input_dtype, task)  # refuse a bad shape before anything is written
    config = make_config(name=name, package=package, bundle_id=bundle_id, platforms=tuple(platforms),
                         android_api=android_api, use_vulkan=use_vulkan, tolerance=tolerance, rtol=rtol,
                         runtime=runtime, backends=tuple(backends), coreml_precision=coreml_precision)
    output = Path(output) if output is not None else Path(name)
    opts = model_options(arguments, backends=config.backends)
    notes: list[str] = []
    with output_dir.staged(output, force=force, inputs=_inputs(opts), ownership=_project_ownership()) as stage:
        exp = export_pipeline(opts, stage / "export", progress)
        notes += exp.notes
        if exp.int8_tolerance and exp.int8_tolerance[0] > config.tolerance:
            # Phone int8 kernels may round differently from the host's: a tolerance in output steps,
            # with its reason beside the value in scaffold.toml and in the apps' device tests.
            value, why = exp.int8_tolerance
            config = dataclasses.replace(config, tolerance=float(f"{value:.6g}"), tolerance_reason=why)
            exp.quantization["device_tolerance"] = config.tolerance_reason
        if not runtimes.get(runtime).backends:
            notes.append(PLAY_16KB_NOTE)
        _write_side_files(exp, stage / "export")
        (stage / "export" / "report.md").write_text(report_markdown(exp))
        (stage / record.FILE_NAME).write_text(record.dumps(config, exp.meta, exp.model_record(), options))
        context = ctx.build(config, exp.meta)
        render.write_files(stage, render.render_platform("project", context))
        artifacts = _artifacts(exp)
        for platform in config.platforms:
            progress(f"rendering the {platform} project")
            notes += _platform_module(platform).generate(stage, context, artifacts, find_gradle=find_gradle, final_dir=output)
        if not keep_export_asset:
            # Each platform has its copy; a third one in export/ only doubles a large project.
            for asset in exp.assets:
                asset.unlink()
        update.record_base(stage, context, config.platforms)
        for path in sorted(stage.rglob("*")):
            if path.is_dir():
                os.chmod(path, 0o755)
            elif path.stat().st_mode & 0o777 not in (0o644, 0o755):
                os.chmod(path, 0o644)
    where = config.platforms[0]
    exp.asset = (output / "export" / exp.asset.name if keep_export_asset
                 else output / render.section(where)["output"] / render.artifact_path(where, "model", context))
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
                 script: bool = False, tolerance: float = 1e-4, rtol: float = DEFAULT_RTOL,
                 output_key: str | None = None, output_index: int | None = None,
                 input_shape: str | None = None, input_dtype: str | None = None,
                 score_threshold: float | None = None, iou_threshold: float | None = None,
                 box_units: str | None = None, scores: str | None = None,
                 quantize_scheme: str | None = None, calibration: Path | None = None, min_agreement: float | None = None,
                 allow_float: bool = False, runtime: str = "lite", backends: tuple[str, ...] = (),
                 coreml_precision: str = "fp32", progress: Progress = _noop) -> Exported:
    """Only the model half: the runtime's assets, report.md, metadata.json (lite: model_ops.yaml) in OUTPUT."""
    opts = model_options(dict(locals()))
    output = Path(output)
    with output_dir.staged(output, force=force, inputs=_inputs(opts), ownership=EXPORT_OWNERSHIP) as stage:
        exp = export_pipeline(opts, stage, progress)
        _write_side_files(exp, stage)
        (stage / "report.md").write_text(report_markdown(exp))
        (stage / "metadata.json").write_text(exp.meta.to_json(f"scaffold {__version__}") + "\n")
        if exp.goldens.sample_input is not None:
            (stage / goldens.SAMPLE_INPUT_NAME).write_bytes(exp.goldens.sample_input)
        else:
            (stage / goldens.SAMPLE_NAME).write_bytes(exp.goldens.sample_png)
        (stage / goldens.EXPECTED_NAME).write_bytes(exp.goldens.expected_bytes)
    exp.asset = output / exp.asset.name
    return exp


def inspect_model(path: Path) -> dict[str, Any]:
    runtime = runtimes.for_asset(Path(path))
    if runtime.backends:
        return _inspect_program(runtime, Path(path))
    info = runtime.inspect(Path(path))
    if info.metadata_error:
        raise ModelError(info.metadata_error)
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


def _inspect_program(runtime: runtimes.Runtime, path: Path) -> dict[str, Any]:
    info = runtime.inspect(path)
    return {
        "runtime": runtime.name,
        "path": str(info.path),
        "size": info.size,
        "methods": info.methods,
        "delegation": info.lines()[1:],
        "runs_here": info.runs_here,
        "metadata": read_embedded(info.metadata) if info.metadata else None,
    }


def doctor() -> list[tuple[str, bool, str]]:
    """What is installed for building/testing generated projects, and how to fix what is not."""
    from generator import gradle as gradle_mod
    from generator.tools import Actionlint, Adb, AndroidSdk, Git, Gxx, Java, Javac, JUnit4, Pod, Xcodebuild, Xcrun

    rows: list[tuple[str, bool, str]] = []
    for tool in (Javac(), Java(), JUnit4(), AndroidSdk(), Adb(), Gxx(), Actionlint(), Git(), Xcodebuild(), Xcrun(), Pod()):
        rows.append((tool.name, tool.available(), tool.describe()))
    g = gradle_mod.find_gradle()
    rows.append(("gradle", g is not None, g.find() if g else f"missing: stamps the Gradle wrapper; {gradle_mod.Gradle.install_hint}"))
    return rows


def check_project(project_dir: Path, *, run_host_tests: bool = True, run_native: bool = True, execute: bool = True,
                  progress: Progress = _noop) -> CheckReport:
    from generator import check

    return check.check_project(Path(project_dir), run_host_tests=run_host_tests, run_native=run_native,
                               execute=execute, progress=progress)

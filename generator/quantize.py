"""`--quantize int8`: calibration pictures, post-training static quantization for each runtime,
and what it cost, measured against the float model on the user's own pictures.

Lite: FX graph mode (`prepare_fx`/`convert_fx` with the qnnpack qconfig mapping): it takes any
traceable nn.Module without QuantStub edits and fuses conv+bn+relu first; the graph keeps float
inputs and outputs (quantize at the entry, dequantize at the exit), so the apps stay unchanged.
A ReLU6/Hardtanh's range is observed after the clamp and the clamp then dropped where the layer
before it saturates there (the fusion FX lacks for ReLU6). Weights stay per-tensor: per-channel
scales and zero points are stored as float64/int64, about 22 bytes per output channel in the
.ptl (400 KB, a tenth of the asset, on MobileNetV2), for one more agreeing picture in a hundred
on the classifier sample.
TorchScript models: FX cannot trace them; torch's TorchScript graph mode (prepare_jit/convert_jit)
quantizes them for lite instead (see _quantize_torchscript).
ExecuTorch: PT2E with the XNNPACK quantizer (symmetric int8) on the torch.export'ed program, then
lowered to XNNPACK as the float path is.
"""

from __future__ import annotations

import functools
import math
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from generator.errors import ModelError, UsageError, squashed

SCHEMES = ("int8",)
# Below 8 pictures the activation ranges the observers record come from too few scenes (one
# odd picture moves a per-tensor min/max), and an agreement measured on fewer than 8 moves in
# steps of more than 12%: not a number to ship on.
MIN_PICTURES = 8
# With twice the minimum, a quarter is held out: the agreement is then measured on pictures the
# observers never saw, while calibration still keeps at least 12.
HOLD_OUT_FROM = 2 * MIN_PICTURES
HOLD_OUT_EVERY = 4
MAX_ENTRIES = 10_000  # directory entries looked at: a huge folder is not walked for minutes
MAX_PICTURES = 200  # pictures used (sorted by name): histogram observers cost time per picture
MAX_FILE_BYTES = 64 << 20
AUGMENTED = 16  # sample picture variants when no --calibration DIR is given
# --min-agreement defaults: what the headline metric must reach (fraction 0..1).
DEFAULT_MIN_AGREEMENT = {
    "classification": 0.90,  # top-1 label the same as the float model's
    "segmentation": 0.90,  # pixels with the same argmax class
    "detection": 0.80,  # shown boxes matched (same label, IoU >= 0.5)
    "image-to-image": 0.50,  # 8-bit output values within one level (int8 steps are about a level)
    "tensor": 0.90,  # values within 1% of the float output's range
}


@dataclass(frozen=True)
class QuantizeOptions:
    scheme: str
    calibration: Path | None = None
    min_agreement: float | None = None
    allow_float: bool = False


def parse_options(quantize: str | None, calibration: Path | None, min_agreement: float | None,
                  allow_float: bool) -> QuantizeOptions | None:
    """Validate the flags before anything slow runs; None when no quantization was asked."""
    if quantize is None:
        extra = [f for f, v in (("--calibration", calibration), ("--min-agreement", min_agreement),
                                ("--allow-float", allow_float or None)) if v is not None]
        if extra:
            raise UsageError(f"{extra[0]} only applies with --quantize int8; add --quantize int8 or drop {extra[0]}")
        return None
    if quantize not in SCHEMES:
        raise UsageError(f"--quantize {quantize!r} is not supported; use --quantize int8")
    if min_agreement is not None and not (0.0 <= min_agreement <= 1.0) or (min_agreement is not None and math.isnan(min_agreement)):
        raise UsageError(f"--min-agreement {min_agreement} must be a fraction from 0 to 1, e.g. 0.95")
    if calibration is not None:
        calibration = Path(calibration)
        if not calibration.is_dir():
            raise UsageError(f"--calibration {calibration} is not a directory; pass a folder of pictures")
    return QuantizeOptions(quantize, calibration, min_agreement, allow_float)


# ---- calibration pictures ------------------------------------------------------------------------

@dataclass
class Calibration:
    fit: list[Any]  # input tensors the observers see
    measure: list[Any]  # input tensors the agreement is measured on
    source: str  # one line for the summary
    skipped: int = 0
    notes: list[str] = field(default_factory=list)


def _augment(img, rng: random.Random):
    from PIL import Image, ImageEnhance, ImageOps

    w, h = img.size
    if rng.random() < 0.5:
        img = ImageOps.mirror(img)
    scale = rng.uniform(0.7, 1.0)
    cw, ch = max(1, round(w * scale)), max(1, round(h * scale))
    x0, y0 = rng.randint(0, w - cw), rng.randint(0, h - ch)
    img = img.crop((x0, y0, x0 + cw, y0 + ch)).resize((w, h), Image.BILINEAR)
    return ImageEnhance.Brightness(img).enhance(rng.uniform(0.7, 1.3))


def _directory_pictures(directory: Path, width: int, height: int) -> tuple[list[Any], int]:
    from generator import goldens

    try:
        with os.scandir(directory) as it:
            names = []
            for entry in it:
                names.append(entry.name)
                if len(names) >= MAX_ENTRIES:
                    break
    except OSError as exc:
        raise UsageError(f"--calibration {directory} cannot be read ({exc.strerror}); check its permissions") from None
    pictures, skipped = [], 0
    for name in sorted(names):
        if len(pictures) >= MAX_PICTURES:
            break
        path = directory / name
        try:
            if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
                skipped += 1
                continue
            # The app's own loading: EXIF rotation, 16-bit scaling, alpha, Pillow bilinear resize.
            pictures.append(goldens.load_sample(path, width, height))
        except (UsageError, OSError):
            skipped += 1
    return pictures, skipped


def calibration_set(options: QuantizeOptions, meta: Any, sample_image: Path | None) -> Calibration:
    """The input tensors calibration and measurement use, preprocessed exactly as the app does."""
    from generator import goldens

    if meta.input_shape:
        raise UsageError("--quantize needs pictures to calibrate on; models with --input-shape cannot be quantized here: "
                         "quantize the model yourself and pass it without --quantize")
    w, h = meta.input_width, meta.input_height
    notes: list[str] = []
    if options.calibration is not None:
        pictures, skipped = _directory_pictures(options.calibration, w, h)
        what = f"{len(pictures)} pictures from {options.calibration}" + (f" ({skipped} files skipped: not readable pictures)" if skipped else "")
        if len(pictures) < MIN_PICTURES:
            raise UsageError(f"--calibration {options.calibration} has {len(pictures)} usable pictures"
                             + (f" ({skipped} other files skipped)" if skipped else "")
                             + f"; calibration needs at least {MIN_PICTURES} pictures like the ones the app will see")
    else:
        sample = goldens.load_sample(sample_image, w, h)
        rng = random.Random(0)
        pictures = [sample] + [_augment(sample, rng) for _ in range(AUGMENTED - 1)]
        skipped = 0
        what = f"the sample picture and {AUGMENTED - 1} seeded flips, crops and brightness changes of it"
        notes.append("calibrated on the sample picture alone: pass --calibration DIR with pictures like the app will see "
                     "for a more accurate int8 model and a trustworthy agreement figure")
    tensors = [goldens.input_tensor(p, meta) for p in pictures]
    if len(tensors) >= HOLD_OUT_FROM and options.calibration is not None:
        measure = tensors[HOLD_OUT_EVERY - 1::HOLD_OUT_EVERY]
        fit = [t for i, t in enumerate(tensors) if i % HOLD_OUT_EVERY != HOLD_OUT_EVERY - 1]
        what += f"; calibrated on {len(fit)}, agreement measured on the {len(measure)} held out (every {HOLD_OUT_EVERY}th by name)"
    else:
        fit = measure = tensors
        what += f"; agreement measured on the same {len(tensors)} pictures"
    return Calibration(fit, measure, what, skipped, notes)


# ---- lite: FX graph mode post-training static quantization -----------------------------------------

def _no_quantizable_layers(allow_float: bool) -> None:
    if not allow_float:
        raise ModelError("the model has no layers int8 quantization applies to (convolutions, linear layers); "
                         "drop --quantize, or add --allow-float to export it in float with a note")


def quantize_lite(module: Any, fit: Sequence[Any], *, allow_float: bool = False) -> Any | None:
    """A quantized torch.fx GraphModule (a ScriptModule for a TorchScript model) for the qnnpack
    engine, or None (allow_float) when nothing in the model quantizes. The caller has selected the
    qnnpack engine (qengine.select)."""
    import copy

    import torch
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    if isinstance(module, torch.jit.ScriptModule):
        return _quantize_torchscript(module, fit, allow_float=allow_float)
    if isinstance(module, torch.jit.ScriptFunction):
        raise ModelError("a scripted function (not a module) cannot be quantized; pass the model as a module "
                         "(torch.jit.trace of the nn.Module, or file.py:function with --weights)")
    if not isinstance(module, torch.nn.Module):
        raise ModelError("a lite .ptl model cannot be quantized; pass the source model (.pt2 or file.py:function)")
    float_model = copy.deepcopy(module)
    try:
        float_model.eval()
    except NotImplementedError:  # a loaded .pt2's module refuses eval(); it is traced in eval mode already
        pass
    _contiguous_clamps(float_model)
    try:
        with torch.no_grad():
            prepared = prepare_fx(float_model, get_default_qconfig_mapping("qnnpack"), (fit[0],))
            _observe_after_clamps(prepared)
            observers = sum(1 for m in prepared.modules() if "Observer" in type(m).__name__)
            for x in fit:
                prepared(x)
            quantized = convert_fx(prepared)
            _drop_saturated_clamps(quantized)
            _literal_qparams(quantized)
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001 - symbolic tracing and observers raise many types
        first = squashed(exc)
        raise ModelError(f"torch.fx cannot quantize the model ({type(exc).__name__}: {first}); make forward "
                         "symbolically traceable (no Python control flow on tensor values) or drop --quantize") from None
    if observers == 0 or not _has_quantized_layers(quantized):
        _no_quantizable_layers(allow_float)
        return None
    return quantized


def _quantize_torchscript(module: Any, fit: Sequence[Any], *, allow_float: bool) -> Any | None:
    """TorchScript graph mode PTQ (prepare_jit/convert_jit, qnnpack qconfig): FX cannot trace a
    ScriptModule, but torch's JIT passes quantize its graph in place of the Python source. They
    fold conv+bn and fuse conv+relu themselves; the graph keeps float inputs and outputs.
    Unlike the FX path, a ReLU6's range is not observed after the clamp (the JIT's observers sit
    inside its graph passes): measured on the classifier sample the agreement did not need it."""
    import torch
    from torch.ao.quantization import get_default_qconfig
    from torch.ao.quantization.quantize_jit import convert_jit, prepare_jit

    try:
        module.eval()
        with torch.no_grad():  # prepare_jit works on a clone: the float model stays as it was
            prepared = prepare_jit(module, {"": get_default_qconfig("qnnpack")})
            for x in fit:
                prepared(x)
            quantized = convert_jit(prepared)
    except Exception as exc:  # noqa: BLE001 - the JIT passes raise RuntimeError and friends
        first = squashed(exc)
        raise ModelError(f"torch's TorchScript quantization failed ({type(exc).__name__}: {first}); pass the Python "
                         "form (file.py:function with --weights) or drop --quantize") from None
    if not _quantized_nodes(quantized.graph):
        _no_quantizable_layers(allow_float)
        return None
    _contiguous_script_clamps(quantized.graph)
    return quantized


def _quantized_nodes(graph: Any) -> list[Any]:
    found, todo = [], [graph.nodes()]
    while todo:
        for node in todo.pop():
            if node.kind().startswith("quantized::"):
                found.append(node)
            todo.extend(block.nodes() for block in node.blocks())
    return found


_CLAMPS = ("aten::hardtanh", "aten::hardtanh_", "aten::relu6", "aten::relu6_", "aten::clamp", "aten::clamp_")


def _contiguous_script_clamps(graph: Any) -> int:
    """_contiguous_clamps for a scripted graph: a contiguous copy before each clamp (the QNNPACK
    clamp bug; without it the classifier sample agreed on 0 of 32 pictures, with it on 32).
    An in-place clamp then writes the copy, so later readers of its input read its result."""
    inserted = 0
    for node in [n for kind in _CLAMPS for n in graph.findAllNodes(kind)]:
        source = node.inputsAt(0)
        with graph.insert_point_guard(node):
            copy = graph.create("aten::contiguous", [source, graph.insertConstant(0)]).insertBefore(node)
        node.replaceInput(0, copy.output())
        if node.kind().endswith("_"):
            source.replaceAllUsesAfterNodeWith(node, node.output())
        inserted += 1
    return inserted


def _contiguous_clamps(model: Any) -> None:
    """Feed ReLU6/Hardtanh a contiguous tensor. torch 2.14.1's QNNPACK clamp reads a quantized
    channels-last tensor (what every quantized conv returns) wrongly: conv -> ReLU6 came out all
    wrong here (max error 2.4 on outputs up to 2.5) while the same values in contiguous layout are
    exact; MobileNetV2 collapsed to one answer for every picture. The copy costs one pass."""
    import torch

    class ContiguousInput(torch.nn.Module):
        def __init__(self, act: torch.nn.Module) -> None:
            super().__init__()
            self.act = act

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.act(x.contiguous())

    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, (torch.nn.ReLU6, torch.nn.Hardtanh)):
                setattr(parent, name, ContiguousInput(child))


def _observe_after_clamps(prepared: Any) -> int:
    """Give the layer feeding a ReLU6/Hardtanh the output range of the clamp, not its own.

    FX makes a clamp share its input's observer, so the conv before a ReLU6 got int8 steps spread
    over its whole unclamped output (-15..14 down to -6..7 on the classifier sample), about half of
    them on negatives the ReLU6 zeroes: 64 to 133 of the 256 levels (median 102) were left for 0..6.
    Observing the clamped values instead lets the conv's own requantization saturate exactly where
    the clamp does (as TFLite does for ReLU6). Only where the producer's output feeds nothing but
    the clamp; returns how many observers were replaced."""
    import torch
    from torch.ao.quantization.observer import HistogramObserver

    modules = dict(prepared.named_modules(remove_duplicate=False))

    def module(node: Any) -> Any:
        return modules.get(node.target) if node.op == "call_module" else None

    replaced = 0
    for act_node in list(prepared.graph.nodes):
        act = module(act_node)
        if not isinstance(act, torch.nn.Hardtanh):  # ReLU6 is a Hardtanh
            continue
        chain, node = [], act_node.args[0]
        while isinstance(module(node), HistogramObserver) or (node.op == "call_method" and node.target == "contiguous"):
            chain.append(node)
            node = node.args[0]
        observer = module(chain[0]) if chain else None
        if (observer is None or type(observer) is not HistogramObserver or any(len(n.users) != 1 for n in [*chain, node])
                or any(module(n) not in (None, observer) for n in chain)):
            continue
        # Ops after the clamp that share its observer (pooling, flatten) stay within its bounds;
        # anywhere else the observer also decides the range of values the clamp never saw.
        allowed, todo = set(chain), list(act_node.users)
        while todo:
            n = todo.pop()
            if n not in allowed:
                allowed.add(n)
                todo.extend(n.users)
        if any(module(n) is observer and n not in allowed for n in prepared.graph.nodes):
            continue
        clamped = _clamped_observer_class()(act.min_val, act.max_val, dtype=observer.dtype, qscheme=observer.qscheme,
                                            reduce_range=observer.reduce_range)
        for name, m in modules.items():
            if m is observer:
                parent, _, leaf = name.rpartition(".")
                setattr(prepared.get_submodule(parent), leaf, clamped)
                modules[name] = clamped
        replaced += 1
    return replaced


def _drop_saturated_clamps(gm: Any) -> int:
    """Remove each ReLU6/Hardtanh (and its .contiguous() copy) whose quantized input cannot leave
    the clamp's bounds: the layer's requantization already saturates there (_observe_after_clamps),
    so the clamp changes no value, and dropping it saves a copy of the activation per layer and the
    operators in the asset. Returns how many were removed."""
    import torch

    modules = dict(gm.named_modules())
    dropped = 0
    for act_node in list(gm.graph.nodes):
        act = modules.get(act_node.target) if act_node.op == "call_module" else None
        if not isinstance(act, torch.nn.Hardtanh):
            continue
        node = act_node.args[0]
        while node.op == "call_method" and node.target == "contiguous" and len(node.users) == 1:
            node = node.args[0]
        producer = modules.get(node.target) if node.op == "call_module" else None
        scale, zero_point = getattr(producer, "scale", None), getattr(producer, "zero_point", None)
        if not isinstance(scale, float) or not isinstance(zero_point, int):
            continue  # not a quantized layer with fixed output parameters (quint8, 0..255)
        # What the quantized clamp computes: its bounds in the producer's integer steps.
        if round(act.min_val / scale) + zero_point <= 0 and round(act.max_val / scale) + zero_point >= 255:
            act_node.replace_all_uses_with(node)
            dropped += 1
    if dropped:
        gm.graph.eliminate_dead_code()
        gm.delete_all_unused_submodules()
        gm.recompile()
    return dropped


def _literal_qparams(gm: Any) -> int:
    """Write the output scale and zero point of quantized adds (and the like) into the graph as
    numbers instead of 0-dim tensor attributes. With tensors, torch.jit.trace warns that it turns
    them into Python floats, so the lite export scripted the model instead, and the scripted form
    carries each quantized module's Python-side input checks into the asset's bytecode (about 9 KB
    on MobileNetV2). As numbers they are the constants they are. Returns how many were written."""
    import torch

    written = 0
    for node in list(gm.graph.nodes):
        if node.op != "get_attr" or not node.users:
            continue
        owner_path, _, name = node.target.rpartition(".")
        owner = gm.get_submodule(owner_path)
        value = getattr(owner, name, None)
        if not isinstance(value, torch.Tensor) or value.dim() != 0 or value.is_quantized:
            continue
        if not all(u.op == "call_function" and str(u.target).startswith("quantized.") for u in node.users):
            continue
        literal = value.item()
        for user in list(node.users):
            user.args = tuple(literal if a is node else a for a in user.args)
            user.kwargs = {k: literal if v is node else v for k, v in user.kwargs.items()}
        gm.graph.erase_node(node)
        delattr(owner, name)
        written += 1
    if written:
        gm.recompile()
    return written


@functools.cache
def _clamped_observer_class() -> type:
    from torch.ao.quantization.observer import HistogramObserver

    class ClampedHistogramObserver(HistogramObserver):
        """A HistogramObserver that records what the clamp after it lets through."""

        def __init__(self, lo: float, hi: float, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.lo, self.hi = float(lo), float(hi)

        def forward(self, x: Any) -> Any:
            super().forward(x.detach().clamp(self.lo, self.hi))
            return x

    return ClampedHistogramObserver


def _has_quantized_layers(gm: Any) -> bool:
    return any(".quantized" in type(m).__module__ for m in gm.modules())


def lite_output_step(gm: Any, example: Any) -> float | None:
    """The output's quantization step: the scale of the quantized tensor the final dequantize
    reads (None when the last layers run in float). One step is how far two int8 kernels that
    round the last requantization differently can land apart."""
    import torch
    import torch.fx

    if isinstance(gm, torch.jit.ScriptModule):
        return _script_output_step(gm, example)
    output = next(n for n in gm.graph.nodes if n.op == "output")
    feeding = {n.name for n in _flat_nodes(output.args)}
    scales: dict[str, float] = {}

    class Recorder(torch.fx.Interpreter):
        def call_method(self, target, args, kwargs):  # noqa: ANN001
            if target == "dequantize" and isinstance(args[0], torch.Tensor) and args[0].is_quantized:
                scales[self._current] = _step(args[0])
            return super().call_method(target, args, kwargs)

        def run_node(self, n):  # noqa: ANN001
            self._current = n.name
            return super().run_node(n)

    with torch.no_grad():
        Recorder(gm).run(example)
    found = [scales[name] for name in feeding if name in scales]
    return max(found) if found else None


def _step(t: Any) -> float:
    import torch

    if t.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
        return float(t.q_scale())
    return float(t.q_per_channel_scales().max())


def _script_output_step(module: Any, example: Any) -> float | None:
    """lite_output_step for a convert_jit model: a copy of its forward graph that returns the
    quantized tensors its output's dequantizes read, run once to read their scales."""
    import torch

    graph = module.graph.copy()
    ret = graph.return_node()
    feeding, todo = [], list(ret.inputs())
    while todo:
        node = todo.pop().node()
        if node.kind() in ("prim::TupleConstruct", "prim::ListConstruct", "prim::DictConstruct"):
            todo.extend(node.inputs())
        elif node.kind() == "aten::dequantize" and node.inputsAt(0).type().kind() == "TensorType":
            feeding.append(node.inputsAt(0))
    if not feeding:
        return None
    with graph.insert_point_guard(ret):
        probe = graph.create("prim::TupleConstruct", feeding).insertBefore(ret)
    probe.output().setType(torch._C.TupleType([v.type() for v in feeding]))
    ret.replaceInput(0, probe.output())
    with torch.no_grad():
        tensors = torch._C._create_function_from_graph("output_step_probe", graph)(module._c, example)
    return max(_step(t) for t in tensors)


def _flat_nodes(args: Any) -> list[Any]:
    import torch.fx

    found: list[Any] = []
    torch.fx.node.map_arg(args, lambda n: found.append(n) or n)
    return found


# ---- ExecuTorch: PT2E with the XNNPACK quantizer -------------------------------------------------

def quantize_executorch(model: Any, example: Any, fit: Sequence[Any], *, allow_float: bool = False) -> Any | None:
    """A quantized ExportedProgram (symmetric int8, XNNPACK quantizer) to lower as the float one
    is, or None (allow_float) when nothing quantizes."""
    import torch

    if isinstance(model, torch.jit.ScriptFunction):
        raise ModelError("a scripted function (not a module) cannot be PT2E-quantized; pass the Python form "
                         "(file.py:function with --weights, or a torch.export .pt2) with --quantize int8, or use --runtime lite")
    scripted = isinstance(model, torch.jit.ScriptModule)
    if scripted:
        # Fold batch norms into the convolutions while still TorchScript: torchao's own conv-bn
        # folding fails on the converter's graph (KeyError: attribute 'weight' already exists).
        from torch.ao.quantization.quantize_jit import fuse_conv_bn_jit

        try:
            with torch.no_grad():  # folded weights with autograd history cannot be deep-copied by the lowering
                model = fuse_conv_bn_jit(model.eval())
        except Exception as exc:  # noqa: BLE001 - the JIT passes raise RuntimeError and friends
            raise ModelError(f"folding batch norms failed on the TorchScript model ({squashed(exc)}); "
                             "pass the Python form (file.py:function with --weights) or use --runtime lite") from None
    from generator.runtimes.executorch import _quiet_torch, to_exported_program

    with _quiet_torch():  # torchao's import logs torch deprecation warnings
        from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import XNNPACKQuantizer, get_symmetric_quantization_config
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    ep = to_exported_program(model, example)
    quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config())
    try:
        captured = ep.module()
        if scripted:
            _convolutions_as_conv2d(captured)
        prepared = prepare_pt2e(captured, quantizer)
        with torch.no_grad():
            for x in fit:
                prepared(x)
        converted = convert_pt2e(prepared)
        if scripted:
            _drop_unread_tensors(converted)
        quantized = torch.export.export(converted, (example,))
    except Exception as exc:  # noqa: BLE001
        first = squashed(exc)
        raise ModelError(f"PT2E quantization failed ({type(exc).__name__}: {first}); drop --quantize") from None
    if not any("quantize_per" in str(n.target) for n in quantized.graph.nodes):
        _no_quantizable_layers(allow_float)
        return None
    return quantized


def _convolutions_as_conv2d(gm: Any) -> int:
    """Write TS2EPConverter's aten.convolution (2-D, not transposed) as aten.conv2d, the form the
    XNNPACK quantizer annotates: left as it was, the classifier sample's convolutions kept float
    weights and its .pte was no smaller. Returns how many were rewritten."""
    import torch

    rewritten = 0
    for node in list(gm.graph.nodes):
        if node.op != "call_function" or node.target != torch.ops.aten.convolution.default:
            continue
        x, weight, bias, stride, padding, dilation, transposed, _, groups = node.args
        if transposed or len(stride) != 2:
            continue
        with gm.graph.inserting_before(node):
            conv = gm.graph.call_function(torch.ops.aten.conv2d.default, (x, weight, bias, stride, padding, dilation, groups))
        conv.meta = dict(node.meta)
        node.replace_all_uses_with(conv)
        gm.graph.erase_node(node)
        rewritten += 1
    if rewritten:
        gm.recompile()
    return rewritten


def _drop_unread_tensors(gm: Any) -> int:
    """Delete the buffers and parameters no node reads. The converter registers the float weights
    as buffers; convert_pt2e reads their int8 copies instead but leaves them, and torch.export
    kept them as inputs: the classifier sample's .pte carried 2.7 MB of unused float weights
    beside its int8 ones (3.48 MB, bigger than the float model). Returns how many were deleted."""
    read = {n.target for n in gm.graph.nodes if n.op == "get_attr"}
    unread = [name for name, _ in [*gm.named_buffers(), *gm.named_parameters()] if name not in read]
    for name in unread:
        owner, _, leaf = name.rpartition(".")
        delattr(gm.get_submodule(owner), leaf)
    return len(unread)


def executorch_output_step(ep: Any, index: int | None = None) -> float | None:
    """Scale of the dequantize feeding the program's output the apps read, as in lite_output_step.
    index is that output's position among the flattened outputs (the metadata's output.index);
    another output's step would size the device tolerance by the wrong tensor."""
    for node in ep.graph.nodes:
        if node.op != "output":
            continue
        outputs = _flat_nodes(node.args)
        if not 0 <= (index or 0) < len(outputs):
            return None
        arg = outputs[index or 0]
        if "dequantize_per_tensor" in str(arg.target) and len(arg.args) > 1 and isinstance(arg.args[1], float):
            return float(arg.args[1])
    return None


def kernel_spread(reference: Sequence[Any], quantized: Sequence[Any], step: float) -> int:
    """How many output quantization steps two int8 implementations of one model landed apart at
    most (at least 1): ExecuTorch's XNNPACK kernels and the PT2E reference, which computes each
    layer in float and rounds once per quantize node, round intermediate values differently and
    the differences add up through the layers (9 steps on the classifier sample, measured). A
    phone's XNNPACK kernels round differently from this host's in the same way, so the device
    tolerance is this many steps: derived from the step and measured, not a constant."""
    worst = max(float(np.max(np.abs(np.asarray(r, dtype=np.float64) - np.asarray(q, dtype=np.float64))))
                for r, q in zip(reference, quantized))
    # A difference of exactly k steps computes as k * (1 + a few ulps): do not round that up to k + 1.
    return max(1, math.ceil(worst / step - 1e-4))


# ---- what it cost ------------------------------------------------------------------------------

@dataclass
class Agreement:
    task: str
    headline: str  # name of the metric --min-agreement applies to
    value: float
    metrics: dict[str, float]
    pictures: int
    threshold: float

    @property
    def passed(self) -> bool:
        return self.value >= self.threshold

    def line(self) -> str:
        rest = ", ".join(f"{k} {_fmt(v)}" for k, v in self.metrics.items() if k != self.headline)
        return (f"int8 vs float on {self.pictures} pictures: {self.headline} {_fmt(self.value)}"
                + (f" ({rest})" if rest else "") + f"; minimum {_fmt(self.threshold)}")

    def record(self) -> dict[str, Any]:
        return {"metric": self.headline, "value": round(self.value, 6), "min_agreement": self.threshold,
                "pictures": self.pictures, **{k: round(v, 6) for k, v in self.metrics.items()}}


def _fmt(v: float) -> str:
    return f"{v:.4g}" if not math.isinf(v) else "inf"


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _box_agreement(ref: np.ndarray, out: np.ndarray, meta: Any) -> float:
    """Shown boxes that find a partner of the same label at IoU >= 0.5 (greedy, best score
    first), over the larger of the two counts; 1 when neither shows a box."""
    from generator.goldens import decode_detections, select_detections

    a, b = decode_detections(ref, meta), decode_detections(out, meta)
    a, b = a[select_detections(a, meta)], b[select_detections(b, meta)]
    if len(a) == 0 and len(b) == 0:
        return 1.0
    used: set[int] = set()
    matched = 0
    for box in a:
        for j, other in enumerate(b):
            if j not in used and other[5] == box[5] and _iou(box, other) >= 0.5:
                used.add(j)
                matched += 1
                break
    return matched / max(len(a), len(b))


def measure(meta: Any, reference: Sequence[np.ndarray], quantized: Sequence[np.ndarray],
            min_agreement: float | None = None) -> Agreement:
    """Per-task agreement of the int8 outputs with the float ones, over the measured pictures."""
    task = meta.task
    threshold = DEFAULT_MIN_AGREEMENT[task] if min_agreement is None else float(min_agreement)
    ref = [np.asarray(r, dtype=np.float64) for r in reference]
    out = [np.asarray(q, dtype=np.float64) for q in quantized]
    metrics: dict[str, float]
    if task == "classification":
        top1 = top5 = 0.0
        for r, q in zip(ref, out):
            r, q = r.reshape(-1), q.reshape(-1)
            k = min(5, r.size)
            top1 += float(np.argmax(r) == np.argmax(q))
            top5 += len(set(np.argsort(-r, kind="stable")[:k]) & set(np.argsort(-q, kind="stable")[:k])) / k
        metrics = {"top-1 agreement": top1 / len(ref), "top-5 overlap": top5 / len(ref)}
        headline = "top-1 agreement"
    elif task == "segmentation":
        agree, ious = [], []
        for r, q in zip(ref, out):
            classes = r.shape[1]
            ra, qa = r[0].argmax(0), q[0].argmax(0)
            agree.append(float((ra == qa).mean()))
            for c in range(classes):
                union = np.logical_or(ra == c, qa == c).sum()
                if union:
                    ious.append(np.logical_and(ra == c, qa == c).sum() / union)
        metrics = {"pixel agreement": float(np.mean(agree)), "mean IoU": float(np.mean(ious)) if ious else 1.0}
        headline = "pixel agreement"
    elif task == "image-to-image":
        lo, hi = meta.output_range or (0.0, 1.0)
        within, psnrs = [], []
        for r, q in zip(ref, out):
            rl = np.clip((r - lo) / (hi - lo) * 255.0, 0, 255)
            ql = np.clip((q - lo) / (hi - lo) * 255.0, 0, 255)
            within.append(float((np.abs(np.rint(rl) - np.rint(ql)) <= 1).mean()))
            mse = float(np.mean((rl - ql) ** 2))
            psnrs.append(math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse))
        metrics = {"within one level": float(np.mean(within)), "PSNR dB": float(min(psnrs))}
        headline = "within one level"
    elif task == "detection":
        metrics = {"boxes matched at IoU 0.5": float(np.mean([_box_agreement(r, q, meta) for r, q in zip(ref, out)]))}
        headline = "boxes matched at IoU 0.5"
    else:
        span = max(float(max(r.max() - r.min() for r in ref)), 1e-12)
        diffs = np.concatenate([np.abs(r - q).reshape(-1) for r, q in zip(ref, out)])
        metrics = {"within 1% of range": float((diffs <= 0.01 * span).mean()), "max abs error": float(diffs.max()),
                   "mean abs error": float(diffs.mean())}
        headline = "within 1% of range"
    return Agreement(task, headline, metrics[headline], metrics, len(ref), threshold)


def check(agreement: Agreement) -> None:
    if not agreement.passed:
        from generator.errors import ExportError

        raise ExportError(f"the int8 model agrees too little with the float one: {agreement.line()}; "
                          "calibrate on more pictures like the app's (--calibration DIR), lower --min-agreement, "
                          "or drop --quantize")

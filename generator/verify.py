"""Whether an exported asset computes what the source computes, for every runtime.

Output selection, error text and the tolerance rule live here; how an asset is loaded and run
is the runtime's (generator/runtimes/), so export, `scaffold check` and `scaffold inspect` share
one definition of "acceptable asset".
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

from generator.errors import ExportError, ModelError, UsageError


def packed_detections(output: Any) -> Any:
    """torchvision-style detector output (boxes N x 4, scores N, labels N; a leading batch of 1
    allowed) as one N x 6 float tensor (x1, y1, x2, y2, score, label), as the apps pack it; None
    for any other output."""
    import torch

    if not (isinstance(output, (tuple, list)) and len(output) == 3 and all(isinstance(t, torch.Tensor) for t in output)):
        return None
    boxes, scores, labels = output
    if boxes.dim() == 3 and scores.dim() == 2 and labels.dim() == 2 and boxes.shape[0] == 1:
        boxes, scores, labels = boxes[0], scores[0], labels[0]
    n = boxes.shape[0] if boxes.dim() == 2 else -1
    if not (boxes.dim() == 2 and boxes.shape[1] == 4 and tuple(scores.shape) == (n,) and tuple(labels.shape) == (n,)):
        return None
    return torch.cat([boxes.detach().float(), scores.detach().float()[:, None], labels.detach().float()[:, None]], 1).contiguous()


# The last "SomethingError: message" line of a TorchScript traceback is the model's own cause; the
# first line is only "The following operation failed in the TorchScript interpreter."
_ERROR_LINE = re.compile(r"^\s*(?:[\w.]+(?:Error|Exception)|Error):\s*(\S.*)$")
# Causes for which another input size or shape is the likely fix.
_SHAPE_WORDS = ("channel", "dimension", "-dimensional", "size", "shape", "mat1 and mat2", " vs ", "must match",
                "out of range", "out of bounds")
_DTYPE_WORDS = ("dtype", "scalar type", "must be long", "must be int", "indices", "expected long", "expected float")


def error_reason(exc: BaseException, limit: int = 300) -> str:
    """The model's own message: for TorchScript the final `XError: ...` line, else the first line."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    lines = text.splitlines()
    reason = lines[0]
    if len(lines) > 1 and ("TorchScript" in lines[0] or "Traceback" in text):
        for line in reversed(lines):
            match = _ERROR_LINE.match(line)
            if match:
                reason = match.group(1)
                break
    reason = " ".join(reason.split())
    return reason if len(reason) <= limit else reason[: limit - 3] + "..."


def error_advice(reason: str) -> str:
    """Advice that follows from the cause, or the neutral one."""
    low = reason.lower()
    if any(w in low for w in _DTYPE_WORDS):
        return "the model expects another input type: for token or index inputs use --task tensor --input-dtype int64"
    if any(w in low for w in _SHAPE_WORDS):
        return "check --input-size (or --task tensor --input-shape for inputs that are not RGB pictures)"
    return "fix the model's forward, or give it the input it expects"


def select_output(output: Any, where: str, *, key: str | None = None, index: int | None = None) -> tuple[Any, "OutputPath"]:
    """The one output tensor the apps use, and how it was reached (a dict key or a tuple index)."""
    import torch

    packed = packed_detections(output)
    if packed is not None:
        return packed, OutputPath()
    if isinstance(output, torch.Tensor):
        if key is not None or index is not None:
            raise UsageError(f"{where} returns a single tensor; drop --output-key/--output-index")
        return output, OutputPath()
    if isinstance(output, dict):
        keys = [str(k) for k in output]
        if index is not None:
            raise UsageError(f"{where} returns a dict (keys {', '.join(keys)}), not a tuple; use --output-key instead of --output-index")
        if key is None:
            if "out" not in output:
                raise UsageError(f"{where} returns a dict with keys {', '.join(keys) or '(none)'}; pass --output-key with the one the app shows")
            key = "out"
        if key not in output:
            raise UsageError(f"--output-key {key!r} is not among the model's outputs ({', '.join(keys)}); pass one of them")
        chosen, path = output[key], OutputPath("dict", key=key)
    elif isinstance(output, (tuple, list)):
        if key is not None:
            raise UsageError(f"{where} returns a {type(output).__name__}, not a dict; use --output-index instead of --output-key")
        index = 0 if index is None else index
        if not 0 <= index < len(output):
            raise UsageError(f"--output-index {index} is out of range: {where} returns {len(output)} outputs; use 0..{len(output) - 1}")
        chosen, path = output[index], OutputPath(type(output).__name__, index=index)
    else:
        raise ModelError(
            f"{where} returns {type(output).__name__}, scaffold needs a tensor (or a tuple or dict of tensors); "
            "wrap the model so forward returns a tensor"
        )
    if not isinstance(chosen, torch.Tensor):
        raise ModelError(f"{where}'s output {path.describe()} is a {type(chosen).__name__}, not a tensor; pick another with --output-key/--output-index")
    return chosen, path


@dataclass(frozen=True)
class OutputPath:
    """Where the apps find their tensor in the model's output: the output itself, a dict key or a tuple index."""

    container: str | None = None  # None (a tensor), "dict", "tuple" or "list"
    key: str | None = None
    index: int | None = None

    def describe(self) -> str:
        if self.container == "dict":
            return f"[{self.key!r}]"
        if self.container is not None:
            return f"[{self.index}]"
        return "tensor"


def first_tensor(output: Any, where: str, *, key: str | None = None, index: int | None = None) -> Any:
    """The chosen output tensor as contiguous float32 (see select_output)."""
    result, _ = select_output(output, where, key=key, index=index)
    if not result.is_floating_point():
        raise ModelError(f"{where} returns a {result.dtype} tensor, scaffold needs floating point; convert the output in forward")
    return result.detach().float().contiguous()


def flat_index(output: Any, path: "OutputPath") -> int | None:
    """The position of the chosen tensor among the output's leaves in pytree order (a dict's values
    in insertion order, nested tuples depth first): where a runtime that flattens outputs
    (ExecuTorch) returns it. None when the output is one tensor or a packed detector triple."""
    import torch.utils._pytree as pytree

    if path.container is None:
        return None
    chosen, _ = select_output(output, "the model", key=path.key, index=path.index)
    return next(i for i, leaf in enumerate(pytree.tree_leaves(output)) if leaf is chosen)


def pick_like_source(source: Any, exported: Any, where: str, *, key: str | None = None, index: int | None = None) -> Any:
    """The exported model's counterpart of the tensor the apps use from the source's output. A
    runtime that keeps the output's structure (lite) is read with key/index; one that flattens it
    (ExecuTorch returns a list of tensors in pytree order) is read at the leaf the source's was."""
    import torch.utils._pytree as pytree

    if packed_detections(source) is not None or pytree.tree_structure(source) == pytree.tree_structure(exported):
        return first_tensor(exported, where, key=key, index=index)
    chosen, _ = select_output(source, "the model", key=key, index=index)
    leaves = pytree.tree_leaves(source)
    position = next(i for i, leaf in enumerate(leaves) if leaf is chosen)
    flat = pytree.tree_leaves(exported)
    if len(flat) != len(leaves):
        raise ExportError(f"{where} returns {len(flat)} outputs, the source {len(leaves)}; export the model again")
    return first_tensor(flat[position], where)


def call_module(module: Any, example: Any, where: str) -> Any:
    """forward() on a fresh copy of the input (a model may change its input in place); raw output."""
    import torch

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            return module(example.clone())
        except Exception as exc:  # noqa: BLE001 - user model code
            reason = error_reason(exc)
            shape = "x".join(str(d) for d in example.shape)
            dtype = str(example.dtype).replace("torch.", "")
            raise ModelError(f"{where} failed on the {shape} {dtype} sample input: {reason} ({error_advice(reason)})") from None


def run_module(module: Any, example: Any, where: str, *, key: str | None = None, index: int | None = None) -> Any:
    return first_tensor(call_module(module, example, where), where, key=key, index=index)


def check_finite(output: Any, where: str) -> None:
    import torch

    bad = int((~torch.isfinite(output)).sum())
    if bad:
        raise ModelError(
            f"{where} itself produces NaN or Inf on the sample input ({bad} of {output.numel()} values); "
            "fix the model or its weights, or pass a --sample-image it handles"
        )


def max_abs_error(reference: Any, actual: Any) -> float:
    if tuple(reference.shape) != tuple(actual.shape):
        raise ExportError(
            f"exported model output shape {tuple(actual.shape)} differs from the source's {tuple(reference.shape)}; "
            "export with --script"
        )
    return float((reference - actual).abs().max().item()) if reference.numel() else 0.0


# Relative tolerance (numpy.allclose's rtol): float32 carries about 7 digits and a deep network
# loses a few to reordered sums after freezing, so 1e-5 of a value (~100 float32 ulps) is noise,
# while a real export bug (wrong layer, engine, dtype) is off by far more.
DEFAULT_RTOL = 1e-5


def excess_error(reference: Any, actual: Any, tolerance: float, rtol: float) -> float:
    """How far the worst value is outside tolerance + rtol*|reference| (numpy.allclose); <= 0 passes."""
    if not reference.numel():
        return 0.0
    allowed = tolerance + rtol * reference.abs()
    return float(((reference - actual).abs() - allowed).max().item())


def compare_outputs(reference: Any, actual: Any, tolerance: float, rtol: float = 0.0, *, hint: str = "try --script") -> float:
    """Max abs error of the exported model's output against the source's; fail above
    tolerance + rtol*|reference| (numpy.allclose), or when the export gives NaN/Inf and the source does not."""
    import torch

    check_finite(reference, "the source model")
    if not bool(torch.isfinite(actual).all()):
        raise ExportError(f"the exported model produces NaN or Inf on the sample input where the source does not; {hint}")
    err = max_abs_error(reference, actual)
    if excess_error(reference, actual, tolerance, rtol) > 0:
        allowed = f"tolerance {tolerance:g}" + (f" + rtol {rtol:g} x |value|" if rtol else "")
        raise ExportError(
            f"the exported model differs from the source by {err:.3g} ({allowed}); "
            f"{hint}, or raise --tolerance/--rtol if the model is numerically sensitive"
        )
    return err


def torchvision_ops_notes(operators: list[str]) -> list[str]:
    """One line when the asset needs torchvision's operators, which the stock app runtimes lack."""
    tv = sorted(op for op in operators if op.startswith("torchvision::"))
    if not tv:
        return []
    return [
        f"warning: the model runs {', '.join(tv)} inside; the stock mobile runtimes (pytorch_android_lite, "
        "LibTorch-Lite) do not ship torchvision's operators and will fail to load it: export the model without its "
        "post-processing (return the raw boxes and scores, and decode them in the app, e.g. --task detection)"
    ]

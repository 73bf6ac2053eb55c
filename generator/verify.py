"""Checking a lite asset: what is inside it, and whether it computes what the source computes.

Used by export (right after saving) and by `scaffold check` / `scaffold inspect`, so the rules
for "acceptable asset" live in one place.
"""

from __future__ import annotations

import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator import versions
from generator.errors import ExportError, ModelError
from generator.metadata import METADATA_KEY


@dataclass
class AssetInfo:
    path: Path
    size: int
    bytecode_version: int
    operators: list[str]
    metadata_raw: str | None
    extra_files: list[str] = field(default_factory=list)


def read_extra_files(path: Path) -> dict[str, bytes]:
    """Extra files live at <root>/extra/<name> in the archive."""
    out: dict[str, bytes] = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            parts = name.split("/")
            if len(parts) == 3 and parts[1] == "extra":
                out[parts[2]] = zf.read(name)
    return out


def load_lite(path: Path) -> Any:
    from torch.jit.mobile import _load_for_lite_interpreter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return _load_for_lite_interpreter(str(path))
        except Exception as exc:  # noqa: BLE001
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"the lite interpreter cannot load {path} ({reason[:200]}); export it again") from None


def inspect_asset(path: Path) -> AssetInfo:
    from torch.jit.mobile import _export_operator_list, _get_model_bytecode_version

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"asset not found: {path}; pass a .ptl file")
    try:
        with zipfile.ZipFile(path) as zf:
            if not any(n.endswith("/bytecode.pkl") for n in zf.namelist()):
                raise ModelError(f"{path} is not a lite-interpreter asset (no bytecode); export it with scaffold export")
    except zipfile.BadZipFile:
        raise ModelError(f"{path} is not a lite-interpreter asset (not a zip archive); export it with scaffold export") from None
    module = load_lite(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        version = int(_get_model_bytecode_version(str(path)))
        ops = sorted(_export_operator_list(module))
    extras = read_extra_files(path)
    raw = extras.get(METADATA_KEY)
    return AssetInfo(
        path=path,
        size=path.stat().st_size,
        bytecode_version=version,
        operators=ops,
        metadata_raw=raw.decode("utf-8") if raw is not None else None,
        extra_files=sorted(extras),
    )


def check_bytecode_version(version: int, path: Path) -> None:
    if version > versions.LITE_BYTECODE_MAX:
        raise ExportError(
            f"{path} has bytecode version {version}, the app runtimes load at most {versions.LITE_BYTECODE_MAX} "
            "(\"Lite Interpreter version number does not match\"); re-export with scaffold export"
        )


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


def first_tensor(output: Any, where: str) -> Any:
    """The first output tensor; models returning tuples/lists are common (aux outputs)."""
    import torch

    packed = packed_detections(output)
    if packed is not None:
        return packed
    if isinstance(output, torch.Tensor):
        result = output
    elif isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        result = output[0]
    else:
        raise ModelError(
            f"{where} returns {type(output).__name__}, scaffold needs a tensor (or a tuple whose first item is a tensor); "
            "wrap the model so forward returns a tensor"
        )
    if not result.is_floating_point():
        raise ModelError(f"{where} returns a {result.dtype} tensor, scaffold needs floating point; convert the output in forward")
    return result.detach().float().contiguous()


def run_module(module: Any, example: Any, where: str) -> Any:
    import torch

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            out = module(example)
        except Exception as exc:  # noqa: BLE001 - user model code
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"{where} failed on a 1x3xHxW input ({reason[:200]}); check --input-size") from None
    return first_tensor(out, where)


def max_abs_error(reference: Any, actual: Any) -> float:
    if tuple(reference.shape) != tuple(actual.shape):
        raise ExportError(
            f"exported model output shape {tuple(actual.shape)} differs from the source's {tuple(reference.shape)}; "
            "export with --script"
        )
    return float((reference - actual).abs().max().item()) if reference.numel() else 0.0


def compare_with_source(asset: Path, reference: Any, example: Any, tolerance: float) -> tuple[float, Any]:
    """Run the saved asset with the lite interpreter; fail above tolerance."""
    lite = load_lite(asset)
    actual = run_module(lite, example, "the exported lite model")
    err = max_abs_error(reference, actual)
    if not err <= tolerance:  # also catches NaN
        raise ExportError(
            f"the exported model differs from the source by {err:.3g} (tolerance {tolerance:g}); "
            "try --script, or raise --tolerance if the model is numerically sensitive"
        )
    return err, actual

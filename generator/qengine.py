"""Quantized models run on the engine the phones use.

A quantized model's packed weights are packed for the quantized engine that is current when the
model is loaded, and engines round differently: the host's default (x86/fbgemm) can give other
logits, even another top-1 class, than QNNPACK, the engine of pytorch_android_lite and
LibTorch-Lite. So every host reference for a quantized model (the source run, the lite
verification, the goldens, `scaffold check`) is computed with QNNPACK selected, and the model is
loaded after selecting it. The C++ core selects QNNPACK itself (templates/shared/cpp).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from generator.errors import ExportError

PHONE_ENGINE = "qnnpack"


def is_quantized(module: Any) -> bool:
    """True when the model runs quantized kernels (quantized:: operators or quantized tensors)."""
    import torch

    try:
        if isinstance(module, torch.jit.ScriptModule):
            names = torch.jit.export_opnames(module)
        elif isinstance(module, torch.nn.Module):
            # torch.ao.nn.quantized and torch.ao.nn.intrinsic.quantized (fused conv+relu and friends)
            if any(".quantized" in type(m).__module__ for m in module.modules()):
                return True
            tensors = [t for t in module.state_dict().values() if isinstance(t, torch.Tensor)]
            return any(t.is_quantized for t in tensors) or "quantize" in str(getattr(module, "graph", ""))
        else:  # a lite module
            from torch.jit.mobile import _export_operator_list

            names = _export_operator_list(module)
    except Exception:  # noqa: BLE001 - a model we cannot introspect is treated as float
        return False
    return any(str(n).startswith("quantized::") for n in names)


def select(engine: str) -> None:
    import torch

    supported = list(torch.backends.quantized.supported_engines)
    if engine not in supported:
        raise ExportError(
            f"this torch build has no {engine} quantized engine (it has {', '.join(supported)}), which the phones use "
            "for quantized models; install a torch wheel with QNNPACK (the standard Linux/macOS wheels have it)"
        )
    torch.backends.quantized.engine = engine


@contextmanager
def restored() -> Iterator[None]:
    """Whatever engine the caller had is put back, however the block ends."""
    import torch

    before = torch.backends.quantized.engine
    try:
        yield
    finally:
        torch.backends.quantized.engine = before

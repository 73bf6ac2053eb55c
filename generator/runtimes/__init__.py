"""Runtimes a generated app can run its model on, one module each behind one interface.

A runtime turns a source model into the asset files an app ships (export), runs the CPU asset
on this host against the source (verify), and describes an asset file it is handed (inspect).
Modules are imported on first use: ExecuTorch's import alone takes seconds.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

from generator.errors import UsageError

# Called with a short description of the stage that starts ("lowering to XNNPACK", ...).
Progress = Callable[[str], None]

# name -> module defining RUNTIME; the lite interpreter joins once export.py moves behind it.
_MODULES = {"executorch": "generator.runtimes.executorch"}


class Runtime(Protocol):
    name: str
    suffix: str  # asset file suffix, e.g. ".pte"
    backends: tuple[str, ...]  # the first one is the CPU asset every app carries

    def asset_name(self, backend: str) -> str: ...

    def export(
        self,
        model: Any,
        example: Any,
        out_dir: Path,
        metadata_json: str,
        *,
        backends: Sequence[str],
        progress: Progress | None = None,
    ) -> list[Any]: ...

    def verify(self, asset: Path, example: Any) -> Any: ...

    def inspect(self, path: Path) -> Any: ...


def names() -> tuple[str, ...]:
    return tuple(_MODULES)


def get(name: str) -> Runtime:
    module = _MODULES.get(name)
    if module is None:
        raise UsageError(f"unknown runtime {name!r}; choose one of: {', '.join(_MODULES)}")
    return importlib.import_module(module).RUNTIME

"""Runtimes a generated app can run its model on, one module each behind one interface.

A runtime turns a source model into the asset files an app ships (export), runs the CPU asset
on this host against the source (verify), and describes an asset file it is handed (inspect).
Modules are imported on first use: ExecuTorch's import alone takes seconds.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from generator.errors import UsageError

# Called with a short description of the stage that starts ("lowering to XNNPACK", ...).
Progress = Callable[[str], None]

# name -> module defining RUNTIME; the first is the default.
_MODULES = {"lite": "generator.runtimes.lite", "executorch": "generator.runtimes.executorch"}


@dataclass(frozen=True)
class ExportOptions:
    """What the user asked of the export, whatever the runtime (each ignores what is not its own)."""

    script: bool = False  # lite: torch.jit.script instead of tracing
    backends: tuple[str, ...] = ()  # executorch: the delegates to export for (xnnpack always)
    coreml_precision: str = "fp32"  # executorch: compute precision of the Core ML asset


class AppExport(Protocol):
    """What a runtime's export_app returns; the pipeline and the CLI read these fields only."""

    path: Path  # the CPU asset every app carries
    size: int
    method: str  # how the source became the asset (trace, script, torch.export, TS2EPConverter, ...)
    operators: list[str]  # lite: root operators (model_ops.yaml); executorch: operators left to portable kernels
    warnings: list[str]


class Runtime(Protocol):
    name: str
    suffix: str  # asset file suffix, e.g. ".pte"
    backends: tuple[str, ...]  # the first one is the CPU asset every app carries
    uses_qengine: bool  # quantized models run on PyTorch's quantized engines (lite only)
    # The asset returns a tuple/dict output as one flat list: the metadata's output index is then
    # the position in that list (verify.flat_index), which the apps and the C++ core read.
    flattens_outputs: bool

    def asset_name(self, backend: str) -> str: ...

    def export_app(self, loaded: Any, example: Any, out_dir: Path, metadata_json: str, *, options: ExportOptions,
                   progress: Progress) -> AppExport: ...

    def run(self, asset: Path, example: Any) -> Any:
        """The raw outputs of the CPU asset on this host (compared with the source's)."""

    def extra_assets(self, result: Any) -> dict[str, Path]:
        """Manifest artifact kind -> asset file, for the assets beside the CPU one."""

    def side_files(self, result: Any) -> dict[str, str]:
        """Text files written beside the assets in export/ (lite: model_ops.yaml)."""

    def report_rows(self, result: Any) -> list[tuple[str, str]]: ...

    def record(self, result: Any) -> dict[str, Any]:
        """The runtime's fields of scaffold.toml's [model] table."""

    def summary(self, result: Any) -> str:
        """What was exported and verified, for the line `scaffold new/export` prints."""

    def notes(self, result: Any) -> list[str]: ...

    def runtime_versions(self) -> str:
        """The app runtimes' versions, for report.md."""

    def inspect(self, path: Path) -> Any: ...


def names() -> tuple[str, ...]:
    return tuple(_MODULES)


def get(name: str) -> Runtime:
    module = _MODULES.get(name)
    if module is None:
        raise UsageError(f"unknown runtime {name!r}; choose one of: {', '.join(_MODULES)}")
    return importlib.import_module(module).RUNTIME


def for_asset(path: Path) -> Runtime:
    """The runtime whose assets end like path (`inspect`)."""
    for name in _MODULES:
        runtime = get(name)
        if Path(path).suffix == runtime.suffix:
            return runtime
    raise UsageError(f"{path} is neither a .ptl nor a .pte asset; pass a file written by scaffold export")

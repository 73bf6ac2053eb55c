"""The host LibTorch (the torch wheel's C++ headers and libraries) that the lite core builds against."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from generator.errors import ToolMissingError
from generator.native.build import isystem_flags

# The torch 2.14 headers need C++20; the core itself must stay valid in the standard the mobile
# builds use, read from the generated projects (see core.check_core_standard).
CXX_FLAGS = ("-std=c++20", "-O1", "-fPIC")
TORCH_LIBS = ("-ltorch_cpu", "-lc10", "-ltorch")

_TORCH_HINT = "install the host torch wheel into this environment (make setup, or pip install torch==2.14.1)"


@dataclass(frozen=True)
class TorchInstall:
    """Where the installed torch wheel keeps its C++ headers and shared libraries."""

    root: Path
    version: str
    include_dirs: tuple[Path, ...]
    lib_dir: Path

    @property
    def cxx_flags(self) -> tuple[str, ...]:
        return CXX_FLAGS

    @property
    def identity(self) -> str:
        return f"torch {self.version} {self.root}"

    def compile_flags(self) -> list[str]:
        return isystem_flags(self.include_dirs)

    def link_flags(self) -> list[str]:
        # libtorch.so goes last and --as-needed drops it: the lite interpreter lives in
        # libtorch_cpu, and on CUDA wheels libtorch.so drags in ~20 CUDA libraries that double
        # the start-up time of every driver run.
        return [
            f"-L{self.lib_dir}", "-Wl,--as-needed", *TORCH_LIBS, "-Wl,--no-as-needed",
            f"-Wl,-rpath,{self.lib_dir}",
        ]


def find_torch() -> TorchInstall:
    """The installed torch wheel, found without importing it (importing takes seconds)."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        raise ToolMissingError(f"torch not found (builds the C++ core on the host); {_TORCH_HINT}")
    root = Path(next(iter(spec.submodule_search_locations)))
    include = root / "include"
    api_include = include / "torch" / "csrc" / "api" / "include"
    lib_dir = root / "lib"
    if not (include / "torch" / "csrc" / "jit" / "mobile" / "import.h").is_file():
        raise ToolMissingError(
            f"torch at {root} has no C++ headers (builds the C++ core on the host); {_TORCH_HINT}"
        )
    if not any((lib_dir / name).exists() for name in ("libtorch_cpu.so", "libtorch_cpu.dylib")):
        raise ToolMissingError(
            f"torch at {root} has no libtorch_cpu (builds the C++ core on the host); {_TORCH_HINT}"
        )
    try:
        version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return TorchInstall(root, version, (include, api_include), lib_dir)

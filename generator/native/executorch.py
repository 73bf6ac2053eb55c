"""The ExecuTorch runtime of the pip wheel, as the ExecuTorch core builds against it on the host.

The wheel is what a user machine has after `make setup`; it ships the runtime's headers
(include/executorch/runtime: Program, Method, MemoryManager, DataLoader...) but no
extension/module or data_loader headers and no plain C++ library: the runtime, XNNPACK and the
portable kernels live in the Python extension `extension/pybindings/_portable_lib*.so`, which
exports them. That is why the core is written against the runtime API alone, and why the host
build links that extension (plus libpython it needs, and the Qualcomm backend library that
defines the runtime's log timestamp). Nothing is fetched: a wheel without these pieces is a skip.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from generator import versions
from generator.errors import ToolMissingError
from generator.native.build import isystem_flags

# The core must stay C++17 (the NDK build and Xcode use it); the wheel's headers compile in it.
# C10_USING_CUSTOM_GENERATED_MACROS: upstream sets it PUBLIC on executorch_core (and patches it
# into the Apple framework's headers); without it the c10 headers look for a generated file.
CXX_FLAGS = ("-std=c++17", "-O1", "-fPIC", "-DC10_USING_CUSTOM_GENERATED_MACROS")

_HINT = f"install the ExecuTorch wheel into this environment (make setup, or pip install executorch=={versions.EXECUTORCH_PIP})"


@dataclass(frozen=True)
class ExecutorchInstall:
    """Where the installed executorch wheel keeps the headers and the library the core needs."""

    root: Path
    version: str
    include_dirs: tuple[Path, ...]
    libraries: tuple[Path, ...]
    python_lib_dir: Path
    python_lib: str

    @property
    def cxx_flags(self) -> tuple[str, ...]:
        return CXX_FLAGS

    @property
    def identity(self) -> str:
        return f"executorch {self.version} {self.root}"

    def compile_flags(self) -> list[str]:
        return isystem_flags(self.include_dirs)

    def link_flags(self) -> list[str]:
        rpath = ":".join(sorted({str(lib.parent) for lib in self.libraries} | {str(self.python_lib_dir)}))
        return [*map(str, self.libraries), f"-L{self.python_lib_dir}", f"-l{self.python_lib}", f"-Wl,-rpath,{rpath}"]


def find_executorch() -> ExecutorchInstall:
    """The installed executorch wheel, found without importing it (importing takes seconds)."""
    spec = importlib.util.find_spec("executorch")
    if spec is None or not spec.submodule_search_locations:
        raise ToolMissingError(f"executorch not found (builds the ExecuTorch C++ core on the host); {_HINT}")
    root = Path(next(iter(spec.submodule_search_locations)))
    include = root / "include"
    if not (include / "executorch" / "runtime" / "executor" / "program.h").is_file():
        raise ToolMissingError(f"executorch at {root} has no runtime headers (builds the ExecuTorch C++ core on the host); {_HINT}")
    portable = sorted((root / "extension" / "pybindings").glob("_portable_lib*.so"))
    if not portable:
        raise ToolMissingError(f"executorch at {root} has no extension/pybindings/_portable_lib*.so to link the core with; {_HINT}")
    libraries = [portable[0]]
    # The runtime's get_log_timestamp lives there in the 1.4 wheels; the extension needs it at
    # load time anyway (it is one of its DT_NEEDED libraries).
    qnn = root / "backends" / "qualcomm" / "libqnn_executorch_backend.so"
    if qnn.is_file():
        libraries.append(qnn)
    lib_dir = sysconfig.get_config_var("LIBDIR")
    ldlibrary = sysconfig.get_config_var("LDLIBRARY") or ""
    if not lib_dir or not ldlibrary.endswith(".so") or not (Path(lib_dir) / ldlibrary).is_file():
        raise ToolMissingError(
            "this Python has no shared libpython, which the wheel's ExecuTorch library needs to be "
            "linked into a program; use a Python built with --enable-shared (Debian's, pyenv with "
            "PYTHON_CONFIGURE_OPTS=--enable-shared)"
        )
    try:
        version = importlib.metadata.version("executorch")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    c10 = include / "executorch" / "runtime" / "core" / "portable_type" / "c10"
    return ExecutorchInstall(root, version, (include, c10), tuple(libraries), Path(lib_dir),
                             ldlibrary.removeprefix("lib").removesuffix(".so"))

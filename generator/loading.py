"""Loading the user's model from any of the accepted inputs.

The kind of file is decided from its bytes, not its extension, and before anything is
unpickled: a pickle (torch.save of a whole module) runs arbitrary code when loaded, so it is
refused unless the user passes --trust-pickle.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.errors import ModelError, UsageError

@dataclass
class LoadedModel:
    kind: str
    module: Any  # nn.Module, ScriptModule, or a lite module for kind == "lite"
    source: str  # what the user passed
    sha256: str  # of the model file (factory: of the .py file and the weights)
    last_activation: str | None = None  # class name of the last leaf module, when knowable

    @property
    def is_lite(self) -> bool:
        return self.kind == "lite"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _is_factory(spec: str) -> bool:
    path_part, sep, func = spec.rpartition(":")
    return bool(sep) and path_part.endswith(".py") and func.isidentifier()


def classify_file(path: Path) -> str:
    """Which kind of model file this is, reading only the zip directory or the first bytes."""
    if not path.exists():
        raise ModelError(f"model file not found: {path}; check the --model path")
    if path.is_dir():
        raise ModelError(f"--model {path} is a directory; pass the model file inside it")
    size = path.stat().st_size
    if size == 0:
        raise ModelError(f"model file {path} is empty; re-save the model (torch.jit.save or torch.export.save)")
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
                bad = zf.testzip() if size < (64 << 20) else None
        except (zipfile.BadZipFile, OSError):
            raise ModelError(f"model file {path} is truncated or corrupt (broken zip archive); save it again") from None
        if bad is not None:
            raise ModelError(f"model file {path} is corrupt (bad CRC in {bad}); save it again")
        tails = {n.split("/", 1)[1] if "/" in n else n for n in names}
        if "bytecode.pkl" in tails:
            return "lite"
        if "archive_format" in tails or any(t.startswith("models/") and t.endswith(".json") for t in tails):
            return "exported-program"
        if "constants.pkl" in tails and any(t.startswith("code/") for t in tails):
            return "torchscript"
        if "data.pkl" in tails:
            return "pickle"
        raise ModelError(f"model file {path} is a zip archive but not a PyTorch model; pass a TorchScript, .pt2 or .ptl file")
    # Legacy torch.save: a raw pickle stream (protocol 2+ starts with 0x80).
    if head[:1] == b"\x80" and 2 <= head[1] <= 5:
        return "pickle"
    raise ModelError(f"model file {path} is not a PyTorch model (unrecognized bytes); pass a TorchScript, .pt2 or .ptl file")


def _last_activation(module: Any) -> str | None:
    try:
        import torch.nn as nn

        if isinstance(module, nn.Module) and not isinstance(module, __import__("torch").jit.ScriptModule):
            leaves = [m for m in module.modules() if not list(m.children())]
            return type(leaves[-1]).__name__ if leaves else None
    except Exception:  # noqa: BLE001 - best effort only, used for a default
        return None
    return None


def _load_factory(spec: str, weights: Path | None) -> LoadedModel:
    import torch
    import torch.nn as nn

    path_text, _, func_name = spec.rpartition(":")
    path = Path(path_text)
    if not path.is_file():
        raise ModelError(f"factory file not found: {path}; use --model path/to/file.py:function")
    digest = hashlib.sha256(path.read_bytes())
    module_name = f"scaffold_factory_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]}"
    try:
        spec_obj = importlib.util.spec_from_file_location(module_name, path)
        if spec_obj is None or spec_obj.loader is None:
            raise ModelError(f"cannot import {path}; is it a Python file?")
        mod = importlib.util.module_from_spec(spec_obj)
        # Let the factory import modules that sit next to it, as running it as a script would.
        sys.path.insert(0, str(path.parent.resolve()))
        try:
            spec_obj.loader.exec_module(mod)
        finally:
            sys.path.pop(0)
    except ModelError:
        raise
    except BaseException as exc:  # noqa: BLE001 - user code: any failure is the user's to fix
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise ModelError(f"importing {path} raised {type(exc).__name__}: {exc}; fix the file") from None
    factory = getattr(mod, func_name, None)
    if not callable(factory):
        raise ModelError(f"{path} has no function {func_name!r}; use --model {path}:<function that returns the model>")
    try:
        model = factory()
    except BaseException as exc:  # noqa: BLE001
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise ModelError(f"factory {func_name}() raised {type(exc).__name__}: {exc}; fix the factory") from None
    if not isinstance(model, nn.Module):
        raise ModelError(f"factory {func_name}() returned {type(model).__name__}, not a torch.nn.Module; return the model")
    if weights is not None:
        if not Path(weights).is_file():
            raise ModelError(f"weights file not found: {weights}; check the --weights path")
        digest.update(Path(weights).read_bytes())
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001
            raise ModelError(
                f"cannot load --weights {weights} with weights_only=True ({type(exc).__name__}); "
                "save a plain state_dict with torch.save(model.state_dict(), path)"
            ) from None
        if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
            state = state["state_dict"]
        if not isinstance(state, dict):
            raise ModelError(f"--weights {weights} holds a {type(state).__name__}, not a state_dict; save model.state_dict()")
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            first = str(exc).splitlines()[0:2]
            raise ModelError(f"--weights do not fit the factory's model: {' '.join(first)}; check ngf/blocks or the file") from None
    return LoadedModel("factory", model.eval(), spec, digest.hexdigest(), _last_activation(model))


def _register_torchvision_ops() -> None:
    """TorchScript archives that call torchvision.ops (nms, roi_align...) only load once torchvision
    has registered those operators; without it torch reports "Unknown builtin op"."""
    try:
        import torchvision  # noqa: F401
    except Exception:  # noqa: BLE001 - optional: such models then fail to load with torch's own message
        pass


def load_model(model: str | Path, *, weights: Path | None = None, trust_pickle: bool = False) -> LoadedModel:
    """Load whatever the user passed as --model; every failure is a one-line ModelError."""
    spec = str(model)
    if not spec:
        raise UsageError("--model is empty; pass a model file or path/to/file.py:function")
    if _is_factory(spec):
        return _load_factory(spec, weights)
    path = Path(spec)
    kind = classify_file(path)
    if weights is not None:
        raise UsageError("--weights only applies to a factory (--model file.py:function); drop --weights")
    digest = sha256_file(path)
    import torch

    _register_torchvision_ops()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if kind == "pickle":
                if not trust_pickle:
                    raise ModelError(
                        f"{path} is a pickle (torch.save of a whole module), and loading a pickle runs code from it; "
                        "re-save it with torch.jit.save/torch.export.save, or pass --trust-pickle if you trust the file"
                    )
                obj = torch.load(path, map_location="cpu", weights_only=False)
                if not isinstance(obj, torch.nn.Module):
                    raise ModelError(f"{path} holds a {type(obj).__name__}, not a torch.nn.Module; a state_dict needs --model file.py:function --weights")
                return LoadedModel("pickle", obj.eval(), spec, digest, _last_activation(obj))
            if kind == "torchscript":
                return LoadedModel(kind, torch.jit.load(str(path), map_location="cpu").eval(), spec, digest)
            if kind == "exported-program":
                ep = torch.export.load(str(path))
                return LoadedModel(kind, ep.module(), spec, digest)
            from torch.jit.mobile import _load_for_lite_interpreter

            return LoadedModel("lite", _load_for_lite_interpreter(str(path)), spec, digest)
        except ModelError:
            raise
        except Exception as exc:  # noqa: BLE001 - torch raises many types for damaged files
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"cannot load {path} as {kind} ({reason[:200]}); the file may be damaged, save it again") from None

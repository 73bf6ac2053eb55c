"""Loading the user's model from any of the accepted inputs.

The kind of file is decided from its bytes, not its extension, and before anything is
unpickled: a pickle (torch.save of a whole module) runs arbitrary code when loaded, so it is
refused unless the user passes --trust-pickle.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import re
import sys
import warnings
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from generator.errors import ModelError, UsageError, first_line

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


def _sha256_of(path: Path, digest: Any = None) -> Any:
    digest = digest if digest is not None else hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest


def sha256_file(path: Path) -> str:
    return _sha256_of(path).hexdigest()


def _is_factory(spec: str) -> bool:
    path_part, sep, func = spec.rpartition(":")
    return bool(sep) and path_part.endswith(".py") and func.isidentifier()


# Torch stores archive members uncompressed; a deflated archive of float weights shrinks little.
ZIP_EXPANSION_MAX = 20
ZIP_SMALL = 64 << 20  # below this, any declared total is cheap to check


def check_zip_sizes(path: Path, zf: zipfile.ZipFile, archive_size: int) -> None:
    """Refuse from the zip directory alone a small file that declares gigabytes of content."""
    infos = zf.infolist()
    declared = sum(i.file_size for i in infos)
    if declared > max(ZIP_SMALL, ZIP_EXPANSION_MAX * archive_size):
        biggest = max(infos, key=lambda i: i.file_size)
        raise ModelError(
            f"{path} is a {archive_size}-byte zip that declares {declared} bytes of content ({biggest.filename}: "
            f"{biggest.file_size}); PyTorch does not write such files, save the model again"
        )


def classify_file(path: Path) -> str:
    """Which kind of model file this is, reading only the zip directory or the first bytes."""
    if not path.exists():
        raise ModelError(f"model file not found: {path}; check the --model path")
    if path.is_dir():
        raise ModelError(f"--model {path} is a directory; pass the model file inside it")
    if not path.is_file():
        raise ModelError(f"--model {path} is not a regular file (a device or a pipe); pass the model file")
    size = path.stat().st_size
    if size == 0:
        raise ModelError(f"model file {path} is empty; re-save the model (torch.jit.save or torch.export.save)")
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
                check_zip_sizes(path, zf, size)
                bad = zf.testzip() if size < ZIP_SMALL else None
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


# ---- no code from a model file runs -------------------------------------------------------------
# Every call in scaffold that can unpickle, eval or load native code from a file the user passes,
# and what keeps it from running code from that file unless --trust-pickle:
#  - torch.load(--model, weights_only=False), kind "pickle" (torch.save of a whole module):
#    refused without --trust-pickle (load_model).
#  - torch.load(--weights, weights_only=True): torch's weights-only unpickler, plain tensors and
#    containers only (_load_factory). The factory .py itself is code the user asked to run.
#  - torch.export.load (.pt2) unpickles pickled weights and tensor constants with
#    weights_only=False, falls back to weights_only=False for sample inputs and legacy weight
#    files, pickle.loads "opaque" constants, loads torchbind "custom" constants, sympify()s shape
#    expressions (sympy evals them), exec()s guards_code into the module's forward, and loads
#    AOTInductor shared libraries. audit_exported_program checks each of these before torch reads
#    the file: pickles must pass _check_pickle, expressions and guards a strict grammar, operator
#    targets a fixed set of namespaces; custom/opaque objects and compiled code are refused.
#  - torch.jit.load (.pt, and the "pickle" kind's fallbacks) and _load_for_lite_interpreter
#    (.ptl here and in runtimes.lite.load_lite, used by export, inspect and check): their data.pkl,
#    constants.pkl and bytecode.pkl go through TorchScript's C++ unpickler, which resolves only
#    TorchScript classes and a fixed set of torch globals and never calls Python
#    (tests/test_trust_loading.py feeds both archives whose pickles name builtins.open).
#    Extra files (scaffold.json) are read as bytes by verify.read_extra_files.
#  - Zip members are only read after check_zip_sizes, so a small file cannot expand to gigabytes.

# What a plain tensor archive (torch.save of tensors, a state_dict, or tuples/dicts of them) names.
_PICKLE_GLOBALS = frozenset(
    {"collections.OrderedDict", "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2",
     "torch._utils._rebuild_parameter"}
    | {f"torch.{t}Storage" for t in ("Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char",
                                      "Byte", "Bool", "ComplexFloat", "ComplexDouble")}
)
_STRING_OPS = frozenset({"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE",
                         "BINUNICODE8"})
_MEMO_GETS = frozenset({"GET", "BINGET", "LONG_BINGET"})
_MEMO_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"})


class UntrustedCode(ModelError):
    """Loading the file would run code from it, and the user did not pass --trust-pickle."""


def _refuse(path: Path, what: str) -> UntrustedCode:
    return UntrustedCode(
        f"{path} {what}, so loading it would run code from the file; re-save the model with "
        "torch.export.save or torch.jit.save from plain tensors, or pass --trust-pickle if you trust the file"
    )


def _pickle_globals(data: bytes, count: int = 1):
    """The module.name of every global the first `count` pickles in data would import.

    Walks opcodes only (pickletools), never unpickles. A stream pickletools cannot parse, or a
    global it cannot name for sure (STACK_GLOBAL from computed strings, the copyreg extension
    registry), is reported as "?" so that the caller refuses it.
    """
    import io
    import pickletools

    stream = io.BytesIO(data)
    for _ in range(count):
        if stream.tell() >= len(data):
            return
        recent: list[object] = []  # what the last opcodes pushed, for STACK_GLOBAL
        memo: dict[object, object] = {}
        try:
            for op, arg, _pos in pickletools.genops(stream):
                name = op.name
                if name in ("GLOBAL", "INST"):
                    module, _, attr = str(arg).partition(" ")
                    yield f"{module}.{attr}"
                elif name == "STACK_GLOBAL":
                    module, attr = (recent[-2], recent[-1]) if len(recent) >= 2 else (None, None)
                    yield f"{module}.{attr}" if isinstance(module, str) and isinstance(attr, str) else "?"
                elif name.startswith("EXT"):
                    yield "?"
                if name in _MEMO_PUTS:
                    memo[len(memo) if name == "MEMOIZE" else arg] = recent[-1] if recent else None
                    continue
                if name in ("FRAME", "PROTO"):
                    continue  # leave the stack alone
                recent.append(arg if name in _STRING_OPS else memo.get(arg) if name in _MEMO_GETS else None)
                del recent[:-2]
        except Exception:  # noqa: BLE001 - anything pickletools cannot walk is not a plain archive
            yield "?"
            return


def _check_pickle(path: Path, member: str, data: bytes, count: int = 1) -> None:
    for name in _pickle_globals(data, count):
        if name not in _PICKLE_GLOBALS:
            shown = "something it cannot name" if name == "?" else name
            raise _refuse(path, f"holds a pickle ({member}) that is not plain tensors (it names {shown})")


def _check_pickled_payload(path: Path, member: str, data: bytes) -> None:
    """A torch.save payload: a zip whose *.pkl members are pickles, or a legacy pickle stream."""
    import io

    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as inner:
                check_zip_sizes(path, inner, len(data))
                for name in inner.namelist():
                    if name.endswith(".pkl"):
                        _check_pickle(path, f"{member}:{name}", inner.read(name))
        except zipfile.BadZipFile:
            raise _refuse(path, f"holds a damaged pickled payload ({member})") from None
    else:
        # Legacy torch.save: magic number, protocol, sys info, the object, storage keys, raw data.
        _check_pickle(path, member, data, count=5)


# Shape expressions are sympy's srepr, e.g. Mul(Integer(2), Symbol('s39', positive=True, integer=True)).
_EXPR_TOKEN = re.compile(
    r"\s+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[A-Za-z][A-Za-z0-9_]*|'[^'\\]*'|\*\*|//|[-+*/%(),<>=!&|~]"
)
_SYMBOL = re.compile(r"[a-z]+\d+\Z")  # s0, u3, ...: names torch gives shape symbols
_NUMBER_TEXT = re.compile(r"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?\Z")
_EXPR_NAMES = frozenset(
    """Symbol Integer Rational Float Add Mul Pow Max Min Abs Mod Eq Ne Lt Le Gt Ge StrictLessThan
    StrictGreaterThan LessThan GreaterThan And Or Not Piecewise ExprCondPair floor ceiling sqrt oo zoo nan
    true false True False FloorDiv ModularIndexing Where PythonMod CleanDiv CeilToInt FloorToInt CeilDiv
    LShift RShift PowByNatural FloatPow FloatTrueDiv IntTrueDiv IsNonOverlappingAndDenseIndicator
    TruncToFloat TruncToInt RoundToInt RoundDecimal ToFloat Identity""".split()
)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PLAIN_TARGET = re.compile(r"(?:_operator|math)\.[a-z][a-z0-9_]*|torch\._?sym_[a-z_]+")
_TEXT_MEMBERS = frozenset({"archive_format", "archive_version", "byteorder", "version", ".data/version",
                           ".data/serialization_id"})
_GUARD_ATTRS = frozenset({"size", "stride", "storage_offset", "dim", "numel", "isnan", "inf"})
_GUARD_STRING = re.compile(r"[A-Za-z0-9_ .-]*\Z")


def _expression_ok(text: str) -> bool:
    pos = 0
    while pos < len(text):
        m = _EXPR_TOKEN.match(text, pos)
        if m is None:
            return False
        token, pos = m.group(), m.end()
        rest = text[pos:].lstrip()
        if token.startswith("'"):
            ok = bool(_SYMBOL.match(token[1:-1]) or _NUMBER_TEXT.match(token[1:-1]))
        elif token[0].isalpha():
            # A keyword argument (positive=True) names no object; any other name must be known.
            keyword = rest.startswith("=") and not rest.startswith("==")
            ok = token in _EXPR_NAMES or bool(_SYMBOL.match(token)) or (keyword and token.islower())
        else:
            ok = True
        if not ok:
            return False
    return True


def _check_expression(path: Path, text: object) -> None:
    """A shape expression torch passes to sympy.sympify, which evals it."""
    if not (isinstance(text, str) and "__" not in text and _expression_ok(text)):
        raise _refuse(path, f"holds a shape expression that is not arithmetic on shape symbols ({str(text)[:60]!r})")


def _check_guard(path: Path, text: object) -> None:
    """A guard torch compiles into the loaded module's forward: comparisons on input sizes only."""
    import ast

    allowed = (ast.Expression, ast.Compare, ast.BoolOp, ast.UnaryOp, ast.BinOp, ast.Subscript, ast.Load,
               ast.cmpop, ast.boolop, ast.unaryop, ast.operator, ast.Call, ast.Attribute, ast.Name, ast.Constant)
    try:
        tree = ast.parse(text, mode="eval") if isinstance(text, str) else None
    except (SyntaxError, ValueError, RecursionError):
        tree = None
    ok = tree is not None
    for node in ast.walk(tree) if tree is not None else ():
        ok = ok and isinstance(node, allowed) and not (
            (isinstance(node, ast.Name) and node.id not in ("L", "math", "inf"))
            or (isinstance(node, ast.Attribute) and node.attr not in _GUARD_ATTRS)
            or (isinstance(node, ast.Call) and (not isinstance(node.func, ast.Attribute) or node.keywords))
            or (isinstance(node, ast.Constant) and not (
                isinstance(node.value, (int, float, bool)) or (isinstance(node.value, str) and _GUARD_STRING.match(node.value))))
        )
    if not ok:
        raise _refuse(path, f"holds a guard that is not a check on input sizes ({str(text)[:60]!r})")


def _is_operator(target: object) -> bool:
    """torch.ops.<namespace>.<op>[.<overload>] (aten's own ops include __and__ and friends) or a sym op."""
    if not isinstance(target, str):
        return False
    parts = target.split(".")
    if parts[:2] == ["torch", "ops"] and len(parts) in (4, 5):
        plain = [p for i, p in enumerate(parts[2:]) if not (i == 1 and re.fullmatch(r"__[a-z]+__", p))]
        return all(_IDENT.match(p) and "__" not in p for p in plain)
    return bool(_PLAIN_TARGET.fullmatch(target)) and "__" not in target


def _check_program_json(path: Path, doc: object) -> None:
    """Everything in a serialized ExportedProgram that torch evaluates rather than reads."""
    if isinstance(doc, dict):
        for guard in doc.get("guards_code") or ():
            _check_guard(path, guard)
        for symbol in doc.get("range_constraints") or {}:
            _check_expression(path, symbol)
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "expr_str" in item:
                _check_expression(path, item["expr_str"])
            if "target" in item and "inputs" in item and "outputs" in item:  # a graph node
                target = item["target"]
                if not _is_operator(target):
                    raise _refuse(path, f"has a graph node calling {str(target)[:60]!r}, which is not a torch operator")
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _split_root(name: str) -> tuple[str, str]:
    """'model/data/weights/w' -> ('model/', 'data/weights/w'): torch archives sit in one folder."""
    head, sep, tail = name.partition("/")
    return (head + sep, tail) if sep else ("", name)


def audit_exported_program(path: Path) -> None:
    """Refuse a .pt2 from which torch.export.load would run code (see the list above)."""
    import json
    import posixpath

    with zipfile.ZipFile(path) as zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        docs: dict[str, object] = {}
        for info in infos:
            if info.filename.endswith(".json"):
                try:
                    docs[info.filename] = json.loads(zf.read(info))
                except ValueError:
                    pass  # legacy archives keep torch.save bytes under .json names: checked as pickles below
        raw_refs: set[str] = set()
        pickle_refs: set[str] = set()
        for name, doc in docs.items():
            root, tail = _split_root(name)
            base = posixpath.dirname(tail)
            if base in ("data/weights", "data/constants") and isinstance(doc, dict) and isinstance(doc.get("config"), dict):
                for meta in doc["config"].values():
                    payload = meta.get("path_name") if isinstance(meta, dict) else None
                    if not isinstance(payload, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", payload):
                        raise _refuse(path, f"names a payload {str(payload)[:60]!r} outside its data directory")
                    if payload.startswith(("custom_obj_", "opaque_obj_")):
                        raise _refuse(path, f"holds a pickled Python object ({base}/{payload}), not a tensor")
                    (pickle_refs if meta.get("use_pickle") else raw_refs).add(f"{root}{base}/{payload}")
            elif tail.startswith("models/"):
                _check_program_json(path, doc)
        for info in infos:
            tail = _split_root(info.filename)[1]
            if tail.startswith(("data/aotinductor/", "data/executorch/", "data/mtia", "xl_model_weights/")):
                raise _refuse(path, f"holds compiled code or runtime data ({tail}), which scaffold never loads")
            if info.filename in pickle_refs:
                pass
            elif tail.startswith(("extra/", "models/")) or tail.endswith("_config.json") or info.filename in raw_refs:
                continue  # read as text, JSON (checked above) or raw tensor bytes, never unpickled
            elif tail in _TEXT_MEMBERS:
                continue
            _check_pickled_payload(path, tail, zf.read(info))


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
    digest = _sha256_of(path)
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
            raise ModelError(f"weights file not found or not a regular file: {weights}; check the --weights path")
        _sha256_of(Path(weights), digest)
        if zipfile.is_zipfile(weights):
            with zipfile.ZipFile(weights) as zf:
                check_zip_sizes(Path(weights), zf, Path(weights).stat().st_size)
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


class _LoggedErrors(logging.Handler):
    """Keeps the first line of each exception torch logs instead of printing its traceback."""

    def __init__(self) -> None:
        super().__init__()
        self.reasons: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            self.reasons.append(first_line(exc))



@contextmanager
def _torch_logs_captured() -> Iterator[list[str]]:
    """torch.export.load logs whole tracebacks (e.g. before its legacy-format fallback) through
    logging; the user gets one line naming the first of them instead."""
    import torch.export  # noqa: F401 - creates its loggers, which torch._logging gives handlers

    handler = _LoggedErrors()
    roots = ("torch.export", "torch._export")
    names = set(roots) | {n for n in logging.root.manager.loggerDict if n.startswith(tuple(r + "." for r in roots))}
    loggers = [logging.getLogger(name) for name in sorted(names)]
    saved = [(lg.handlers, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.handlers, lg.propagate = [handler], False
    try:
        yield handler.reasons
    finally:
        for lg, (handlers, propagate) in zip(loggers, saved):
            lg.handlers, lg.propagate = handlers, propagate


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

    with warnings.catch_warnings(), _torch_logs_captured() as logged:
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
                if not trust_pickle:
                    audit_exported_program(path)
                ep = torch.export.load(str(path))
                return LoadedModel(kind, ep.module(), spec, digest)
            from torch.jit.mobile import _load_for_lite_interpreter

            return LoadedModel("lite", _load_for_lite_interpreter(str(path)), spec, digest)
        except ModelError:
            raise
        except Exception as exc:  # noqa: BLE001 - torch raises many types for damaged files
            reason = logged[0] if logged else first_line(exc)
            raise ModelError(f"cannot load {path} as {kind} ({reason}); the file may be damaged, save it again") from None

"""ExecuTorch: export to .pte assets, run the CPU asset on the host, describe a .pte.

The pipeline is upstream's own: torch.export.export -> to_edge_transform_and_lower (partitioners
plus XNNPACK's recommended transform passes) -> to_executorch. The app metadata (the same JSON as
the lite runtime's) is embedded as a constant method the apps call at start-up.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import os
import re
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from generator import versions
from generator.errors import ExportError, ModelError, UsageError, first_line
from generator.metadata import METADATA_METHOD
from generator.runtimes import Progress

NAME = "executorch"
SUFFIX = ".pte"
BACKENDS = ("xnnpack", "vulkan", "coreml")
ASSET_NAMES = {"xnnpack": "model.pte", "vulkan": "model_vulkan.pte", "coreml": "model_coreml.pte"}
# Which platform can execute each asset; the host runs only XNNPACK.
PLATFORM_OF = {"xnnpack": "both", "vulkan": "android", "coreml": "ios"}
COREML_PRECISIONS = ("fp32", "fp16")
# Names ExecuTorch gives the delegates in a program (the backend id of each lowered module).
BACKEND_IDS = {"xnnpack": "XnnpackBackend", "vulkan": "VulkanBackend", "coreml": "CoreMLBackend"}


@dataclass
class DelegateSummary:
    backend_id: str
    subgraphs: int = 0
    nodes: int = 0
    operators: dict[str, int] = field(default_factory=dict)  # operator -> node count


@dataclass
class Delegation:
    delegates: list[DelegateSummary]
    portable: dict[str, int]  # operators left to ExecuTorch's own (portable/optimized) kernels

    def lines(self) -> list[str]:
        out = []
        for d in self.delegates:
            if d.operators:
                ops = ", ".join(f"{op} x{n}" for op, n in sorted(d.operators.items()))
                out.append(f"{d.backend_id}: {d.subgraphs} subgraph(s), {d.nodes} node(s) ({ops})")
            else:  # read back from a .pte: a delegate's payload is opaque to the program
                out.append(f"{d.backend_id}: {d.subgraphs} subgraph(s)")
        rest = ", ".join(f"{op} x{n}" for op, n in sorted(self.portable.items()))
        out.append(f"portable kernels: {rest or 'none'}")
        return out


# The host wheel registers XNNPACK only; these delegates need the phone.
_NOT_HERE = {"VulkanBackend": "an Android Vulkan GPU", "CoreMLBackend": "an Apple device (Core ML)"}


def _run_note(delegation: Delegation) -> str:
    needs = [_NOT_HERE[d.backend_id] for d in delegation.delegates if d.backend_id in _NOT_HERE]
    return f"exported, not run here: needs {' and '.join(needs)}" if needs else "runs on this host"


@dataclass
class ExportedAsset:
    backend: str
    path: Path
    size: int
    seconds: float  # lowering + serialisation of this asset
    delegation: Delegation

    @property
    def runs_here(self) -> bool:
        return not any(d.backend_id in _NOT_HERE for d in self.delegation.delegates)

    def lines(self) -> list[str]:
        head = f"{self.path.name} ({self.backend}, {self.size} bytes, {self.seconds:.1f} s): {_run_note(self.delegation)}"
        return [head, *self.delegation.lines()]


@dataclass
class PteInfo:
    path: Path
    size: int
    methods: list[str]
    metadata: str | None  # the embedded metadata JSON, None when the method is absent
    delegation: Delegation  # from the serialized program: per delegate only calls are known
    executorch_version: str = ""
    # Bytes the runtime allocates for forward's activations (memory planning). Worth showing: a
    # program with symbolic input sizes is planned at their bounds (3 GiB for a 224x224 classifier).
    planned_bytes: int = 0

    @property
    def runs_here(self) -> bool:
        return not any(d.backend_id in _NOT_HERE for d in self.delegation.delegates)

    def lines(self) -> list[str]:
        head = (
            f"{self.path.name} ({self.size} bytes, {self.planned_bytes} planned for forward, methods "
            f"{', '.join(self.methods)}): {_run_note(self.delegation)}"
        )
        return [head, *self.delegation.lines()]



def _check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise UsageError(f"unknown ExecuTorch backend {backend!r}; choose from {', '.join(BACKENDS)}")
    return backend


@contextlib.contextmanager
def _quiet_torch() -> Iterator[None]:
    """torch.export logs whole graphs at WARNING on failures, the partitioners log every operator
    at INFO: the user gets our progress lines and one-line errors instead."""
    loggers = [logging.getLogger(name) for name in ("torch", "executorch", "coremltools", "")]
    old = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    # Core ML's partitioner sets its own loggers to INFO, and coremltools draws tqdm progress bars
    # (on sys.stderr, chosen when each bar starts) for every conversion pass.
    previous_disable = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")  # TorchScript and export deprecations, once per node
            yield
    finally:
        logging.disable(previous_disable)
        for logger, level in zip(loggers, old):
            logger.setLevel(level)


_CALL_SITE = re.compile(r'The following call raised this error:\s*\n\s*File "([^"]+)", line (\d+), in (\w+)\s*\n\s*(.+)')


def _capture_error(exc: BaseException) -> ModelError:
    """One line naming what torch.export could not capture, and the lite runtime as the way out."""
    text = str(exc)
    site = _CALL_SITE.search(text)
    where = f" at {Path(site.group(1)).name}:{site.group(2)} in {site.group(3)} (`{site.group(4).strip()}`)" if site else ""
    if "data-dependent" in text or "GuardOnDataDependent" in type(exc).__name__:
        what = "data-dependent control flow"
    else:
        what = first_line(exc)
    return ModelError(
        f"torch.export cannot capture the model: {what}{where}; rewrite it with torch.cond or use --runtime lite "
        "(TorchScript scripting keeps control flow)"
    )


def _symbolic_inputs(ep: Any) -> bool:
    """Whether a user input of the program has a symbolic (dynamic) dimension."""
    import torch

    users = set(ep.graph_signature.user_inputs)
    for node in ep.graph.nodes:
        value = node.meta.get("val")
        if node.op == "placeholder" and node.name in users and isinstance(value, torch.Tensor):
            if any(not isinstance(d, int) for d in value.shape):
                return True
    return False


def _static(ep: Any, args: tuple[Any, ...]) -> Any:
    """The program re-exported at the example's shapes when its inputs have symbolic sizes.

    The apps feed one fixed input size, and a dynamic program is planned from its dimensions'
    bounds: TS2EPConverter retraces with Dim.AUTO on every input dimension (range [2, inf)), and
    the Vulkan partitioner compares those sizes with its texture limits (16384), which narrows
    the ranges in the program's shared ShapeEnv. Memory planning then sizes every tensor for a
    16384x16384 input: 3 GiB for the classifier sample, 68 GB for the CycleGAN, for the Vulkan
    asset and for any later lowering of the same program in the process."""
    import torch

    if not _symbolic_inputs(ep):
        return ep
    try:
        with _quiet_torch(), torch.no_grad():
            return torch.export.export(ep.module(), args)
    except Exception as exc:  # noqa: BLE001 - torch.export raises many types
        raise _capture_error(exc) from None


def to_exported_program(model: Any, example: Any) -> Any:
    """An ExportedProgram with static shapes from an nn.Module, a TorchScript module, or an ExportedProgram."""
    import torch

    args = (example,)
    if isinstance(model, torch.export.ExportedProgram):
        return _static(model, args)
    if isinstance(model, (torch.jit.ScriptModule, torch.jit.ScriptFunction)):
        from torch._export.converter import TS2EPConverter

        try:
            with _quiet_torch(), torch.no_grad():
                converted = TS2EPConverter(model, args).convert()
        except Exception as exc:  # noqa: BLE001 - the converter raises many types
            raise ModelError(
                f"cannot convert the TorchScript model for ExecuTorch ({first_line(exc)}); "
                "save it with torch.export.save (.pt2), pass the factory form file.py:function, or use --runtime lite"
            ) from None
        return _static(converted, args)
    if not isinstance(model, torch.nn.Module):
        raise ModelError(
            f"ExecuTorch cannot export a {type(model).__name__}; pass an nn.Module (.pt2, factory form or TorchScript), "
            "not a lite .ptl"
        )
    try:
        model.eval()
    except NotImplementedError:  # the module of a loaded .pt2 refuses eval(); it is traced already
        pass
    try:
        with _quiet_torch(), torch.no_grad():
            return torch.export.export(model, args)
    except Exception as exc:  # noqa: BLE001 - torch.export raises many types
        raise _capture_error(exc) from None


def _partitioners(backend: str, coreml_precision: str) -> list[Any]:
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

    if backend == "xnnpack":
        return [XnnpackPartitioner()]
    if backend == "vulkan":
        from executorch.backends.vulkan.partitioner.vulkan_partitioner import VulkanPartitioner

        # A Vulkan delegate has no per-operator CPU fallback at run time: XNNPACK takes the rest.
        return [VulkanPartitioner(), XnnpackPartitioner()]
    import coremltools as ct
    from executorch.backends.apple.coreml.compiler import CoreMLBackend
    from executorch.backends.apple.coreml.partition import CoreMLPartitioner

    precision = ct.precision.FLOAT32 if coreml_precision == "fp32" else ct.precision.FLOAT16
    # MODEL, not COMPILED_MODEL: compiling needs macOS; the phone compiles it on first load.
    specs = CoreMLBackend.generate_compile_specs(compute_precision=precision, model_type=CoreMLBackend.MODEL_TYPE.MODEL)
    return [CoreMLPartitioner(compile_specs=specs), XnnpackPartitioner()]


def _op_name(target: Any) -> str:
    name = getattr(target, "__name__", None) or str(target)
    return name.removeprefix("aten.")


def _graph_ops(graph: Any) -> dict[str, int]:
    ops: dict[str, int] = {}
    for node in graph.nodes:
        if node.op == "call_function" and "getitem" not in str(node.target):
            name = _op_name(node.target)
            ops[name] = ops.get(name, 0) + 1
    return ops


def delegation_of(edge: Any) -> Delegation:
    """Nodes and operators each delegate took in a lowered EdgeProgramManager, and what stayed out."""
    gm = edge.exported_program().graph_module
    by_backend: dict[str, DelegateSummary] = {}
    portable: dict[str, int] = {}
    for node in gm.graph.nodes:
        if node.op != "call_function" or "getitem" in str(node.target):
            continue
        if "executorch_call_delegate" in str(node.target):
            lowered = getattr(gm, node.args[0].target)
            summary = by_backend.setdefault(lowered.backend_id, DelegateSummary(lowered.backend_id))
            summary.subgraphs += 1
            for op, n in _graph_ops(lowered.original_module.graph_module.graph).items():
                summary.operators[op] = summary.operators.get(op, 0) + n
                summary.nodes += n
        else:
            name = _op_name(node.target)
            portable[name] = portable.get(name, 0) + 1
    return Delegation(sorted(by_backend.values(), key=lambda d: d.backend_id), portable)


# A memory plan is refused above PLAN_SLACK times the bytes of every intermediate tensor of the
# program at the example size (what a plan that never reuses memory would take) and above
# PLAN_FLOOR: such a plan comes from symbolic sizes planned at their bounds, and a phone cannot
# allocate it (load_program fails, std::bad_alloc on this host).
PLAN_SLACK = 4
PLAN_FLOOR = 256 * 2**20


def activation_bytes(ep: Any) -> int:
    """Bytes of the program's inputs and computed tensors at the traced size (hints for symbolic sizes)."""
    import torch
    import torch.utils._pytree as pytree

    users = set(ep.graph_signature.user_inputs)
    total = 0
    for node in ep.graph.nodes:
        if node.op != "call_function" and not (node.op == "placeholder" and node.name in users):
            continue
        for value in pytree.tree_leaves(node.meta.get("val")):
            if isinstance(value, torch.Tensor):
                numel = 1
                for d in value.shape:  # int(SymInt) would add a guard to the program's ShapeEnv
                    numel *= d if isinstance(d, int) else (d.node.hint or 1)
                total += numel * value.element_size()
    return total


def forward_plan_bytes(program: Any) -> int:
    """Bytes an ExecutorchProgramManager's forward allocates for planned (non-constant) tensors."""
    plans = program.executorch_program.execution_plan
    return next((sum(plan.non_const_buffer_sizes) for plan in plans if plan.name == "forward"), 0)


def _check_plan(program: Any, ep: Any, backend: str) -> None:
    planned = forward_plan_bytes(program)
    activations = activation_bytes(ep)
    if planned > max(PLAN_FLOOR, PLAN_SLACK * activations):
        raise ExportError(
            f"the {backend} asset plans {planned / 2**20:,.0f} MiB for forward, {planned / max(activations, 1):,.0f}x "
            f"the model's {activations / 2**20:,.1f} MiB of tensors at the input size (a shape planned at a symbolic "
            f"bound); export the model with static shapes (no dynamic_shapes) or drop --backend {backend}"
        )


def lower(ep: Any, backend: str, metadata_json: str, *, coreml_precision: str = "fp32") -> tuple[Any, Delegation]:
    """ExecutorchProgramManager for one backend, and its delegation summary."""
    with _quiet_torch():  # importing ExecuTorch (torchao) logs torch deprecation warnings
        from executorch.backends.xnnpack.utils.configs import get_transform_passes
        from executorch.exir import EdgeCompileConfig, to_edge_transform_and_lower

    _check_backend(backend)
    if coreml_precision not in COREML_PRECISIONS:
        raise UsageError(f"unknown Core ML precision {coreml_precision!r}; choose fp32 or fp16")
    # Upstream's Core ML export script (examples/apple/coreml/scripts/export.py) skips dim order:
    # the Core ML runtime crashes on _to_dim_order_copy.
    config = EdgeCompileConfig(_check_ir_validity=False, _skip_dim_order=backend == "coreml")
    try:
        with _quiet_torch():
            edge = to_edge_transform_and_lower(
                ep,
                partitioner=_partitioners(backend, coreml_precision),
                transform_passes=get_transform_passes(),
                compile_config=config,
                constant_methods={METADATA_METHOD: metadata_json},
            )
            delegation = delegation_of(edge)
            program = edge.to_executorch()
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - lowering raises many types
        raise ExportError(f"lowering to ExecuTorch {backend} failed ({first_line(exc)}); try --backend xnnpack or --runtime lite") from None
    _check_plan(program, ep, backend)
    return program, delegation


def _write_atomic(path: Path, data: bytes) -> None:
    """Write beside the target and rename, so an interrupted export leaves no half asset."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def export(
    model: Any,
    example: Any,
    out_dir: Path,
    metadata_json: str,
    *,
    backends: Sequence[str] = ("xnnpack",),
    coreml_precision: str = "fp32",
    progress: Progress | None = None,
) -> list[ExportedAsset]:
    """Write one .pte per backend into out_dir (XNNPACK always first: every app carries it)."""
    say = progress or (lambda _msg: None)
    # XNNPACK first (every app carries it), then Core ML, then Vulkan: the order report.md and
    # scaffold.toml list the assets in. (Vulkan last once avoided its lowering breaking later ones;
    # _static removed that cause.)
    others = [_check_backend(b) for b in dict.fromkeys(backends) if b != "xnnpack"]
    wanted = ["xnnpack", *sorted(others, key=lambda b: b == "vulkan")]
    import torch

    scripted = isinstance(model, (torch.jit.ScriptModule, torch.jit.ScriptFunction))
    say("converting TorchScript with TS2EPConverter" if scripted else "capturing the model with torch.export")
    ep = to_exported_program(model, example)
    assets: list[ExportedAsset] = []
    written: list[Path] = []
    try:
        for backend in wanted:
            say(f"lowering to ExecuTorch {backend}")
            start = time.perf_counter()
            program, delegation = lower(ep, backend, metadata_json, coreml_precision=coreml_precision)
            path = Path(out_dir) / ASSET_NAMES[backend]
            _write_atomic(path, program.buffer)
            written.append(path)
            seconds = time.perf_counter() - start
            assets.append(ExportedAsset(backend, path, path.stat().st_size, seconds, delegation))
    except BaseException:
        for path in written:  # nothing is left behind on failure
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        raise
    return assets


def _load_program(path: Path) -> Any:
    with _quiet_torch():
        from executorch.runtime import Runtime

    try:
        return Runtime.get().load_program(Path(path))
    except Exception as exc:  # noqa: BLE001
        raise ModelError(f"cannot load {path} as an ExecuTorch program ({first_line(exc)}); export it again") from None


def verify(asset: Path, example: Any) -> Any:
    """Run the asset's forward on the host runtime; the first output as a float tensor."""
    from generator.verify import first_tensor

    return first_tensor(run(asset, example), f"the exported {Path(asset).name}")


def read_metadata(path: Path) -> str | None:
    """The metadata JSON embedded in a .pte, as the apps read it; None if the method is absent."""
    program = _load_program(path)
    if METADATA_METHOD not in set(program.method_names):
        return None
    return program.load_method(METADATA_METHOD).execute([])[0]


def _serialized_delegation(data: bytes) -> tuple[list[str], Delegation, int]:
    """Methods, delegate calls and non-delegated operators, read from the flatbuffer itself."""
    from executorch.exir._serialize._program import deserialize_pte_binary
    from executorch.exir.schema import DelegateCall, KernelCall

    program = deserialize_pte_binary(data)
    program = getattr(program, "program", program)  # newer versions wrap it in a PTEFile
    methods: list[str] = []
    delegates: dict[str, DelegateSummary] = {}
    portable: dict[str, int] = {}
    planned = 0
    for plan in program.execution_plan:
        methods.append(plan.name)
        if plan.name == "forward":
            planned = sum(plan.non_const_buffer_sizes)
        for chain in plan.chains:
            for instruction in chain.instructions:
                arg = instruction.instr_args
                if isinstance(arg, DelegateCall):
                    backend_id = plan.delegates[arg.delegate_index].id
                    delegates.setdefault(backend_id, DelegateSummary(backend_id)).subgraphs += 1
                elif isinstance(arg, KernelCall):
                    op = plan.operators[arg.op_index]
                    name = op.name.removeprefix("aten::") + (f".{op.overload}" if op.overload else "")
                    portable[name] = portable.get(name, 0) + 1
    return methods, Delegation(sorted(delegates.values(), key=lambda d: d.backend_id), portable), planned


def inspect(path: Path) -> PteInfo:
    """Size, methods, embedded metadata and delegates of a .pte, without executing delegates."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read {path} ({exc.strerror}); check the path") from None
    if data[4:6] != b"ET":  # flatbuffer file identifier ET<schema version>
        raise ModelError(f"{path} is not an ExecuTorch program (.pte); pass a file written by scaffold export")
    try:
        methods, delegation, planned = _serialized_delegation(data)
    except Exception as exc:  # noqa: BLE001
        raise ModelError(f"cannot parse {path} as an ExecuTorch program ({first_line(exc)}); export it again") from None
    metadata = read_metadata(path) if METADATA_METHOD in methods else None
    return PteInfo(path, len(data), methods, metadata, delegation, versions.EXECUTORCH_PIP, planned)


# Manifest artifact kind of each asset besides the CPU one (templates/manifest.toml).
ARTIFACT_KINDS = {"vulkan": "vulkan_model", "coreml": "coreml_model"}


@dataclass
class AppExport:
    """All assets of one export; path/size/operators describe the CPU (XNNPACK) asset the host runs."""

    assets: list[ExportedAsset]
    method: str
    coreml_precision: str = "fp32"
    warnings: list[str] = field(default_factory=list)

    @property
    def cpu(self) -> ExportedAsset:
        return self.assets[0]

    @property
    def path(self) -> Path:
        return self.cpu.path

    @property
    def size(self) -> int:
        return self.cpu.size

    @property
    def operators(self) -> list[str]:
        return sorted(self.cpu.delegation.portable)


def export_app(loaded: Any, example: Any, out_dir: Path, metadata_json: str, *, options: Any,
               progress: Progress | None = None) -> AppExport:
    """export() for the pipeline: the loaded model, the user's backends, what the report needs."""
    import torch

    if loaded.is_lite:
        raise ModelError(f"{loaded.source} is a lite-interpreter asset, which ExecuTorch cannot read; pass the source model "
                         "(.pt, .pt2 or file.py:function) or use --runtime lite")
    model = loaded.module
    method = ("TS2EPConverter" if isinstance(model, (torch.jit.ScriptModule, torch.jit.ScriptFunction)) else "torch.export")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    assets = export(model, example, Path(out_dir), metadata_json, backends=options.backends or ("xnnpack",),
                    coreml_precision=options.coreml_precision, progress=progress)
    return AppExport(assets, method, options.coreml_precision)


def run(asset: Path, example: Any) -> Any:
    """The forward outputs of the asset in the host runtime: a flat list of tensors (torch.export
    flattens tuples and dicts, in pytree order)."""
    program = _load_program(asset)
    try:
        method = program.load_method("forward")
        # Non-contiguous inputs give wrong results on the host runtime (pytorch/executorch#18562).
        return list(method.execute([example.contiguous()]))
    except Exception as exc:  # noqa: BLE001
        raise ExportError(
            f"the ExecuTorch host runtime cannot run {Path(asset).name} ({first_line(exc)}); "
            "only XNNPACK assets run on this host"
        ) from None


def _report_rows(result: AppExport) -> list[tuple[str, str]]:
    rows = [("export", f"{result.method} -> to_edge_transform_and_lower -> to_executorch"
                       + (f" (Core ML compute precision {result.coreml_precision})"
                          if any(a.backend == "coreml" for a in result.assets) else ""))]
    for asset in result.assets:
        verified = ("run here against the source model (see max abs error)" if asset.runs_here else
                    f"exported but NOT run here: this host has no {asset.backend} backend; it runs only on "
                    f"{'Android (Vulkan GPU)' if asset.backend == 'vulkan' else 'iOS (Core ML)'}")
        rows.append((f"asset {asset.path.name}", f"{asset.backend}, {asset.size} bytes, lowered in {asset.seconds:.1f} s; {verified}"))
        rows.append((f"delegation {asset.path.name}", "; ".join(asset.delegation.lines())))
    return rows


def _record(result: AppExport) -> dict[str, Any]:
    import hashlib

    return {
        "runtime": NAME,
        "export_method": result.method,
        "operators": len(result.operators),
        "asset_bytes": result.size,
        "executorch_pip": versions.EXECUTORCH_PIP,
        "assets": {a.backend: {"file": a.path.name, "bytes": a.size,
                               "sha256": hashlib.sha256(a.path.read_bytes()).hexdigest()} for a in result.assets},
    }


def _summary(result: AppExport) -> str:
    others = [f"{a.path.name} ({a.backend}, exported, not run here)" for a in result.assets[1:]]
    return f"ExecuTorch {result.cpu.path.name} (xnnpack, verified on this host)" + "".join(f", {o}" for o in others)


class _ExecuTorchRuntime:
    name = NAME
    suffix = SUFFIX
    backends = BACKENDS
    uses_qengine = False
    flattens_outputs = True

    def asset_name(self, backend: str) -> str:
        return ASSET_NAMES[_check_backend(backend)]

    export = staticmethod(export)
    export_app = staticmethod(export_app)
    run = staticmethod(run)
    verify = staticmethod(verify)
    inspect = staticmethod(inspect)
    report_rows = staticmethod(_report_rows)
    record = staticmethod(_record)
    summary = staticmethod(_summary)

    def extra_assets(self, result: AppExport) -> dict[str, Path]:
        return {ARTIFACT_KINDS[a.backend]: a.path for a in result.assets[1:]}

    def side_files(self, result: AppExport) -> dict[str, str]:
        return {}

    def notes(self, result: AppExport) -> list[str]:
        return list(result.warnings)

    def runtime_versions(self) -> str:
        return (f"exported with pip executorch {versions.EXECUTORCH_PIP}; apps use ExecuTorch {versions.EXECUTORCH} "
                f"({versions.EXECUTORCH_MAVEN_GROUP}:{versions.EXECUTORCH_ANDROID_ARTIFACT}, SwiftPM {versions.EXECUTORCH_SWIFTPM_BRANCH})")


RUNTIME = _ExecuTorchRuntime()

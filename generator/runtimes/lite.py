"""The PyTorch Mobile lite interpreter (runtime "lite"): export to .ptl, run it, describe it.

eval -> no_grad -> trace (or script) -> freeze -> mobile passes this torch build supports ->
_save_for_lite_interpreter with the metadata as an extra file -> bytecode version capped at what
pytorch_android_lite 2.1.0 and LibTorch-Lite 1.13 load. Same interface as runtimes/executorch.py.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from generator import versions
from generator.errors import ExportError, ModelError, UsageError, first_line
from generator.loading import LoadedModel, check_zip_sizes
from generator.metadata import METADATA_KEY
from generator.runtimes import Progress
from generator.verify import call_module, compare_outputs, error_reason, first_tensor, torchvision_ops_notes

NAME = "lite"
SUFFIX = ".ptl"
ASSET_NAME = "model.ptl"


@dataclass
class AssetInfo:
    path: Path
    size: int
    bytecode_version: int
    operators: list[str]
    metadata_raw: str | None
    extra_files: list[str] = field(default_factory=list)
    metadata_error: str | None = None  # why metadata_raw is None although the asset has scaffold.json


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

    from generator.loading import _register_torchvision_ops

    _register_torchvision_ops()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return _load_for_lite_interpreter(str(path))
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"the lite interpreter cannot load {path} ({first_line(exc)}); export it again") from None


def inspect_asset(path: Path) -> AssetInfo:
    from torch.jit.mobile import _export_operator_list, _get_model_bytecode_version

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"asset not found: {path}; pass a .ptl file")
    try:
        with zipfile.ZipFile(path) as zf:
            check_zip_sizes(path, zf, path.stat().st_size)
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
    text, error = None, None
    try:
        text = raw.decode("utf-8") if raw is not None else None
    except UnicodeDecodeError:
        error = f"the embedded {METADATA_KEY} in {path} is not UTF-8 text; regenerate the asset with scaffold export"
    return AssetInfo(
        path=path,
        size=path.stat().st_size,
        bytecode_version=version,
        operators=ops,
        metadata_raw=text,
        extra_files=sorted(extras),
        metadata_error=error,
    )


def check_bytecode_version(version: int, path: Path) -> None:
    if version > versions.LITE_BYTECODE_MAX:
        raise ExportError(
            f"{path} has bytecode version {version}, the app runtimes load at most {versions.LITE_BYTECODE_MAX} "
            "(\"Lite Interpreter version number does not match\"); re-export with scaffold export"
        )


@dataclass
class ExportResult:
    path: Path
    method: str  # trace, script, torchscript, lite-input
    bytecode_version: int
    bytecode_written: int  # what the host torch wrote before any backport
    operators: list[str]
    passes_run: list[str] = field(default_factory=list)
    passes_skipped: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    size: int = 0


def _reason(exc: BaseException) -> str:
    return error_reason(exc, limit=200)


def _to_torchscript(loaded: LoadedModel, example: Any, script: bool, notes: list[str]) -> tuple[Any, str]:
    import torch

    if loaded.kind == "torchscript":
        return loaded.module, "torchscript"
    module = loaded.module
    if script:
        try:
            return torch.jit.script(module), "script"
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"torch.jit.script failed ({_reason(exc)}); drop --script to trace instead") from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # strict=False lets the trace return a dict (DeepLabV3's {'out', 'aux'}) or a list.
            traced = torch.jit.trace(module, example.clone(), check_trace=False, strict=False)
        except Exception as exc:  # noqa: BLE001
            trace_error = _reason(exc)
            traced = None
    tracer_warnings = [str(w.message).splitlines()[0] for w in caught if w.category.__name__ == "TracerWarning"]
    if traced is not None and not tracer_warnings:
        return traced, "trace"
    # Tracing records one path through Python control flow; scripting keeps the branches.
    why = f"tracing warned: {tracer_warnings[0][:160]}" if traced is not None else f"tracing failed: {trace_error}"
    try:
        scripted = torch.jit.script(module)
    except Exception as exc:  # noqa: BLE001
        if traced is None:
            raise ModelError(f"cannot trace the model ({trace_error}) nor script it ({_reason(exc)}); make forward traceable") from None
        notes.append(f"{why}; scripting failed too ({_reason(exc)}), kept the trace")
        return traced, "trace"
    notes.append(f"{why}; scripted instead")
    return scripted, "script"


def _mobile_passes(frozen: Any, run: list[str], skipped: dict[str, str]) -> Any:
    """optimize_for_mobile needs XNNPACK prepack ops; many host wheels lack them, so detect."""
    try:
        import torch.backends.xnnpack as xnnpack

        has_xnnpack = bool(xnnpack.enabled)
    except Exception:  # noqa: BLE001
        has_xnnpack = False
    if not has_xnnpack:
        skipped["optimize_for_mobile"] = "this torch build has no XNNPACK (torch.backends.xnnpack.enabled is False)"
        return frozen
    from torch.utils.mobile_optimizer import optimize_for_mobile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            optimized = optimize_for_mobile(frozen)
        except Exception as exc:  # noqa: BLE001
            skipped["optimize_for_mobile"] = f"raised {_reason(exc)}"
            return frozen
    run.append("optimize_for_mobile")
    return optimized


def _keep_smaller(scripted: Any, frozen_asset: Path, extra: dict[str, bytes], run: list[str],
                  skipped: dict[str, str], notes: list[str]) -> None:
    """Freezing can make an asset bigger (quantized models: packed weights get stored twice); a pass
    that grows the asset is not worth it on a phone, so save without the passes too and keep the smaller."""
    plain = frozen_asset.parent / "plain" / frozen_asset.name  # same name: the archive's root folder follows it
    plain.parent.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            scripted._save_for_lite_interpreter(str(plain), _extra_files=extra)
        except Exception:  # noqa: BLE001 - the frozen save worked; keep it
            return
    frozen_size, plain_size = frozen_asset.stat().st_size, plain.stat().st_size
    if plain_size < frozen_size:
        shutil.move(str(plain), str(frozen_asset))
        dropped = [p for p in run if p.startswith(("freeze", "optimize_for_mobile"))]
        for p in dropped:
            run.remove(p)
        why = f"made the asset bigger ({frozen_size} bytes against {plain_size} without it); kept the save without it"
        for p in dropped:
            skipped[p.split(" ")[0]] = why
        notes.append(f"{' and '.join(p.split(' ')[0] for p in dropped)} {why}")
    else:
        shutil.rmtree(plain.parent)


def _add_extra_file(asset: Path, key: str, data: bytes) -> None:
    """Append an extra file to an existing lite archive (used for .ptl inputs)."""
    with zipfile.ZipFile(asset) as zf:
        root = zf.namelist()[0].split("/", 1)[0]
        if f"{root}/extra/{key}" in zf.namelist():
            raise ExportError(f"{asset} already carries {key}; pass the original model instead of a scaffold asset")
    info = zipfile.ZipInfo(f"{root}/extra/{key}", date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    with zipfile.ZipFile(asset, "a") as zf:
        zf.writestr(info, data)


def export(loaded: LoadedModel, example: Any, out_dir: Path, metadata_json: str, *, script: bool = False) -> ExportResult:
    """Write out_dir/model.ptl and return what happened; the caller verifies it against the source."""
    import torch

    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / ASSET_NAME
    extra = {METADATA_KEY: metadata_json.encode("utf-8")}
    run: list[str] = []
    skipped: dict[str, str] = {}
    notes: list[str] = []
    # The archive's root folder is named after the file, so always save under the final name
    # (in a scratch dir): that keeps the bytes independent of where the user generates.
    with tempfile.TemporaryDirectory(prefix="scaffold-export-") as tmp:
        scratch = Path(tmp) / ASSET_NAME
        if loaded.is_lite:
            method = "lite-input"
            src = Path(loaded.source)
            shutil.copyfile(src, scratch)
            _add_extra_file(scratch, METADATA_KEY, extra[METADATA_KEY])
            skipped["freeze"] = "the input is already a lite asset"
            skipped["optimize_for_mobile"] = "the input is already a lite asset"
        else:
            with torch.no_grad():
                scripted, method = _to_torchscript(loaded, example, script, notes)
                run.append(f"eval+no_grad, {method}")
                scripted = scripted.eval()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        frozen = torch.jit.freeze(scripted)
                        run.append("freeze (folds conv+batchnorm, inlines calls, drops dropout)")
                    except Exception as exc:  # noqa: BLE001
                        skipped["freeze"] = f"raised {_reason(exc)}"
                        frozen = scripted
                frozen = _mobile_passes(frozen, run, skipped)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        frozen._save_for_lite_interpreter(str(scratch), _extra_files=extra)
                    except Exception as exc:  # noqa: BLE001
                        raise ExportError(f"saving for the lite interpreter failed ({_reason(exc)}); try --script") from None
                if frozen is not scripted:
                    _keep_smaller(scripted, scratch, extra, run, skipped, notes)
        info = inspect_asset(scratch)
        written = info.bytecode_version
        if written > versions.LITE_BYTECODE_MAX:
            lowered = Path(tmp) / "lowered" / ASSET_NAME
            lowered.parent.mkdir()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ok = torch.jit.mobile._backport_for_mobile(str(scratch), str(lowered), versions.LITE_BYTECODE_MAX)
            if not ok:
                raise ExportError(
                    f"the host torch wrote bytecode {written} and backporting to {versions.LITE_BYTECODE_MAX} failed; "
                    "export with an older torch"
                )
            shutil.move(str(lowered), str(scratch))
            run.append(f"backport bytecode {written} -> {versions.LITE_BYTECODE_MAX}")
            info = inspect_asset(scratch)
        check_bytecode_version(info.bytecode_version, scratch)
        shutil.move(str(scratch), str(target))
    return ExportResult(
        path=target,
        method=method,
        bytecode_version=info.bytecode_version,
        bytecode_written=written,
        operators=info.operators,
        passes_run=run,
        passes_skipped=skipped,
        warnings=notes,
        size=target.stat().st_size,
    )


# Google Play's limits count the compressed download (Play Console Help, "Optimize your app's size
# and stay within Google Play app size limits"): 500 MB for the base module, 1.5 GB for each asset
# pack (Play Asset Delivery), 4 GB for all install-time modules and packs together. Model weights
# barely compress, the runtime's native libraries and the app need room too (PLAY_APP_ROOM_BYTES).
PLAY_BASE_MODULE_BYTES = 500 * 10**6
PLAY_APP_ROOM_BYTES = 60 * 10**6
# Above this the model dominates what users download and store (it is stored uncompressed in the
# APK and the iOS bundle, one copy per platform): worth a word even below Play's limit.
LARGE_ASSET_BYTES = 150 * 10**6


def size_notes(size: int) -> list[str]:
    """A warning when the model no longer fits the Play base module, a note when it is large."""
    mb = f"{size / 10**6:.0f} MB"
    if size > PLAY_BASE_MODULE_BYTES - PLAY_APP_ROOM_BYTES:
        return [f"warning: the model is {mb}: with the runtime, the app exceeds Google Play's "
                f"{PLAY_BASE_MODULE_BYTES // 10**6} MB base-module download limit; deliver the model in a Play Asset "
                "Delivery pack (install-time or fast-follow, up to 1.5 GB each) and copy it out of the pack's assets "
                "at first start, or download it from your server; quantizing it also helps"]
    if size > LARGE_ASSET_BYTES:
        return [f"the model is {mb} and is stored uncompressed in each app: users download and keep all of it; "
                "consider quantization, or a Play Asset Delivery pack on Android"]
    return []


def operators_yaml(operators: list[str]) -> str:
    """The operator list in the YAML form PyTorch's selective (custom) build reads."""
    lines = ["# Root operators of the model, for a custom PyTorch Mobile build", "# (SELECTED_OP_LIST=model_ops.yaml)."]
    lines += [f"- {op}" for op in sorted(operators)]
    return "\n".join(lines) + "\n"


def run(asset: Path, example: Any) -> Any:
    """The raw output of the asset in the host lite interpreter (the same one the apps embed)."""
    return call_module(load_lite(asset), example, "the exported lite model")


def verify(asset: Path, example: Any) -> Any:
    return first_tensor(run(asset, example), "the exported lite model")


def compare_with_source(asset: Path, reference: Any, example: Any, tolerance: float, rtol: float = 0.0, *,
                        key: str | None = None, index: int | None = None) -> tuple[float, Any]:
    """Run the saved asset with the lite interpreter; fail above tolerance + rtol*|reference|."""
    actual = first_tensor(run(asset, example), "the exported lite model", key=key, index=index)
    return compare_outputs(reference, actual, tolerance, rtol), actual


class _LiteRuntime:
    name = NAME
    suffix = SUFFIX
    backends = ()
    uses_qengine = True  # the phones run PyTorch's own quantized engines (generator/qengine.py)
    flattens_outputs = False  # the lite interpreter keeps dicts and tuples: key/index as the user chose

    def asset_name(self, backend: str) -> str:
        raise UsageError(f"--backend {backend} needs --runtime executorch; the lite interpreter has one CPU asset")

    def export_app(self, loaded: LoadedModel, example: Any, out_dir: Path, metadata_json: str, *, options: Any,
                   progress: Progress) -> ExportResult:
        progress("exporting for the lite interpreter")
        return export(loaded, example, out_dir, metadata_json, script=options.script)

    run = staticmethod(run)
    verify = staticmethod(verify)
    inspect = staticmethod(inspect_asset)

    def extra_assets(self, result: ExportResult) -> dict[str, Path]:
        return {}

    def side_files(self, result: ExportResult) -> dict[str, str]:
        return {"model_ops.yaml": operators_yaml(result.operators)}

    def report_rows(self, result: ExportResult) -> list[tuple[str, str]]:
        return [
            ("export", result.method),
            ("passes run", "; ".join(result.passes_run) or "none"),
            ("passes skipped", "; ".join(f"{k}: {v}" for k, v in result.passes_skipped.items()) or "none"),
            ("bytecode version", f"{result.bytecode_version} (host wrote {result.bytecode_written}; "
                                 f"runtimes load <= {versions.LITE_BYTECODE_MAX})"),
            ("operators", f"{len(result.operators)}: " + ", ".join(result.operators)),
        ]

    def record(self, result: ExportResult) -> dict[str, Any]:
        return {"runtime": NAME, "export_method": result.method, "bytecode_version": result.bytecode_version,
                "operators": len(result.operators), "asset_bytes": result.size}

    def summary(self, result: ExportResult) -> str:
        return f"bytecode v{result.bytecode_version}, {len(result.operators)} operators"

    def notes(self, result: ExportResult) -> list[str]:
        notes = []
        if "optimize_for_mobile" in result.passes_skipped:
            notes.append(f"optimize_for_mobile skipped: {result.passes_skipped['optimize_for_mobile']}")
        return notes + torchvision_ops_notes(result.operators) + size_notes(result.size) + list(result.warnings)

    def runtime_versions(self) -> str:
        return f"pytorch_android_lite {versions.PYTORCH_ANDROID_LITE}; LibTorch-Lite {versions.LIBTORCH_LITE_POD}"


# Google Play refuses new apps and updates targeting Android 15+ whose native libraries are not
# 16 KB page-aligned; pytorch_android_lite 2.1.0's are not, and it gets no more releases.
PLAY_16KB_NOTE = ("Google Play refuses apps targeting Android 15+ built with pytorch_android_lite (its native libraries "
                  "are not 16 KB page-aligned); --runtime executorch fixes that")

RUNTIME = _LiteRuntime()

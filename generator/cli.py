"""The `scaffold` command: parse options, call one library function, map errors to exit codes."""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
import traceback
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from generator import __version__
from generator.errors import CheckFailedError, CommandFailedError, ScaffoldError, squashed
from generator.verify import DEFAULT_RTOL

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Turn a trained PyTorch model into Android and iOS app projects.")
out = Console()
err = Console(stderr=True)

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="TorchScript (.pt), ExportedProgram (.pt2), lite (.ptl) or file.py:function")]
WeightsOpt = Annotated[Optional[Path], typer.Option(help="state_dict for a file.py:function factory (loaded with weights_only=True)")]
TaskOpt = Annotated[Optional[str], typer.Option(help=(
    "what the model is fed and what the app shows (default: from the output shape; detection only when given): image-to-image (an RGB picture "
    "in, a picture out), classification (a picture in, top-5 labels out), segmentation (a picture in, a mask over it), "
    "detection (a picture in, labelled boxes over it), "
    "tensor (a picture in, or with --input-shape/--input-dtype a float32 or int64 tensor: the apps feed the seeded "
    "sample_input.bin; a summary of the output tensor out)"))]
InShapeOpt = Annotated[Optional[str], typer.Option("--input-shape", help="--task tensor: the input tensor's shape, e.g. 1x16x40 (audio features), 1x3x8x112x112 (video), 1x32 (tokens); the sample is seeded")]
InDtypeOpt = Annotated[Optional[str], typer.Option("--input-dtype", help="--task tensor: float32 (values 0..1) or int64 (token ids 0..9)")]
SizeOpt = Annotated[Optional[str], typer.Option("--input-size", help="WIDTHxHEIGHT (default: per task, 256 for image-to-image, 224 otherwise)")]
MeanOpt = Annotated[Optional[str], typer.Option(help="R,G,B mean subtracted after scaling pixels to 0..1")]
StdOpt = Annotated[Optional[str], typer.Option(help="R,G,B standard deviation")]
LabelsOpt = Annotated[Optional[Path], typer.Option(help="text file, one class label per line")]
RangeOpt = Annotated[Optional[str], typer.Option("--output-range", help="LOW,HIGH of an image output (default: from the last layer or the values)")]
SampleOpt = Annotated[Optional[Path], typer.Option("--sample-image", help="picture used for the goldens and the app's Sample button")]
PickleOpt = Annotated[bool, typer.Option("--trust-pickle", help="allow pickles and .pt2 parts that run code when loaded (only for files you trust)")]
ScriptOpt = Annotated[bool, typer.Option("--script", help="torch.jit.script instead of tracing")]
TolOpt = Annotated[float, typer.Option(help="absolute error allowed between the export and the source model")]
RtolOpt = Annotated[float, typer.Option("--rtol", help="relative error allowed on top: |a-b| <= tolerance + rtol*|b|, as numpy.allclose")]
OutKeyOpt = Annotated[Optional[str], typer.Option("--output-key", help="for a model returning a dict: the entry the app uses (default 'out')")]
OutIndexOpt = Annotated[Optional[int], typer.Option("--output-index", help="for a model returning a tuple/list: the item the app uses (default 0)")]
ScoreThrOpt = Annotated[Optional[float], typer.Option("--score-threshold", help="detection: keep boxes scoring at least this, 0..1 (default 0.25)")]
IouThrOpt = Annotated[Optional[float], typer.Option("--iou-threshold", help="detection: NMS drops boxes overlapping a better one by more than this IoU, 0..1 (default 0.45)")]
BoxUnitsOpt = Annotated[Optional[str], typer.Option("--box-units", help="detection: box coordinates in input 'pixels' (default) or 'normalized' 0..1")]
ScoresOpt = Annotated[Optional[str], typer.Option("--scores", help="detection (YOLO layout): 'probabilities' (default) or 'logits' (the apps apply a sigmoid)")]
ForceOpt = Annotated[bool, typer.Option("--force", help="replace a non-empty output directory")]
QuantOpt = Annotated[Optional[str], typer.Option("--quantize", help=(
    "int8: post-training static quantization (lite: qnnpack; executorch: PT2E for XNNPACK, the CPU asset only, not "
    "with --backend vulkan/coreml), about 4x smaller; the cost is measured against the float model and printed"))]
CalibOpt = Annotated[Optional[Path], typer.Option("--calibration", help=(
    "--quantize: folder of at least 8 pictures like the app's (any size, resized as the app does; a quarter held out "
    "to measure when there are 16+); default: the sample picture and seeded variants of it"))]
MinAgreeOpt = Annotated[Optional[float], typer.Option("--min-agreement", help=(
    "--quantize: stop when the int8 model agrees less than this with the float one (0..1; default per task: top-1 0.9, "
    "segmentation pixels 0.9, detection boxes 0.8, image values within one level 0.5, tensor values within 1% 0.9)"))]
AllowFloatOpt = Annotated[bool, typer.Option("--allow-float", help=(
    "--quantize: a model with no quantizable layers gives a note and a float export instead of an error"))]
RuntimeOpt = Annotated[str, typer.Option("--runtime", help=(
    "lite (PyTorch Mobile lite interpreter, model.ptl; unmaintained, not accepted by Google Play for Android 15+ targets) "
    "or executorch (model.pte: maintained, 16 KB aligned, GPU/NPU delegates)"))]
BackendOpt = Annotated[Optional[list[str]], typer.Option("--backend", help=(
    "executorch: xnnpack (CPU, always), vulkan (Android GPU), coreml (iOS Neural Engine/GPU); repeat or comma-separate"))]
CoremlPrecisionOpt = Annotated[str, typer.Option("--coreml-precision", help="executorch coreml asset: fp32 (default, fidelity) or fp16")]


BUG_EXIT = 70  # EX_SOFTWARE (sysexits.h): a bug in scaffold, not in the user's input
_debug = os.environ.get("SCAFFOLD_DEBUG", "") not in ("", "0")


@app.callback()
def _options(debug: Annotated[bool, typer.Option("--debug", help="print the full traceback of an unexpected error")] = False) -> None:
    global _debug
    _debug = _debug or debug


def _bug_report(exc: BaseException) -> Path:
    """Write the traceback where the user can attach it to a bug report; return the file."""
    text = f"scaffold {__version__}\nargv: {sys.argv!r}\n\n" + "".join(traceback.format_exception(exc))
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "scaffold" / "bug-reports"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), suffix=".txt", dir=cache)
    except OSError:
        fd, name = tempfile.mkstemp(prefix="scaffold-bug-", suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return Path(name)


@contextmanager
def _errors() -> Iterator[None]:
    """User errors: one line, no traceback, the class's exit code; anything else is a bug."""
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="torch")
    try:
        yield
    except ScaffoldError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt as exc:
        # SIGTERM/SIGHUP arrive as generator.output.Interrupted, carrying their number.
        err.print("interrupted; nothing was written to the output directory")
        raise typer.Exit(128 + getattr(exc, "signo", signal.SIGINT)) from None
    except Exception as exc:  # noqa: BLE001 - the last resort: one line and a report, not a traceback
        if _debug:
            traceback.print_exc()
        try:
            where = f"please report it with the details saved in {_bug_report(exc)}"
        except OSError as report_exc:
            where = f"the details could not be saved ({report_exc.strerror}): rerun with --debug and report the traceback"
        summary = squashed(exc)
        err.print(f"[bold red]error:[/] {escape(f'unexpected {type(exc).__name__}: {summary}; this is a bug in scaffold: {where}')}",
                  highlight=False, soft_wrap=True)
        raise typer.Exit(BUG_EXIT) from None


@contextmanager
def _progress() -> Iterator:
    with err.status("starting", spinner="dots") as status:
        def step(text: str) -> None:
            status.update(text)
            err.print(f"[dim]- {text}[/]", highlight=False)
        yield step


# The model options `new` and `export` share, passed to the library under the same names.
_MODEL_ARGUMENTS = ("model", "weights", "task", "input_size", "mean", "std", "labels", "output_range", "sample_image",
                    "trust_pickle", "script", "tolerance", "rtol", "output_key", "output_index", "input_shape",
                    "input_dtype", "force", "score_threshold", "iou_threshold", "box_units", "scores", "calibration",
                    "min_agreement", "allow_float", "runtime", "coreml_precision")


def _model_arguments(given: dict) -> dict:
    return {**{name: given[name] for name in _MODEL_ARGUMENTS},
            "quantize_scheme": given["quantize"], "backends": tuple(given["backend"] or ())}


@app.command()
def new(
    name: Annotated[str, typer.Argument(help="project name, e.g. zebraify")],
    model: ModelOpt,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="output directory (default ./NAME)")] = None,
    package: Annotated[Optional[str], typer.Option(help="Java package (default com.example.NAME)")] = None,
    bundle_id: Annotated[Optional[str], typer.Option("--bundle-id", help="iOS bundle identifier (default from --package)")] = None,
    platforms: Annotated[str, typer.Option(help="android, ios or android,ios")] = "android,ios",
    android_api: Annotated[str, typer.Option("--android-api", help="java (pytorch_android_lite Java API) or native (C++ core over JNI)")] = "java",
    use_vulkan: Annotated[bool, typer.Option("--use-vulkan", help="default of scaffold.useVulkan (needs a custom AAR)")] = False,
    keep_export_asset: Annotated[bool, typer.Option("--keep-export-asset", help="also keep export/model.ptl (each platform has its own copy)")] = False,
    weights: WeightsOpt = None, task: TaskOpt = None, input_size: SizeOpt = None, mean: MeanOpt = None,
    std: StdOpt = None, labels: LabelsOpt = None, output_range: RangeOpt = None, sample_image: SampleOpt = None,
    trust_pickle: PickleOpt = False, script: ScriptOpt = False, tolerance: TolOpt = 1e-4, rtol: RtolOpt = DEFAULT_RTOL,
    output_key: OutKeyOpt = None, output_index: OutIndexOpt = None, input_shape: InShapeOpt = None,
    input_dtype: InDtypeOpt = None, force: ForceOpt = False,
    score_threshold: ScoreThrOpt = None, iou_threshold: IouThrOpt = None, box_units: BoxUnitsOpt = None,
    scores: ScoresOpt = None, quantize: QuantOpt = None, calibration: CalibOpt = None,
    min_agreement: MinAgreeOpt = None, allow_float: AllowFloatOpt = False, runtime: RuntimeOpt = "lite",
    backend: BackendOpt = None, coreml_precision: CoremlPrecisionOpt = "fp32",
) -> None:
    """Export the model and render the app projects into DIR/android and DIR/ios."""
    given = dict(locals())
    from generator.project import new_project

    with _errors(), _progress() as step:
        result = new_project(
            name=name, output=output, package=package, bundle_id=bundle_id,
            platforms=tuple(p.strip() for p in platforms.split(",") if p.strip()), android_api=android_api,
            use_vulkan=use_vulkan, keep_export_asset=keep_export_asset, **_model_arguments(given), progress=step,
        )
    e = result.exported
    fed = (f"{'x'.join(map(str, e.meta.input_shape))} {e.meta.input_dtype} input" if e.meta.input_shape
           else f"{e.meta.input_width}x{e.meta.input_height}")
    out.print(f"[green]created[/] {result.output} ({', '.join(result.platforms)}): {e.meta.task}, "
              f"{fed}, {e.summary()}, max abs error {e.max_abs_error:.3g}", highlight=False)
    for note in result.notes:
        out.print(f"note: {note}", highlight=False)


@app.command()
def export(
    model: ModelOpt,
    output: Annotated[Path, typer.Option("--output", "-o", help="directory for model.ptl, model_ops.yaml, report.md")] = Path("export"),
    weights: WeightsOpt = None, task: TaskOpt = None, input_size: SizeOpt = None, mean: MeanOpt = None,
    std: StdOpt = None, labels: LabelsOpt = None, output_range: RangeOpt = None, sample_image: SampleOpt = None,
    trust_pickle: PickleOpt = False, script: ScriptOpt = False, tolerance: TolOpt = 1e-4, rtol: RtolOpt = DEFAULT_RTOL,
    output_key: OutKeyOpt = None, output_index: OutIndexOpt = None, input_shape: InShapeOpt = None,
    input_dtype: InDtypeOpt = None, force: ForceOpt = False,
    score_threshold: ScoreThrOpt = None, iou_threshold: IouThrOpt = None, box_units: BoxUnitsOpt = None,
    scores: ScoresOpt = None, quantize: QuantOpt = None, calibration: CalibOpt = None,
    min_agreement: MinAgreeOpt = None, allow_float: AllowFloatOpt = False, runtime: RuntimeOpt = "lite",
    backend: BackendOpt = None, coreml_precision: CoremlPrecisionOpt = "fp32",
) -> None:
    """Export only the model asset(s), its metadata, operator list and report."""
    given = dict(locals())
    from generator.project import export_model

    with _errors(), _progress() as step:
        e = export_model(output=output, **_model_arguments(given), progress=step)
    out.print(f"[green]exported[/] {e.asset}: {e.export.size} bytes, {e.summary()}, "
              f"max abs error {e.max_abs_error:.3g}", highlight=False)
    for note in e.notes:
        out.print(f"note: {note}", highlight=False)


@app.command()
def inspect(path: Annotated[Path, typer.Argument(help="a .ptl lite-interpreter or .pte ExecuTorch asset")]) -> None:
    """Show size and embedded metadata of a .ptl (bytecode version, operators) or .pte (methods, delegation) file."""
    import json

    from generator.project import inspect_model

    with _errors():
        info = inspect_model(path=path)
    if "methods" in info:
        out.print(f"file: {info['path']}\nsize: {info['size']} bytes\nruntime: ExecuTorch\nmethods: {', '.join(info['methods'])}\n"
                  "delegation:\n" + "\n".join(f"  {line}" for line in info["delegation"]) +
                  f"\nruns on this host: {'yes' if info['runs_here'] else 'no (exported for a phone delegate)'}",
                  highlight=False, markup=False)
    else:
        out.print(f"file: {info['path']}\nsize: {info['size']} bytes\nbytecode version: {info['bytecode_version']}"
                  f" ({'loads in' if info['loads_in_runtimes'] else 'too new for'} pytorch_android_lite / LibTorch-Lite)\n"
                  f"operators ({len(info['operators'])}): {', '.join(info['operators'])}\n"
                  f"extra files: {', '.join(info['extra_files']) or 'none'}", highlight=False)
    out.print("metadata: " + (json.dumps(info["metadata"], indent=2, ensure_ascii=False) if info["metadata"] else "none"),
              highlight=False, markup=False)


@app.command()
def doctor() -> None:
    """Which tools for building and testing the generated projects are installed."""
    from generator.project import doctor as run_doctor

    table = Table("tool", "status", "where / how to fix")
    with _errors():
        rows = run_doctor()
    for name, ok, detail in rows:
        table.add_row(name, "[green]found[/]" if ok else "[yellow]missing[/]", detail)
    out.print(table)
    out.print("Generating projects needs none of these; building them needs a JDK and the Android SDK (or Xcode).")


@app.command()
def check(
    directory: Annotated[Path, typer.Argument(help="a directory made by scaffold new")],
    skip_host_tests: Annotated[bool, typer.Option("--skip-host-tests", help="do not compile and run the JUnit tests")] = False,
    skip_native: Annotated[bool, typer.Option("--skip-native", help="do not build the C++ core with g++")] = False,
    no_exec: Annotated[bool, typer.Option("--no-exec", help="static checks only: compile and run none of the project's "
                                          "code (Java, JUnit tests, C++); the model is still run by the lite interpreter, "
                                          "which runs no Python")] = False,
) -> None:
    """Verify a generated project offline: files, syntax, asset, expected output, host tests.

    This compiles and runs the project's JUnit tests and C++ core: checking a project you did not
    generate runs its authors' code. Pass --no-exec to run only the static checks.
    """
    from generator.project import check_project

    with _errors(), _progress() as step:
        report = check_project(directory, run_host_tests=not skip_host_tests, run_native=not skip_native,
                               execute=not no_exec, progress=step)
        table = Table("scope", "check", "result", "detail")
        colors = {"pass": "green", "fail": "red", "skip": "yellow"}
        for c in report.checks:
            table.add_row(c.scope, c.name, f"[{colors[c.status]}]{c.status}[/]", c.detail)
        out.print(table)
        out.print(f"{report.count('pass')} passed, {report.count('fail')} failed, {report.count('skip')} skipped")
        if not report.ok:
            raise CheckFailedError(f"{len(report.failures)} check(s) failed in {directory}; see the table above")


CONFLICT_EXIT = 9  # `update` wrote conflict markers: the project is updated, these files need you


@app.command()
def update(
    directory: Annotated[Path, typer.Argument(help="a directory made by scaffold new")],
    model: Annotated[Optional[str], typer.Option(help="the new (e.g. retrained) model; without it, only the templates are re-rendered")] = None,
    weights: WeightsOpt = None, task: TaskOpt = None, input_size: SizeOpt = None, mean: MeanOpt = None,
    std: StdOpt = None, labels: LabelsOpt = None, output_range: RangeOpt = None, sample_image: SampleOpt = None,
    trust_pickle: PickleOpt = False, script: ScriptOpt = False,
    tolerance: Annotated[Optional[float], typer.Option(help="as for new (default: as recorded)")] = None,
    rtol: Annotated[Optional[float], typer.Option("--rtol", help="as for new (default: as recorded)")] = None,
    output_key: OutKeyOpt = None, output_index: OutIndexOpt = None,
    score_threshold: ScoreThrOpt = None, iou_threshold: IouThrOpt = None, box_units: BoxUnitsOpt = None,
    scores: ScoresOpt = None,
) -> None:
    """Swap in a retrained model (--model) or this scaffold's templates, keeping your edits.

    Files you edited are merged three-way with git merge-file; conflicts get markers and exit code 9.
    Model options not given are taken from DIR/scaffold.toml.
    """
    from generator.update import update_project

    overrides = dict(weights=weights, task=task, input_size=input_size, mean=mean, std=std, labels=labels,
                     output_range=output_range, sample_image=sample_image, trust_pickle=trust_pickle, script=script,
                     tolerance=tolerance, rtol=rtol, output_key=output_key, output_index=output_index,
                     score_threshold=score_threshold, iou_threshold=iou_threshold, box_units=box_units, scores=scores)
    with _errors(), _progress() as step:
        result = update_project(directory, model=model, overrides=overrides, progress=step)
    # soft_wrap: one file per line, whatever the terminal width, so the list can be grepped
    out.print(f"[green]updated[/] {directory}" + (" to the new model" if result.model_changed else " to scaffold " + __version__),
              highlight=False, soft_wrap=True)
    for line in result.metadata_changes:
        out.print(f"metadata changed: {line}", highlight=False, markup=False, soft_wrap=True)
    if result.model_changed and not result.metadata_changes:
        out.print("metadata unchanged (task, input size, labels, output range...)", highlight=False)
    for title, files in (("updated", result.updated), ("merged with your edits", result.merged),
                         ("your edits kept", result.kept), ("new", result.added), ("removed", result.removed),
                         ("you deleted them, left deleted", result.deleted),
                         ("no longer generated, edited by you, left in place", result.orphaned),
                         ("CONFLICTS (markers written, resolve them)", result.conflicts)):
        for rel in files:
            out.print(f"{title}: {rel}", highlight=False, markup=False, soft_wrap=True)
    if result.model_changed:
        out.print(f"{len(result.replaced)} model-derived files replaced (assets, expected outputs, goldens, record)",
                  highlight=False)
    if result.conflicts:
        err.print(f"{len(result.conflicts)} file(s) have conflict markers; resolve them, then run scaffold check {directory}",
                  highlight=False, soft_wrap=True)
        raise typer.Exit(CONFLICT_EXIT)


TESTS_NOT_ALL_RUN_EXIT = 12  # `test`: nothing failed, but some tests could not run on this machine
PlatformOpt = Annotated[Optional[str], typer.Option("--platform", help="android or ios (default: every platform of the project)")]
DirArg = Annotated[Path, typer.Argument(help="a directory made by scaffold new")]


def _echo(line: str) -> None:
    out.print(line, highlight=False, markup=False, soft_wrap=True)


@app.command()
def build(directory: DirArg, platform: PlatformOpt = None) -> None:
    """Debug build: ./gradlew assembleDebug; pod install and xcodebuild build for a simulator."""
    from generator import lifecycle

    with _errors():
        built = lifecycle.build(directory, platform=platform, echo=_echo)
    for line in built:
        out.print(f"[green]built[/] {line}", highlight=False, soft_wrap=True)


@app.command()
def run(directory: DirArg, platform: PlatformOpt = None,
        device: Annotated[Optional[str], typer.Option(help="android: the adb serial to use (default: the first ready one)")] = None) -> None:
    """Build, install and start the app on a device or emulator (adb) or a simulator (simctl)."""
    from generator import lifecycle

    with _errors():
        lifecycle.run(directory, platform=platform, device=device, echo=_echo)


@app.command(name="test")
def test_(directory: DirArg, platform: PlatformOpt = None,
          device: Annotated[Optional[str], typer.Option(help="android: the adb serial for instrumentation tests")] = None) -> None:
    """Run the project's tests: what this machine can run, and say what it could not.

    Exit 0: all ran and passed; 10: a test failed; 12: nothing failed but some could not run here.
    """
    from generator import lifecycle

    with _errors():
        outcome = lifecycle.test(directory, platform=platform, device=device, echo=_echo)
    table = Table("platform", "tests", "result", "detail")
    colors = {"pass": "green", "fail": "red", "not run": "yellow"}
    for s in outcome.steps:
        table.add_row(s.platform, s.name, f"[{colors[s.status]}]{s.status}[/]", escape(s.detail))
    out.print(table)
    counts = {k: sum(s.status == k for s in outcome.steps) for k in colors}
    out.print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['not run']} not run", highlight=False)
    if outcome.failed:
        raise typer.Exit(CommandFailedError.exit_code)
    if outcome.incomplete:
        raise typer.Exit(TESTS_NOT_ALL_RUN_EXIT)


def main() -> None:
    app(prog_name="scaffold")


if __name__ == "__main__":
    main()
    sys.exit(0)

"""What the generated code needs to know about the model: task, sizes, normalization, labels.

The same record is written to DIR/scaffold.toml (for people and `scaffold check`) and embedded
in the model asset as `scaffold.json` (for the apps, read at run time).
"""

from __future__ import annotations

import colorsys
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from generator.errors import ModelError, UsageError
from generator.names import json_compact

TASKS = ("image-to-image", "classification", "segmentation", "tensor", "detection")
METADATA_KEY = "scaffold.json"  # lite: the extra file holding the metadata
METADATA_METHOD = "scaffold_metadata"  # ExecuTorch: the constant method returning it
# 2: input.channels (3 for RGB, 1 for a luma-only super-resolution model) and, for the detection
# task, a "detection" object (DetectionSpec). Readers accept 1 and 2.
METADATA_FORMAT = 2

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# image-to-image defaults to 0..1 input with no normalization, as the book's CycleGAN.
DEFAULT_NORMALIZATION = {
    "image-to-image": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
    "classification": (IMAGENET_MEAN, IMAGENET_STD),
    "segmentation": (IMAGENET_MEAN, IMAGENET_STD),
    "tensor": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
    # YOLO-style detectors take 0..1 pixels without normalization.
    "detection": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
}
DEFAULT_INPUT_SIZE = {"image-to-image": 256, "classification": 224, "segmentation": 224, "tensor": 224, "detection": 320}
DETECTION_LAYOUTS = ("yolo", "boxes")
BOX_UNITS = ("pixels", "normalized")
SCORE_KINDS = ("probabilities", "logits")
DEFAULT_SCORE_THRESHOLD = 0.25
DEFAULT_IOU_THRESHOLD = 0.45
MAX_DETECTIONS = 100


@dataclass(frozen=True)
class DetectionSpec:
    """How the apps read a detector's raw output.

    layout "yolo": one tensor 1 x N x (4 + 1 + C), rows (cx, cy, w, h, objectness, C class
    scores); a box's score is objectness x its best class score, its label that class.
    layout "boxes": torchvision style, (boxes N x 4 as x1, y1, x2, y2; scores N; labels N), which
    the pipeline and the apps pack into one N x 6 tensor (x1, y1, x2, y2, score, label).
    box_units: "pixels" of the model input, or "normalized" (0..1 of the input width/height).
    scores: "probabilities" as given, or "logits" (the apps apply a sigmoid).
    Boxes scoring >= score_threshold go through class-agnostic non-maximum suppression
    (torchvision.ops.nms: a box is dropped when its IoU with a kept, higher-scoring box is
    > iou_threshold); at most MAX_DETECTIONS are kept."""

    layout: str = "yolo"
    box_units: str = "pixels"
    scores: str = "probabilities"
    score_threshold: float = DEFAULT_SCORE_THRESHOLD
    iou_threshold: float = DEFAULT_IOU_THRESHOLD
    max_detections: int = MAX_DETECTIONS

    def to_dict(self) -> dict:
        return {
            "layout": self.layout,
            "box_units": self.box_units,
            "scores": self.scores,
            "score_threshold": self.score_threshold,
            "iou_threshold": self.iou_threshold,
            "max_detections": self.max_detections,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "DetectionSpec":
        return cls(
            layout=str(data["layout"]),
            box_units=str(data["box_units"]),
            scores=str(data["scores"]),
            score_threshold=float(data["score_threshold"]),
            iou_threshold=float(data["iou_threshold"]),
            max_detections=int(data["max_detections"]),
        )
INPUT_SIZE_MAX = 4096


@dataclass(frozen=True)
class Metadata:
    task: str
    input_width: int
    input_height: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    output_shape: tuple[int, ...]
    output_range: tuple[float, float] | None = None
    labels: tuple[str, ...] = ()
    palette: tuple[tuple[int, int, int], ...] = field(default=())
    # Where the apps find their tensor when the model returns a dict (key) or a tuple/list (index).
    output_key: str | None = None
    output_index: int | None = None
    # --task tensor with --input-shape: the model's input is this tensor, not an RGB picture.
    input_shape: tuple[int, ...] | None = None
    input_dtype: str | None = None
    # 1: the model sees the Y (luma) plane of YCbCr and outputs Y; the apps upscale CbCr around it.
    input_channels: int = 3
    detection: DetectionSpec | None = None

    @property
    def num_classes(self) -> int:
        if self.task in ("classification", "segmentation"):
            return int(self.output_shape[1])
        if self.task == "detection" and self.detection is not None and self.detection.layout == "yolo":
            return int(self.output_shape[-1]) - 5
        return 0

    def output_mean_std(self) -> tuple[list[float], list[float]]:
        """mean/std for chwToArgb's x*std+mean so that picture = (y - lo) / (hi - lo)."""
        lo, hi = self.output_range or (0.0, 1.0)
        # 0.0 - lo: a range starting at 0 gives mean 0, not -0.
        return [(0.0 - lo) / (hi - lo)] * 3, [1.0 / (hi - lo)] * 3

    def to_embedded(self, generator: str) -> dict:
        return {
            "format": METADATA_FORMAT,
            "task": self.task,
            "input": {
                "width": self.input_width,
                "height": self.input_height,
                "mean": list(self.mean),
                "std": list(self.std),
                "channels": self.input_channels,
                **({"shape": list(self.input_shape), "dtype": self.input_dtype} if self.input_shape else {}),
            },
            "output": {
                "shape": list(self.output_shape),
                "range": list(self.output_range) if self.output_range else None,
                # Only present when used, so assets of plain-tensor models keep their bytes.
                **({"key": self.output_key} if self.output_key is not None else {}),
                **({"index": self.output_index} if self.output_index is not None else {}),
            },
            "labels": list(self.labels),
            "palette": [list(c) for c in self.palette],
            "generator": generator,
            **({"detection": self.detection.to_dict()} if self.detection is not None else {}),
        }

    def to_json(self, generator: str) -> str:
        return json_compact(self.to_embedded(generator))

    @classmethod
    def from_embedded(cls, data: dict) -> "Metadata":
        try:
            rng = data["output"]["range"]
            return cls(
                task=data["task"],
                input_width=int(data["input"]["width"]),
                input_height=int(data["input"]["height"]),
                mean=tuple(float(x) for x in data["input"]["mean"]),
                std=tuple(float(x) for x in data["input"]["std"]),
                output_shape=tuple(int(x) for x in data["output"]["shape"]),
                output_range=(float(rng[0]), float(rng[1])) if rng else None,
                labels=tuple(str(x) for x in data.get("labels", [])),
                palette=tuple(tuple(int(v) for v in c) for c in data.get("palette", [])),
                output_key=str(data["output"]["key"]) if data["output"].get("key") is not None else None,
                output_index=int(data["output"]["index"]) if data["output"].get("index") is not None else None,
                input_shape=tuple(int(d) for d in data["input"]["shape"]) if data["input"].get("shape") else None,
                input_dtype=str(data["input"]["dtype"]) if data["input"].get("shape") else None,
                input_channels=int(data["input"].get("channels", 3)),
                detection=DetectionSpec.from_dict(data["detection"]) if data.get("detection") else None,
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ModelError(f"embedded metadata is malformed ({exc}); regenerate the asset with scaffold export") from exc



# ---- parsing of CLI values ----------------------------------------------------------------------

def parse_size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    parts = text.lower().replace(" ", "").split("x")
    # str.isdigit also accepts superscripts and other digits int() refuses.
    if len(parts) != 2 or not all(re.fullmatch(r"[0-9]{1,6}", p) for p in parts):
        raise UsageError(f"--input-size {text!r} is not WIDTHxHEIGHT; write it like 256x256")
    w, h = int(parts[0]), int(parts[1])
    if not (1 <= w <= INPUT_SIZE_MAX and 1 <= h <= INPUT_SIZE_MAX):
        raise UsageError(f"--input-size {text!r} is out of range; use 1..{INPUT_SIZE_MAX} for each side")
    return w, h


INPUT_DTYPES = ("float32", "int64")
INPUT_ELEMENTS_MAX = 1 << 26  # 256 MB of float32: far beyond any sample a phone app ships


def parse_input_shape(text: str | None, dtype: str | None, task: str | None) -> tuple[tuple[int, ...], str] | None:
    """--input-shape 1x16x40 and --input-dtype, for --task tensor only."""
    if text is None and dtype is None:
        return None
    if task != "tensor":
        raise UsageError("--input-shape/--input-dtype describe a non-image input and need --task tensor; add --task tensor")
    if text is None:
        raise UsageError(f"--input-dtype {dtype} needs --input-shape too, e.g. --input-shape 1x16x40")
    dtype = dtype or "float32"
    if dtype not in INPUT_DTYPES:
        raise UsageError(f"--input-dtype {dtype!r} is not supported; use {' or '.join(INPUT_DTYPES)}")
    parts = text.lower().replace(" ", "").split("x")
    if not parts or not all(p.isdigit() and p.isascii() for p in parts) or len(parts) > 8:
        raise UsageError(f"--input-shape {text!r} is not dimensions joined by x; write it like 1x16x40")
    shape = tuple(int(p) for p in parts)
    count = 1
    for d in shape:
        count *= d
    if not all(d >= 1 for d in shape) or count > INPUT_ELEMENTS_MAX:
        raise UsageError(f"--input-shape {text!r} is out of range; every dimension >= 1, at most {INPUT_ELEMENTS_MAX} values")
    return shape, dtype


FLOAT32_MAX = 3.4028234663852886e38
FLOAT32_MIN_NORMAL = 1.1754943508222875e-38
RANGE_DIGITS = 1e-6  # float32 keeps ~7 significant digits: a narrower range collapses in the apps


def _float32_ok(value: float) -> bool:
    """Written into the apps as a float literal and used there in float32: finite and not denormal."""
    return value == 0.0 or FLOAT32_MIN_NORMAL <= abs(value) <= FLOAT32_MAX


def parse_floats(text: str | None, option: str, count: int) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        values = tuple(float(p) for p in text.split(","))
    except ValueError:
        raise UsageError(f"{option} {text!r} is not {count} comma-separated numbers; e.g. 0.485,0.456,0.406") from None
    if len(values) != count or not all(math.isfinite(v) for v in values):
        raise UsageError(f"{option} {text!r} needs exactly {count} finite numbers separated by commas")
    if not all(_float32_ok(v) for v in values):
        raise UsageError(f"{option} {text!r} has a value the apps cannot hold in float32 (beyond 1e-38..3e38); "
                         "use ordinary magnitudes")
    return values


def parse_std(text: str | None) -> tuple[float, float, float] | None:
    values = parse_floats(text, "--std", 3)
    if values is not None and any(v <= 0 for v in values):
        raise UsageError(f"--std {text!r} has a value <= 0; standard deviations must be positive")
    return values  # type: ignore[return-value]


def parse_range(text: str | None) -> tuple[float, float] | None:
    values = parse_floats(text, "--output-range", 2)
    if values is None:
        return None
    lo, hi = values
    if not lo < hi:
        raise UsageError(f"--output-range {text!r} must be LOW,HIGH with LOW < HIGH; e.g. -1,1")
    # The apps map x to (x - lo) / (hi - lo) in float32, as x * (1 / (hi - lo)) + (-lo / (hi - lo)).
    if not hi - lo >= RANGE_DIGITS * max(1.0, abs(lo), abs(hi)) or not math.isfinite(hi - lo):
        raise UsageError(f"--output-range {text!r} is too narrow for float32 (HIGH - LOW must be at least "
                         f"{RANGE_DIGITS:g} of the larger bound, and at least {RANGE_DIGITS:g}); e.g. -1,1")
    return values  # type: ignore[return-value]


def parse_tolerance(value: float) -> float:
    if not (math.isfinite(value) and value >= 0):
        raise UsageError(f"--tolerance {value} must be a finite number >= 0; e.g. 1e-4")
    return value


def parse_task(task: str | None) -> str | None:
    if task is not None and task not in TASKS:
        raise UsageError(f"--task {task!r} is unknown; use one of {', '.join(TASKS)}")
    return task


LABELS_BYTES_MAX = 8 << 20
LABELS_COUNT_MAX = 100_000


def read_labels(path: Path | None) -> tuple[str, ...] | None:
    """One label per line. Only \\n and \\r\\n end a line (a \\v or U+2028 inside a label stays in it);
    a UTF-8 byte order mark is dropped; the file is read with a bound, never to its end."""
    if path is None:
        return None
    path = Path(path)
    try:
        if path.exists() and not path.is_file():
            raise UsageError(f"labels file {path} is not a regular file; pass a text file with one label per line")
        with open(path, "rb") as fh:
            raw = fh.read(LABELS_BYTES_MAX + 1)
    except FileNotFoundError:
        raise UsageError(f"labels file not found: {path}; pass a text file with one label per line") from None
    except OSError as exc:
        raise UsageError(f"cannot read labels file {path}: {exc.strerror}; check the path") from None
    if len(raw) > LABELS_BYTES_MAX:
        raise UsageError(f"labels file {path} is larger than {LABELS_BYTES_MAX >> 20} MiB; put one short label per line")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"labels file {path} is not UTF-8 text; save it as UTF-8, one label per line") from None
    lines = text.split("\n")
    if len(lines) > LABELS_COUNT_MAX + 1:
        raise UsageError(f"labels file {path} has more than {LABELS_COUNT_MAX} lines; give one label per class")
    labels = tuple(line.strip() for line in lines if line.strip())
    if not labels:
        raise UsageError(f"labels file {path} is empty; put one label per line")
    return labels


# ---- deciding what the model is -----------------------------------------------------------------

def detect_task(output_shape: tuple[int, ...], requested: str | None, input_channels: int = 3) -> str:
    """Task from the output shape; an explicit --task is checked against the shape instead.

    A model that takes one channel and returns one (1x1xHxW -> 1x1xH'xW') is a luma (Y)
    image-to-image model, such as ESPCN super-resolution."""
    shape = tuple(output_shape)
    image_channels = 1 if input_channels == 1 else 3
    shape_text = "x".join(str(d) for d in shape)
    if requested is not None:
        if requested not in TASKS:
            raise UsageError(f"--task {requested!r} is unknown; use one of {', '.join(TASKS)}")
        ok = {
            "image-to-image": len(shape) == 4 and shape[0] == 1 and shape[1] == image_channels,
            "classification": len(shape) == 2 and shape[0] == 1 and shape[1] >= 1,
            "segmentation": len(shape) == 4 and shape[0] == 1 and shape[1] >= 1,
            "tensor": len(shape) >= 1,
            # 1 x N x (5 + C) raw predictions, or N x 6 packed from torchvision-style outputs.
            "detection": (len(shape) == 3 and shape[0] == 1 and shape[2] >= 6) or (len(shape) == 2 and shape[1] == 6),
        }[requested]
        if not ok:
            need = {
                "image-to-image": f"1x{image_channels}xHxW",
                "classification": "1xK",
                "segmentation": "1xKxHxW",
                "tensor": "any tensor",
                "detection": "1xNx(5+C) (YOLO-style) or (boxes Nx4, scores N, labels N)",
            }[requested]
            raise UsageError(f"--task {requested} needs an output of shape {need}, the model gives {shape_text}; choose another --task")
        return requested
    if len(shape) == 2 and shape[0] == 1 and shape[1] >= 2:
        return "classification"
    if len(shape) == 4 and shape[0] == 1 and shape[1] == image_channels:
        return "image-to-image"
    if len(shape) == 4 and shape[0] == 1 and shape[1] >= 2:
        return "segmentation"
    raise UsageError(
        f"cannot tell the task from the output shape {shape_text}; pass --task "
        "(image-to-image, classification, segmentation, detection or tensor)"
    )


# The value ranges image models are trained to produce, most specific first.
KNOWN_RANGES = ((0.0, 1.0), (-1.0, 1.0), (0.0, 255.0))
RANGE_MARGIN = 0.05  # share of a range's width a value may overshoot and still count as inside
CLAMP_WARN_SHARE = 0.01  # warn when more of the sample's output values than this would clamp


def clamped_share(values, rng: tuple[float, float]) -> float:
    """Share of the values that the app would clamp to the ends of rng."""
    import numpy as np

    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if not arr.size:
        return 0.0
    return float(np.count_nonzero((arr < rng[0]) | (arr > rng[1]))) / arr.size


def _range_text(rng: tuple[float, float]) -> str:
    return f"{rng[0]:g}..{rng[1]:g}"


def output_range_for(task: str, requested: tuple[float, float] | None, last_activation: str | None,
                     observed) -> tuple[tuple[float, float] | None, str]:
    """Value range of an image output and how it was decided (reported to the user).

    observed: the output values on the sample (any array-like; two numbers do as min and max).
    """
    if task != "image-to-image":
        return None, "not an image output"
    if requested is not None:
        return requested, "--output-range"
    if last_activation == "Tanh":
        return (-1.0, 1.0), "the model ends in Tanh"
    if last_activation in ("Sigmoid", "Hardsigmoid"):
        return (0.0, 1.0), f"the model ends in {last_activation}"
    import numpy as np

    arr = np.asarray(observed, dtype=np.float64).reshape(-1)
    lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
    seen = f"values {lo:.3g}..{hi:.3g} on the sample"
    for rng in KNOWN_RANGES:
        margin = RANGE_MARGIN * (rng[1] - rng[0])
        if rng[0] - margin <= lo and hi <= rng[1] + margin:
            return rng, f"{seen} fit {_range_text(rng)} (pass --output-range to override)"
    # Trained generators overshoot their nominal range; pick the one that clamps the fewest values.
    best = min(KNOWN_RANGES, key=lambda r: (clamped_share(arr, r), -(r[1] - r[0])))
    return best, (f"{seen} fit none of {', '.join(_range_text(r) for r in KNOWN_RANGES)}; "
                  f"{_range_text(best)} clamps the fewest (pass --output-range to override)")


def clamp_warning(values, rng: tuple[float, float] | None) -> str | None:
    """A note when the app would clamp more than CLAMP_WARN_SHARE of the sample's output values."""
    if rng is None:
        return None
    share = clamped_share(values, rng)
    if share <= CLAMP_WARN_SHARE:
        return None
    return (f"warning: {share:.1%} of the sample's output values fall outside {_range_text(rng)} and are clamped "
            "in the app's picture; pass --output-range LOW,HIGH with the model's real range")


def default_palette(count: int) -> tuple[tuple[int, int, int], ...]:
    """Background black, then well-separated hues; stable for a given class count."""
    colors: list[tuple[int, int, int]] = [(0, 0, 0)]
    golden = 0.618033988749895
    for i in range(1, count):
        hue = (i * golden) % 1.0
        value = 0.95 if i % 2 else 0.75
        r, g, b = colorsys.hsv_to_rgb(hue, 0.85, value)
        colors.append((int(round(r * 255)), int(round(g * 255)), int(round(b * 255))))
    return tuple(colors[:count])


def parse_threshold(value: float | None, option: str, default: float) -> float:
    if value is None:
        return default
    if not (0.0 <= value <= 1.0):  # also refuses NaN
        raise UsageError(f"{option} {value} is outside 0..1; e.g. {option} {default}")
    return float(value)


def detection_spec(*, output_shape, box_units: str | None, scores: str | None, score_threshold: float | None,
                   iou_threshold: float | None) -> DetectionSpec:
    """The detection settings from the options, checked; the layout follows from the output shape."""
    if box_units is not None and box_units not in BOX_UNITS:
        raise UsageError(f"--box-units {box_units!r} is unknown; use {' or '.join(BOX_UNITS)}")
    if scores is not None and scores not in SCORE_KINDS:
        raise UsageError(f"--scores {scores!r} is unknown; use {' or '.join(SCORE_KINDS)}")
    layout = "yolo" if len(output_shape) == 3 else "boxes"
    if layout == "boxes" and scores == "logits":
        raise UsageError("--scores logits does not apply to (boxes, scores, labels) outputs, whose scores are probabilities; drop --scores")
    return DetectionSpec(
        layout=layout,
        box_units=box_units or "pixels",
        scores=scores or "probabilities",
        score_threshold=parse_threshold(score_threshold, "--score-threshold", DEFAULT_SCORE_THRESHOLD),
        iou_threshold=parse_threshold(iou_threshold, "--iou-threshold", DEFAULT_IOU_THRESHOLD),
    )


def describe(*, task: str, input_size: tuple[int, int], mean, std, output_shape,
             output_range, labels: tuple[str, ...] | None, output_key: str | None = None,
             output_index: int | None = None, input_shape: tuple[int, ...] | None = None,
             input_dtype: str | None = None, input_channels: int = 3,
             detection: DetectionSpec | None = None) -> Metadata:
    """Assemble and cross-check the metadata; labels must match the class count."""
    classes = int(output_shape[1]) if task in ("classification", "segmentation") else 0
    if task == "detection":
        detection = detection or DetectionSpec(layout="yolo" if len(output_shape) == 3 else "boxes")
        classes = int(output_shape[-1]) - 5 if detection.layout == "yolo" else 0
        if labels is not None and classes and len(labels) != classes:
            raise UsageError(f"--labels has {len(labels)} labels but the model scores {classes} classes; give one label per class")
        if labels is None and classes:
            labels = tuple(f"class {i}" for i in range(classes))
    elif task in ("classification", "segmentation"):
        if labels is None:
            labels = tuple(f"class {i}" for i in range(classes))
        elif len(labels) != classes:
            raise UsageError(f"--labels has {len(labels)} labels but the model outputs {classes} classes; give one label per class")
    elif labels:
        raise UsageError(f"--labels is only used for classification, segmentation and detection, the task is {task}; drop --labels")
    palette = default_palette(classes) if task == "segmentation" else ()
    if task == "detection" and classes:
        palette = default_palette(classes + 1)[1:]  # every class is an object: no black background color
    return Metadata(
        task=task,
        input_width=input_size[0],
        input_height=input_size[1],
        mean=tuple(float(x) for x in mean),  # type: ignore[arg-type]
        std=tuple(float(x) for x in std),  # type: ignore[arg-type]
        output_shape=tuple(int(d) for d in output_shape),
        output_range=output_range,
        labels=tuple(labels or ()),
        palette=palette,
        output_key=output_key,
        output_index=output_index,
        input_shape=input_shape,
        input_dtype=input_dtype if input_shape else None,
        input_channels=input_channels,
        detection=detection if task == "detection" else None,
    )


def read_embedded(raw: bytes | str) -> dict:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"embedded {METADATA_KEY} is not JSON ({exc}); regenerate the asset") from exc

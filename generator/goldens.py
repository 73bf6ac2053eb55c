"""The sample input and the numbers every generated test compares against.

The sample image is stored at the model's input size, so no resizing sits between Python and
the apps in the tests: what differs would be the conversion code, which is what we test.
Input tensors come from torchvision (ToTensor + Normalize), the reference the apps must match.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generator.errors import UsageError
from generator.metadata import Metadata

SAMPLE_NAME = "sample.png"
EXPECTED_NAME = "expected_output.bin"


def default_sample(width: int, height: int):
    """A deterministic picture with edges, gradients and saturated colors (exercises channels)."""
    from PIL import Image, ImageDraw

    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    fx = x / max(width - 1, 1)
    fy = y / max(height - 1, 1)
    rgb = np.stack([fx, fy, 1.0 - (fx + fy) / 2.0], axis=-1)
    img = Image.fromarray(np.round(rgb * 255.0).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    s = min(width, height)
    draw.ellipse([width * 0.15, height * 0.2, width * 0.15 + s * 0.4, height * 0.2 + s * 0.4], fill=(200, 40, 30))
    draw.rectangle([width * 0.55, height * 0.5, width * 0.9, height * 0.85], fill=(20, 160, 60))
    draw.line([0, height - 1, width - 1, 0], fill=(250, 250, 250), width=max(1, s // 32))
    return img


# Phones' cameras reach 50 megapixels; a bigger "picture" is more likely a decompression bomb.
SAMPLE_PIXELS_MAX = 64_000_000


def load_sample(path: Path | None, width: int, height: int):
    """The user's --sample-image as the apps would see it, resized with Pillow bilinear; or the default."""
    if path is None:
        return default_sample(width, height)
    import warnings

    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if path.exists() and not path.is_file():
        raise UsageError(f"--sample-image {path} is not a regular file; pass a PNG or JPEG file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                if im.width * im.height > SAMPLE_PIXELS_MAX:
                    raise Image.DecompressionBombError(f"{im.width}x{im.height}")
                im.load()
                rgb = to_app_rgb(ImageOps.exif_transpose(im))
    except FileNotFoundError:
        raise UsageError(f"--sample-image not found: {path}; check the path") from None
    except Image.DecompressionBombError:
        raise UsageError(
            f"--sample-image {path} has more than {SAMPLE_PIXELS_MAX // 1_000_000} million pixels; pass a smaller picture"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UsageError(f"--sample-image {path} is not a readable image ({exc}); pass a PNG or JPEG") from None
    if rgb.size != (width, height):
        rgb = rgb.resize((width, height), Image.BILINEAR)
    return rgb


def to_app_rgb(im):
    """8-bit RGB with the values the apps read from the same picture.

    16-bit pictures are scaled to 8 bits (Pillow's convert would clip them). Both apps read
    straight (unpremultiplied) colour and ignore alpha; Android's getPixels and iOS's
    premultiplied drawing turn fully transparent pixels black, so they are black here too.
    """
    from PIL import Image

    if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        values = np.asarray(im, dtype=np.float64)
        grey = np.clip(np.floor(values / 257.0 + 0.5), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if im.mode == "RGB":
        return im.copy()
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (im.mode == "P" and "transparency" in im.info):
        rgba = np.array(im.convert("RGBA"))
        rgba[rgba[..., 3] == 0, :3] = 0
        return Image.fromarray(np.ascontiguousarray(rgba[..., :3]), "RGB")
    return im.convert("RGB")


def png_bytes(img) -> bytes:
    # Pillow writes no timestamps into PNGs unless asked, so the bytes are reproducible.
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=9)
    return buf.getvalue()


def input_tensor(img, meta: Metadata):
    import torch
    import torchvision.transforms.functional as F

    if meta.input_channels == 1:
        y = rgb_to_ycbcr(np.asarray(img.convert("RGB")))[0]
        t = ((y / np.float32(255)) - np.float32(meta.mean[0])) / np.float32(meta.std[0])
        return torch.from_numpy(np.ascontiguousarray(t, dtype=np.float32)).reshape(1, 1, *y.shape)
    t = F.to_tensor(img)
    t = F.normalize(t, list(meta.mean), list(meta.std))
    return t.unsqueeze(0).contiguous()


SAMPLE_INPUT_NAME = "sample_input.bin"
TOKEN_SAMPLE_HIGH = 10  # int64 samples are drawn from 0..9: valid indices for any vocabulary of 10+


def tensor_sample(shape: tuple[int, ...], dtype: str):
    """The seeded sample of a non-image input: uniform 0..1 floats, or small token ids."""
    import torch

    gen = torch.Generator().manual_seed(0)
    if dtype == "int64":
        return torch.randint(0, TOKEN_SAMPLE_HIGH, shape, generator=gen, dtype=torch.int64)
    return torch.rand(shape, generator=gen, dtype=torch.float32)


def tensor_bytes(t) -> bytes:
    """Raw little-endian values, flat, as the apps' readers and the C++ core take them."""
    return t.contiguous().numpy().astype("<i8" if str(t.dtype) == "torch.int64" else "<f4").tobytes()


INPUT_ITEM_BYTES = {"float32": 4, "int64": 8}
# `scaffold update` without --model keeps the model files as they are; with it, all are rewritten.
RESTORE_HINT = "restore it with scaffold update DIR --model MODEL"


def read_sample_input(path: Path, shape, dtype: str) -> bytes:
    """The bytes of a project's sample_input.bin, checked against the input shape and dtype the
    metadata records; CheckFailedError (one line) when it is missing or has the wrong length."""
    from generator.errors import CheckFailedError

    path = Path(path)
    if dtype not in INPUT_ITEM_BYTES:
        raise CheckFailedError(f"input dtype {dtype!r} is not one the apps feed ({', '.join(INPUT_ITEM_BYTES)}); "
                               "regenerate the project")
    count = int(np.prod(shape))
    needed = count * INPUT_ITEM_BYTES[dtype]
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CheckFailedError(f"{path.name} is missing; {RESTORE_HINT}") from None
    except OSError as exc:
        raise CheckFailedError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    if len(data) != needed:
        raise CheckFailedError(f"{path.name} has {len(data)} bytes, but the {'x'.join(map(str, shape))} {dtype} input needs "
                               f"{needed} ({count} little-endian values); {RESTORE_HINT}")
    return data


def sample_input_tensor(path: Path, shape, dtype: str):
    """sample_input.bin as the tensor the apps build from it (see read_sample_input)."""
    import torch

    values = np.frombuffer(read_sample_input(path, shape, dtype), dtype="<i8" if dtype == "int64" else "<f4")
    return torch.from_numpy(values.astype(np.int64 if dtype == "int64" else np.float32).reshape(tuple(shape)))


def compute_for_tensor(example, expected_tensor) -> "Goldens":
    """Goldens of a non-image input: the sample tensor itself instead of a picture."""
    expected = expected_tensor.reshape(-1).numpy().astype(np.float32)
    raw = tensor_bytes(example)
    # The host tests read the raw file with the app's own reader and compare it with numpy's values
    # (as float32: the int64 sample's token ids 0..9 are exact there).
    vectors = {SAMPLE_INPUT_NAME: raw,
               "input_values.bin": example.reshape(-1).numpy().astype("<f4").tobytes(),
               "output_chw.bin": expected.astype("<f4").tobytes()}
    return Goldens(sample_png=b"", expected=expected, vectors=vectors, sample_input=raw)


def argb_ints(img) -> np.ndarray:
    """Pixels as Android's Bitmap.getPixels gives them: ARGB_8888 packed in int32."""
    rgba = np.asarray(img.convert("RGBA"), dtype=np.uint32)
    packed = (rgba[..., 3] << 24) | (rgba[..., 0] << 16) | (rgba[..., 1] << 8) | rgba[..., 2]
    return packed.reshape(-1).astype(np.uint32).view(np.int32)


def chw_to_argb(chw: np.ndarray, width: int, height: int, mean, std) -> np.ndarray:
    """The documented inverse conversion: clamp(x*std+mean) * 255, round half up, alpha 255."""
    chw = chw.reshape(3, height, width).astype(np.float32)
    m = np.asarray(mean, dtype=np.float32).reshape(3, 1, 1)
    s = np.asarray(std, dtype=np.float32).reshape(3, 1, 1)
    v = chw * s + m
    v = np.where(np.isnan(v), np.float32(0), v)
    v = np.clip(v, np.float32(0), np.float32(1))
    q = np.floor(v * np.float32(255) + np.float32(0.5)).astype(np.uint32)
    packed = (np.uint32(255) << 24) | (q[0] << 16) | (q[1] << 8) | q[2]
    return packed.reshape(-1).view(np.int32)


# ---- luma (Y) models: YCbCr, JPEG / BT.601 full range -------------------------------------------
# Every operation below is one float32 operation, in the order the Java (ImageTensors) and the
# C++ core write them, so the three agree to the bit. The formulas are JFIF's (what Pillow's
# "YCbCr" mode uses); Pillow computes them in fixed point and rounds to bytes, these stay float.

def _f(x: float) -> np.float32:
    return np.float32(x)


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 -> 3xHxW float32 Y, Cb, Cr in 0..255 (not rounded)."""
    r, g, b = (rgb[..., c].astype(np.float32) for c in range(3))
    y = _f(0.299) * r + _f(0.587) * g + _f(0.114) * b
    cb = _f(128) - _f(0.168736) * r - _f(0.331264) * g + _f(0.5) * b
    cr = _f(128) + _f(0.5) * r - _f(0.418688) * g - _f(0.081312) * b
    return np.stack([y, cb, cr]).astype(np.float32)


def resize_bilinear(plane: np.ndarray, out_w: int, out_h: int) -> np.ndarray:
    """Bilinear resize with half-pixel centers (torch's align_corners=False, antialias off):
    src = (dst + 0.5) * (in / out) - 0.5, clamped at 0; neighbours x0 = floor(src) and
    min(x0 + 1, in - 1); value = (a * (1 - lx) + b * lx) * (1 - ly) + (c * (1 - lx) + d * lx) * ly."""
    in_h, in_w = plane.shape

    def axis(out_n: int, in_n: int):
        scale = _f(in_n) / _f(out_n)
        src = (np.arange(out_n, dtype=np.float32) + _f(0.5)) * scale - _f(0.5)
        src = np.maximum(src, _f(0))
        i0 = np.floor(src).astype(np.int64)
        i1 = np.minimum(i0 + 1, in_n - 1)
        frac = (src - i0.astype(np.float32)).astype(np.float32)
        return i0, i1, frac

    x0, x1, lx = axis(out_w, in_w)
    y0, y1, ly = axis(out_h, in_h)
    hx = _f(1) - lx
    hy = (_f(1) - ly)[:, None]
    top = plane[y0][:, x0] * hx + plane[y0][:, x1] * lx
    bottom = plane[y1][:, x0] * hx + plane[y1][:, x1] * lx
    return (top * hy + bottom * ly[:, None]).astype(np.float32)


def ycbcr_output_argb(y_out: np.ndarray, out_w: int, out_h: int, mean: float, std: float, rgb: np.ndarray) -> np.ndarray:
    """The picture a luma model's app shows: Y from the model (x * std + mean, clamped to 0..1,
    times 255), Cb and Cr of the input picture resized bilinearly to the output size, back to
    RGB with the JFIF inverse, clamped to 0..255 and rounded half up."""
    v = y_out.reshape(out_h, out_w).astype(np.float32) * _f(std) + _f(mean)
    v = np.where(np.isnan(v), _f(0), v)
    luma = np.clip(v, _f(0), _f(1)) * _f(255)
    planes = rgb_to_ycbcr(rgb)
    cb = resize_bilinear(planes[1], out_w, out_h) - _f(128)
    cr = resize_bilinear(planes[2], out_w, out_h) - _f(128)
    r = luma + _f(1.402) * cr
    g = luma - _f(0.344136) * cb - _f(0.714136) * cr
    b = luma + _f(1.772) * cb
    q = [np.floor(np.clip(c, _f(0), _f(255)) + _f(0.5)).astype(np.uint32) for c in (r, g, b)]
    packed = (np.uint32(255) << 24) | (q[0] << 16) | (q[1] << 8) | q[2]
    return packed.reshape(-1).view(np.int32)


def softmax(logits: np.ndarray) -> np.ndarray:
    import torch

    return torch.softmax(torch.from_numpy(logits.astype(np.float32)), dim=0).numpy()


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    # Stable sort on negated scores: descending, ties to the lower index.
    return np.argsort(-scores.astype(np.float64), kind="stable")[:k].astype(np.int32)


def argmax_channels(chw: np.ndarray, classes: int, height: int, width: int) -> np.ndarray:
    # np.argmax returns the first maximum: ties go to the lower class.
    return np.argmax(chw.reshape(classes, height, width), axis=0).reshape(-1).astype(np.int32)


# ---- detection: decode, score threshold, NMS ------------------------------------------------------

def decode_detections(raw: np.ndarray, meta: Metadata) -> np.ndarray:
    """The model's raw output as N x 6 float32 rows (x1, y1, x2, y2 in input pixels, score,
    label), before the threshold: torchvision's box_convert for YOLO boxes, objectness times the
    best class score (the first best on ties), sigmoid first when the scores are logits."""
    import torch
    from torchvision.ops import box_convert

    det = meta.detection
    assert det is not None
    cols = 5 + meta.num_classes if det.layout == "yolo" else 6
    rows = torch.from_numpy(raw.astype(np.float32).reshape(-1, cols))
    if det.layout == "yolo":
        boxes = box_convert(rows[:, :4], "cxcywh", "xyxy")
        obj, cls = rows[:, 4], rows[:, 5:]
        if det.scores == "logits":
            obj, cls = torch.sigmoid(obj), torch.sigmoid(cls)
        cls_np = cls.numpy()
        label = np.argmax(cls_np, axis=1)
        best = torch.from_numpy(cls_np[np.arange(len(label)), label])
        score = obj * best
        label_t = torch.from_numpy(label.astype(np.float32))
    else:
        boxes, score, label_t = rows[:, :4], rows[:, 4], rows[:, 5]
    if det.box_units == "normalized":
        w, h = float(meta.input_width), float(meta.input_height)
        boxes = boxes * torch.tensor([w, h, w, h], dtype=torch.float32)
    return torch.cat([boxes, score[:, None], label_t[:, None]], 1).numpy().astype(np.float32)


def select_detections(decoded: np.ndarray, meta: Metadata) -> np.ndarray:
    """Indices (into decoded) of the boxes the apps show, best first: score >= threshold, then
    torchvision.ops.nms (class-agnostic), at most max_detections."""
    import torch
    from torchvision.ops import nms

    det = meta.detection
    assert det is not None
    candidates = np.nonzero(decoded[:, 4] >= np.float32(det.score_threshold))[0]
    if candidates.size == 0:
        return np.zeros(0, dtype=np.int32)
    t = torch.from_numpy(decoded[candidates])
    keep = nms(t[:, :4], t[:, 4], det.iou_threshold).numpy()
    return candidates[keep][: det.max_detections].astype(np.int32)


@dataclass
class Goldens:
    sample_png: bytes
    expected: np.ndarray  # float32 flat, lite interpreter output on the sample
    vectors: dict[str, bytes]  # golden/<name> for host unit tests
    sample_input: bytes | None = None  # non-image inputs: the sample tensor, raw little-endian

    @property
    def expected_bytes(self) -> bytes:
        return self.expected.astype("<f4").tobytes()


def host_vectors(img, meta: Metadata, input_chw: np.ndarray, expected: np.ndarray) -> dict[str, bytes]:
    vec = {
        "sample_argb.bin": argb_ints(img).astype("<i4").tobytes(),
        "input_chw.bin": input_chw.astype("<f4").tobytes(),
        "output_chw.bin": expected.astype("<f4").tobytes(),
    }
    if meta.labels:
        # The apps read labels and palette from the embedded metadata; the host tests from here.
        vec["labels.txt"] = "\n".join(meta.labels).encode("utf-8")
    if meta.palette:
        vec["palette.bin"] = np.asarray(meta.palette, dtype="<i4").reshape(-1).tobytes()
    if meta.task == "image-to-image" and meta.input_channels == 1:
        _, _, h, w = meta.output_shape
        mean, std = meta.output_mean_std()
        rgb = np.asarray(img.convert("RGB"))
        vec["ycbcr.bin"] = rgb_to_ycbcr(rgb).astype("<f4").tobytes()
        vec["output_argb.bin"] = ycbcr_output_argb(expected, w, h, mean[0], std[0], rgb).astype("<i4").tobytes()
    elif meta.task == "image-to-image":
        _, _, h, w = meta.output_shape
        mean, std = meta.output_mean_std()
        vec["output_argb.bin"] = chw_to_argb(expected, w, h, mean, std).astype("<i4").tobytes()
    elif meta.task == "classification":
        probs = softmax(expected)
        vec["softmax.bin"] = probs.astype("<f4").tobytes()
        vec["top5.bin"] = top_k(probs, 5).astype("<i4").tobytes()
    elif meta.task == "segmentation":
        _, k, h, w = meta.output_shape
        vec["argmax.bin"] = argmax_channels(expected, k, h, w).astype("<i4").tobytes()
    elif meta.task == "detection":
        decoded = decode_detections(expected, meta)
        keep = select_detections(decoded, meta)
        vec["decoded.bin"] = decoded.astype("<f4").tobytes()
        vec["nms_keep.bin"] = keep.astype("<i4").tobytes()
        vec["detections.bin"] = decoded[keep].astype("<f4").tobytes()
    return vec


def compute(img, meta: Metadata, expected_tensor) -> Goldens:
    inp = input_tensor(img, meta)
    expected = expected_tensor.reshape(-1).numpy().astype(np.float32)
    return Goldens(
        sample_png=png_bytes(img),
        expected=expected,
        vectors=host_vectors(img, meta, inp.reshape(-1).numpy(), expected),
    )


def read_floats(path: Path) -> np.ndarray:
    return np.frombuffer(Path(path).read_bytes(), dtype="<f4")

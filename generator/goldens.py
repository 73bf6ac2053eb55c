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
    import torchvision.transforms.functional as F

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


def compute_for_tensor(example, expected_tensor) -> "Goldens":
    """Goldens of a non-image input: the sample tensor itself instead of a picture."""
    expected = expected_tensor.reshape(-1).numpy().astype(np.float32)
    return Goldens(sample_png=b"", expected=expected, vectors={}, sample_input=tensor_bytes(example))


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


def softmax(logits: np.ndarray) -> np.ndarray:
    import torch

    return torch.softmax(torch.from_numpy(logits.astype(np.float32)), dim=0).numpy()


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    # Stable sort on negated scores: descending, ties to the lower index.
    return np.argsort(-scores.astype(np.float64), kind="stable")[:k].astype(np.int32)


def argmax_channels(chw: np.ndarray, classes: int, height: int, width: int) -> np.ndarray:
    # np.argmax returns the first maximum: ties go to the lower class.
    return np.argmax(chw.reshape(classes, height, width), axis=0).reshape(-1).astype(np.int32)


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
    if meta.task == "image-to-image":
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

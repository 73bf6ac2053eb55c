"""Pictures of a few flat shapes with their boxes, drawn with Pillow (nothing is downloaded).

Each picture holds 1 to 3 shapes (classes of labels.txt) in dark saturated colours on a light
two-colour gradient, placed so their boxes do not overlap. All randomness comes from the numpy
Generator the caller passes, so a seed gives the same bytes.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

LABELS_FILE = Path(__file__).resolve().parent / "labels.txt"
SUPERSAMPLE = 3  # drawn larger, then box-averaged down: anti-aliased edges


def load_labels(path: Path = LABELS_FILE) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


LABELS = load_labels()


def _outline(label: str, cx: float, cy: float, r: float) -> list[tuple[float, float]] | None:
    """Polygon points (None: a circle); every shape fills its box (cx +- r, cy +- r)."""
    if label == "circle":
        return None
    if label == "square":
        return [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    if label == "triangle":
        return [(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    raise ValueError(f"no drawing for label {label!r}")


def render(size: int, shapes: list[tuple[int, float, float, float, tuple]], bg_a, bg_b, angle: float,
           noise=None) -> Image.Image:
    """shapes: (label index, cx, cy, r in pixels, RGB colour); background gradient bg_a -> bg_b."""
    s = SUPERSAMPLE
    coords = (np.arange(size, dtype=np.float64) + 0.5) / size - 0.5
    t = np.clip(0.5 + coords[None, :] * math.cos(angle) + coords[:, None] * math.sin(angle), 0, 1)[:, :, None]
    img = np.asarray(bg_a, np.float64) * (1 - t) + np.asarray(bg_b, np.float64) * t
    for k, cx, cy, r, colour in shapes:
        mask = Image.new("L", (size * s, size * s), 0)
        draw = ImageDraw.Draw(mask)
        points = _outline(LABELS[k], cx * s, cy * s, r * s)
        if points is None:
            draw.ellipse([(cx - r) * s, (cy - r) * s, (cx + r) * s, (cy + r) * s], fill=255)
        else:
            draw.polygon(points, fill=255)
        m = np.asarray(mask, np.float64).reshape(size, s, size, s).mean(axis=(1, 3))[:, :, None] / 255.0
        img = img * (1 - m) + np.asarray(colour, np.float64) * m
    if noise is not None:
        img = img + noise
    return Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8), "RGB")


def draw_scene(rng: np.random.Generator, size: int) -> tuple[Image.Image, np.ndarray]:
    """A random picture and its boxes: K x 5 float32 rows (label, x1, y1, x2, y2) in pixels."""
    shapes: list[tuple[int, float, float, float, tuple]] = []
    boxes: list[tuple[float, float, float, float]] = []
    for _ in range(int(rng.integers(1, 4))):
        for _attempt in range(20):
            r = float(rng.uniform(0.09, 0.2)) * size
            cx, cy = (float(v) for v in rng.uniform(r, size - r, size=2))
            box = (cx - r, cy - r, cx + r, cy + r)
            if all(box[2] < b[0] or b[2] < box[0] or box[3] < b[1] or b[3] < box[1] for b in boxes):
                break
        else:
            continue
        hue = rng.uniform(0, 1)
        colour = tuple(float(c) for c in _hsv(hue, rng.uniform(0.6, 1.0), rng.uniform(0.2, 0.6)))
        shapes.append((int(rng.integers(len(LABELS))), cx, cy, r, colour))
        boxes.append(box)
    hue = rng.uniform(0, 1)
    bg_a = _hsv(hue, rng.uniform(0, 0.3), rng.uniform(0.8, 1.0))
    bg_b = _hsv((hue + 0.1) % 1, rng.uniform(0, 0.3), rng.uniform(0.8, 1.0))
    noise = rng.normal(0, float(rng.uniform(0, 6)), size=(size, size, 1))
    img = render(size, shapes, bg_a, bg_b, float(rng.uniform(0, 2 * math.pi)), noise)
    rows = np.array([(k, *b) for (k, *_), b in zip(shapes, boxes)], np.float32).reshape(-1, 5)
    return img, rows


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return np.array([r, g, b]) * 255.0


def sample_image(size: int = 64) -> tuple[Image.Image, np.ndarray]:
    """The app's sample: a red circle, a blue square and a green triangle on pale yellow."""
    s = size / 64
    shapes = [
        (LABELS.index("circle"), 16 * s, 18 * s, 10 * s, (200, 30, 40)),
        (LABELS.index("square"), 46 * s, 20 * s, 9 * s, (30, 60, 170)),
        (LABELS.index("triangle"), 30 * s, 46 * s, 11 * s, (30, 130, 50)),
    ]
    img = render(size, shapes, (255, 250, 225), (245, 225, 180), 1.2)
    rows = np.array([(k, cx - r, cy - r, cx + r, cy + r) for k, cx, cy, r, _ in shapes], np.float32)
    return img, rows

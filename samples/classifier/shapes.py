"""Synthetic shape pictures for the classifier sample, drawn with Pillow (nothing is downloaded).

One picture holds one shape of a class from labels.txt, in a random dark colour, size, position
and rotation, on a random light background (a two-colour gradient, with a little noise). All
randomness comes from the numpy Generator the caller passes, so a seed gives the same bytes.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

LABELS_FILE = Path(__file__).resolve().parent / "labels.txt"

# Drawn at this multiple of the output size, then box-averaged down for anti-aliased edges.
SUPERSAMPLE = 3


def load_labels(path: Path = LABELS_FILE) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


LABELS = load_labels()


def _regular(cx: float, cy: float, r: float, n: int, rot: float) -> list[tuple[float, float]]:
    return [
        (cx + r * math.cos(rot + 2 * math.pi * i / n), cy + r * math.sin(rot + 2 * math.pi * i / n))
        for i in range(n)
    ]


def _star(cx: float, cy: float, r: float, rot: float) -> list[tuple[float, float]]:
    pts = []
    for i in range(10):
        rr = r if i % 2 == 0 else r * 0.42
        a = rot + math.pi * i / 5
        pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    return pts


def _cross(cx: float, cy: float, r: float, rot: float) -> list[tuple[float, float]]:
    t = r * 0.32  # half the arm width
    local = [
        (-t, -r), (t, -r), (t, -t), (r, -t), (r, t), (t, t),
        (t, r), (-t, r), (-t, t), (-r, t), (-r, -t), (-t, -t),
    ]
    c, s = math.cos(rot), math.sin(rot)
    return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in local]


def _draw_shape(
    draw: ImageDraw.ImageDraw, label: str, cx: float, cy: float, r: float, rot: float, fill, bg
) -> None:
    if label == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif label == "ring":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
        hole = r * 0.55
        draw.ellipse([cx - hole, cy - hole, cx + hole, cy + hole], fill=bg)
    elif label == "square":
        # r is the circumradius, so a square looks as big as the other shapes.
        draw.polygon(_regular(cx, cy, r * 0.92, 4, rot), fill=fill)
    elif label == "triangle":
        draw.polygon(_regular(cx, cy, r, 3, rot), fill=fill)
    elif label == "star":
        draw.polygon(_star(cx, cy, r, rot), fill=fill)
    elif label == "cross":
        draw.polygon(_cross(cx, cy, r, rot), fill=fill)
    else:
        raise ValueError(f"no drawing for label {label!r}")


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    """HSV in 0..1 to RGB in 0..255."""
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return np.array([r, g, b]) * 255.0


def _colours(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Background gradient ends and a shape colour.

    Any hue, but the background is always light and the shape always dark and saturated: with
    free brightness too, a from-scratch MobileNet needed several times the one-minute budget to
    get past chance, while one sign of contrast leaves it only the outlines to learn.
    """
    hue = rng.uniform(0, 1)
    bg_a = _hsv(hue, rng.uniform(0.0, 0.35), rng.uniform(0.8, 1.0))
    bg_b = _hsv((hue + rng.uniform(-0.1, 0.1)) % 1, rng.uniform(0.0, 0.35), rng.uniform(0.8, 1.0))
    fg = _hsv(rng.uniform(0, 1), rng.uniform(0.5, 1.0), rng.uniform(0.15, 0.6))
    return bg_a, bg_b, fg


def render(
    label: str,
    size: int,
    cx: float,
    cy: float,
    r: float,
    rot: float,
    bg_a,
    bg_b,
    fg,
    grad_angle: float,
    noise=None,
) -> Image.Image:
    """One picture; positions and radius are fractions of size, colours RGB 0..255."""
    s = SUPERSAMPLE
    px = size * s
    mask = Image.new("L", (px, px), 0)
    _draw_shape(ImageDraw.Draw(mask), label, cx * px, cy * px, r * px, rot, 255, 0)
    m = np.asarray(mask, dtype=np.float64).reshape(size, s, size, s).mean(axis=(1, 3))
    m = m[:, :, None] / 255.0

    coords = (np.arange(size, dtype=np.float64) + 0.5) / size - 0.5
    t = 0.5 + coords[None, :] * math.cos(grad_angle) + coords[:, None] * math.sin(grad_angle)
    t = np.clip(t, 0, 1)[:, :, None]
    bg = np.asarray(bg_a) * (1 - t) + np.asarray(bg_b) * t
    img = bg * (1 - m) + np.asarray(fg) * m
    if noise is not None:
        img = img + noise
    return Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8), "RGB")


def draw_example(rng: np.random.Generator, size: int) -> tuple[Image.Image, int]:
    """A random (RGB picture, label index) pair; the same rng state gives the same bytes."""
    k = int(rng.integers(len(LABELS)))
    r = float(rng.uniform(0.18, 0.4))
    cx, cy = (float(v) for v in rng.uniform(r * 0.8, 1 - r * 0.8, size=2))
    rot = float(rng.uniform(0, 2 * math.pi))
    bg_a, bg_b, fg = _colours(rng)
    grad = float(rng.uniform(0, 2 * math.pi))
    noise = rng.normal(0, float(rng.uniform(0, 8)), size=(size, size, 1))
    return render(LABELS[k], size, cx, cy, r, rot, bg_a, bg_b, fg, grad, noise), k


def sample_image(size: int = 96) -> Image.Image:
    """The app's sample picture: a red star on a pale yellow gradient, RGB, size x size."""
    return render(
        "star", size, 0.5, 0.52, 0.38, -math.pi / 2, (255, 250, 225), (245, 225, 180), (200, 30, 40), 1.2
    )

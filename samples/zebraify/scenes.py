"""Synthetic horse -> zebra picture pairs, drawn with Pillow and numpy (nothing is downloaded).

A pair is one scene rendered twice: the input shows a brown horse whose coat carries faint darker
and lighter bands, the target shows the same horse with the dark bands turned near black and the
light bands near white. Everything outside the horse is the same in both pictures.

The bands are what makes the task learnable by a convolutional generator: it is translation
equivariant, so it cannot invent stripes at places the input does not mark; here it only has to
amplify the faint banding to black and white inside brown regions and leave everything else alone.

All randomness comes from the numpy Generator the caller passes, and the drawing uses no
randomness of its own, so a seed gives the same bytes every time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

# Drawing happens at this multiple of the output size and is then box-averaged down, which gives
# anti-aliased edges without relying on any resampling filter of Pillow's.
SUPERSAMPLE = 2

# Horse outlines are in "horse units": a box HORSE_W wide, horse facing right, y down, hooves at
# HOOF_Y. Scene.horse_w says how much of the picture's width that box takes.
HORSE_W = 100.0
HOOF_Y = 78.0

# Part ids drawn into the part map; they pick the stripe pattern.
_BODY, _LEG, _DARK = 1, 2, 3

ZEBRA_BLACK = np.array([22.0, 22.0, 26.0])
ZEBRA_WHITE = np.array([242.0, 241.0, 236.0])
EYE = (18, 14, 12)


@dataclass(frozen=True)
class Scene:
    """Everything that decides one picture. Positions and lengths are fractions of the size."""

    horizon: float  # sky/grass boundary
    sky_top: tuple[float, float, float]
    sky_low: tuple[float, float, float]
    grass_near: tuple[float, float, float]
    grass_far: tuple[float, float, float]
    hills: tuple[tuple[float, float], ...]  # (x, height) control points of the far hills
    clouds: tuple[tuple[float, float, float, float], ...]  # (cx, cy, rx, ry)
    patches: tuple[tuple[float, float, float, float, float], ...]  # grass (cx, cy, rx, ry, shade)
    horse_x: float  # centre of the horse box
    ground_y: float  # where the hooves stand
    horse_w: float  # width of the horse box
    facing_right: bool
    tilt_deg: float
    coat: tuple[float, float, float]  # mid brown of the coat
    band_contrast: float  # relative brightness swing of the bands: "faint"
    stripe_period: float  # in horse units
    stripe_wave: float  # amplitude of the stripe waviness, horse units
    stripe_phase: float


_SKY_TOP = (70.0, 135.0, 225.0)
_SKY_LOW = (190.0, 220.0, 245.0)
_GRASS_FAR = (135.0, 185.0, 90.0)
_GRASS_NEAR = (70.0, 140.0, 50.0)


def random_scene(rng: np.random.Generator, stripe_scale: float = 1.0) -> Scene:
    """A random scene. stripe_scale widens the stripes (in horse units) by that factor."""
    horizon = float(rng.uniform(0.3, 0.55))
    u = rng.uniform

    # Colours stay near the sample scene's. The generator's instance norms throw away each
    # picture's mean colour, so it has to put back a remembered typical colour: the narrower the
    # palette, the sooner (in a one-minute training) the meadow comes out in its own colours.
    def near(c: tuple[float, float, float], spread: float) -> tuple[float, float, float]:
        return tuple(float(v + u(-spread, spread)) for v in c)  # type: ignore[return-value]

    sky_top = near(_SKY_TOP, 15)
    sky_low = near(_SKY_LOW, 10)
    grass_far = near(_GRASS_FAR, 12)
    grass_near = near(_GRASS_NEAR, 12)
    n_hills = 6
    hills = tuple((i / (n_hills - 1), float(u(0.0, 0.08))) for i in range(n_hills))
    clouds = tuple(
        (float(u(0, 1)), float(u(0.03, horizon * 0.7)), float(u(0.06, 0.16)), float(u(0.025, 0.05)))
        for _ in range(int(rng.integers(0, 4)))
    )
    patches = tuple(
        (float(u(0, 1)), float(u(horizon, 1)), float(u(0.05, 0.2)), float(u(0.02, 0.06)), float(u(-18, 18)))
        for _ in range(int(rng.integers(2, 7)))
    )
    horse_w = float(u(0.45, 0.95))
    ground_y = float(u(horizon + 0.3 * horse_w, 1.02))
    horse_x = float(u(0.2, 0.8))
    # Chestnut browns: never green or blue like the background.
    value = u(125, 165)
    coat = (value, value * u(0.6, 0.68), value * u(0.34, 0.42))
    return Scene(
        horizon=horizon,
        sky_top=sky_top,
        sky_low=sky_low,
        grass_near=grass_near,
        grass_far=grass_far,
        hills=hills,
        clouds=clouds,
        patches=patches,
        horse_x=horse_x,
        ground_y=ground_y,
        horse_w=horse_w,
        facing_right=bool(rng.integers(0, 2)),
        tilt_deg=float(u(-10, 10)),
        coat=coat,
        band_contrast=float(u(0.08, 0.14)),
        stripe_period=float(u(5.0, 7.5)) * stripe_scale,
        stripe_wave=float(u(0.8, 2.0)),
        stripe_phase=float(u(0, 2 * math.pi)),
    )


# The fixed scene of the app's sample picture: a horse side-on in the middle of a meadow.
SAMPLE_SCENE = Scene(
    horizon=0.42,
    sky_top=_SKY_TOP,
    sky_low=_SKY_LOW,
    grass_near=_GRASS_NEAR,
    grass_far=_GRASS_FAR,
    hills=((0.0, 0.03), (0.25, 0.07), (0.5, 0.02), (0.75, 0.06), (1.0, 0.04)),
    clouds=((0.2, 0.1, 0.12, 0.04), (0.78, 0.17, 0.1, 0.03)),
    patches=((0.15, 0.8, 0.15, 0.04, -12.0), (0.85, 0.62, 0.12, 0.03, 10.0), (0.55, 0.95, 0.2, 0.04, -8.0)),
    horse_x=0.5,
    ground_y=0.9,
    horse_w=0.8,
    facing_right=True,
    tilt_deg=0.0,
    coat=(150.0, 95.0, 55.0),
    band_contrast=0.11,
    stripe_period=6.0,
    stripe_wave=1.3,
    stripe_phase=0.5,
)


def _ellipse(cx: float, cy: float, rx: float, ry: float, angle_deg: float = 0.0, n: int = 48):
    a = math.radians(angle_deg)
    ca, sa = math.cos(a), math.sin(a)
    pts = []
    for i in range(n):
        t = 2 * math.pi * i / n
        x, y = rx * math.cos(t), ry * math.sin(t)
        pts.append((cx + x * ca - y * sa, cy + x * sa + y * ca))
    return pts


def _leg(x_top: float, y_top: float, x_bottom: float, w_top: float, w_bottom: float):
    return [
        (x_top - w_top / 2, y_top),
        (x_top + w_top / 2, y_top),
        (x_bottom + w_bottom / 2, HOOF_Y),
        (x_bottom - w_bottom / 2, HOOF_Y),
    ]


def _horse_parts():
    """(part id, polygon) in horse units, in drawing order: later parts cover earlier ones."""
    return [
        (_DARK, [(24, 33), (27, 38), (21, 52), (17, 63), (13, 64), (16, 50)]),  # tail
        (_LEG, _leg(33, 42, 31, 7, 4.5)),  # far hind leg
        (_LEG, _leg(64, 42, 64, 6, 4.5)),  # far fore leg
        (_BODY, _ellipse(50, 38, 28, 13)),  # body
        (_BODY, [(64, 32), (75, 12), (86, 14), (79, 42)]),  # neck
        (_BODY, _ellipse(86, 21, 10, 4.8, 52)),  # head, muzzle down and forward
        (_BODY, [(79, 13), (81, 6), (84, 12)]),  # ear
        (_LEG, _leg(38, 44, 40, 7.5, 4.5)),  # near hind leg
        (_LEG, _leg(72, 44, 74, 6.5, 4.5)),  # near fore leg
        (_DARK, _leg(31, 75, 31, 4.6, 5.2)),  # hooves
        (_DARK, _leg(64, 75, 64, 4.6, 5.2)),
        (_DARK, _leg(40, 75, 40, 4.6, 5.2)),
        (_DARK, _leg(74, 75, 74, 4.6, 5.2)),
    ]


_EYE_AT = (87.5, 18.0)
_EYE_R = 1.1


class _Frame:
    """Maps horse units to picture pixels (at the drawing resolution) and back."""

    def __init__(self, scene: Scene, px: float) -> None:
        self.scale = scene.horse_w * px / HORSE_W
        self.flip = 1.0 if scene.facing_right else -1.0
        a = math.radians(scene.tilt_deg)
        self.cos, self.sin = math.cos(a), math.sin(a)
        # The anchor is the middle of the hooves' line, so tilting keeps the horse on the ground.
        self.ax, self.ay = HORSE_W / 2, HOOF_Y
        self.tx, self.ty = scene.horse_x * px, scene.ground_y * px

    def to_px(self, x: float, y: float) -> tuple[float, float]:
        dx, dy = (x - self.ax) * self.flip * self.scale, (y - self.ay) * self.scale
        return (self.tx + dx * self.cos - dy * self.sin, self.ty + dx * self.sin + dy * self.cos)

    def to_units(self, px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dx, dy = px - self.tx, py - self.ty
        rx, ry = dx * self.cos + dy * self.sin, -dx * self.sin + dy * self.cos
        return rx / (self.flip * self.scale) + self.ax, ry / self.scale + self.ay


def _background(scene: Scene, px: int) -> np.ndarray:
    ys = (np.arange(px, dtype=np.float64) + 0.5) / px
    horizon = scene.horizon
    t_sky = np.clip(ys / horizon, 0, 1)[:, None]
    sky = np.array(scene.sky_top) * (1 - t_sky) + np.array(scene.sky_low) * t_sky
    t_grass = np.clip((ys - horizon) / max(1 - horizon, 1e-6), 0, 1)[:, None]
    grass = np.array(scene.grass_far) * (1 - t_grass) + np.array(scene.grass_near) * t_grass
    rows = np.where((ys < horizon)[:, None], sky, grass)
    img = np.repeat(rows[:, None, :], px, axis=1)

    # Hills, clouds and grass patches are soft shapes: blurred masks blended over the gradient.
    # Soft, low-contrast shapes keep the background easy to reproduce for a generator without a
    # skip connection, so the demo's errors show on the horse and not in the meadow.
    def soft(draw_fn, blur: float) -> np.ndarray:
        m = Image.new("L", (px, px), 0)
        draw_fn(ImageDraw.Draw(m))
        if blur > 0:
            m = m.filter(ImageFilter.GaussianBlur(blur))
        return np.asarray(m, dtype=np.float64)[:, :, None] / 255.0

    hill_pts = [(x * px, (horizon - h) * px) for x, h in scene.hills]
    hill_pts = [(0.0, horizon * px + 1)] + hill_pts + [(float(px), horizon * px + 1)]
    hill = soft(lambda d: d.polygon(hill_pts, fill=255), px * 0.004)
    img = img * (1 - hill) + (np.array(scene.grass_far) * 0.82) * hill

    for cx, cy, rx, ry in scene.clouds:
        box = [(cx - rx) * px, (cy - ry) * px, (cx + rx) * px, (cy + ry) * px]
        cloud = soft(lambda d, b=box: d.ellipse(b, fill=255), px * 0.012) * 0.85
        img = img * (1 - cloud) + np.array([248.0, 249.0, 252.0]) * cloud

    for cx, cy, rx, ry, shade in scene.patches:
        box = [(cx - rx) * px, (cy - ry) * px, (cx + rx) * px, (cy + ry) * px]
        patch = soft(lambda d, b=box: d.ellipse(b, fill=255), px * 0.02)
        img = img + shade * patch * (ys >= horizon)[:, None, None]
    return img


def _render(scene: Scene, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Input, target (float RGB, 0..255) and horse coverage (0..1), all at size x size."""
    s = SUPERSAMPLE
    frame = _Frame(scene, size * s)
    # The background has no sharp edges, so it is drawn at the output size; only the horse's
    # bounding box is drawn supersampled, which is where nearly all of a pair's time would go.
    bg = _background(scene, size)
    x_in, x_out, cover = bg.copy(), bg.copy(), np.zeros((size, size))

    polys = [(part, [frame.to_px(x, y) for x, y in poly]) for part, poly in _horse_parts()]
    xs = [x for _, poly in polys for x, _ in poly]
    ys = [y for _, poly in polys for _, y in poly]
    x0, x1 = max(int(min(xs) // s) - 1, 0), min(int(max(xs) // s) + 2, size)
    y0, y1 = max(int(min(ys) // s) - 1, 0), min(int(max(ys) // s) + 2, size)
    if x0 >= x1 or y0 >= y1:
        return x_in, x_out, cover
    w, h = (x1 - x0) * s, (y1 - y0) * s
    ox, oy = x0 * s, y0 * s

    parts = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(parts)
    for part_id, poly in polys:
        draw.polygon([(x - ox, y - oy) for x, y in poly], fill=part_id)
    part = np.asarray(parts)

    u, v = frame.to_units(
        np.arange(ox, ox + w, dtype=np.float64)[None, :] + 0.5,
        np.arange(oy, oy + h, dtype=np.float64)[:, None] + 0.5,
    )
    # Zebra-like bands: across the body they run up and down with a slow wave, on the legs
    # they run across the leg. A steep clip of a sine keeps the edges between bands short.
    p = scene.stripe_period
    body_phase = (u + scene.stripe_wave * np.sin(v / 4.0 + scene.stripe_phase)) / p
    leg_phase = (v + 0.3 * u) / (p * 0.7)
    phase = np.where(part == _LEG, leg_phase, body_phase)
    band = np.clip(0.5 + 1.6 * np.sin(2 * math.pi * phase + scene.stripe_phase), 0.0, 1.0)
    band = np.where(part == _DARK, 0.0, band)[:, :, None]

    # Light shading: the back a little brighter than the belly, as under a sky light.
    shade = np.clip(1.04 - 0.08 * (v - 25.0) / 26.0, 0.9, 1.06)[:, :, None]

    coat = np.array(scene.coat)
    coat_in = coat * (1 + scene.band_contrast * (2 * band - 1)) * shade
    coat_out = (ZEBRA_BLACK * (1 - band) + ZEBRA_WHITE * band) * shade

    inside = (part > 0)[:, :, None]
    bg_win = np.repeat(np.repeat(bg[y0:y1, x0:x1], s, axis=0), s, axis=1)
    win_in = np.where(inside, coat_in, bg_win)
    win_out = np.where(inside, coat_out, bg_win)

    # The eye is the same in both pictures: a detail the generator must keep, not recolour.
    ex, ey = frame.to_px(*_EYE_AT)
    ex, ey = ex - ox, ey - oy
    er = _EYE_R * frame.scale
    eye = Image.new("L", (w, h), 0)
    ImageDraw.Draw(eye).ellipse([ex - er, ey - er, ex + er, ey + er], fill=255)
    eye_m = (np.asarray(eye) > 0)[:, :, None]
    win_in = np.where(eye_m, np.array(EYE, dtype=np.float64), win_in)
    win_out = np.where(eye_m, np.array(EYE, dtype=np.float64), win_out)

    def down(a: np.ndarray) -> np.ndarray:
        return a.reshape(h // s, s, w // s, s, -1).mean(axis=(1, 3))

    x_in[y0:y1, x0:x1] = down(win_in)
    x_out[y0:y1, x0:x1] = down(win_out)
    cover[y0:y1, x0:x1] = down(inside.astype(np.float64))[:, :, 0]
    return x_in, x_out, cover


def _to_image(a: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "RGB")


def render_pair(scene: Scene, size: int) -> tuple[Image.Image, Image.Image]:
    x_in, x_out, _ = _render(scene, size)
    return _to_image(x_in), _to_image(x_out)


def horse_mask(scene: Scene, size: int) -> np.ndarray:
    """Fraction of each pixel covered by the horse (0..1), float, size x size."""
    return _render(scene, size)[2]


def draw_pair(rng: np.random.Generator, size: int) -> tuple[Image.Image, Image.Image]:
    """A random (horse, zebra) pair of RGB pictures, size x size; the same rng state gives the
    same bytes."""
    return render_pair(random_scene(rng), size)


def sample_image(size: int = 256) -> Image.Image:
    """The app's sample picture: one fixed horse scene, RGB, size x size."""
    return render_pair(SAMPLE_SCENE, size)[0]

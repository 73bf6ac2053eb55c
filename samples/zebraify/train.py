"""Train the zebraify demo generator on synthetic horse -> zebra pairs.

    python samples/zebraify/train.py --out DIR [--steps N] [--size 256]

Writes DIR/weights.pth (state_dict for model.py:build_generator), DIR/cyclegan.pt (TorchScript,
traced at 1x3xSIZExSIZE) and DIR/horse.png (the sample picture, SIZE x SIZE). Nothing is
downloaded. Two runs on the same machine give byte-identical weights.pth and horse.png.

It is a paired, supervised stand-in for CycleGAN training (which needs two photo collections and
hours): L1 between the generator's output and the drawn zebra. The generator is fully
convolutional, so it trains on small pictures and runs on the app's larger one.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    # samples/ is not a package; the sample's modules are imported from beside this file.
    sys.path.insert(0, str(HERE))
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))  # samples/reproducible.py

from model import build_generator  # noqa: E402
from reproducible import pinned_torch  # noqa: E402
from scenes import draw_pair, random_scene, render_pair, sample_image  # noqa: E402

SEED = 20240
# Results of float reductions depend on how work is split between threads, so the count is fixed:
# two runs on one machine give byte-identical weights whatever its number of cores.
THREADS = 2

STEPS = 320  # about a minute on two idle cores
SCENE_SIZE = 256  # the app's picture side; held-out pairs are drawn at it
# The training scenes are drawn whole at half the app's side, with stripes twice as wide in horse
# units, so stripes keep the pixel widths they have in the app's picture. A 96 px crop then holds
# most of a scene: the instance norms see about the same mix of sky, grass and horse as on the
# app's whole picture. Crops of 256 px scenes at the same cost were tried first and left the
# meadow washed out on whole pictures, because the norms' statistics differed.
POOL_SIZE = 128
POOL = 48  # scenes drawn up front; crops of them make the batches
CROP = 96
BATCH = 2
LR = 2e-3
HORSE_CROPS = 0.6  # share of crops centred on the horse; the rest are anywhere
LOG_EVERY = 25
HELD_OUT = 4  # held-out pairs for the final error numbers


def to_tensor(img) -> torch.Tensor:
    """Like torchvision's ToTensor (HWC uint8 -> CHW float in 0..1), without importing it."""
    a = np.asarray(img, dtype=np.float32) / 255.0
    return torch.from_numpy(a.transpose(2, 0, 1).copy())


def _pool(rng: np.random.Generator, n: int, size: int, stripe_scale: float = 1.0):
    xs, ys, covers = [], [], []
    for _ in range(n):
        scene = random_scene(rng, stripe_scale)
        x, y = render_pair(scene, size)
        xs.append(to_tensor(x))
        ys.append(to_tensor(y) * 2 - 1)  # the generator's tanh range
        # Where the two pictures differ is where the horse is; used to aim crops at it.
        covers.append((np.asarray(x) != np.asarray(y)).any(axis=2))
    return torch.stack(xs), torch.stack(ys), covers


def _batch(rng: np.random.Generator, xs, ys, covers, batch: int, crop: int):
    size = xs.shape[-1]
    bx, by = [], []
    for _ in range(batch):
        i = int(rng.integers(len(covers)))
        hy, hx = np.nonzero(covers[i])
        if len(hy) and rng.random() < HORSE_CROPS:
            k = int(rng.integers(len(hy)))
            top = int(np.clip(hy[k] - rng.integers(crop), 0, size - crop))
            left = int(np.clip(hx[k] - rng.integers(crop), 0, size - crop))
        else:
            top, left = (int(v) for v in rng.integers(0, size - crop + 1, size=2))
        bx.append(xs[i, :, top : top + crop, left : left + crop])
        by.append(ys[i, :, top : top + crop, left : left + crop])
    return torch.stack(bx), torch.stack(by)


def train(
    out_dir,
    steps: int = STEPS,
    size: int = SCENE_SIZE,
    *,
    crop: int = CROP,
    batch: int = BATCH,
    lr: float = LR,
    pool: int = POOL,
    log=print,
) -> dict:
    """Train, write weights.pth, cyclegan.pt and horse.png to out_dir, return numbers about the
    run (losses, held-out errors, seconds)."""
    with pinned_torch(SEED, THREADS):
        return _train(out_dir, steps, size, crop=crop, batch=batch, lr=lr, pool=pool, log=log)


def _train(
    out_dir,
    steps: int = STEPS,
    size: int = SCENE_SIZE,
    *,
    crop: int = CROP,
    batch: int = BATCH,
    lr: float = LR,
    pool: int = POOL,
    log=print,
) -> dict:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rng = np.random.default_rng(SEED)

    xs, ys, covers = _pool(rng, pool, POOL_SIZE, SCENE_SIZE / POOL_SIZE)
    log(f"drew {pool} scenes in {time.perf_counter() - t0:.1f}s")

    model = build_generator().train()
    # Start the output at the pictures' mean colour instead of tanh(0) = mid grey. The instance
    # norms leave the generator no way to read absolute colours, so it has to learn them as a
    # prior; this bias is that prior's first guess, and it saves much of a short training.
    with torch.no_grad():
        model.model[-2].bias.copy_(torch.atanh(ys.mean(dim=(0, 2, 3)).clamp(-0.95, 0.95)))
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.5, 0.999))
    # Cosine decay to zero, so training ends on small steps whatever the step count.
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + np.cos(np.pi * min(s, steps) / max(steps, 1)))
    )
    loss = torch.zeros(())
    running = 0.0
    for step in range(1, steps + 1):
        bx, by = _batch(rng, xs, ys, covers, batch, crop)
        loss = F.l1_loss(model(bx), by)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        running += loss.item()
        if step % LOG_EVERY == 0 or step == steps:
            n = LOG_EVERY if step % LOG_EVERY == 0 else step % LOG_EVERY
            log(f"step {step:4d}/{steps}  l1 {running / n:.4f}  {time.perf_counter() - t0:.1f}s")
            running = 0.0
    train_time = time.perf_counter() - t0

    model.eval()
    # Held-out pairs from their own seed, so they are the same whatever the step count. The
    # errors are also split by region: the horse is a small part of each picture, and the
    # whole-picture number alone would mostly measure the meadow.
    held_rng = np.random.default_rng(SEED + 1)
    err_model, err_id, horse = [], [], []
    for _ in range(HELD_OUT):
        hx_img, hy_img = draw_pair(held_rng, SCENE_SIZE)
        horse.append(torch.from_numpy((np.asarray(hx_img) != np.asarray(hy_img)).any(axis=2)))
        hx, hy = to_tensor(hx_img)[None], to_tensor(hy_img)[None] * 2 - 1
        with torch.no_grad():
            err_model.append((model(hx) - hy).abs().mean(dim=1)[0])
        err_id.append((hx * 2 - 1 - hy).abs().mean(dim=1)[0])
    e_m, e_i, h = torch.stack(err_model), torch.stack(err_id), torch.stack(horse)
    stats = {
        "held_out_l1": e_m.mean().item(),
        "identity_l1": e_i.mean().item(),
        "held_out_l1_horse": e_m[h].mean().item(),
        "identity_l1_horse": e_i[h].mean().item(),
        "held_out_l1_background": e_m[~h].mean().item(),
    }
    log(
        "held-out L1 (output range -1..1): model {held_out_l1:.4f} vs identity {identity_l1:.4f};"
        " on the horse {held_out_l1_horse:.4f} vs {identity_l1_horse:.4f};"
        " background {held_out_l1_background:.4f} vs 0".format(**stats)
    )

    torch.save(model.state_dict(), out / "weights.pth")
    example = torch.zeros(1, 3, size, size)
    with torch.no_grad():
        traced = torch.jit.trace(model, example)
    torch.jit.save(traced, str(out / "cyclegan.pt"))
    sample_image(size).save(out / "horse.png", format="PNG")

    total = time.perf_counter() - t0
    log(f"trained {steps} steps in {train_time:.1f}s, total {total:.1f}s; wrote {out}")
    return {
        "final_loss": float(loss.item()),
        **stats,
        "train_seconds": train_time,
        "total_seconds": total,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, type=Path, help="directory for the three files")
    p.add_argument("--steps", type=int, default=STEPS, help=f"training steps (default {STEPS})")
    p.add_argument("--size", type=int, default=SCENE_SIZE, help="side of horse.png and of the traced input")
    a = p.parse_args(argv)
    if a.steps < 0:
        p.error("--steps must be >= 0")
    if a.size < 16 or a.size % 4:
        p.error("--size must be a multiple of 4, at least 16 (the generator halves it twice)")
    train(a.out, a.steps, a.size)
    return 0


if __name__ == "__main__":
    sys.exit(main())

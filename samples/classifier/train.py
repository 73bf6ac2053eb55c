"""Train the sample's MobileNetV2 on synthetic shapes.

    python samples/classifier/train.py --out DIR [--steps N] [--size 96]

Writes DIR/classifier.pt (TorchScript, traced at 1x3xSIZExSIZE, expects ImageNet-normalized
input), DIR/weights.pth (state_dict for model.py:build_classifier), DIR/labels.txt and
DIR/sample.png. Nothing is downloaded. Two runs on the same machine give byte-identical
weights.pth, labels.txt and sample.png.
"""

from __future__ import annotations

import argparse
import shutil
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

from model import LABELS_FILE, build_classifier  # noqa: E402
from reproducible import pinned_torch  # noqa: E402
from shapes import LABELS, draw_example, sample_image  # noqa: E402

SEED = 4242
# Float reductions depend on how work is split between threads, so the count is fixed: two runs
# on one machine give byte-identical weights whatever its number of cores.
THREADS = 2

STEPS = 800
SIZE = 96
BATCH = 32
LR = 3e-3
HELD_OUT = 300
LOG_EVERY = 25

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def to_input(img) -> torch.Tensor:
    """torchvision's ToTensor + Normalize(MEAN, STD), written out to keep the sample's inputs
    exactly what the app computes: CHW float, (pixel / 255 - mean) / std."""
    a = np.asarray(img, dtype=np.float32) / 255.0
    a = (a - np.asarray(MEAN, dtype=np.float32)) / np.asarray(STD, dtype=np.float32)
    return torch.from_numpy(a.transpose(2, 0, 1).copy())


def _batch(rng: np.random.Generator, n: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = [], []
    for _ in range(n):
        img, k = draw_example(rng, size)
        xs.append(to_input(img))
        ys.append(k)
    return torch.stack(xs), torch.tensor(ys, dtype=torch.long)


def train(
    out_dir, steps: int = STEPS, size: int = SIZE, *, batch: int = BATCH, lr: float = LR, log=print
) -> dict:
    """Train, write classifier.pt, weights.pth, labels.txt and sample.png to out_dir, return
    numbers about the run (loss, held-out accuracy, seconds)."""
    with pinned_torch(SEED, THREADS):
        return _train(out_dir, steps, size, batch=batch, lr=lr, log=log)


def _train(
    out_dir, steps: int = STEPS, size: int = SIZE, *, batch: int = BATCH, lr: float = LR, log=print
) -> dict:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rng = np.random.default_rng(SEED)

    model = build_classifier(len(LABELS)).train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + np.cos(np.pi * min(s, steps) / max(steps, 1)))
    )
    loss = torch.zeros(())
    running, hits, seen = 0.0, 0, 0
    for step in range(1, steps + 1):
        x, y = _batch(rng, batch, size)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        running += loss.item()
        hits += int((logits.argmax(1) == y).sum())
        seen += len(y)
        if step % LOG_EVERY == 0 or step == steps:
            n = LOG_EVERY if step % LOG_EVERY == 0 else step % LOG_EVERY
            log(
                f"step {step:4d}/{steps}  loss {running / n:.4f}  train acc {hits / seen:.2f}"
                f"  {time.perf_counter() - t0:.1f}s"
            )
            running, hits, seen = 0.0, 0, 0
    train_time = time.perf_counter() - t0

    model.eval()
    # Held-out pictures from their own seed: the same set whatever the step count.
    hx, hy = _batch(np.random.default_rng(SEED + 1), HELD_OUT, size)
    with torch.no_grad():
        pred = torch.cat([model(hx[i : i + 100]) for i in range(0, HELD_OUT, 100)]).argmax(1)
    accuracy = (pred == hy).float().mean().item()
    log(f"held-out accuracy {accuracy:.3f} on {HELD_OUT} pictures (chance {1 / len(LABELS):.3f})")

    torch.save(model.state_dict(), out / "weights.pth")
    with torch.no_grad():
        traced = torch.jit.trace(model, torch.zeros(1, 3, size, size))
    torch.jit.save(traced, str(out / "classifier.pt"))
    shutil.copyfile(LABELS_FILE, out / "labels.txt")
    sample_image(size).save(out / "sample.png", format="PNG")

    total = time.perf_counter() - t0
    log(f"trained {steps} steps in {train_time:.1f}s, total {total:.1f}s; wrote {out}")
    return {
        "final_loss": float(loss.item()),
        "held_out_accuracy": accuracy,
        "train_seconds": train_time,
        "total_seconds": total,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, type=Path, help="directory for the four files")
    p.add_argument("--steps", type=int, default=STEPS, help=f"training steps (default {STEPS})")
    p.add_argument(
        "--size", type=int, default=SIZE, help=f"picture side for training and tracing (default {SIZE})"
    )
    a = p.parse_args(argv)
    if a.steps < 0:
        p.error("--steps must be >= 0")
    if a.size < 32:
        p.error("--size must be at least 32 (MobileNetV2 downsamples 32 times)")
    train(a.out, a.steps, a.size)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Train the sample's grid detector on synthetic shape scenes.

    python samples/detector/train.py --out DIR [--steps N]

Writes DIR/detector.pt (TorchScript, traced at 1x3x64x64, 0..1 input, output 1 x 64 x (5 + C)
raw predictions), DIR/weights.pth (state_dict for model.py:build_detector), DIR/labels.txt and
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
    sys.path.insert(0, str(HERE))  # samples/ is not a package: the sample's own modules
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))  # samples/reproducible.py

from model import GRID, LABELS_FILE, SIZE, build_detector  # noqa: E402
from reproducible import pinned_torch  # noqa: E402
from scenes import LABELS, draw_scene, sample_image  # noqa: E402

SEED = 5151
THREADS = 2  # part of the recipe: float reductions depend on the thread split
STEPS = 250
BATCH = 32
LR = 4e-3
SCENES = 2000
HELD_OUT = 200
LOG_EVERY = 50
# What the app uses by default (scaffold's --score-threshold and --iou-threshold defaults).
SCORE_THRESHOLD = 0.25
IOU_THRESHOLD = 0.45


def to_input(img) -> torch.Tensor:
    """ToTensor: CHW float, pixel / 255 (the detector takes no mean/std)."""
    return torch.from_numpy((np.asarray(img, dtype=np.float32) / 255.0).transpose(2, 0, 1).copy())


def _dataset(rng: np.random.Generator, n: int) -> tuple[torch.Tensor, list[np.ndarray]]:
    pictures, boxes = [], []
    for _ in range(n):
        img, rows = draw_scene(rng, SIZE)
        pictures.append(to_input(img))
        boxes.append(rows)
    return torch.stack(pictures), boxes


def _targets(boxes: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per cell: objectness (B x cells), box targets in 0..1 (B x cells x 4: offset of the center
    in its cell, width and height over the picture), class index (-1 where no object)."""
    cells = GRID * GRID
    cell = SIZE / GRID
    obj = torch.zeros(len(boxes), cells)
    box = torch.zeros(len(boxes), cells, 4)
    cls = torch.full((len(boxes), cells), -1, dtype=torch.long)
    for b, rows in enumerate(boxes):
        for k, x1, y1, x2, y2 in rows:
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            j, i = min(int(cx // cell), GRID - 1), min(int(cy // cell), GRID - 1)
            idx = i * GRID + j
            obj[b, idx] = 1.0
            box[b, idx] = torch.tensor([cx / cell - j, cy / cell - i, (x2 - x1) / SIZE, (y2 - y1) / SIZE])
            cls[b, idx] = int(k)
    return obj, box, cls


def _loss(raw: torch.Tensor, obj: torch.Tensor, box: torch.Tensor, cls: torch.Tensor) -> torch.Tensor:
    positive = obj > 0
    loss = F.binary_cross_entropy_with_logits(raw[..., 4], obj, pos_weight=torch.tensor(4.0))
    if positive.any():
        loss = loss + 5 * F.binary_cross_entropy_with_logits(raw[..., :4][positive], box[positive])
        loss = loss + F.cross_entropy(raw[..., 5:][positive], cls[positive])
    return loss


def evaluate(model, pictures: torch.Tensor, boxes: list[np.ndarray]) -> dict:
    """Recall and precision at IoU 0.5 with the right label, after the app's threshold and NMS."""
    from torchvision.ops import box_convert, box_iou, nms

    found = correct = expected = 0
    with torch.no_grad():
        out = model(pictures)
    for rows, pred in zip(boxes, out):
        xyxy = box_convert(pred[:, :4], "cxcywh", "xyxy")
        best, label = pred[:, 5:].max(1)
        score = pred[:, 4] * best
        keep = torch.nonzero(score >= SCORE_THRESHOLD).flatten()
        keep = keep[nms(xyxy[keep], score[keep], IOU_THRESHOLD)]
        expected += len(rows)
        found += len(keep)
        if len(rows) and len(keep):
            iou = box_iou(xyxy[keep], torch.from_numpy(rows[:, 1:]))
            match = (iou >= 0.5) & (label[keep][:, None] == torch.from_numpy(rows[:, 0]).long()[None, :])
            correct += int(match.any(0).sum())
    return {"recall": correct / max(expected, 1), "precision": correct / max(found, 1)}


def train(out_dir, steps: int = STEPS, *, scenes: int = SCENES, held_out: int = HELD_OUT, log=print) -> dict:
    """Train, write detector.pt, weights.pth, labels.txt and sample.png to out_dir, return numbers
    about the run (loss, held-out recall and precision, seconds)."""
    with pinned_torch(SEED, THREADS):
        return _train(out_dir, steps, scenes, held_out, log=log)


def _train(out_dir, steps: int, scenes: int, held_out: int, *, log=print) -> dict:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rng = np.random.default_rng(SEED)
    pictures, boxes = _dataset(rng, scenes)
    obj, box, cls = _targets(boxes)
    log(f"drew {scenes} scenes in {time.perf_counter() - t0:.1f}s")

    model = build_detector(len(LABELS)).train()
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + np.cos(np.pi * min(s, steps) / max(steps, 1))))
    order = torch.from_numpy(rng.permutation(scenes * (steps * BATCH // scenes + 1)) % scenes)
    loss = torch.zeros(())
    running = 0.0
    for step in range(1, steps + 1):
        idx = order[(step - 1) * BATCH : step * BATCH]
        loss = _loss(model.raw(pictures[idx]), obj[idx], box[idx], cls[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        running += loss.item()
        if step % LOG_EVERY == 0 or step == steps:
            n = LOG_EVERY if step % LOG_EVERY == 0 else step % LOG_EVERY
            log(f"step {step:4d}/{steps}  loss {running / n:.4f}  {time.perf_counter() - t0:.1f}s")
            running = 0.0
    train_time = time.perf_counter() - t0

    model.eval()
    held_pictures, held_boxes = _dataset(np.random.default_rng(SEED + 1), held_out)
    quality = evaluate(model, held_pictures, held_boxes)
    log(f"held-out: recall {quality['recall']:.3f}, precision {quality['precision']:.3f} "
        f"(IoU >= 0.5, right label, {held_out} scenes)")

    torch.save(model.state_dict(), out / "weights.pth")
    with torch.no_grad():
        traced = torch.jit.trace(model, torch.zeros(1, 3, SIZE, SIZE))
    torch.jit.save(traced, str(out / "detector.pt"))
    shutil.copyfile(LABELS_FILE, out / "labels.txt")
    sample, _ = sample_image(SIZE)
    sample.save(out / "sample.png", format="PNG")
    total = time.perf_counter() - t0
    log(f"trained {steps} steps in {train_time:.1f}s, total {total:.1f}s; wrote {out}")
    return {"final_loss": float(loss.item()), **quality, "train_seconds": train_time, "total_seconds": total}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, type=Path, help="directory for the four files")
    p.add_argument("--steps", type=int, default=STEPS, help=f"training steps (default {STEPS})")
    a = p.parse_args(argv)
    if a.steps < 0:
        p.error("--steps must be >= 0")
    train(a.out, a.steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())

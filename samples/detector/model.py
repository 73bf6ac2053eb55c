"""A tiny YOLO-style grid detector for the detector sample.

Input: 1x3x64x64, pixels scaled to 0..1 (ToTensor, no mean/std). The picture is cut into an
8x8 grid; each cell predicts one box, so the output is 1 x 64 x (4 + 1 + C): cx, cy, w, h in
input pixels, objectness and C class probabilities (C = lines of labels.txt). That is the raw,
pre-NMS layout of the PyTorch Android object-detection demo's YOLOv5; the app applies the score
threshold and non-maximum suppression. Used by scaffold as
``--task detection --model detector.pt`` (or ``model.py:build_detector --weights weights.pth``).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

LABELS_FILE = Path(__file__).resolve().parent / "labels.txt"
SIZE = 64
GRID = 8


def _num_labels() -> int:
    return sum(1 for line in LABELS_FILE.read_text(encoding="utf-8").splitlines() if line.strip())


NUM_CLASSES = _num_labels()


def _block(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class GridDetector(nn.Module):
    def __init__(self, num_classes: int = NUM_CLASSES, size: int = SIZE, grid: int = GRID) -> None:
        super().__init__()
        self.size, self.grid, self.num_classes = size, grid, num_classes
        self.features = nn.Sequential(
            _block(3, 12, 2), _block(12, 24, 2), _block(24, 32, 2), _block(32, 32, 1), _block(32, 48, 1),
        )
        self.head = nn.Conv2d(48, 5 + num_classes, 1)
        cell = size / grid
        ys, xs = torch.meshgrid(torch.arange(grid, dtype=torch.float32), torch.arange(grid, dtype=torch.float32), indexing="ij")
        # Cell corners in input pixels, row-major like the flattened output rows.
        self.register_buffer("offsets", torch.stack([xs, ys], -1).reshape(1, grid * grid, 2) * cell)
        self.cell = cell

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        """Head outputs before decoding: 1 x cells x (5 + C) (for the training loss)."""
        return self.head(self.features(x)).flatten(2).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.raw(x)
        centers = self.offsets + torch.sigmoid(t[..., 0:2]) * self.cell
        sizes = torch.sigmoid(t[..., 2:4]) * self.size
        objectness = torch.sigmoid(t[..., 4:5])
        classes = torch.softmax(t[..., 5:], dim=-1)
        return torch.cat([centers, sizes, objectness, classes], dim=-1)


def build_detector(num_classes: int = NUM_CLASSES) -> nn.Module:
    """The sample's detector (default init, eval mode); train.py's weights.pth fits it."""
    return GridDetector(num_classes).eval()

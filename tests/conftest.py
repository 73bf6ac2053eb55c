"""Small models built inside the tests, and helpers to run the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn

REPO = Path(__file__).resolve().parent.parent


class TinyClassifier(nn.Module):
    def __init__(self, classes: int = 5) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, classes)

    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).mean((2, 3)))


class TinyImageToImage(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 3, 3, padding=1), nn.Tanh())

    def forward(self, x):
        return self.body(x)


class TinySegmenter(nn.Module):
    def __init__(self, classes: int = 4) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, classes, 3, padding=1)

    def forward(self, x):
        return self.head(x)


class TinyTensor(nn.Module):
    def forward(self, x):
        return x.mean(1)  # 1xHxW: no task can be inferred from it


class TinyESPCN(nn.Module):
    """ESPCN's shape (conv, then PixelShuffle): RGB (3 -> 3) or luma (1 -> 1), x`scale` larger."""

    def __init__(self, channels: int = 1, scale: int = 3) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, 8, 3, padding=1), nn.Tanh(),
                                  nn.Conv2d(8, channels * scale * scale, 3, padding=1), nn.PixelShuffle(scale))

    def forward(self, x):
        return self.body(x)


def save_espcn(path: Path, channels: int, scale: int = 3, size: int = 16) -> Path:
    torch.manual_seed(0)
    model = TinyESPCN(channels, scale).eval()
    torch.jit.save(torch.jit.trace(model, torch.rand(1, channels, size, size)), str(path))
    return path


class TinyDetector(nn.Module):
    """YOLO-style raw predictions: a 4x4 grid over a 32x32 input, 1 x 16 x (4 + 1 + classes) rows
    of (cx, cy, w, h) in input pixels, objectness and class probabilities."""

    def __init__(self, classes: int = 2, size: int = 32) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, 5 + classes, 8, stride=8)
        self.register_buffer("scale", torch.tensor([float(size)] * 4 + [1.0] * (1 + classes)))

    def forward(self, x):
        y = torch.sigmoid(self.head(x) * 4)  # 1 x (5+C) x 4 x 4, spread out so some boxes pass 0.25
        return y.flatten(2).transpose(1, 2) * self.scale


class TinyBoxes(nn.Module):
    """torchvision-style output: (boxes N x 4 as x1, y1, x2, y2 pixels, scores N, labels N int64)."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = TinyDetector(classes=3)

    def forward(self, x):
        rows = self.inner(x)[0]
        cx, cy, w, h = rows[:, 0], rows[:, 1], rows[:, 2] / 2, rows[:, 3] / 2
        boxes = torch.stack([cx - w, cy - h, cx + w, cy + h], 1)
        scores, labels = rows[:, 5:].max(1)
        return boxes, scores * rows[:, 4], labels


def save_detector(path: Path, kind: str = "yolo", size: int = 32) -> Path:
    torch.manual_seed(0)
    model = (TinyDetector() if kind == "yolo" else TinyBoxes()).eval()
    torch.jit.save(torch.jit.trace(model, torch.rand(1, 3, size, size)), str(path))
    return path


def build(kind: str) -> nn.Module:
    torch.manual_seed(0)
    model = {"classification": TinyClassifier, "image-to-image": TinyImageToImage,
             "segmentation": TinySegmenter, "tensor": TinyTensor}[kind]()
    return model.eval()


def save_torchscript(model: nn.Module, path: Path, size: int = 16) -> Path:
    traced = torch.jit.trace(model, torch.rand(1, 3, size, size), check_trace=False)
    torch.jit.save(traced, str(path))
    return path


@pytest.fixture
def ts_model(tmp_path):
    """Factory fixture: a TorchScript file of a tiny model of the given kind."""
    def make(kind: str = "classification") -> Path:
        return save_torchscript(build(kind), tmp_path / f"{kind}.pt")
    return make


def _cli_env(extra: dict[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYTHONWARNINGS", "ignore")
    env.update(extra or {})
    return env


def run_cli(*args: str, cwd: Path | None = None, timeout: int = 600,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The real console entry point in a subprocess: what a user sees, tracebacks included."""
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=_cli_env(env))


def start_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.Popen:
    """run_cli without waiting: for races and signals."""
    return subprocess.Popen([sys.executable, "-m", "generator", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_cli_env(env))


def tree_bytes(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file below root with its bytes and mode, for reproducibility comparisons."""
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mode & 0o777)
            for p in sorted(root.rglob("*")) if p.is_file()}


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def edit(path: Path, old: str, new: str) -> None:
    """Replace text that must be there (a test that edits nothing would prove nothing)."""
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))

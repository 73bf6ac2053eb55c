"""MobileNetV2 shape classifier for the classifier sample.

Input: 1x3x96x96, ToTensor then ImageNet mean/std normalization. Output: 1xN logits, N = number
of lines in labels.txt. Used by scaffold as
``--model samples/classifier/model.py:build_classifier --weights weights.pth``.
"""

from __future__ import annotations

from pathlib import Path

import torchvision
from torch import nn

LABELS_FILE = Path(__file__).resolve().parent / "labels.txt"

# Half width: about 0.7M parameters, enough for six flat shapes and quick to train on a CPU.
WIDTH_MULT = 0.5


def _num_labels() -> int:
    return sum(1 for line in LABELS_FILE.read_text(encoding="utf-8").splitlines() if line.strip())


NUM_CLASSES = _num_labels()


def build_classifier(num_classes: int = NUM_CLASSES) -> nn.Module:
    """The sample's MobileNetV2 (default init, eval mode); train.py's weights.pth fits it."""
    net = torchvision.models.mobilenet_v2(weights=None, num_classes=num_classes, width_mult=WIDTH_MULT)
    return net.eval()

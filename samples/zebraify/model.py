"""CycleGAN ResNet generator for the zebraify sample.

The module tree mirrors the generator of the "Deep Learning with PyTorch" book (the
horse2zebra_0.4.0.pth weights): every layer lives in one ``self.model`` Sequential and each
residual block keeps its layers in ``conv_block``. State-dict keys are derived from those
attribute names and Sequential indices, so the layer order below must not change, or the book's
file stops loading with ``strict=True``.

Input: 1x3xHxW in 0..1 (torchvision ToTensor, no normalization). Output: tanh, in [-1, 1];
show it as (y + 1) / 2.

Used by scaffold as ``--model samples/zebraify/model.py:build_generator --weights weights.pth``
(the small demo written by train.py) or ``:build_book_generator`` with the book's weights.
"""

from __future__ import annotations

import torch
from torch import nn

# The demo generator that samples/zebraify/train.py trains. The defaults of build_generator must
# stay equal to these, since scaffold calls it without arguments to load train.py's weights.
DEMO_NGF = 32
DEMO_BLOCKS = 4

# The book's horse2zebra generator.
BOOK_NGF = 64
BOOK_BLOCKS = 9


class ResNetBlock(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        # Reflection padding instead of zero padding keeps the borders of the picture free of
        # the dark frame that zero padding teaches the generator to paint.
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=True),
            nn.InstanceNorm2d(dim),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=True),
            nn.InstanceNorm2d(dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResNetGenerator(nn.Module):
    def __init__(
        self, input_nc: int = 3, output_nc: int = 3, ngf: int = BOOK_NGF, n_blocks: int = BOOK_BLOCKS
    ) -> None:
        if n_blocks < 0:
            raise ValueError(f"n_blocks must be >= 0, got {n_blocks}")
        if ngf < 1:
            raise ValueError(f"ngf must be >= 1, got {ngf}")
        super().__init__()
        self.input_nc = input_nc
        self.output_nc = output_nc
        self.ngf = ngf

        # InstanceNorm2d is left at affine=False / track_running_stats=False: the book's file has
        # no parameters or buffers for the norm layers, and strict loading would fail otherwise.
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=True),
            nn.InstanceNorm2d(ngf),
            nn.ReLU(True),
        ]

        n_downsampling = 2
        for i in range(n_downsampling):
            mult = 2**i
            layers += [
                nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1, bias=True),
                nn.InstanceNorm2d(ngf * mult * 2),
                nn.ReLU(True),
            ]

        mult = 2**n_downsampling
        for _ in range(n_blocks):
            layers += [ResNetBlock(ngf * mult)]

        for i in range(n_downsampling):
            mult = 2 ** (n_downsampling - i)
            # output_padding=1 makes each stage exactly double the size, so an input whose sides
            # are multiples of 4 comes back at its own size.
            layers += [
                nn.ConvTranspose2d(
                    ngf * mult,
                    ngf * mult // 2,
                    kernel_size=3,
                    stride=2,
                    padding=1,
                    output_padding=1,
                    bias=True,
                ),
                nn.InstanceNorm2d(ngf * mult // 2),
                nn.ReLU(True),
            ]

        layers += [
            nn.ReflectionPad2d(3),
            nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0),
            nn.Tanh(),
        ]

        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def build_generator(ngf: int = DEMO_NGF, n_blocks: int = DEMO_BLOCKS) -> nn.Module:
    """The demo generator (default init, eval mode); train.py's weights.pth fits the defaults."""
    return ResNetGenerator(ngf=ngf, n_blocks=n_blocks).eval()


def build_book_generator() -> nn.Module:
    """The book's generator: horse2zebra_0.4.0.pth loads into it with strict=True."""
    return ResNetGenerator(ngf=BOOK_NGF, n_blocks=BOOK_BLOCKS).eval()

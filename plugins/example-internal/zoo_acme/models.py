"""The architectures ACME publishes. Imported only when a family is built."""

from __future__ import annotations

import torch
from torch import nn


class TinyNet(nn.Module):
    """A small CNN for 8x8 grey-scale digits (scikit-learn's ``digits``).

    ``features`` -> ``(N, 2 * width)`` pooled features; ``head`` is the classifier that
    zoo swaps for ``num_classes`` (the family declares ``head="head"``).
    """

    def __init__(self, num_classes: int = 10, width: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(2 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def tinynet(width: int = 16) -> TinyNet:
    """The builder named by the family (``zoo_acme.models:tinynet``)."""
    return TinyNet(width=width)


def rename_v0_keys(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Key adapter: checkpoints from ACME's old training code call the head
    ``classifier``; the architecture calls it ``head``."""
    return {("head." + k[len("classifier.") :] if k.startswith("classifier.") else k): v for k, v in state_dict.items()}

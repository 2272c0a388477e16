"""scikit-learn's bundled ``digits`` (UCI optical recognition of handwritten digits:
1,797 grey 8x8 images, 10 classes) as tensors a pretrained image backbone can take.

The 0..16 intensities are scaled to 0..1, upsampled (bilinear) to ``size`` x ``size``,
repeated to ``channels`` channels and normalised with ``mean``/``std`` — pass the
backbone's own (``model.zoo.preprocessing``). A mean above 1 cannot describe 0..1
inputs: such a model was trained on the raw 0..16 intensities, and gets them. The split is stratified and seeded, so
every run and every process sees the same samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import TensorDataset

__all__ = ["DATASET", "DATASET_URL", "digits"]

DATASET = "uci-digits"
DATASET_URL = "https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits"


def _split(y: torch.Tensor, test_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    generator = torch.Generator().manual_seed(seed)
    train, test = [], []
    for c in sorted(set(y.tolist())):
        idx = (y == c).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=generator)].tolist()
        cut = int(round(len(idx) * test_fraction))
        test += idx[:cut]
        train += idx[cut:]
    return sorted(train), sorted(test)


def digits(
    size: int = 64,
    *,
    channels: int = 3,
    per_class: int | None = None,
    test_per_class: int | None = None,
    test_fraction: float = 0.25,
    seed: int = 0,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    preprocessing: dict[str, Any] | None = None,
) -> tuple[TensorDataset, TensorDataset]:
    """``(train, test)`` TensorDatasets of ``(image, label)``; ``per_class`` keeps that
    many training images per class (``None``: all), ``test_per_class`` likewise for the
    test split. ``preprocessing`` (a model's) supplies ``mean``/``std`` when not given."""
    from sklearn.datasets import load_digits

    if preprocessing:
        mean = mean if mean is not None else preprocessing.get("mean")
        std = std if std is not None else preprocessing.get("std")
    mean = list(mean) if mean is not None else [0.5] * channels
    std = list(std) if std is not None else [0.5] * channels
    data = load_digits()
    raw = max(mean) > 1.0  # normalisation stated for the raw 0..16 intensities
    x = torch.tensor(data.images, dtype=torch.float32).unsqueeze(1) / (1.0 if raw else 16.0)
    y = torch.tensor(data.target, dtype=torch.long)
    if size != 8:
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = x.repeat(1, channels, 1, 1)
    m = torch.tensor(mean[:channels], dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor(std[:channels], dtype=torch.float32).view(1, -1, 1, 1)
    x = ((x - m) / s).contiguous()
    train, test = _split(y, test_fraction, seed)
    train = _per_class(train, y, per_class, seed + 1)
    test = _per_class(test, y, test_per_class, seed + 2)
    return TensorDataset(x[train], y[train]), TensorDataset(x[test], y[test])


def _per_class(index: list[int], y: torch.Tensor, k: int | None, seed: int) -> list[int]:
    if k is None:
        return index
    generator = torch.Generator().manual_seed(seed)
    kept = []
    idx = torch.tensor(index)
    for c in sorted(set(y[idx].tolist())):
        members = idx[y[idx] == c]
        kept += members[torch.randperm(len(members), generator=generator)[:k]].tolist()
    return sorted(kept)

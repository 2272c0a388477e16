"""scikit-learn's bundled ``digits`` (1,797 8x8 images, UCI), normalised as the
family's preprocessing says, with the fixed train/test split the checkpoint's
metric was measured on."""

from __future__ import annotations

import torch

MEAN, STD = 4.88, 6.02  # of the 0..16 pixel values over the whole data set


def digits_split(test_fraction: float = 0.25, seed: int = 0):
    """``((x_train, y_train), (x_test, y_test))`` as tensors, x of shape (N, 1, 8, 8)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) - MEAN) / STD
    y = torch.tensor(digits.target, dtype=torch.long)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    cut = int(len(y) * (1 - test_fraction))
    train, test = perm[:cut], perm[cut:]
    return (x[train], y[train]), (x[test], y[test])

"""Drift: is new data's feature distribution the reference's? A two-sample test.

``mmd_test(reference, new, *, seed, permutations)``: the unbiased squared maximum mean
discrepancy (Gretton et al., "A Kernel Two-Sample Test", JMLR 2012) with a Gaussian
kernel whose bandwidth is the median pairwise distance of the pooled sample, and its
permutation p-value (the labels "reference" / "new" shuffled ``permutations`` times,
the kernel matrix computed once). The effect size is the MMD itself (in the kernel's
units, 0 .. sqrt(2)) and ``z``, the statistic in standard deviations of its
permutation distribution.
"""

from __future__ import annotations

import numpy as np

__all__ = ["mmd_test"]


def _mmd2(kernel: np.ndarray, is_ref: np.ndarray) -> float:
    a, b = is_ref, ~is_ref
    m, n = int(a.sum()), int(b.sum())
    kxx = kernel[np.ix_(a, a)]
    kyy = kernel[np.ix_(b, b)]
    kxy = kernel[np.ix_(a, b)]
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.mean()
    )


def mmd_test(reference, new, *, seed: int = 0, permutations: int = 500) -> dict:
    x = np.asarray(reference, dtype=np.float64)
    y = np.asarray(new, dtype=np.float64)
    pooled = np.concatenate([x, y])
    sq = (pooled**2).sum(axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * pooled @ pooled.T, 0.0)
    upper = d2[np.triu_indices(len(pooled), k=1)]
    bandwidth2 = float(np.median(upper[upper > 0])) if (upper > 0).any() else 1.0
    kernel = np.exp(-d2 / bandwidth2)
    is_ref = np.zeros(len(pooled), dtype=bool)
    is_ref[: len(x)] = True
    observed = _mmd2(kernel, is_ref)
    rng = np.random.default_rng(seed)
    null = np.empty(int(permutations))
    for i in range(int(permutations)):
        null[i] = _mmd2(kernel, rng.permutation(is_ref))
    p_value = (1 + int((null >= observed).sum())) / (1 + len(null))
    spread = float(null.std()) or 1e-12
    return {
        "statistic": observed,
        "p_value": float(p_value),
        "effect_size": float(np.sqrt(max(observed, 0.0))),
        "z": float((observed - null.mean()) / spread),
        "bandwidth": float(np.sqrt(bandwidth2)),
    }

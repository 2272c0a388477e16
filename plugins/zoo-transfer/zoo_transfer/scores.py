"""Transferability scores over frozen features, implemented from the papers.

Every score is ``f(features, labels, *, num_classes, source_probs=None, seed=0, **params)
-> float`` on numpy arrays: ``features`` n x d (float), ``labels`` n class indices in
``0..num_classes-1``, ``source_probs`` n x C (the source head's softmax) for the scores
that read the source task. Higher is better for all of them. The core has checked the
labels and the number of examples per class before calling.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["hscore", "knn_accuracy", "leep", "linear_accuracy", "logme", "nce"]


def _f64(features) -> np.ndarray:
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        x = x.reshape(len(x), -1)
    return x


def logme(features, labels, *, num_classes, source_probs=None, seed=0, max_iter=100, tol=1e-3) -> float:
    """LogME (You et al., "LogME: Practical Assessment of Pre-trained Models for Transfer
    Learning", ICML 2021): for each class's one-hot target, the log evidence of a
    Bayesian linear model ``y = F w + noise`` (prior precision alpha, noise precision
    beta) maximised by the fixed-point iteration of the paper (MacKay's updates through
    the SVD of F), divided by n; averaged over the classes."""
    f = _f64(features)
    y = np.asarray(labels)
    n, d = f.shape
    u, s, _ = np.linalg.svd(f, full_matrices=False)
    sigma = s**2
    k = len(sigma)
    evidences = []
    for c in range(num_classes):
        target = (y == c).astype(np.float64)
        if not target.any():
            continue
        z = u.T @ target
        z2 = z**2
        outside = max(float(target @ target - z2.sum()), 0.0)  # the part of y outside F's range
        alpha, beta = 1.0, 1.0
        for _ in range(max_iter):
            t = alpha / beta
            gamma = float((sigma / (sigma + t)).sum())
            m2 = float((sigma * z2 / (sigma + t) ** 2).sum())
            res2 = float((z2 * (t / (sigma + t)) ** 2).sum()) + outside
            alpha = gamma / max(m2, 1e-12)
            beta = max(n - gamma, 1e-12) / max(res2, 1e-12)
            if abs(alpha / beta - t) / t < tol:
                break
        t = alpha / beta
        m2 = float((sigma * z2 / (sigma + t) ** 2).sum())
        res2 = float((z2 * (t / (sigma + t)) ** 2).sum()) + outside
        log_det = float(np.log(alpha + beta * sigma).sum()) + (d - k) * math.log(alpha)
        evidence = (
            d / 2 * math.log(alpha)
            + n / 2 * math.log(beta)
            - alpha / 2 * m2
            - beta / 2 * res2
            - log_det / 2
            - n / 2 * math.log(2 * math.pi)
        )
        evidences.append(evidence / n)
    return float(np.mean(evidences))


def hscore(features, labels, *, num_classes, source_probs=None, seed=0) -> float:
    """H-score (Bao et al., "An Information-Theoretic Approach to Transferability in Task
    Transfer Learning", ICIP 2019): ``tr(cov(f)^-1 cov(E[f | y]))``. cov(f) is the
    Ledoit-Wolf shrinkage estimate ``(1 - delta) S + delta mu I`` (scikit-learn's
    shrinkage), which keeps the inverse stable when there are fewer examples than
    feature dimensions (the "regularised H-score" of Ibrahim et al. 2022). The trace is
    taken through the SVD of the centred features (n x d), never forming a d x d inverse:
    O(n d min(n, d)) instead of O(d^3)."""
    from sklearn.covariance import ledoit_wolf_shrinkage

    f = _f64(features)
    f = f - f.mean(axis=0)
    n, d = f.shape
    y = np.asarray(labels)
    g = np.zeros_like(f)
    for c in np.unique(y):
        g[y == c] = f[y == c].mean(axis=0)
    delta = float(ledoit_wolf_shrinkage(f, assume_centered=True))
    mu = float((f**2).sum() / (n * d))
    _, s, vt = np.linalg.svd(f, full_matrices=False)
    eig = (1 - delta) * s**2 / n + delta * mu  # cov(f)'s eigenvalues on the span of f
    inside = g @ vt.T
    total = float((inside**2 / np.maximum(eig, 1e-300)).sum())
    if delta * mu > 0:  # the part of the class means outside that span (numerically ~0)
        total += max(float((g**2).sum() - (inside**2).sum()), 0.0) / (delta * mu)
    return total / n


def _joint(labels, probs, num_classes) -> np.ndarray:
    y = np.asarray(labels)
    joint = np.zeros((num_classes, probs.shape[1]))
    np.add.at(joint, y, probs)
    return joint / len(y)


def leep(features, labels, *, num_classes, source_probs=None, seed=0) -> float:
    """LEEP (Nguyen et al., "LEEP: A New Measure to Evaluate Transferability of Learned
    Representations", ICML 2020): with the empirical joint ``P(y, z)`` of target labels
    and the source head's soft predictions ``theta(x)_z``, the mean log of
    ``sum_z P(y_i | z) theta(x_i)_z``."""
    probs = np.asarray(source_probs, dtype=np.float64)
    joint = _joint(labels, probs, num_classes)
    pz = joint.sum(axis=0, keepdims=True)
    cond = np.divide(joint, pz, out=np.zeros_like(joint), where=pz > 0)  # P(y | z)
    y = np.asarray(labels)
    eep = (probs * cond[y]).sum(axis=1)
    return float(np.log(np.maximum(eep, 1e-300)).mean())


def nce(features, labels, *, num_classes, source_probs=None, seed=0) -> float:
    """NCE (Tran et al., "Transferability and Hardness of Supervised Classification
    Tasks", ICCV 2019): ``-H(Y | Z)`` of the target labels given the source labels
    ``z = argmax theta(x)``, from their empirical joint distribution."""
    probs = np.asarray(source_probs)
    z = probs.argmax(axis=1)
    hard = np.zeros_like(probs, dtype=np.float64)
    hard[np.arange(len(z)), z] = 1.0
    joint = _joint(labels, hard, num_classes)
    pz = joint.sum(axis=0, keepdims=True)
    cond = np.divide(joint, pz, out=np.ones_like(joint), where=joint > 0)
    return float((joint * np.log(cond)).sum())


def _folds(labels, folds: int, seed: int):
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(np.asarray(labels))
    smallest = int(counts[counts > 0].min())
    return StratifiedKFold(n_splits=max(2, min(folds, smallest)), shuffle=True, random_state=seed)


def _cv_accuracy(model, features, labels, folds, seed) -> float:
    f = _f64(features).astype(np.float32)
    y = np.asarray(labels)
    correct = 0
    for train, test in _folds(y, folds, seed).split(f, y):
        model.fit(f[train], y[train])
        correct += int((model.predict(f[test]) == y[test]).sum())
    return correct / len(y)


def knn_accuracy(features, labels, *, num_classes, source_probs=None, seed=0, k=5, folds=5) -> float:
    """Few-shot k-nearest-neighbour accuracy (cosine distance), stratified
    cross-validation with ``min(folds, smallest class)`` folds."""
    from sklearn.neighbors import KNeighborsClassifier

    counts = np.bincount(np.asarray(labels))
    smallest = int(counts[counts > 0].min())
    train_per_class = smallest - max(1, smallest // max(2, min(folds, smallest)))
    neighbours = max(1, min(int(k), train_per_class))
    return _cv_accuracy(KNeighborsClassifier(n_neighbors=neighbours, metric="cosine"), features, labels, folds, seed)


def linear_accuracy(features, labels, *, num_classes, source_probs=None, seed=0, folds=5, c=1.0) -> float:
    """Few-shot linear-probe accuracy: L2-regularised logistic regression (``C=c``) on
    standardised features, stratified cross-validation."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=float(c), max_iter=300))
    return _cv_accuracy(model, features, labels, folds, seed)

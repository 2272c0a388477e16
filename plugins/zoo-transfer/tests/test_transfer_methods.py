"""zoo-transfer's records load through the host, and each function keeps its paper's
defining property on data built to have it."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.plugins import PluginHost, import_object


@pytest.fixture(scope="module")
def methods():
    host = PluginHost(plugins=["zoo-transfer"], disable=(), strict=True)
    return host.transfer_methods()


def test_records_load_and_import_nothing_heavy(methods):
    assert set(methods) == {"logme", "hscore", "leep", "nce", "knn", "linear", "mmd"}
    for m in methods.values():
        assert callable(import_object(m.function))


def test_logme_grows_with_class_separation(methods):
    logme = import_object(methods["logme"].function)
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 25)
    centres = rng.normal(size=(4, 16))
    noise = rng.normal(size=(100, 16))
    values = [logme(s * centres[y] + noise, y, num_classes=4) for s in (0.0, 1.0, 3.0)]
    assert values[0] < values[1] < values[2]


def test_hscore_is_invariant_to_a_rotation_and_grows_with_separation(methods):
    hscore = import_object(methods["hscore"].function)
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(3), 50)
    centres = rng.normal(size=(3, 8))
    f = centres[y] + rng.normal(size=(150, 8))
    rotation, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    # tr(cov^-1 cov_g) is basis-free, and so is the Ledoit-Wolf target (a multiple of I)
    assert hscore(f @ rotation, y, num_classes=3) == pytest.approx(hscore(f, y, num_classes=3), rel=1e-6)
    assert hscore(3 * centres[y] + rng.normal(size=(150, 8)), y, num_classes=3) > hscore(f, y, num_classes=3)


def test_nce_is_minus_the_conditional_entropy(methods):
    nce = import_object(methods["nce"].function)
    y = np.array([0, 1, 0, 1])
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.1, 0.9], [0.1, 0.9]])  # z independent of y
    assert nce(None, y, num_classes=2, source_probs=probs) == pytest.approx(-np.log(2))


def test_mmd_p_value_is_a_permutation_p_value(methods):
    mmd = import_object(methods["mmd"].function)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(30, 3))
    out = mmd(x, x + 5.0, seed=0, permutations=99)
    assert out["p_value"] == pytest.approx(1 / 100)  # nothing in the null reaches the observed value

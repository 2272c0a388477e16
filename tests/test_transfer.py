"""The transfer advisor: zoo.rank / zoo.advise / zoo.drift, the scores of zoo-transfer on
data whose answer is known by construction, storage (one SQL statement finds the best
backbone), drift (clean vs shifted), bad input (typed errors, nothing stored), the CLI.

Real models (EfficientNet-Lite0 from its PyPI package, all-MiniLM-L6-v2) on scikit-learn's
digits at 32 px, a few examples per class: each model is loaded a handful of times.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sqlalchemy import text

import zoo
import zoo.finetuning
from zoo.errors import ZooTransferError
from zoo.finetuning.digits import digits
from zoo.plugins import default_host

LITE0 = "tf_efficientnet_lite0.lite0_in1k_pypi"
MINILM = "all-minilm-l6-v2"


def _method(name: str):
    from zoo.plugins import import_object

    m = default_host().transfer_method(name)
    return import_object(m.function), dict(m.params or {})


# -- the scores, on data whose ordering is known by construction ---------------------------------


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(5), 12)
    centres = rng.normal(size=(5, 32)) * 3
    separable = centres[y] + rng.normal(size=(60, 32))
    noise = rng.normal(size=(60, 32))
    return y, separable, noise


@pytest.mark.parametrize("name", ["logme", "hscore", "knn", "linear"])
def test_feature_scores_prefer_separable_features_to_noise(synthetic, name):
    y, separable, noise = synthetic
    f, params = _method(name)
    good = f(separable, y, num_classes=5, **params)
    bad = f(noise, y, num_classes=5, **params)
    assert good > bad
    # shuffled labels destroy the signal of the same features
    shuffled = np.random.default_rng(1).permutation(y)
    assert f(separable, shuffled, num_classes=5, **params) < good


def test_accuracy_scores_are_accuracies(synthetic):
    y, separable, noise = synthetic
    for name in ("knn", "linear"):
        f, params = _method(name)
        assert f(separable, y, num_classes=5, **params) == 1.0
        assert 0.0 <= f(noise, y, num_classes=5, **params) < 0.6


@pytest.mark.parametrize("name", ["leep", "nce"])
def test_source_head_scores_prefer_an_informative_source(synthetic, name):
    y, _, _ = synthetic
    f, _ = _method(name)
    rng = np.random.default_rng(2)
    # the source head's class z = 2*y (a deterministic relabelling): target fully predictable
    informative = np.full((60, 10), 0.01)
    informative[np.arange(60), 2 * y] = 0.91
    uninformative = rng.dirichlet(np.ones(10), size=60)
    good = f(None, y, num_classes=5, source_probs=informative)
    bad = f(None, y, num_classes=5, source_probs=uninformative)
    assert good > bad
    if name == "nce":  # H(Y|Z) = 0 when the source label determines the target
        assert good == pytest.approx(0.0, abs=1e-12)
    else:  # LEEP <= 0, and close to log(0.91) when the head is this sure
        assert np.log(0.5) < good <= 0.0


def test_mmd_keeps_the_null_and_finds_a_shift():
    f, _ = _method("mmd")
    rng = np.random.default_rng(3)
    ref = rng.normal(size=(80, 8))
    same = rng.normal(size=(80, 8))
    shifted = rng.normal(size=(80, 8)) + 0.8
    clean = f(ref, same, seed=0, permutations=200)
    moved = f(ref, shifted, seed=0, permutations=200)
    assert clean["p_value"] > 0.05 and moved["p_value"] < 0.01
    assert moved["effect_size"] > clean["effect_size"] > -1e-9


def test_methods_are_plugins_the_core_names_none():
    rows = {r["name"]: r for r in zoo.transfer.methods()}
    assert {"logme", "hscore", "leep", "nce", "knn", "linear", "mmd"} <= set(rows)
    assert rows["leep"]["needs_source_head"] and rows["mmd"]["kind"] == "drift"
    assert {r["plugin"] for r in rows.values()} == {"transfer"}
    import zoo.transfer.core as core

    source = open(core.__file__, encoding="utf-8").read().lower()
    for name in ("logme", "hscore", "leep", "nce"):
        assert f'"{name}"' not in source  # the core calls scores by name, it hard-codes none


# -- end to end on a real backbone ----------------------------------------------------------------


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    home = tmp_path_factory.mktemp("zoo-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZOO_HOME", str(home))
        mp.setenv("ZOO_REGISTRY_URL", f"sqlite:///{home / 'registry.db'}")
        mp.setenv("OMP_NUM_THREADS", "1")
        registry = zoo.Registry(actor="tester@zoo")
        from zoo.plugins import ensure_synced

        ensure_synced(registry, default_host())
        yield type("Env", (), {"home": home, "registry": registry})
        registry.close()


@pytest.fixture(scope="module")
def small_digits():
    train, test = digits(32, per_class=6, test_per_class=8, seed=0)
    return train.tensors, test.tensors


def _stored(registry) -> int:
    with registry.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM transfer_scores")).scalar_one()


def test_rank_scores_stores_and_one_sql_statement_finds_the_best(env, small_digits):
    (x, y), _ = small_digits
    result = zoo.rank((x, y), [LITE0], controls=True, registry=env.registry, progress=False, data_name="digits-32")
    pre, rnd = result.candidates
    assert pre.weights == f"{LITE0}@1" and not rnd.pretrained and rnd.weights is None
    assert pre.scores["leep"] is not None and rnd.scores["leep"] is None  # no source head at random init
    assert result.num_examples == 60 and result.min_per_class == 6
    assert result.stored == sum(v is not None for c in result.candidates for v in c.scores.values())
    from zoo.transfer.store import BEST_ON_DATA_SQL

    with env.registry.engine.connect() as conn:
        best = conn.execute(text(BEST_ON_DATA_SQL), {"fingerprint": result.data_fingerprint, "method": "logme"}).one()
        linked = conn.execute(
            text(
                "SELECT w.name, s.data_name FROM transfer_scores s JOIN weights w ON w.id = s.weights_id "
                "WHERE s.data_fingerprint = :fp AND s.method = 'leep'"
            ),
            {"fp": result.data_fingerprint},
        ).all()
    assert best.candidate == result.best("logme").weights or best.candidate == result.best("logme").candidate
    assert linked == [(LITE0, "digits-32")]
    # the documented statement is the one tested
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "schema.md").read_text(encoding="utf-8")
    assert " ".join(BEST_ON_DATA_SQL.split()) in " ".join(doc.split())


def test_features_are_cached_once_per_weights_and_data(env, small_digits):
    (x, y), _ = small_digits
    before = sorted((env.home / "features").glob("*.safetensors"))
    again = zoo.rank((x, y), [LITE0], scores=["logme"], registry=env.registry, store=False, progress=False)
    assert again.candidates[0].cached and again.candidates[0].feature_s == 0.0
    assert sorted((env.home / "features").glob("*.safetensors")) == before
    # other data: another entry
    other = zoo.rank((x[:30], y[:30]), [LITE0], scores=["logme"], registry=env.registry, store=False, progress=False)
    assert not other.candidates[0].cached
    # two entries: the pooled features and the source head's logits
    assert len(list((env.home / "features").glob("*.safetensors"))) == len(before) + 2
    assert other.data_fingerprint != again.data_fingerprint


def test_rank_reuses_the_features_a_linear_probe_cached(env, small_digits):
    (x, y), _ = small_digits
    x, y = x[6:48], y[6:48]  # data nobody has featurised yet
    first = zoo.finetune(LITE0, (x, y), num_classes=10, recipe="linear-probe", epochs=1, device="cpu", progress=False)
    assert first.timings["features_s"] > 0
    ranked = zoo.rank((x, y), [LITE0], scores=["logme", "leep"], registry=env.registry, store=False, progress=False)
    assert ranked.candidates[0].cached and ranked.candidates[0].scores["leep"] is not None
    again = zoo.finetune(LITE0, (x, y), num_classes=10, recipe="linear-probe", epochs=1, device="cpu", progress=False)
    assert again.metrics[-1].train_loss == first.metrics[-1].train_loss  # the same features, read back
    assert again.timings["features_s"] < first.timings["features_s"] / 5


def test_fingerprint_is_the_one_finetune_lineage_records(small_digits):
    from torch.utils.data import TensorDataset

    from zoo.finetuning import data as fdata
    from zoo.transfer.data import prepare

    (x, y), _ = small_digits
    scanned = fdata.scan(fdata.as_spec(TensorDataset(x, y), "train"), fingerprint=True)
    assert prepare((x, y)).fingerprint == scanned.fingerprint
    assert prepare((x.flip(0), y.flip(0))).fingerprint == scanned.fingerprint  # order-free
    assert prepare((x, (y + 1) % 10)).fingerprint != scanned.fingerprint


def test_bad_input_is_typed_and_stores_nothing(env, small_digits):
    (x, y), _ = small_digits
    before = _stored(env.registry)
    with pytest.raises(ZooTransferError, match="text backbone but the data is vision"):
        zoo.rank((x, y), [MINILM], registry=env.registry, progress=False)
    with pytest.raises(ZooTransferError, match="vision backbone but the data is text"):
        zoo.rank((["a cat", "a dog", "a cow", "a pig"], [0, 1, 0, 1]), [LITE0], registry=env.registry, progress=False)
    one_each = (x[[0, 6, 12]], torch.tensor([0, 1, 2]))
    with pytest.raises(ZooTransferError, match=r"'logme' needs at least 2 examples per class; class 0 has 1"):
        zoo.rank(one_each, [LITE0], registry=env.registry, progress=False)
    with pytest.raises(ZooTransferError, match=r"labels outside 0\.\.4 \(num_classes=5\)"):
        zoo.rank((x, y), [LITE0], num_classes=5, registry=env.registry, progress=False)
    with pytest.raises(ZooTransferError, match="not labelled"):
        zoo.rank(x, [LITE0], registry=env.registry, progress=False)
    with pytest.raises(ZooTransferError, match="unknown score method 'nope'"):
        zoo.rank((x, y), [LITE0], scores=["nope"], registry=env.registry, progress=False)
    with pytest.raises(ZooTransferError, match="not integer class indices"):
        zoo.rank((x, y.float()), [LITE0], registry=env.registry, progress=False)
    assert _stored(env.registry) == before


def test_advise_flags_negative_transfer_where_labels_carry_no_image_signal(env, small_digits):
    (x, y), _ = small_digits
    # constructed: labels drawn at random, so no feature (pretrained or not) can predict them
    noise_labels = torch.randperm(len(y), generator=torch.Generator().manual_seed(0)) % 10
    advice = zoo.advise(LITE0, (x, noise_labels), registry=env.registry, store=False, progress=False, margin=0.05)
    assert advice.negative_transfer and advice.recipe == "linear-probe"  # 6 per class: a head at most
    assert any("NEGATIVE TRANSFER" in r for r in advice.reasons)
    numbers = advice.numbers
    assert numbers["examples_per_class"] == 6.0 and "random_init" in numbers and 0 <= numbers["scratch_accuracy"] <= 1


TEXTS = [
    "the cat sleeps on the sofa",
    "a dog barks at night",
    "the horse runs in the field",
    "my parrot can talk",
    "a cow eats grass",
    "the kitten chases a mouse",
    "the train leaves at noon",
    "a truck drives on the highway",
    "the plane lands at the airport",
    "my bicycle has a flat tire",
    "a bus stops at the corner",
    "the ship sails into port",
]


def test_text_backbone_separates_topics_random_weights_do_not(env):
    labels = [0] * 6 + [1] * 6
    advice = zoo.advise(MINILM, (TEXTS, labels), registry=env.registry, store=False, progress=False)
    pre, rnd = advice.rank.candidates
    assert pre.scores["leep"] is None  # a sentence encoder has no source head
    assert pre.scores["linear"] > rnd.scores["linear"] and pre.scores["logme"] > rnd.scores["logme"]
    assert not advice.negative_transfer and advice.recipe == "linear-probe"


def test_advise_on_real_digits_gives_a_recipe_with_numbers(env, small_digits):
    (x, y), _ = small_digits
    advice = zoo.advise(LITE0, (x, y), registry=env.registry, store=False, progress=False)
    assert advice.recipe in {r["name"] for r in zoo.finetuning.recipes()}
    assert advice.numbers["pretrained"]["linear"] == advice.rank.candidates[0].scores["linear"]
    assert advice.reasons[0].startswith("60 examples, 10 classes")


def _numbers(per_class, pre, rnd, scratch):
    return {
        "examples_per_class": per_class,
        "pretrained": {"linear": pre},
        "random_init": {"linear": rnd},
        "scratch_accuracy": scratch,
        "scratch_s": 1.0,
    }


@pytest.mark.parametrize(
    ("per_class", "pre", "rnd", "scratch", "recipe", "negative"),
    [
        (10, 0.85, 0.60, 0.50, "linear-probe", False),  # few examples: a head
        (100, 0.97, 0.60, 0.50, "linear-probe", False),  # features already separate the classes
        (100, 0.85, 0.60, 0.50, "freeze-stages", False),  # good features, some data
        (30, 0.85, 0.60, 0.50, "lp-ft", False),  # good features, not yet enough data to freeze stages
        (100, 0.70, 0.60, 0.50, "lp-ft", False),  # features carry signal, not enough
        (500, 0.85, 0.60, 0.50, "full", False),  # plenty of data
        (100, 0.55, 0.60, 0.50, "lp-ft", True),  # random weights do as well: the features must adapt
        (10, 0.55, 0.40, 0.80, "linear-probe", True),  # scratch wins: warned, told to train from scratch
    ],
)
def test_the_decision_rule(per_class, pre, rnd, scratch, recipe, negative):
    from zoo.transfer.core import decide

    got, params, flagged, reasons = decide(_numbers(per_class, pre, rnd, scratch))
    assert (got, flagged) == (recipe, negative)
    assert (params == {"frozen_stages": 3}) == (recipe == "freeze-stages")
    assert any("scratch" in r for r in reasons) == (negative and scratch > pre)


# -- drift: a reference stored at registration, clean vs shifted ----------------------------------


@pytest.fixture(scope="module")
def registered(env, small_digits):
    (x, y), _ = small_digits
    result = zoo.finetune(
        LITE0,
        (x, y),
        num_classes=10,
        recipe="linear-probe",
        epochs=1,
        device="cpu",
        progress=False,
        register_as="team/lite0-digits",
        registry=env.registry,
    )
    assert result.extra.get("drift_reference")
    return result.registered


def test_drift_reference_is_stored_with_the_registered_model(env, registered):
    from zoo.transfer.store import drift_reference

    meta, blob = drift_reference(env.registry, registered)
    assert meta["num_samples"] == 60 and meta["projection_dim"] == 64 and meta["feature_dim"] == 1280
    assert len(blob) < 64 * 60 * 4 + 1024  # compact: the projected sample, not the features
    events = env.registry.history(action="drift.")
    assert [(e.action, e.entity_key) for e in events] == [("drift.reference", registered)]


def test_drift_clean_versus_shifted(env, registered):
    full_train, full_test = digits(32, seed=0)
    clean = full_test.tensors[0][:80]
    near = zoo.drift(registered, clean, registry=env.registry)
    far = zoo.drift(
        registered,
        clean + 1.5 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0)),
        registry=env.registry,
    )
    rotated = zoo.drift(registered, torch.rot90(clean, 1, (2, 3)), registry=env.registry)
    assert not near.drifted and near.p_value > 0.05
    assert far.drifted and rotated.drifted
    assert far.effect_size > near.effect_size and rotated.effect_size > near.effect_size


def test_drift_without_a_reference_is_a_typed_error(env):
    with pytest.raises(ZooTransferError, match="has no drift reference"):
        zoo.drift(LITE0, torch.zeros(20, 3, 32, 32), registry=env.registry)


# -- storage on SQLite and PostgreSQL --------------------------------------------------------------


def test_scores_storage_and_best_query_on_both_databases(registry, resnet_family):
    from zoo.testing import make_weights
    from zoo.transfer.store import BEST_ON_DATA_SQL, save_scores, scores_for

    registry.add_family(resnet_family)
    registry.register(make_weights())
    registry.register(make_weights(tag="a1_in1k"))
    fp = "f" * 64
    rows = [
        dict(
            weights=w,
            candidate=w,
            data_fingerprint=fp,
            data_name="d",
            num_examples=50,
            num_classes=5,
            method="logme",
            value=v,
            higher_is_better=True,
        )
        for w, v in (("resnet50.tv_in1k", 0.4), ("resnet50.a1_in1k", 0.9))
    ]
    rows.append(
        dict(
            weights=None,
            candidate="resnet50 (random init)",
            data_fingerprint=fp,
            data_name="d",
            num_examples=50,
            num_classes=5,
            method="logme",
            value=2.0,
            higher_is_better=True,
        )
    )
    assert save_scores(registry, rows) == 3
    with registry.engine.connect() as conn:
        best = conn.execute(text(BEST_ON_DATA_SQL), {"fingerprint": fp, "method": "logme"}).one()
    assert best.candidate == "resnet50 (random init)" and best.value == 2.0
    assert len(scores_for(registry, fp)) == 3
    # a candidate that does not resolve: the transaction stores nothing
    with pytest.raises(zoo.errors.ZooNotFoundError):
        save_scores(registry, [dict(rows[0], value=5.0), dict(rows[0], weights="resnet50.nope", candidate="x")])
    assert len(scores_for(registry, fp)) == 3


# -- CLI ---------------------------------------------------------------------------------------------


def test_cli_rank_advise_drift_and_methods(env, registered, capsys, tmp_path):
    from zoo.cli import main

    args = ["--data", "digits", "--image-size", "32", "--per-class", "4", "--json"]
    assert main(["rank", LITE0, *args, "--scores", "logme,knn", "--plot", str(tmp_path / "r.png")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["num_examples"] == 40 and set(out["methods"]) == {"logme", "knn"} and out["stored"] == 2
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["rank", LITE0, "--data", "digits", "--image-size", "32", "--per-class", "4", "--scores", "logme"]) == 0
    assert "zoo rank on uci-digits" in capsys.readouterr().out
    assert main(["drift", registered, "--data", "digits", "--image-size", "32", "--json"]) == 0
    drift = json.loads(capsys.readouterr().out)
    assert drift["name"] == registered and 0 <= drift["p_value"] <= 1
    assert main(["transfer-methods", "--json"]) == 0
    assert "logme" in {r["name"] for r in json.loads(capsys.readouterr().out)}
    assert main(["rank", MINILM, *args]) == 1
    assert "text backbone but the data is vision" in capsys.readouterr().err


def test_cli_ranks_text_from_a_jsonl_file(env, capsys, tmp_path):
    from zoo.cli import main

    path = tmp_path / "topics.jsonl"
    path.write_text("\n".join(json.dumps({"text": t, "label": int(i >= 6)}) for i, t in enumerate(TEXTS)) + "\n")
    assert main(["rank", MINILM, "--data", str(path), "--scores", "logme,linear", "--no-store", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["data_name"] == "topics" and out["num_examples"] == 12 and out["candidates"][0]["scores"]["linear"] > 0.5
    path.write_text('{"text": "no label"}\n{"nope": 1}\n')
    assert main(["rank", MINILM, "--data", str(path)]) == 1
    # rich may wrap the long temporary path anywhere: compare without the whitespace
    assert "topics.jsonl:2hasno'text'string" in "".join(capsys.readouterr().err.split())

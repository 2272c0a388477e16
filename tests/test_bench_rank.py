"""bench/rank.py's judging of the evidence (docs/transfer.md): how an advice is scored
against the fine-tuning ground truth (strict, within 0.01, within one standard error),
Kendall's tau over every fine-tuned candidate with its pair count, and the text data's
split (no statement in both train and test). A bug here would misreport the study."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_rank", ROOT / "bench" / "rank.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_rank"] = module
    spec.loader.exec_module(module)
    return module


def _numbers(per_class: float, pre: float, rnd: float, scratch: float) -> dict:
    return {
        "pretrained": {"linear": pre},
        "random_init": {"linear": rnd},
        "scratch_accuracy": scratch,
        "scratch_s": 1.0,
        "examples_per_class": per_class,
    }


def _config(per_class: float, accs: dict[str, float], n_classes: int = 10) -> dict:
    return {
        "data": "digits",
        "per_class": per_class,
        "rank": {"num_classes": n_classes, "candidates": []},
        "finetune": {"lite0": {r: {"accuracy": a} for r, a in accs.items()}},
        "advice": {"numbers": _numbers(per_class, 0.9, 0.5, 0.4), "reasons": ["a", "b"]},
    }


def test_judge_strict_within_and_tie_aware(bench):
    # 10 per class -> the rule advises a linear probe (decide() replayed from the numbers)
    win = bench.judge(_config(10, {"linear-probe": 0.80, "lp-ft": 0.80}), "lite0")
    assert win["picked"] == "linear-probe" and win["strict"] and win["within_001"] and win["tie_aware"]
    # 0.015 below the winner: not strict, not within 0.01, but within one SE (0.023 at n=300, p=0.83)
    close = bench.judge(_config(10, {"linear-probe": 0.815, "lp-ft": 0.83}), "lite0")
    assert not close["strict"] and not close["within_001"] and close["tie_aware"]
    assert close["se"] == pytest.approx((0.83 * 0.17 / 300) ** 0.5)
    # far below: wrong on every count
    wrong = bench.judge(_config(10, {"linear-probe": 0.60, "lp-ft": 0.83}), "lite0")
    assert not (wrong["strict"] or wrong["within_001"] or wrong["tie_aware"])
    # a larger test set shrinks the standard error: the same gap is no longer a tie
    big = _config(10, {"linear-probe": 0.815, "lp-ft": 0.83})
    big["test_n"] = 30_000
    assert not bench.judge(big, "lite0")["tie_aware"]


def test_tau_counts_pairs_and_uses_the_recipes_every_candidate_ran(bench):
    cands = [
        {"candidate": "a", "scores": {"logme": 3.0, "leep": 1.0}},
        {"candidate": "b", "scores": {"logme": 2.0, "leep": 0.5}},
        {"candidate": "a (random init)", "scores": {"logme": 1.0, "leep": None}},
    ]
    c = {
        "rank": {"candidates": cands},
        "finetune": {
            # b's lp-ft would beat a, but a control never ran lp-ft: it must not count
            "a": {"linear-probe": {"accuracy": 0.9}, "full": {"accuracy": 0.5}},
            "b": {"linear-probe": {"accuracy": 0.8}, "full": {"accuracy": 0.4}, "lp-ft": {"accuracy": 0.99}},
            "a (random init)": {"linear-probe": {"accuracy": 0.3}, "full": {"accuracy": 0.1}},
        },
    }
    taus = bench.taus_of(c, ["logme", "leep"])
    assert taus["logme"] == (pytest.approx(1.0), 3)
    assert taus["leep"] == (pytest.approx(1.0), 1)  # the control has no LEEP: one pair
    cands[0]["scores"]["logme"] = 0.0  # a now scored lowest although it fine-tunes best
    assert bench.taus_of(c, ["logme"])["logme"][0] == pytest.approx(-1 / 3)


def test_text_topics_split_by_conversation(bench):
    pytest.importorskip("chatterbot_corpus")
    pytest.importorskip("yaml")
    (train, ytr), (test, yte) = bench.chatterbot_topics(10, seed=0)
    assert ytr.bincount().tolist() == [10] * len(bench.TEXT_TOPICS)
    assert min(yte.bincount().tolist()) >= 30
    assert not {t.lower() for t in train} & {t.lower() for t in test}
    (other, _), _ = bench.chatterbot_topics(10, seed=1)
    assert other != train  # the seed draws other conversations

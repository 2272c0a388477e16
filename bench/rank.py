"""Transfer advisor benchmark and ground truth (docs/transfer.md).

One run, on this machine's CPU, one thread:

1. **Cost**: ``zoo.rank`` of the candidates (features from an empty cache, every score)
   against fine-tuning the same candidates (recipe ``full``) on the same data — the
   ratio rank / fine-tune (target <= 0.1).
2. **Ground truth**: every candidate fine-tuned with every recipe on each data set and
   training-set size; Kendall's tau between each score and the best fine-tuned test
   accuracy of each candidate; how often ``zoo.advise`` picks the recipe that wins.
3. **Negative transfer**: the controls on constructed data (digits with a fixed random
   pixel permutation — constructed, not found).
4. **Drift**: false-positive rate on held-out clean data and power on shifted data
   (Gaussian noise, rotation, the permuted digits as "another data set").

Data: scikit-learn's bundled digits (UCI "Optical Recognition of Handwritten Digits",
Alpaydin & Kaynak 1998, CC BY 4.0; shipped in scikit-learn, BSD-3-Clause) and the
constructed permuted variant. Writes bench/results/rank.md, bench/results/rank.json and
docs/img/transfer_*.png.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/rank.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
CANDIDATES = [
    "tf_efficientnet_lite0.lite0_in1k_pypi",
    "tf_efficientnet_lite1.lite1_in1k_pypi",
    "tf_efficientnet_lite2.lite2_in1k_pypi",
]
RECIPES = ["linear-probe", "freeze-stages", "full", "lp-ft"]
EPOCHS = {"linear-probe": 30, "freeze-stages": 6, "full": 6, "lp-ft": 6}


def permuted(x: torch.Tensor, seed: int = 1234) -> torch.Tensor:
    """Constructed: the same fixed random permutation of the pixels of every image."""
    n, c, h, w = x.shape
    perm = torch.randperm(h * w, generator=torch.Generator().manual_seed(seed))
    return x.reshape(n, c, h * w)[:, :, perm].reshape(n, c, h, w).contiguous()


def photo_patches(per_class: int, size: int, seed: int = 0):
    """Constructed task on real photos: 64x64 patches of scikit-learn's two sample
    photographs (china.jpg, flower.jpg; CC BY 2.0, see load_sample_images().DESCR), the
    class being which photo and which quadrant a patch comes from (8 classes)."""
    from sklearn.datasets import load_sample_images

    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for p, image in enumerate(load_sample_images().images):
        img = torch.tensor(image, dtype=torch.float32).permute(2, 0, 1) / 255.0
        _, h, w = img.shape
        for q in range(4):
            top, left = (q // 2) * (h // 2), (q % 2) * (w // 2)
            for _ in range(per_class + 30):
                i = int(rng.integers(top, top + h // 2 - 64))
                j = int(rng.integers(left, left + w // 2 - 64))
                xs.append(img[:, i : i + 64, j : j + 64])
                ys.append(p * 4 + q)
    x = (torch.stack(xs) - 0.5) / 0.5
    if size != 64:
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    y = torch.tensor(ys)
    train = torch.cat([torch.arange(c * (per_class + 30), c * (per_class + 30) + per_class) for c in range(8)])
    test = torch.cat([torch.arange(c * (per_class + 30) + per_class, (c + 1) * (per_class + 30)) for c in range(8)])
    return (x[train], y[train]), (x[test], y[test])


TEXT_CANDIDATE = "all-minilm-l6-v2"
TEXT_TOPICS = ["ai", "coding", "conversations", "emotion", "psychology", "trivia"]


def chatterbot_topics(per_class: int, seed: int = 0, test_per_class: int = 40):
    """Real text: the English statements of the chatterbot-corpus package (PyPI
    ``chatterbot-corpus`` 1.3.3, Gunther Cox and contributors; licence: BSD, as its package
    metadata declares (classifier "License :: OSI Approved :: BSD License"; no licence file
    ships in the wheel); github.com/gunthercox/chatterbot-corpus),
    labelled by the topic file they come from (6 topics with >= 119 distinct statements; a statement
    repeated in the corpus is kept once). Split by
    *conversation* (a question and its answers never straddle train and test), seeded."""
    from importlib.resources import files

    import yaml

    rng = np.random.default_rng(seed)
    train, test = ([], []), ([], [])
    seen: set[str] = set()  # a statement repeated in the corpus is kept once, where it first occurs
    for label, topic in enumerate(TEXT_TOPICS):
        doc = yaml.safe_load((files("chatterbot_corpus") / "data" / "english" / f"{topic}.yml").read_text())
        conversations = []
        for c in doc["conversations"]:
            kept = [str(s).strip() for s in c if str(s).strip() and str(s).strip().lower() not in seen]
            seen.update(x.lower() for x in kept)
            conversations.append(kept)
        order = rng.permutation(len(conversations))
        tr, te = [], []
        for i in order:
            (tr if len(tr) < per_class else te).extend(conversations[i])
        for texts, out in ((tr[:per_class], train), (te[:test_per_class], test)):
            out[0].extend(texts)
            out[1].extend([label] * len(texts))
    return (train[0], torch.tensor(train[1])), (test[0], torch.tensor(test[1]))


class Tokenised(torch.utils.data.Dataset):
    """Strings and labels as the tokenizer-style dict samples ``zoo.finetune`` takes."""

    def __init__(self, tokenizer, texts, labels, length: int = 48) -> None:
        self.enc = tokenizer(list(texts), padding="max_length", truncation=True, max_length=length, return_tensors="pt")
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return {
            "input_ids": self.enc["input_ids"][i],
            "attention_mask": self.enc["attention_mask"][i],
            "labels": self.labels[i],
        }


def text_study(sizes: list[int], seed: int, recipes: list[str], registry, home: Path, save=None) -> list[dict]:
    """MiniLM and its random-weight control on the chatterbot topics: rank, fine-tune
    every recipe (the control: linear probe and full), advise."""
    import zoo
    from zoo.finetuning.features import FeatureCache

    tokenizer = zoo.preprocess(TEXT_CANDIDATE, registry=registry)
    family = registry.resolve(TEXT_CANDIDATE).family.name
    configs = []
    for per_class in sizes:
        train, test = chatterbot_topics(per_class, seed)
        cache = FeatureCache(home / f"features-text-{per_class}-{seed}")
        t = time.perf_counter()
        ranked = zoo.rank(
            train,
            [TEXT_CANDIDATE],
            controls=True,
            registry=registry,
            cache=cache,
            progress=False,
            data_name="chatterbot-topics",
            seed=seed,
        )
        cfg: dict = {
            "data": "chatterbot-topics",
            "per_class": per_class,
            "seed": seed,
            "rank": ranked.to_dict(),
            "rank_s": time.perf_counter() - t,
            "finetune": {},
            "test_n": len(test[1]),
        }
        tr, te = Tokenised(tokenizer, *train), Tokenised(tokenizer, *test)
        k = len(TEXT_TOPICS)
        jobs = [(TEXT_CANDIDATE, r, False) for r in recipes] + [
            (TEXT_CANDIDATE, r, True) for r in ("linear-probe", "full")
        ]
        for cand, recipe, random_init in jobs:
            start = time.perf_counter()
            extra = {"frozen_stages": 3} if recipe == "freeze-stages" else {}
            model: object = cand
            if random_init:
                torch.manual_seed(seed)
                model = zoo.get(family, num_classes=k, pretrained=False, device="cpu", registry=registry)
            result = zoo.finetune(
                model,
                tr,
                te,
                num_classes=k,
                recipe=recipe,
                epochs=EPOCHS[recipe],
                device="cpu",
                seed=seed,
                progress=False,
                registry=registry,
                **extra,
            )
            name = f"{family} (random init)" if random_init else cand
            acc = float(result.metrics[-1].val_accuracy)
            cfg["finetune"].setdefault(name, {})[recipe] = {"accuracy": acc, "seconds": time.perf_counter() - start}
            print(f"text k={per_class} {name} {recipe}: {acc:.3f}", flush=True)
        advice = zoo.advise(
            TEXT_CANDIDATE, train, registry=registry, cache=cache, progress=False, store=False, seed=seed
        )
        cfg["advice"] = {k2: v for k2, v in advice.to_dict().items() if k2 != "rank"}
        print(f"text k={per_class}: advice {advice.recipe} negative={advice.negative_transfer}", flush=True)
        configs.append(cfg)
        if save is not None:  # after each configuration: a stopped run keeps what it finished
            save(configs)
    return configs


def load(name: str, per_class: int, size: int, seed: int = 0):
    from zoo.finetuning.digits import digits

    if name == "photo-patches":
        return photo_patches(per_class, size, seed=seed)
    train, test = digits(size, per_class=per_class, test_per_class=30, seed=seed)
    (xtr, ytr), (xte, yte) = train.tensors, test.tensors
    if name == "digits-permuted":
        xtr, xte = permuted(xtr), permuted(xte)
    return (xtr, ytr), (xte, yte)


def finetune(candidate: str, recipe: str, train, test, seed: int = 0, random_init: bool = False) -> tuple[float, float]:
    """Test accuracy and seconds of one fine-tuning run. ``random_init``: the same
    architecture with random weights (seeded), the control as a candidate of its own."""
    import zoo

    t = time.perf_counter()
    extra = {"frozen_stages": 3} if recipe == "freeze-stages" else {}
    model: object = candidate
    if random_init:
        torch.manual_seed(seed)
        arch = candidate.split(".")[0]
        model = zoo.get(arch, num_classes=int(train[1].max()) + 1, pretrained=False, device="cpu")
    result = zoo.finetune(
        model,
        train,
        test,
        num_classes=int(train[1].max()) + 1,
        recipe=recipe,
        epochs=EPOCHS[recipe],
        device="cpu",
        seed=seed,
        progress=False,
        **extra,
    )
    return float(result.metrics[-1].val_accuracy), time.perf_counter() - t


def kendall(a, b) -> float:
    from scipy.stats import kendalltau

    return float(kendalltau(a, b).statistic)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one size, fewer recipes (a smoke run)")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--datasets", default="digits,digits-permuted")
    parser.add_argument("--sizes", default="10,30", help="training examples per class")
    parser.add_argument("--no-drift", action="store_true")
    parser.add_argument("--text", action="store_true", help="the text study (MiniLM on the chatterbot topics) only")
    parser.add_argument(
        "--recipes", default=",".join(RECIPES), help="'full' alone: a cost-only run (the cost table, no ground truth)"
    )
    parser.add_argument("--seed", type=int, default=0, help="data split / patch sampling and fine-tuning seed")
    parser.add_argument(
        "--other-recipes",
        default=None,
        help="recipes for Lite1/Lite2 and the fine-tuned random-weight controls (default: --recipes for "
        "Lite1/2, no control fine-tuning); Lite0 always gets --recipes (the advice's ground truth)",
    )
    parser.add_argument("--out", default="rank.json", help="file under bench/results")
    parser.add_argument("--report", nargs="+", metavar="JSON", help="only write rank.md from these result files")
    args = parser.parse_args()
    if args.report:
        merged = None
        for name in args.report:
            part = json.loads((ROOT / "bench" / "results" / name).read_text())
            for c in part["configs"]:  # sizes the advice's thresholds were not chosen on
                c["heldout"] = "heldout" in name
            if merged is None:
                merged = part
            else:
                merged.setdefault("cost_configs", [])
                merged["cost_configs"] += part.get("cost_configs", [])
                merged["configs"] += part["configs"]
                merged["total_s"] += part["total_s"]
                merged.setdefault("drift", part.get("drift"))
                if merged.get("drift") is None:
                    merged["drift"] = part.get("drift")
        report(merged)
        return 0
    torch.set_num_threads(1)
    from zoo_transfer.drift import mmd_test

    import zoo
    from zoo.finetuning.features import FeatureCache
    from zoo.registry import open_registry
    from zoo.transfer.core import _model_features, reference_blob
    from zoo.transfer.data import prepare

    home = Path(tempfile.mkdtemp(prefix="zoo-rank-bench-"))
    registry = open_registry(f"sqlite:///{home / 'registry.db'}")
    if args.text:
        started = time.perf_counter()
        sizes = [int(k) for k in args.sizes.split(",")]
        recipes = args.recipes.split(",")

        def save(configs: list[dict]) -> None:
            out = {
                "candidates": [TEXT_CANDIDATE],
                "recipes": recipes,
                "configs": configs,
                "total_s": time.perf_counter() - started,
            }
            path = ROOT / "bench" / "results" / args.out
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(out, indent=1, default=str))
            tmp.replace(path)  # never a half-written result file

        text_study(sizes, args.seed, recipes, registry, home, save=save)
        return 0
    sizes = [10] if args.quick else [int(k) for k in args.sizes.split(",")]
    recipes = ["linear-probe", "full"] if args.quick else args.recipes.split(",")
    configs = [(d, k) for d in args.datasets.split(",") for k in sizes]
    out: dict = {"size": args.size, "candidates": CANDIDATES, "recipes": recipes, "configs": [], "cost": None}
    started = time.perf_counter()

    # Warm-up, untimed: the one-off imports (scikit-learn, the score functions) and a first
    # model load must not be charged to the first configuration's ranking.
    warm_x = torch.randn(20, 3, args.size, args.size, generator=torch.Generator().manual_seed(1))
    zoo.rank(
        (warm_x, torch.arange(20) % 2),
        CANDIDATES[:1],
        registry=registry,
        store=False,
        progress=False,
        cache=FeatureCache(home / "features-warmup"),
    )
    for data_name, per_class in configs:
        train, test = load(data_name, per_class, args.size, args.seed)
        cfg: dict = {
            "data": data_name,
            "per_class": per_class,
            "seed": args.seed,
            "rank": None,
            "finetune": {},
            "advice": None,
        }
        cache = FeatureCache(home / f"features-{data_name}-{per_class}")
        t = time.perf_counter()
        ranked = zoo.rank(
            train,
            CANDIDATES,
            controls=True,
            registry=registry,
            cache=cache,
            progress=False,
            data_name=data_name,
            seed=args.seed,
        )
        rank_s = time.perf_counter() - t
        cfg["rank"] = ranked.to_dict()
        cfg["rank_s"] = rank_s
        for c in ranked.candidates:
            cfg["finetune"][c.candidate] = {}
        ft_total = 0.0
        others = args.other_recipes.split(",") if args.other_recipes else recipes
        jobs = [(CANDIDATES[0], r, False) for r in recipes] + [(c, r, False) for c in CANDIDATES[1:] for r in others]
        if args.other_recipes:
            jobs += [(c, r, True) for c in CANDIDATES for r in others]
        for cand, recipe, random_init in jobs:
            if random_init:
                acc, secs = finetune(cand, recipe, train, test, seed=args.seed, random_init=True)
                name = f"{cand.split('.')[0]} (random init)"
                cfg["finetune"].setdefault(name, {})[recipe] = {"accuracy": acc, "seconds": secs}
                print(f"{data_name} k={per_class} {name} {recipe}: {acc:.3f} ({secs:.1f} s)", flush=True)
                continue
            if True:
                acc, secs = finetune(cand, recipe, train, test, seed=args.seed)
                cfg["finetune"][cand][recipe] = {"accuracy": acc, "seconds": secs}
                if recipe == "full":
                    ft_total += secs
                print(f"{data_name} k={per_class} {cand} {recipe}: {acc:.3f} ({secs:.1f} s)", flush=True)
        cfg["finetune_full_s"] = ft_total
        advice = zoo.advise(
            CANDIDATES[0], train, registry=registry, cache=cache, progress=False, store=False, seed=args.seed
        )
        cfg["advice"] = {k: v for k, v in advice.to_dict().items() if k != "rank"}
        out["configs"].append(cfg)
        partial = ROOT / "bench" / "results" / (args.out + ".partial")
        partial.with_suffix(".tmp").write_text(json.dumps(out, indent=1, default=str))
        partial.with_suffix(".tmp").replace(partial)  # a stopped run keeps the configurations it finished
        print(
            f"{data_name} k={per_class}: rank {rank_s:.1f} s vs fine-tune(full) {ft_total:.1f} s; advice "
            f"{advice.recipe} negative={advice.negative_transfer}",
            flush=True,
        )

    if recipes == ["full"]:  # cost only: the cost table reads these, the ground truth does not
        out["cost_configs"], out["configs"] = out["configs"], []
    out["drift"] = None
    if args.no_drift:
        out["total_s"] = time.perf_counter() - started
        (ROOT / "bench" / "results" / args.out).write_text(json.dumps(out, indent=1, default=str))
        return 0
    # drift: reference = Lite0 features of digits train; clean = held-out test subsets
    from zoo.finetuning.digits import digits

    train, test = digits(args.size, seed=0)
    model = zoo.get(CANDIDATES[0], num_classes=0, device="cpu", registry=registry)
    ref = reference_blob(model, train, head=None, seed=0)
    from safetensors.torch import load as load_st

    ref_sample = load_st(ref["blob"])["sample"].numpy()
    from zoo.transfer.core import _projection

    proj = _projection(ref["feature_dim"], ref["projection_dim"], 0)
    xte = test.tensors[0]
    trials = 10 if args.quick else 20
    shifts = {
        "clean": lambda x: x,
        "noise": lambda x: x + 0.5 * torch.randn(x.shape, generator=torch.Generator().manual_seed(7)),
        "rotation": lambda x: torch.rot90(x, 1, (2, 3)),
        "another data set (permuted digits)": permuted,
    }
    drift_rows = {}
    for name, shift in shifts.items():
        hits = []
        for trial in range(trials):
            idx = torch.randperm(len(xte), generator=torch.Generator().manual_seed(100 + trial))[:100]
            feats = _model_features(model, prepare(shift(xte[idx]), labelled=False), None, None)
            res = mmd_test(ref_sample, (feats @ proj).numpy(), seed=trial, permutations=200)
            hits.append(res["p_value"] < 0.05)
        drift_rows[name] = {"trials": trials, "flagged": int(sum(hits)), "rate": float(np.mean(hits))}
        print(f"drift {name}: {sum(hits)}/{trials}", flush=True)
    out["drift"] = drift_rows
    out["total_s"] = time.perf_counter() - started
    (ROOT / "bench" / "results" / args.out).write_text(json.dumps(out, indent=1, default=str))
    report(out)
    return 0


def label(c: dict) -> str:
    """A configuration's name: data/size, and the seed when it is not 0."""
    return f"{c['data']}/{c['per_class']}" + (f" s{c['seed']}" if c.get("seed") else "")


def judge(c: dict, advised: str) -> dict:
    """How the advice fared against the fine-tuning ground truth of its candidate: strict
    (its recipe scored the best test accuracy; an exact tie counts), within 0.01, and
    tie-aware (within one standard error of the winner's accuracy on this test set,
    sqrt(p(1-p)/n): the recipes cannot be told apart by this test set)."""
    from zoo.transfer.core import decide

    ft = c["finetune"][advised]
    winner = max(ft, key=lambda r: ft[r]["accuracy"])
    # the advice replayed from its measured numbers by today's rule (zoo.transfer.core.decide)
    picked, _, negative, why = decide(c["advice"]["numbers"])
    c["advice"]["recipe"], c["advice"]["negative_transfer"] = picked, negative
    c["advice"]["reasons"] = c["advice"]["reasons"][:2] + why
    best = ft[winner]["accuracy"]
    got = ft.get(picked, {}).get("accuracy", -1.0)
    n_test = c.get("test_n") or 30 * c["rank"]["num_classes"]
    se = (best * (1 - best) / n_test) ** 0.5
    return {
        "picked": picked,
        "winner": winner,
        "best": best,
        "got": got,
        "se": se,
        "strict": got >= best,
        "within_001": got >= best - 0.01,
        "tie_aware": got >= best - se,
        "negative": negative,
    }


def taus_of(c: dict, methods: list[str]) -> dict[str, tuple[float, int]]:
    """Kendall's tau (tau-b) between each score and the fine-tuned accuracy over every
    candidate of the configuration that was fine-tuned (pretrained backbones and, where
    fine-tuned, their random-weight controls), with the number of candidate pairs.
    Accuracy = the best over the recipes *every* such candidate ran (the same recipes
    for all), so a candidate is not favoured by having run more of them."""
    fts = {name: ft for name, ft in c["finetune"].items() if ft}
    common = set.intersection(*(set(ft) for ft in fts.values()))
    acc = {name: max(ft[r]["accuracy"] for r in common) for name, ft in fts.items()}
    out = {}
    for m in methods:
        cands = [x for x in c["rank"]["candidates"] if x["candidate"] in acc and x["scores"].get(m) is not None]
        if len(cands) >= 2:
            n = len(cands)
            out[m] = (
                kendall([x["scores"][m] for x in cands], [acc[x["candidate"]] for x in cands]),
                n * (n - 1) // 2,
            )
    return out


def report(out: dict) -> None:
    vision = [c for c in out["configs"] if c["data"] != "chatterbot-topics"]
    methods = list(out["configs"][0]["rank"]["methods"])
    # cost rows: the cost-only runs, and the ground-truth runs on data they did not re-measure
    latest = {(c["data"], c["per_class"]): c for c in out.get("cost_configs", [])}  # a later run wins
    remeasured = set(latest)
    cost_configs = list(latest.values()) + [
        c for c in vision if (c["data"], c["per_class"]) not in remeasured and "finetune_full_s" in c
    ]
    lines = ["# zoo.rank / zoo.advise / zoo.drift — ground truth and cost", ""]
    lines.append(
        f"CPU, one thread, {out['size']} px images; total {out['total_s'] / 60:.1f} min of runs. Generated by "
        "bench/rank.py (`--report` merges the result files)."
    )
    lines += [
        "",
        "## Cost: ranking vs fine-tuning (same run)",
        "",
        "Ranking = loading each pretrained backbone, extracting its features (empty cache) and computing every "
        "score; fine-tuning = the `full` recipe on the same data (6 epochs). The random-weight controls "
        "(`--controls`, used by `zoo advise`) are shown apart.",
        "",
        "| data | per class | rank 3 backbones (s) | + 3 controls (s) | fine-tune 3 backbones, full (s) | ratio |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for c in cost_configs:
        cands = c["rank"]["candidates"]
        ranked = sum(x["feature_s"] + x["score_s"] for x in cands if x["pretrained"])
        controls = sum(x["feature_s"] + x["score_s"] for x in cands if not x["pretrained"])
        c["rank_pretrained_s"] = ranked
        name = c["data"] + (f" (seed {c['seed']})" if c.get("seed") else "")
        lines.append(
            f"| {name} | {c['per_class']} | {ranked:.1f} | {controls:.1f} | {c['finetune_full_s']:.1f} | "
            f"{ranked / c['finetune_full_s']:.3f} |"
        )
    lines += ["", "## Scores and fine-tuned accuracy", ""]
    taus: dict[str, list[tuple[str, float, int]]] = {m: [] for m in methods}
    verdicts = []
    for c in out["configs"]:
        advised = c.get("advised") or out["candidates"][0]
        if c["data"] == "chatterbot-topics":
            advised = TEXT_CANDIDATE
        recipes = list(dict.fromkeys(r for ft in c["finetune"].values() for r in ft))
        group = "held-out" if c.get("heldout") else "in-sample"
        lines += [f"### {c['data']}, {c['per_class']} per class, seed {c.get('seed', 0)} ({group})", ""]
        head = "| candidate | " + " | ".join(methods) + " | " + " | ".join(recipes) + " |"
        lines += [head, "|" + " --- |" * (1 + len(methods) + len(recipes))]
        for cand in c["rank"]["candidates"]:
            ft = c["finetune"].get(cand["candidate"], {})
            cells = [f"{cand['scores'][m]:.3f}" if cand["scores"].get(m) is not None else "—" for m in methods]
            cells += [f"{ft[r]['accuracy']:.3f}" if r in ft else "—" for r in recipes]
            lines.append(f"| {cand['candidate']} | " + " | ".join(cells) + " |")
        for m, (t, n) in taus_of(c, methods).items():
            taus[m].append((label(c), t, n))
        v = judge(c, advised)
        v.update(group=group, label=label(c), text=c["data"] == "chatterbot-topics")
        verdicts.append(v)
        c["advice_ok"] = v["within_001"]
        verdict = (
            "strict win"
            if v["strict"]
            else "within 0.01"
            if v["within_001"]
            else ("tie (within 1 SE)" if v["tie_aware"] else "wrong")
        )
        lines += [
            "",
            f"advise({advised}): **{v['picked']}** (negative transfer: {v['negative']}); winning recipe: "
            f"{v['winner']} ({v['best']:.3f}; 1 SE {v['se']:.3f}); advised recipe {v['got']:.3f}: {verdict}.",
            "",
        ]
        lines += ["reasons:", ""] + [f"- {r}" for r in c["advice"]["reasons"]] + [""]
    lines += [
        "## Kendall's tau, score vs fine-tuned accuracy, per configuration (pairs of candidates)",
        "",
        "Candidates: the pretrained backbones and, where they were fine-tuned (the held-out runs), their "
        "random-weight controls; fine-tuned accuracy = the best over the recipes all of them ran. LEEP and "
        "NCE need the source head: pretrained candidates only.",
        "",
        "| score | " + " | ".join(label(c) for c in out["configs"]) + " | weighted mean | pairs |",
        "|" + " --- |" * (len(out["configs"]) + 3),
    ]
    summary_tau = {}
    for m, ts in taus.items():
        if not ts:
            continue
        by = {lab: (t, n) for lab, t, n in ts}
        cells = [f"{by[label(c)][0]:.2f} ({by[label(c)][1]})" if label(c) in by else "—" for c in out["configs"]]
        pairs = sum(n for _, t, n in ts if t == t)
        mean = sum(t * n for _, t, n in ts if t == t) / pairs
        summary_tau[m] = {"weighted_mean": mean, "pairs": pairs, "configs": len(ts)}
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {mean:.2f} | {pairs} |")
    lines += ["", "## How often advise picks the winning recipe", ""]
    lines += [
        "| group | configurations | strict win | within 0.01 | within 1 SE (tie-aware) |",
        "| --- | --- | --- | --- | --- |",
    ]
    rows = [
        ("in-sample (the rule was revised after seeing these)", lambda v: v["group"] == "in-sample"),
        ("held-out, vision", lambda v: v["group"] == "held-out" and not v["text"]),
        ("held-out, text", lambda v: v["group"] == "held-out" and v["text"]),
        ("held-out, all", lambda v: v["group"] == "held-out"),
        ("all", lambda v: True),
    ]
    summary = {}
    for name, keep in rows:
        vs = [v for v in verdicts if keep(v)]
        if not vs:
            continue
        n = len(vs)
        counts = {k: sum(v[k] for v in vs) for k in ("strict", "within_001", "tie_aware")}
        summary[name] = {"n": n, **counts}
        lines.append(
            f"| {name} | {n} | "
            + " | ".join(
                f"{counts[k]}/{n} ({100 * counts[k] / n:.0f} %)" for k in ("strict", "within_001", "tie_aware")
            )
            + " |"
        )
    out["summary"] = {"advice": summary, "tau": summary_tau}
    lines += [""]
    if out.get("drift"):
        lines += [
            "## Drift (MMD, permutation p < 0.05, 100 examples per test)",
            "",
            "| data | flagged | rate |",
            "| --- | --- | --- |",
        ]
        for name, row in out["drift"].items():
            lines.append(f"| {name} | {row['flagged']}/{row['trials']} | {row['rate']:.2f} |")
    lines += ["", *scratch_check(out), "", *plots(out)]
    (ROOT / "bench" / "results" / "rank.md").write_text("\n".join(lines) + "\n")
    (ROOT / "bench" / "results" / "rank_summary.json").write_text(json.dumps(out["summary"], indent=1))
    print("\n".join(lines))


def scratch_check(out: dict) -> list[str]:
    """advise's scratch control measures a 25% split of the training data; here the same
    small model (16x16 grey MLP, same 2 s budget) is trained on the whole training set and
    tested on the test set the fine-tuning ground truth uses, so the two compare."""
    from zoo.transfer.core import _scratch_accuracy
    from zoo.transfer.data import prepare

    torch.set_num_threads(1)
    lines = [
        "## The scratch control on the fine-tuning test set",
        "",
        "| data | per class | scratch MLP, test accuracy | best fine-tuned Lite0 | best fine-tuned Lite0/1/2 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for c in out["configs"]:
        if c["data"] == "chatterbot-topics":
            continue
        train, test = load(c["data"], c["per_class"], out["size"], c.get("seed", 0))
        acc, _ = _scratch_accuracy(prepare(train), c["rank"]["num_classes"], 2.0, 0, test_data=prepare(test))
        lite0 = max(v["accuracy"] for v in c["finetune"][out["candidates"][0]].values())
        best = max(v["accuracy"] for cand in out["candidates"] for v in c["finetune"][cand].values())
        name = c["data"] + (f" (seed {c['seed']})" if c.get("seed") else "")
        lines.append(f"| {name} | {c['per_class']} | {acc:.3f} | {lite0:.3f} | {best:.3f} |")
    return lines


def plots(out: dict) -> list[str]:
    """docs/img/transfer_recipes.png (fine-tuned accuracy by recipe and size, Lite0, per
    data set, with the controls) and docs/img/transfer_scores.png (LogME and few-shot
    linear accuracy vs best fine-tuned accuracy)."""
    from zoo.finetuning.plot import Panel, line_chart

    img = ROOT / "docs" / "img"
    img.mkdir(parents=True, exist_ok=True)
    panels = []
    for data in dict.fromkeys(c["data"] for c in out["configs"]):
        # one panel per data set; a size run with several seeds shows their mean
        points: dict[str, dict[int, list[float]]] = {}
        for c in (c for c in out["configs"] if c["data"] == data):
            advised = TEXT_CANDIDATE if c["data"] == "chatterbot-topics" else out["candidates"][0]
            k = c["per_class"]
            for recipe, v in c["finetune"][advised].items():
                points.setdefault(recipe, {}).setdefault(k, []).append(v["accuracy"])
            n = c["advice"]["numbers"]
            points.setdefault("ctrl: random init", {}).setdefault(k, []).append(n["random_init"]["linear"])
            points.setdefault("ctrl: scratch", {}).setdefault(k, []).append(n["scratch_accuracy"])
        series = {name: sorted((k, float(np.mean(v))) for k, v in by.items()) for name, by in points.items()}
        panels.append(
            Panel(data, "examples per class", "accuracy", series, dashed={k for k in series if k.startswith("ctrl")})
        )
    line_chart(
        panels,
        img / "transfer_recipes.png",
        title="Lite0 (MiniLM on text): test accuracy by recipe, mean over seeds; controls dashed",
    )
    score_panels = []
    for method in ("logme", "linear"):
        series = {}
        for c in out["configs"]:
            fts = {name: ft for name, ft in c["finetune"].items() if ft}
            common = set.intersection(*(set(ft) for ft in fts.values()))
            for cand in c["rank"]["candidates"]:
                ft = fts.get(cand["candidate"])
                if ft and cand["scores"].get(method) is not None:
                    series.setdefault(label(c), []).append(
                        (cand["scores"][method], max(ft[r]["accuracy"] for r in common))
                    )
        for name in series:
            series[name].sort()
        score_panels.append(Panel(f"{method} vs fine-tuned accuracy", method, "accuracy", series))
    line_chart(
        score_panels,
        img / "transfer_scores.png",
        title="each line: the candidates of one configuration (controls included where fine-tuned)",
    )
    return ["![recipes](../../docs/img/transfer_recipes.png)", "", "![scores](../../docs/img/transfer_scores.png)"]


if __name__ == "__main__":
    sys.exit(main())

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


def report(out: dict) -> None:
    methods = list(out["configs"][0]["rank"]["methods"])
    # cost rows: the cost-only runs, and the ground-truth runs on data they did not re-measure
    latest = {(c["data"], c["per_class"]): c for c in out.get("cost_configs", [])}  # a later run wins
    remeasured = set(latest)
    cost_configs = list(latest.values()) + [c for c in out["configs"] if (c["data"], c["per_class"]) not in remeasured]
    lines = ["# zoo.rank / zoo.advise / zoo.drift — ground truth and cost", ""]
    lines.append(
        f"CPU, one thread, {out['size']} px digits; total {out['total_s'] / 60:.1f} min. Generated by bench/rank.py."
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
        lines.append(
            f"| {c['data']} | {c['per_class']} | {ranked:.1f} | {controls:.1f} | {c['finetune_full_s']:.1f} | "
            f"{ranked / c['finetune_full_s']:.3f} |"
        )
    lines += ["", "## Scores and fine-tuned accuracy", ""]
    taus: dict[str, list[float]] = {m: [] for m in methods}
    wins = 0
    held = [0, 0]
    within_se = [0, 0]
    for c in out["configs"]:
        lines += [f"### {c['data']}, {c['per_class']} per class", ""]
        head = "| candidate | " + " | ".join(methods) + " | " + " | ".join(out["recipes"]) + " |"
        lines += [head, "|" + " --- |" * (1 + len(methods) + len(out["recipes"]))]
        best_acc = {}
        for cand in c["rank"]["candidates"]:
            ft = c["finetune"].get(cand["candidate"], {})
            if ft:
                best_acc[cand["candidate"]] = max(v["accuracy"] for v in ft.values())
            cells = [f"{cand['scores'][m]:.3f}" if cand["scores"].get(m) is not None else "—" for m in methods]
            cells += [f"{ft[r]['accuracy']:.3f}" if r in ft else "—" for r in out["recipes"]]
            lines.append(f"| {cand['candidate']} | " + " | ".join(cells) + " |")
        pre = [cand for cand in c["rank"]["candidates"] if cand["candidate"] in best_acc]
        for m in methods:
            vals = [cand["scores"][m] for cand in pre]
            if None not in vals:
                taus[m].append(kendall(vals, [best_acc[cand["candidate"]] for cand in pre]))
        from zoo.transfer.core import decide

        lite0 = c["finetune"][out["candidates"][0]]
        winner = max(lite0, key=lambda r: lite0[r]["accuracy"])
        # the advice replayed from its measured numbers by today's rule (zoo.transfer.core.decide)
        picked, _, negative, why = decide(c["advice"]["numbers"])
        c["advice"]["recipe"], c["advice"]["negative_transfer"] = picked, negative
        c["advice"]["reasons"] = c["advice"]["reasons"][:2] + why
        got = lite0.get(picked, {}).get("accuracy", -1)
        ok = got >= lite0[winner]["accuracy"] - 0.01
        # one standard error of the winner's test accuracy (30 test examples per class)
        n_test = 30 * c["rank"]["num_classes"]
        p_win = lite0[winner]["accuracy"]
        se = (p_win * (1 - p_win) / n_test) ** 0.5
        within_se[0] += got >= p_win - se
        within_se[1] += 1
        if c.get("heldout"):
            held[0] += ok
            held[1] += 1
        else:
            wins += ok
        c["advice_ok"] = ok
        lines += [
            "",
            f"advise({out['candidates'][0]}): **{picked}** (negative transfer: "
            f"{c['advice']['negative_transfer']}); winning recipe: {winner} "
            f"({lite0[winner]['accuracy']:.3f}); {'right' if ok else 'wrong'} (within 0.01).",
            "",
        ]
        lines += ["reasons:", ""] + [f"- {r}" for r in c["advice"]["reasons"]] + [""]
    lines += [
        "## Kendall's tau, score vs best fine-tuned accuracy (3 pretrained backbones, per configuration)",
        "",
        "| score | " + " | ".join(f"{c['data']}/{c['per_class']}" for c in out["configs"]) + " | mean |",
        "|" + " --- |" * (len(out["configs"]) + 2),
    ]
    for m, ts in taus.items():
        if ts:
            lines.append(f"| {m} | " + " | ".join(f"{t:.2f}" for t in ts) + f" | {np.nanmean(ts):.2f} |")
    in_sample = sum(1 for c in out["configs"] if not c.get("heldout"))
    lines += [
        "",
        f"advise picked the winning recipe (or one within 0.01 of it) in {wins}/{in_sample} cases its thresholds "
        f"were chosen on, and in {held[0]}/{held[1]} held-out cases (sizes not used to choose them); "
        f"its pick is within one standard error of the winner's test accuracy in {within_se[0]}/{within_se[1]}.",
        "",
    ]
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
        train, test = load(c["data"], c["per_class"], out["size"])
        acc, _ = _scratch_accuracy(prepare(train), c["rank"]["num_classes"], 2.0, 0, test_data=prepare(test))
        lite0 = max(v["accuracy"] for v in c["finetune"][out["candidates"][0]].values())
        best = max(v["accuracy"] for cand in out["candidates"] for v in c["finetune"][cand].values())
        lines.append(f"| {c['data']} | {c['per_class']} | {acc:.3f} | {lite0:.3f} | {best:.3f} |")
    return lines


def plots(out: dict) -> list[str]:
    """docs/img/transfer_recipes.png (fine-tuned accuracy by recipe and size, Lite0, per
    data set, with the controls) and docs/img/transfer_scores.png (LogME and few-shot
    linear accuracy vs best fine-tuned accuracy)."""
    from zoo.finetuning.plot import Panel, line_chart

    img = ROOT / "docs" / "img"
    img.mkdir(parents=True, exist_ok=True)
    lite0 = out["candidates"][0]
    panels = []
    for data in dict.fromkeys(c["data"] for c in out["configs"]):
        series: dict[str, list[tuple[float, float]]] = {}
        for c in (c for c in out["configs"] if c["data"] == data):
            for recipe, v in c["finetune"][lite0].items():
                series.setdefault(recipe, []).append((c["per_class"], v["accuracy"]))
            n = c["advice"]["numbers"]
            series.setdefault("ctrl: random init", []).append((c["per_class"], n["random_init"]["linear"]))
            series.setdefault("ctrl: scratch MLP", []).append((c["per_class"], n["scratch_accuracy"]))
        panels.append(
            Panel(data, "examples per class", "accuracy", series, dashed={k for k in series if k.startswith("ctrl")})
        )
    line_chart(panels, img / "transfer_recipes.png", title="Lite0: test accuracy by recipe; controls dashed")
    score_panels = []
    for method in ("logme", "linear"):
        series = {}
        for c in out["configs"]:
            for cand in c["rank"]["candidates"]:
                ft = c["finetune"].get(cand["candidate"])
                if ft and cand["scores"].get(method) is not None:
                    label = f"{c['data']}/{c['per_class']}"
                    series.setdefault(label, []).append(
                        (cand["scores"][method], max(v["accuracy"] for v in ft.values()))
                    )
        for label in series:
            series[label].sort()
        score_panels.append(Panel(f"{method} vs best fine-tuned accuracy", method, "accuracy", series))
    line_chart(score_panels, img / "transfer_scores.png", title="each line: Lite0/1/2 on one data set and size")
    return ["![recipes](../../docs/img/transfer_recipes.png)", "", "![scores](../../docs/img/transfer_scores.png)"]


if __name__ == "__main__":
    sys.exit(main())

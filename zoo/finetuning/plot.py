"""Line charts as PNG, drawn with Pillow (already a dependency of torchvision; no
matplotlib needed): the loss and accuracy curves of ``zoo finetune --plot`` and the
charts of bench/finetune.py."""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Panel", "curves_png", "line_chart"]

COLOURS = [
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#000000",
    "#aec7e8",
    "#98df8a",
    "#ff9896",
]


@dataclass
class Panel:
    title: str
    xlabel: str
    ylabel: str
    series: Mapping[str, Sequence[tuple[float, float]]]
    dashed: set[str] = field(default_factory=set)
    xlog: bool = False
    ylim: tuple[float, float] | None = None
    group: Any = None
    """``label -> key``: labels with the same key share a colour (a run's train and val)."""


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step) * step
    return [start + i * step for i in range(int((hi - start) / step + 1e-9) + 1)]


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v - round(v)) < 1e-9 and abs(v) >= 1 else f"{v:.3g}"


def _dashed(draw: Any, points: list[tuple[float, float]], fill: str, width: int, dash: float = 6.0) -> None:
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        length = math.hypot(x1 - x0, y1 - y0)
        steps = max(1, int(length / dash))
        for i in range(0, steps, 2):
            a, b = i / steps, min(1.0, (i + 1) / steps)
            draw.line(
                [(x0 + (x1 - x0) * a, y0 + (y1 - y0) * a), (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b)],
                fill=fill,
                width=width,
            )


def line_chart(
    panels: Sequence[Panel],
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    panel_size: tuple[int, int] = (520, 380),
) -> str:
    """Draw ``panels`` side by side into a PNG at ``path``; returns the path."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    w, h = panel_size
    top = 30 if title else 0
    image = Image.new("RGB", (w * len(panels), h + top), "white")
    draw = ImageDraw.Draw(image)
    if title:
        draw.text((10, 8), title, fill="black", font=font)
    keys = {k: (p.group(k) if p.group else k) for p in panels for k in p.series}
    order = list(dict.fromkeys(keys.values()))
    colour = {label: COLOURS[order.index(key) % len(COLOURS)] for label, key in keys.items()}
    for index, panel in enumerate(panels):
        ox = index * w
        left, right, upper, lower = ox + 60, ox + w - 15, top + 30, top + h - 45
        xs = [x for s in panel.series.values() for x, _ in s]
        ys = [y for s in panel.series.values() for _, y in s if y is not None and math.isfinite(y)]
        if not xs or not ys:
            continue
        tx = (lambda v: math.log10(v)) if panel.xlog else (lambda v: v)
        x0, x1 = min(map(tx, xs)), max(map(tx, xs))
        y0, y1 = panel.ylim if panel.ylim else (min(ys), max(ys))
        if x1 == x0:
            x1 = x0 + 1
        if y1 == y0:
            y1 = y0 + 1
        pad = (y1 - y0) * 0.05 if not panel.ylim else 0
        y0, y1 = y0 - pad, y1 + pad

        def px(x: float, left=left, right=right, tx=tx, x0=x0, x1=x1) -> float:  # this panel's axes
            return left + (tx(x) - x0) / (x1 - x0) * (right - left)

        def py(y: float, lower=lower, upper=upper, y0=y0, y1=y1) -> float:
            return lower - (y - y0) / (y1 - y0) * (lower - upper)

        draw.text((ox + 60, top + 8), panel.title, fill="black", font=font)
        for y in _ticks(y0, y1):
            draw.line([(left, py(y)), (right, py(y))], fill="#e6e6e6")
            draw.text((ox + 5, py(y) - 6), _fmt(y), fill="#444444", font=font)
        xticks = sorted(set(xs)) if panel.xlog or len(set(xs)) <= 12 else _ticks(min(xs), max(xs))
        for x in xticks:
            draw.line([(px(x), lower), (px(x), lower + 4)], fill="black")
            draw.text((px(x) - 6, lower + 6), _fmt(x), fill="#444444", font=font)
        draw.rectangle([left, upper, right, lower], outline="black")
        draw.text(((left + right) / 2 - 3 * len(panel.xlabel), lower + 22), panel.xlabel, fill="black", font=font)
        draw.text((ox + 5, upper - 16), panel.ylabel, fill="black", font=font)
        for label, points in panel.series.items():
            pts = [(px(x), py(y)) for x, y in points if y is not None and math.isfinite(y)]
            if not pts:
                continue
            if label in panel.dashed:
                _dashed(draw, pts, colour[label], 2)
            elif len(pts) > 1:
                draw.line(pts, fill=colour[label], width=2)
            for x, y in pts:
                draw.ellipse([x - 2.5, y - 2.5, x + 2.5, y + 2.5], fill=colour[label])
        # legend, inside the panel's upper right corner
        ly = upper + 6
        for label in panel.series:
            segment = [(right - 150, ly + 6), (right - 130, ly + 6)]
            if label in panel.dashed:
                _dashed(draw, segment, colour[label], 2, dash=4.0)
            else:
                draw.line(segment, fill=colour[label], width=2)
            draw.text((right - 125, ly), label[:22], fill="black", font=font)
            ly += 14
    image.save(path, format="PNG")
    return str(path)


def curves_png(runs: Mapping[str, Sequence[Any]], path: str | os.PathLike[str], *, title: str | None = None) -> str:
    """Loss and accuracy per epoch of one or more runs (``label -> EpochMetrics list``):
    training solid, validation dashed."""
    loss: dict[str, list[tuple[float, float]]] = {}
    acc: dict[str, list[tuple[float, float]]] = {}
    dashed = set()
    for label, metrics in runs.items():
        loss[f"{label} train"] = [(m.epoch, m.train_loss) for m in metrics]
        acc[f"{label} train"] = [(m.epoch, 100 * m.train_accuracy) for m in metrics]
        if any(m.val_loss is not None for m in metrics):
            loss[f"{label} val"] = [(m.epoch, m.val_loss) for m in metrics]
            acc[f"{label} val"] = [(m.epoch, 100 * m.val_accuracy) for m in metrics]
            dashed.add(f"{label} val")

    def run_of(label: str) -> str:
        return label.rsplit(" ", 1)[0]

    return line_chart(
        [
            Panel("loss (train solid, validation dashed)", "epoch", "loss", loss, dashed, group=run_of),
            Panel("accuracy", "epoch", "accuracy %", acc, dashed, ylim=(0, 100), group=run_of),
        ],
        path,
        title=title,
    )

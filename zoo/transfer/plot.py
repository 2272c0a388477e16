"""``zoo rank --plot FILE``: one panel per score, a bar per candidate, drawn with Pillow
(no matplotlib), as :mod:`zoo.finetuning.plot` draws its curves."""

from __future__ import annotations

import os
from typing import Any

from zoo.finetuning.plot import COLOURS

__all__ = ["rank_png"]


def rank_png(result: Any, path: str | os.PathLike[str], *, title: str | None = None) -> str:
    from PIL import Image, ImageDraw

    methods = list(result.methods)
    cands = list(result.candidates)
    cols = min(3, len(methods))
    rows = (len(methods) + cols - 1) // cols
    pw, ph, top, legend = 320, 220, 40, 22 * len(cands) + 10
    image = Image.new("RGB", (pw * cols, top + ph * rows + legend), "white")
    draw = ImageDraw.Draw(image)
    draw.text(
        (10, 10), title or f"zoo rank: {result.num_examples} examples, {result.num_classes} classes", fill="black"
    )
    for i, m in enumerate(methods):
        x0, y0 = (i % cols) * pw, top + (i // cols) * ph
        draw.text((x0 + 10, y0 + 5), f"{m} ({'higher' if result.methods[m] else 'lower'} is better)", fill="black")
        values = [c.scores.get(m) for c in cands]
        present = [v for v in values if v is not None]
        if not present:
            continue
        lo, hi = min(0.0, *present), max(0.0, *present)
        span = (hi - lo) or 1.0
        base = y0 + 30 + (ph - 60) * (hi / span)
        draw.line([(x0 + 10, base), (x0 + pw - 10, base)], fill="#888888")
        width = (pw - 20) / max(1, len(cands))
        for j, v in enumerate(values):
            if v is None:
                continue
            bx = x0 + 10 + j * width
            by = y0 + 30 + (ph - 60) * ((hi - v) / span)
            draw.rectangle([bx + 4, min(by, base), bx + width - 4, max(by, base)], fill=COLOURS[j % len(COLOURS)])
            draw.text((bx + 4, y0 + ph - 25), f"{v:.3g}", fill="black")
    ly = top + ph * rows
    for j, c in enumerate(cands):
        draw.rectangle([10, ly + 22 * j + 4, 24, ly + 22 * j + 18], fill=COLOURS[j % len(COLOURS)])
        draw.text((30, ly + 22 * j + 5), c.candidate, fill="black")
    tmp = f"{os.fspath(path)}.partial"
    image.save(tmp, format="PNG")
    os.replace(tmp, path)
    return os.fspath(path)

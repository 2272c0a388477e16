"""Deployment: the package behind ``zoo.compress(model_or_name, method, ...)``, which
quantizes, prunes, distills or exports a model, measures what it gained and lost, and
registers the result as a child of its parent. ``zoo.compress`` is the function
:func:`compress` (the old package path ``zoo.compress.*`` is deprecated).

Methods are plugins (hook ``zoo_compressors``; the built-in ones are the
``zoo-compress`` distribution); this package is what they plug into: data handling,
the measurements (file size, latency at batch 1 and 32, peak memory, quality on the
caller's eval data), registration with lineage, and the rebuild of a registered result
when ``zoo.get`` loads it. The runner protocol is in :mod:`zoo.compression.runner`.

Importing this package imports no torch; :func:`compress` does, when it runs.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from zoo.compression.result import CompressResult

__all__ = ["compress", "compressors", "deployment"]


def compress(
    model_or_name: Any,
    method: str,
    *,
    calibration: Any = None,
    eval: Any = None,  # the public keyword (shadows the builtin in here only)
    register_as: str | None = None,
    registry: Any = None,
    host: Any = None,
    threads: int | None = None,
    repeats: int = 10,
    eval_name: str | None = None,
    measure: bool = True,
    **options: Any,
) -> CompressResult:
    """Compress ``model_or_name`` with ``method``; returns a :class:`~zoo.compression.result.CompressResult`.

    ``model_or_name``: a name ``zoo.get`` resolves, or a model ``zoo.get`` returned
    (anything else can be compressed and measured, but not registered). ``method``: a
    name from ``zoo compressors`` (e.g. ``dynamic-int8``, ``static-int8``,
    ``prune-channels``, ``distill``, ``onnx``, ``torch-export``); ``**options`` override
    the method's defaults. ``calibration``: data the method needs (static quantization
    calibrates on it; pruning's recovery and distillation train on it): image tensors,
    ``(inputs, labels)``, a torch ``Dataset`` / ``DataLoader`` of ``(input, label)``, or
    a list of sentences for text models. ``eval``: the same kinds, to measure the
    quality change (accuracy with labels, embedding cosine similarity for text, output
    differences always); ``eval_name`` names it in the metrics (default ``eval-data``).
    ``threads``: CPU threads for the latency measurement (default: torch's);
    ``repeats``: timed runs per batch size (the median is reported).
    ``register_as="team/name"`` registers the result (next version) as a child of the
    model's weights with the method's relation, inheriting licence, datasets and notes,
    with the measurements as metrics.

    Every bad input is a typed ``ZooError`` (an unknown method or option, a method that
    does not fit the model, missing calibration data); nothing is registered on failure.
    """
    from zoo.compression.core import run

    return run(
        model_or_name,
        method,
        calibration=calibration,
        eval_data=eval,
        register_as=register_as,
        registry=registry,
        host=host,
        threads=threads,
        repeats=repeats,
        eval_name=eval_name,
        measure=measure,
        options=options,
    )


def compressors(host: Any = None) -> list[dict[str, Any]]:
    """The installed deployment methods as JSON-ready rows; no torch import."""
    from zoo.plugins import default_host

    host = host or default_host()
    return [
        {
            "name": name,
            "relation": c.relation.value,
            "plugin": host.owner("compressors", name),
            "description": c.description,
            "runner": c.runner,
            "params": dict(c.params or {}),
        }
        for name, c in sorted(host.compressors().items())
    ]


DEPLOY_RELATIONS = ("quantize", "prune", "distill", "export")


def deployment(registry: Any, info: Any) -> list[dict[str, Any]]:
    """One row per compressed child of ``info`` (a ``WeightsInfo``): method, file size,
    latency at batch 1 and 32, peak memory (each with its ratio to the parent, measured
    in the same run), quality change, threads. Reads the registry only (no torch)."""
    rows: list[dict[str, Any]] = []
    for child, relation in info.children:
        if relation not in DEPLOY_RELATIONS:
            continue
        w = registry.resolve(child).weights
        metrics = {m.name: m for m in w.metrics}
        spec: dict[str, Any] = {}
        if w.recipe and '"compress"' in w.recipe:
            try:
                spec = json.loads(w.recipe).get("compress") or {}
            except ValueError:
                spec = {}
        row: dict[str, Any] = {"name": child, "relation": relation, "method": spec.get("method"), "arch": w.arch}
        for key in ("file_bytes", "latency_ms_b1", "latency_ms_b32", "peak_mb"):
            value, parent = metrics.get(key), metrics.get(f"parent_{key}")
            row[key] = value.value if value else None
            row[f"{key}_ratio"] = round(value.value / parent.value, 4) if value and parent and parent.value else None
            if value is not None:
                row["threads"] = value.split
        for key in ("acc@1", "accuracy_drop_pt", "cosine_mean", "max_abs_diff"):
            row[key] = metrics[key].value if key in metrics else None
        rows.append(row)
    return rows

"""Rebuilding a registered compressed model for ``zoo.get``.

A compressed child's record carries a ``{"compress": {...}}`` recipe (:func:`rebuild_spec`);
``zoo.get`` hands such weights to :func:`load_registered`, which builds the parent
architecture and lets the method's runner rebuild the compressed model from the verified
file. Kept apart from :mod:`zoo.compression.core` (the compress run, which calls ``zoo.get``)
so that :mod:`zoo.resolve` can use it without an import cycle. No torch at import.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from zoo.errors import ZooError, ZooValidationError

if TYPE_CHECKING:
    from zoo.records import Weights

__all__ = ["load_registered", "method_runner", "rebuild_spec"]


def rebuild_spec(weights: Weights) -> dict[str, Any] | None:
    """How to rebuild a registered compressed model (method, runner, options), or
    ``None`` for weights that load into their architecture as they are."""
    text = weights.recipe
    if not text or '"compress"' not in text:
        return None
    try:
        spec = json.loads(text).get("compress")
    except (ValueError, AttributeError):
        return None
    return spec if isinstance(spec, dict) and spec.get("rebuild") else None


def method_runner(host: Any, name: str, options: Mapping[str, Any]) -> tuple[Any, Any]:
    """The compressor record ``name`` and its runner, built with the record's params
    overridden by ``options``."""
    from zoo.plugins import import_object

    if not isinstance(name, str) or not name.strip():
        raise ZooValidationError(
            "method", f"must be a method name, not {name!r}", hint="`zoo compressors` lists the installed methods"
        )
    record = host.compressor(name)
    cls = import_object(record.runner, what=f"compression method {record.name!r}")
    return record, cls(**{**dict(record.params or {}), **options})


def load_registered(
    host: Any, info: Any, family: Any, fetched: Any, spec: Mapping[str, Any], *, num_classes: int | None, device: Any
) -> tuple[Any, Any]:
    """Rebuild a registered compressed model from its verified file; returns (model, LoadReport)."""
    import torch
    from safetensors import safe_open
    from torch import nn

    from zoo import _loading
    from zoo._load_report import LoadReport
    from zoo.compression.runner import CompressContext

    stored = info.weights.num_classes
    if num_classes is not None and num_classes != stored:
        raise ZooValidationError(
            "num_classes",
            f"{info.qualified_name} is a {spec.get('method')} model with {stored} outputs; its head cannot be replaced",
            hint="omit num_classes (or fine-tune the parent, then compress again)",
        )
    relation = spec.get("relation")
    dev = None if device is None or device == "auto" else _loading.target_device(device)
    if dev is not None and dev.type != "cpu" and relation in ("quantize", "export"):
        raise ZooValidationError(
            "device",
            f"{info.qualified_name} ({spec.get('method')}) runs on the CPU",
            hint="use device='cpu' (or 'auto')",
        )
    _, runner = method_runner(host, spec["method"], spec.get("options") or {})
    with safe_open(str(fetched.path), framework="pt") as f:
        metadata = dict(f.metadata() or {})
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has no items()

    def build() -> nn.Module:
        model, _ = _loading.build_fresh(host, family, num_classes=stored, device=torch.device("cpu"))
        return model.eval()

    ctx = CompressContext(modality=family.modality.value, record=info, host=host, build=build)
    try:
        model = runner.load(tensors, metadata, ctx)
    except ZooError:
        raise
    except Exception as exc:
        from zoo.errors import ZooLoadError

        raise ZooLoadError(
            f"{info.qualified_name}: method {spec['method']!r} could not rebuild it ({type(exc).__name__}: {exc})",
            hint="install the plugin version it was made with (the record's recipe names it)",
        ) from exc
    if isinstance(model, nn.Module) and relation not in ("quantize", "export"):  # an exported program has no eval()
        model.eval()
        if dev is not None:
            model.to(dev)
    return model, LoadReport(pretrained=True, loaded=len(tensors), num_classes=stored)

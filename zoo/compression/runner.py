"""The method protocol: how a deployment method plugs into ``zoo.compress``.

A :class:`zoo.records.Compressor` names its runner by import string. ``zoo.compress``
imports it, constructs it with the options (the record's ``params`` are the defaults,
the caller's override them) and asks it to compress::

    method = Method(**options)                   # validates; ZooValidationError names the option
    out = method.compress(model, ctx)            # a Compressed; ZooCompressError if it does not fit
    ...                                          # zoo measures, saves out.tensors, registers
    model = method.load(tensors, metadata, ctx)  # zoo.get: rebuild the compressed structure

``compress`` gets the fp32 model (eval mode, on CPU) and a :class:`CompressContext`
(calibration and eval data already batched, the parent's record, the example input).
It returns a :class:`Compressed`: the runnable result and what to save — plain tensors
(quantized tensors and packed parameters are encoded by :func:`encode_state`) plus
string metadata. ``load`` gets the same back from the verified cache file, and a
``ctx.build()`` that returns the parent's architecture freshly built on CPU; it rebuilds
the compressed structure (quantize, prune) and loads the tensors, or opens an exported
program. A method whose result is a plain state dict of an architecture (distillation)
sets ``Compressed.rebuild=False``: ``zoo.get`` then loads it like any checkpoint.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from zoo.finetuning.params import Param, validate

__all__ = ["CompressContext", "CompressMethod", "Compressed", "Param", "decode_state", "encode_state"]


@dataclass
class CompressContext:
    """What a method knows when it runs (``compress``) or rebuilds (``load``)."""

    modality: str
    example: Any = None
    """One batch of model inputs (a tensor, or the tokenizer's mapping for text)."""
    calibration: list[Any] = field(default_factory=list)
    """Batches of inputs (``compress`` only)."""
    train: Any = None
    """``(inputs, labels)`` for methods that train (pruning's recovery, distillation), or
    ``None`` when the calibration data had no labels."""
    record: Any = None
    """The parent's :class:`~zoo.records.WeightsInfo` (``None`` for a bare module)."""
    host: Any = None
    registry: Any = None
    build: Callable[[], nn.Module] | None = None
    """``load`` only: the parent's architecture, freshly built on CPU, eval mode."""


@dataclass
class Compressed:
    """A method's result."""

    module: Any
    """What runs: an ``nn.Module`` (or any callable taking the model's inputs)."""
    tensors: dict[str, torch.Tensor]
    """What is saved (safetensors): plain tensors only."""
    metadata: dict[str, str] = field(default_factory=dict)
    rebuild: bool = True
    """False: ``tensors`` is the state dict of architecture ``arch`` and loads as it is."""
    arch: str | None = None
    """The result's architecture when it is not the parent's (a distilled student)."""
    num_classes: int | None = None
    info: dict[str, Any] = field(default_factory=dict)
    """Facts the method measured itself (e.g. channels removed); JSON-ready, recorded."""


class CompressMethod:
    """Base class of the built-in methods (optional for a plugin's own: any class with
    ``__init__(**options)``, ``compress(model, ctx)`` and ``load(tensors, metadata,
    ctx)`` is a method)."""

    name = "method"
    schema: Mapping[str, Param] = {}

    def __init__(self, **options: Any) -> None:
        self.options = validate(self.schema, options, recipe=self.name)

    def compress(self, model: nn.Module, ctx: CompressContext) -> Compressed:  # pragma: no cover
        raise NotImplementedError

    def load(
        self, tensors: dict[str, torch.Tensor], metadata: Mapping[str, str], ctx: CompressContext
    ) -> Any:  # pragma: no cover
        raise NotImplementedError


# -- state dicts with quantized tensors, as safetensors can hold them ------------------------

_SPEC = "zoo.state"
_VERSIONS = "zoo.state_versions"


def encode_state(state: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """A state dict that may hold quantized tensors, packed parameters (tuples), dtypes
    and ``None`` -> plain tensors + one JSON metadata entry that says how to put them
    back together (:func:`decode_state`)."""
    tensors: dict[str, torch.Tensor] = {}

    def enc(key: str, value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu()
            if not value.is_quantized:
                tensors[key] = value.contiguous()
                return {"t": key}
            tensors[key] = value.int_repr().contiguous()
            spec: dict[str, Any] = {"q": key, "dtype": str(value.dtype).removeprefix("torch.")}
            if value.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
                spec.update(scale=value.q_scale(), zero_point=value.q_zero_point())
            else:
                tensors[key + ".__scales"] = value.q_per_channel_scales().contiguous()
                tensors[key + ".__zero_points"] = value.q_per_channel_zero_points().contiguous()
                spec["axis"] = value.q_per_channel_axis()
            return spec
        if isinstance(value, (tuple, list)):
            return {"seq": [enc(f"{key}.__{i}", v) for i, v in enumerate(value)]}
        if isinstance(value, torch.dtype):
            return {"dtype": str(value).removeprefix("torch.")}
        if value is None or isinstance(value, (int, float, bool, str)):
            return {"v": value}
        raise TypeError(f"{key}: cannot save a {type(value).__name__} in a state dict")

    spec = {key: enc(key, value) for key, value in state.items()}
    # The modules' state-dict versions: quantized modules read their layout from them.
    versions = {k: dict(v) for k, v in (getattr(state, "_metadata", None) or {}).items()}
    return tensors, {
        _SPEC: json.dumps(spec, separators=(",", ":")),
        _VERSIONS: json.dumps(versions, separators=(",", ":"), default=str),
    }


def decode_state(tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str]) -> dict[str, Any]:
    """The inverse of :func:`encode_state`."""

    def dec(spec: Mapping[str, Any]) -> Any:
        if "t" in spec:
            return tensors[spec["t"]]
        if "q" in spec:
            # the integer representation's type decides the quantized type (int8 -> qint8, uint8 -> quint8)
            raw = tensors[spec["q"]]
            if "axis" in spec:
                return torch._make_per_channel_quantized_tensor(
                    raw, tensors[spec["q"] + ".__scales"], tensors[spec["q"] + ".__zero_points"], spec["axis"]
                )
            return torch._make_per_tensor_quantized_tensor(raw, spec["scale"], spec["zero_point"])
        if "seq" in spec:
            return tuple(dec(s) for s in spec["seq"])
        if "dtype" in spec:
            return getattr(torch, spec["dtype"])
        return spec["v"]

    state = OrderedDict((key, dec(spec)) for key, spec in json.loads(metadata[_SPEC]).items())
    state._metadata = OrderedDict(json.loads(metadata.get(_VERSIONS, "{}")))  # type: ignore[attr-defined]
    return state

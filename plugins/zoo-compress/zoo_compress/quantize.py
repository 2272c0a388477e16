"""int8 quantization with torch.ao: dynamic (Linear, Embedding) and static post-training
(FX graph mode, x86 backend). Imports torch."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from zoo.compression.runner import CompressContext, Compressed, CompressMethod, decode_state, encode_state
from zoo.errors import ZooCompressError, ZooValidationError
from zoo_compress import fx as _fx
from zoo_compress.specs import METHODS


def _layers(model: nn.Module) -> str:
    """The model's layer types, most frequent first: what an error names."""
    counts: dict[str, list[str]] = {}
    for name, m in model.named_modules():
        if name and not list(m.children()):
            counts.setdefault(type(m).__name__, []).append(name)
    top = sorted(counts.items(), key=lambda kv: -len(kv[1]))[:4]
    return ", ".join(f"{len(names)} {kind} (e.g. '{names[0]}')" for kind, names in top)


def _engine(name: str) -> None:
    if name not in torch.backends.quantized.supported_engines:
        raise ZooValidationError(
            "engine",
            f"quantized engine {name!r} is not available in this torch build",
            hint=f"use one of: {', '.join(torch.backends.quantized.supported_engines)}",
        )
    torch.backends.quantized.engine = name


def _contiguous_indices(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
    return (args[0].contiguous(), *args[1:])


class DynamicInt8(CompressMethod):
    name = "dynamic-int8"
    schema = METHODS[name]["schema"]

    def _qconfig(self) -> dict[type, Any]:
        from torch.ao.quantization import (
            default_dynamic_qconfig,
            float_qparams_weight_only_qconfig,
            per_channel_dynamic_qconfig,
        )

        spec: dict[type, Any] = {
            nn.Linear: per_channel_dynamic_qconfig if self.options["per_channel"] else default_dynamic_qconfig
        }
        if self.options["embeddings"]:
            spec[nn.Embedding] = float_qparams_weight_only_qconfig
        return spec

    def _quantize(self, model: nn.Module) -> nn.Module:
        from torch.ao.quantization import quantize_dynamic

        _engine(self.options["engine"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao's deprecation notice
            return self._activation_range(quantize_dynamic(model, self._qconfig(), dtype=torch.qint8))

    def _activation_range(self, model: nn.Module) -> nn.Module:
        # torch.ao's dynamic Linear (state version 4) quantizes activations to 7 bits
        # (reduce_range, for CPUs without VNNI, where 8-bit products could saturate); its
        # version-3 path uses all 8 bits: on MiniLM, embedding cosine 0.977 -> 0.993.
        from torch.ao.nn.quantized import Embedding as QuantizedEmbedding
        from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

        for m in model.modules():
            if isinstance(m, DynamicLinear) and not self.options["reduce_range"]:
                m.version = 3
            elif isinstance(m, QuantizedEmbedding):
                # its kernel needs contiguous indices; BERT passes an expanded (stride 0)
                # token_type_ids buffer when the caller gives none
                m.register_forward_pre_hook(_contiguous_indices)
        return model

    def compress(self, model: nn.Module, ctx: CompressContext) -> Compressed:
        linear = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
        if not linear:
            raise ZooCompressError(
                "dynamic-int8 quantizes nn.Linear (and nn.Embedding) layers, and this model has none: its "
                f"layers are {_layers(model)}; dynamic quantization has no int8 kernel for those ops",
                hint="use method 'static-int8' (calibrated; convolutions) for a CNN",
            )
        q = self._quantize(model)
        tensors, meta = encode_state(q.state_dict())
        embeddings = sum(isinstance(m, nn.Embedding) for m in model.modules()) if self.options["embeddings"] else 0
        return Compressed(
            q,
            tensors,
            meta,
            info={
                "quantized_linear": len(linear),
                "quantized_embeddings": embeddings,
                "engine": self.options["engine"],
            },
        )

    def load(self, tensors: dict[str, torch.Tensor], metadata: Mapping[str, str], ctx: CompressContext) -> Any:
        q = self._quantize(ctx.build())
        q.load_state_dict(decode_state(tensors, metadata))
        return self._activation_range(q)  # loading restored the saved state version


class StaticInt8(CompressMethod):
    name = "static-int8"
    schema = METHODS[name]["schema"]

    def _convert(self, model: nn.Module, batches: list[torch.Tensor]) -> nn.Module:
        from torch.ao.quantization import get_default_qconfig_mapping
        from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

        engine = self.options["engine"]
        _engine(engine)
        model = _fx.plain_batchnorm(_fx.static_padding(model.eval(), batches[0])).eval()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                prepared = prepare_fx(model.eval(), get_default_qconfig_mapping(engine), example_inputs=(batches[0],))
            except Exception as exc:  # a tracing failure: name the layer
                raise _fx.trace_error("static-int8", model, batches[0], exc) from exc
            with torch.inference_mode():
                for batch in batches[: self.options["calibration_batches"]]:
                    prepared(batch)
            return convert_fx(prepared)

    def compress(self, model: nn.Module, ctx: CompressContext) -> Compressed:
        if not ctx.calibration:
            raise ZooValidationError(
                "calibration",
                "static int8 quantization needs calibration data: the activations' int8 ranges are measured on it",
                hint="pass calibration= a few hundred representative inputs (e.g. "
                "(images, labels) of the training data), or use 'dynamic-int8'",
            )
        if not isinstance(ctx.example, torch.Tensor):
            raise ZooCompressError(
                "static-int8 (FX graph mode) quantizes CNNs that take one image tensor; this "
                f"model takes {sorted(ctx.example) if isinstance(ctx.example, Mapping) else type(ctx.example).__name__}"
                f" and its layers are {_layers(model)}",
                hint="use 'dynamic-int8' for transformers",
            )
        convs = [n for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        if not convs:
            raise ZooCompressError(
                f"static-int8 has int8 kernels for Conv2d and Linear; this model has neither: "
                f"its layers are {_layers(model)}",
                hint="this model cannot be quantized here",
            )
        q = self._convert(model, ctx.calibration)
        float_ops = sorted(
            {
                type(m).__name__
                for m in q.modules()
                if isinstance(m, (nn.Conv2d, nn.Linear)) and not type(m).__module__.startswith("torch.ao")
            }
        )
        tensors, meta = encode_state(q.state_dict())
        meta["zoo.input_shape"] = ",".join(str(d) for d in ctx.example.shape[1:])
        return Compressed(
            q,
            tensors,
            meta,
            info={
                "engine": self.options["engine"],
                "layers": len(convs),
                "float_layers": float_ops,
                "calibration_samples": sum(len(b) for b in ctx.calibration),
            },
        )

    def load(self, tensors: dict[str, torch.Tensor], metadata: Mapping[str, str], ctx: CompressContext) -> Any:
        shape = [int(d) for d in metadata["zoo.input_shape"].split(",")]
        q = self._convert(ctx.build(), [torch.zeros(1, *shape)])  # the structure; the ranges come from the file
        q.load_state_dict(decode_state(tensors, metadata))
        return q

"""Exports: ONNX (checked in ONNX Runtime) and ``torch.export`` (.pt2). The exported
bytes are stored as one uint8 tensor ``zoo.export`` in a safetensors file, so that they
travel through zoo's verified, content-addressed cache like every checkpoint; ``zoo.get``
returns a runnable object. Imports torch."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zoo.compression.runner import CompressContext, Compressed, CompressMethod
from zoo.errors import ZooCompressError
from zoo_compress.specs import METHODS

_KEY = "zoo.export"


def _inputs(example: Any) -> tuple[tuple[Any, ...], dict[str, Any], list[str]]:
    if isinstance(example, Mapping):
        names = list(example)
        return (), {k: example[k] for k in names}, names
    return (example,), {}, ["input"]


def _first(out: Any) -> torch.Tensor:
    out = getattr(out, "last_hidden_state", out)
    return out[0] if isinstance(out, (tuple, list)) else out


def _failed(method: str, exc: Exception) -> ZooCompressError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return ZooCompressError(
        f"{method} cannot export this model: {type(exc).__name__}: {first}",
        hint="the model's forward must be traceable (no data-dependent Python control flow "
        "or unsupported ops); the full error is chained to this one",
    )


class OnnxModule(nn.Module):
    """An ONNX model run by ONNX Runtime, called like the eager model with torch tensors
    (positionally for one image input, by name for a tokenizer's mapping); returns a
    tensor (the first output) or a tuple. No parameters: ``.to()`` does nothing, it
    runs on the CPU."""

    def __init__(self, onnx_bytes: bytes, input_names: list[str], threads: int | None = None) -> None:
        super().__init__()
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        # ORT's idle threads spin by default: they would slow down every torch op run
        # next to the session (the eager model it is compared with included).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self.session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
        self.input_names = input_names
        self.size_bytes = len(onnx_bytes)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if len(args) > len(self.input_names):
            raise TypeError(f"the exported model takes {len(self.input_names)} inputs, not {len(args)}")
        # fewer positional inputs than names: the others come as keywords
        feed = dict(zip(self.input_names[: len(args)], args, strict=True)) | kwargs
        wanted = {i.name for i in self.session.get_inputs()}
        outs = self.session.run(None, {k: v.detach().cpu().numpy() for k, v in feed.items() if k in wanted})
        tensors = tuple(torch.from_numpy(o) for o in outs)
        return tensors[0] if len(tensors) == 1 else tensors


class Onnx(CompressMethod):
    name = "onnx"
    schema = METHODS[name]["schema"]

    def compress(self, model: nn.Module, ctx: CompressContext) -> Compressed:
        if ctx.example is None:
            raise ZooCompressError(
                "onnx needs an example input to trace the model", hint="pass calibration= or eval= data"
            )
        args, kwargs, names = _inputs(ctx.example)
        batch = torch.export.Dim("batch")
        dims = {k: {0: batch} for k in names} if kwargs else {"input": {0: batch}}
        try:
            program = torch.onnx.export(
                model,
                args,
                kwargs=kwargs,
                dynamo=True,
                input_names=names,
                opset_version=self.options["opset"],
                dynamic_shapes=dims if kwargs else ({0: batch},),
                verbose=False,
            )
            with tempfile.TemporaryDirectory(prefix="zoo-onnx-") as tmp:
                path = Path(tmp) / "model.onnx"
                program.save(path, external_data=False)
                data = path.read_bytes()
        except Exception as exc:  # any tracing failure is the model's
            raise _failed("onnx", exc) from exc
        runtime = OnnxModule(data, names)
        with torch.inference_mode():
            want, got = _first(model(*args, **kwargs)), _first(runtime(*args, **kwargs))
        diff = float((want.float() - got.float()).abs().max())
        if diff > self.options["atol"]:
            raise ZooCompressError(
                f"the ONNX export differs from the eager model by {diff:.3g} (largest absolute "
                f"difference; allowed {self.options['atol']:g})",
                hint="raise atol if that is acceptable, or report the op to torch.onnx",
            )
        tensors = {_KEY: torch.frombuffer(bytearray(data), dtype=torch.uint8)}
        return Compressed(
            runtime,
            tensors,
            {"zoo.export_format": "onnx", "zoo.input_names": ",".join(names)},
            info={"format": "onnx", "opset": self.options["opset"], "check_max_abs_diff": diff},
        )

    def load(self, tensors: dict[str, torch.Tensor], metadata: Mapping[str, str], ctx: CompressContext) -> Any:
        return OnnxModule(tensors[_KEY].numpy().tobytes(), metadata["zoo.input_names"].split(","))


class TorchExport(CompressMethod):
    name = "torch-export"
    schema = METHODS[name]["schema"]

    def compress(self, model: nn.Module, ctx: CompressContext) -> Compressed:
        if ctx.example is None:
            raise ZooCompressError(
                "torch-export needs an example input to trace the model", hint="pass calibration= or eval= data"
            )
        args, kwargs, names = _inputs(ctx.example)
        batch = torch.export.Dim("batch")
        dims = {k: {0: batch} for k in names} if kwargs else ({0: batch},)
        try:
            program = torch.export.export(model, args, kwargs=kwargs, dynamic_shapes=dims if kwargs else dims)
        except Exception as exc:
            raise _failed("torch-export", exc) from exc
        buffer = io.BytesIO()
        torch.export.save(program, buffer)
        data = buffer.getvalue()
        return Compressed(
            program.module(),
            {_KEY: torch.frombuffer(bytearray(data), dtype=torch.uint8)},
            {"zoo.export_format": "pt2"},
            info={"format": "pt2"},
        )

    def load(self, tensors: dict[str, torch.Tensor], metadata: Mapping[str, str], ctx: CompressContext) -> Any:
        # zoo's own file, verified by its sha256 before it is opened
        return torch.export.load(io.BytesIO(tensors[_KEY].numpy().tobytes())).module()

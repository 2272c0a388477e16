"""torch.fx helpers shared by the methods: tracing that names the layer it failed in."""

from __future__ import annotations

from typing import Any

import torch
from torch import fx, nn

from zoo.errors import ZooCompressError


class LayerTracer(fx.Tracer):
    """A tracer that keeps BatchNorm subclasses (timm's BatchNormAct2d) whole and
    remembers which module it is inside, so that a failure names the layer."""

    def __init__(self) -> None:
        super().__init__()
        self.path: list[str] = []
        self.failed_at: str | None = None

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        # convolutions with "same" padding computed at run time (timm's Conv2dSame) stay whole too
        return isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.Conv2d)) or super().is_leaf_module(m, qualname)

    def call_module(self, m: nn.Module, forward: Any, args: Any, kwargs: Any) -> Any:
        self.path.append(self.path_of_module(m))
        try:
            return super().call_module(m, forward, args, kwargs)
        except Exception:
            if self.failed_at is None:
                self.failed_at = self.path[-1]  # the innermost layer: the one that failed
            raise
        finally:
            self.path.pop()


def trace(model: nn.Module, method: str) -> tuple[fx.Graph, LayerTracer]:
    tracer = LayerTracer()
    try:
        return tracer.trace(model), tracer
    except Exception as exc:
        raise _error(method, model, tracer, exc) from exc


def _error(method: str, model: nn.Module, tracer: LayerTracer, exc: Exception) -> ZooCompressError:
    where = tracer.failed_at or ""
    layer = (
        f"layer '{where}' ({type(model.get_submodule(where)).__name__})" if where else f"{type(model).__name__}.forward"
    )
    return ZooCompressError(
        f"{method} cannot trace the model: {layer} uses an op that symbolic tracing cannot handle "
        f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})",
        hint="this method needs a traceable model (torch.fx); try 'dynamic-int8', 'onnx' or 'torch-export'",
    )


def trace_error(method: str, model: nn.Module, example: Any, exc: Exception) -> ZooCompressError:
    """Why a tracing step inside torch failed: re-trace with :class:`LayerTracer` to name
    the layer (or report the original error when that trace succeeds)."""
    tracer = LayerTracer()
    try:
        tracer.trace(model)
    except Exception as inner:  # noqa: BLE001
        return _error(method, model, tracer, inner)
    return ZooCompressError(
        f"{method} failed on this model: {type(exc).__name__}: {exc}",
        hint="this method needs a model torch.fx can trace",
    )


def static_padding(model: nn.Module, example: torch.Tensor) -> nn.Module:
    """Replace convolutions with input-dependent "same" padding (timm's Conv2dSame, the
    TensorFlow ports' stride-2 layers: traced, their padding is control flow) by a
    constant pad + a plain ``nn.Conv2d``, for inputs of ``example``'s size."""
    targets = {
        name: m
        for name, m in model.named_modules()
        if isinstance(m, nn.Conv2d) and type(m) is not nn.Conv2d and type(m).__name__ == "Conv2dSame"
    }
    if not targets:
        return model
    sizes: dict[str, tuple[int, int]] = {}

    def remember(name: str):
        def hook(module: nn.Module, args: Any) -> None:
            sizes.setdefault(name, tuple(args[0].shape[-2:]))

        return hook

    hooks = [m.register_forward_pre_hook(remember(n)) for n, m in targets.items()]
    try:
        with torch.inference_mode():
            model(example[:1])
    finally:
        for h in hooks:
            h.remove()
    for name, m in targets.items():
        pads = []
        for i, k, s, d in zip(sizes[name], m.kernel_size, m.stride, m.dilation, strict=True):
            total = max((-(-i // s) - 1) * s + (k - 1) * d + 1 - i, 0)
            pads.append((total // 2, total - total // 2))
        conv = nn.Conv2d(
            m.in_channels,
            m.out_channels,
            m.kernel_size,
            m.stride,
            0,
            m.dilation,
            m.groups,
            bias=m.bias is not None,
            device=m.weight.device,
            dtype=m.weight.dtype,
        )
        conv.load_state_dict(m.state_dict())
        (ph, pw) = pads
        parent, _, attr = name.rpartition(".")
        setattr(
            model.get_submodule(parent) if parent else model,
            attr,
            nn.Sequential(nn.ZeroPad2d((pw[0], pw[1], ph[0], ph[1])), conv).train(m.training),
        )
    return model


def plain_batchnorm(model: nn.Module) -> nn.Module:
    """Replace BatchNorm subclasses that also run a dropout and an activation (timm's
    BatchNormAct2d) by ``nn.Sequential(nn.BatchNorm2d, drop, act)``: traced, they are a
    functional batch_norm that cannot be folded into the convolution before it, and int8
    activations taken before an unfolded BatchNorm lose the channels with small ranges."""
    for name, m in list(model.named_modules()):
        if not isinstance(m, nn.BatchNorm2d) or type(m) is nn.BatchNorm2d or not hasattr(m, "act"):
            continue
        bn = nn.BatchNorm2d(
            m.num_features,
            m.eps,
            m.momentum,
            m.affine,
            m.track_running_stats,
            device=m.weight.device if m.weight is not None else None,
        )
        bn.load_state_dict(nn.BatchNorm2d.state_dict(m), strict=False)
        parts = [bn] + [getattr(m, a) for a in ("drop", "act") if isinstance(getattr(m, a, None), nn.Module)]
        parent, _, attr = name.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, attr, nn.Sequential(*parts).train(m.training))
    return model


__all__ = ["LayerTracer", "plain_batchnorm", "static_padding", "trace", "trace_error"]

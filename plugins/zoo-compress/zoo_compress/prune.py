"""Structured channel pruning that removes channels (the tensors get smaller).

The model is traced (torch.fx) and searched for chains along which a channel can be
removed without touching anything else: a convolution whose output goes, through
BatchNorm and activations only (and at most one depthwise convolution with its
BatchNorm), into exactly one convolution or linear layer. The expansion of an inverted
residual block (MobileNetV2, EfficientNet) is such a chain; a block's output that feeds
a residual ``add`` is not, and is left alone. In each chain the ``ratio`` of channels
whose producing filters have the smallest L1 norm (Li et al. 2017, "Pruning Filters for
Efficient ConvNets") is cut out of every tensor along it. Imports torch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx, nn
from torch.nn import functional as F

from zoo.compression.runner import CompressContext, Compressed, CompressMethod
from zoo.errors import ZooCompressError, ZooValidationError
from zoo_compress import fx as _fx
from zoo_compress.specs import METHODS

_PASS_MODULES = (
    nn.ReLU,
    nn.ReLU6,
    nn.SiLU,
    nn.Hardswish,
    nn.GELU,
    nn.LeakyReLU,
    nn.ELU,
    nn.Hardtanh,
    nn.Identity,
    nn.Dropout,
    nn.AdaptiveAvgPool2d,
    nn.Flatten,
    nn.MaxPool2d,
    nn.AvgPool2d,
)
_PASS_FUNCTIONS = (
    F.relu,
    F.relu6,
    F.silu,
    F.gelu,
    F.hardswish,
    F.leaky_relu,
    F.hardtanh,
    F.dropout,
    F.adaptive_avg_pool2d,
    F.max_pool2d,
    F.avg_pool2d,
    torch.flatten,
    torch.relu,
)
_PASS_METHODS = ("relu", "relu_", "flatten", "contiguous")


@dataclass
class _Chain:
    producer: str
    channels: int
    along: list[str]  # BatchNorms and the depthwise convolution between producer and consumer
    consumer: str


def _is_depthwise(m: nn.Module, channels: int) -> bool:
    return isinstance(m, nn.Conv2d) and m.groups == m.in_channels == m.out_channels == channels and m.groups > 1


def _chain(model: nn.Module, node: fx.Node, channels: int) -> tuple[_Chain | None, str]:
    along: list[str] = []
    cur, depthwise = node, False
    while True:
        users = list(cur.users)
        if len(users) != 1:
            return None, f"its output is used by {len(users)} ops"
        u = users[0]
        if u.op == "call_module":
            m = model.get_submodule(u.target)
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.num_features == channels:
                along.append(u.target)
            elif _is_depthwise(m, channels) and not depthwise:
                along.append(u.target)
                depthwise = True
            elif (isinstance(m, nn.Conv2d) and m.groups == 1 and m.in_channels == channels) or (
                isinstance(m, nn.Linear) and m.in_features == channels
            ):
                return _Chain(node.target, channels, along, u.target), ""
            elif not isinstance(m, _PASS_MODULES):
                return None, f"it feeds layer '{u.target}' ({type(m).__name__})"
        elif u.op == "call_function" and u.target in _PASS_FUNCTIONS:
            pass
        elif u.op == "call_method" and u.target in _PASS_METHODS:
            pass
        else:
            return None, f"it feeds {u.op} {getattr(u.target, '__name__', u.target)}"
        cur = u


def find_chains(model: nn.Module) -> tuple[list[_Chain], dict[str, str]]:
    graph, _ = _fx.trace(model, "prune-channels")
    chains, skipped = [], {}
    for node in graph.nodes:
        if node.op != "call_module":
            continue
        m = model.get_submodule(node.target)
        if isinstance(m, nn.Conv2d) and m.groups == 1 and m.out_channels > 1:
            chain, why = _chain(model, node, m.out_channels)
            if chain is not None:
                chains.append(chain)
            else:
                skipped[node.target] = why
    return chains, skipped


def _set(module: nn.Module, name: str, value: torch.Tensor) -> None:
    old = getattr(module, name)
    if isinstance(old, nn.Parameter):
        setattr(module, name, nn.Parameter(value.contiguous(), requires_grad=old.requires_grad))
    else:
        module._buffers[name] = value.contiguous()


def _cut(module: nn.Module, keep: torch.Tensor, dim: int) -> None:
    for name in ("weight", "bias", "running_mean", "running_var"):
        t = getattr(module, name, None)
        if isinstance(t, torch.Tensor) and (dim == 0 or name == "weight"):
            _set(module, name, t.detach().index_select(dim, keep.to(t.device)))
    n = len(keep)
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        module.num_features = n
    elif isinstance(module, nn.Linear):
        module.in_features = n
    elif isinstance(module, nn.Conv2d):
        if dim == 0:
            module.out_channels = n
            if module.groups > 1:  # depthwise: one group per channel
                module.in_channels = module.groups = n
        else:
            module.in_channels = n


class PruneChannels(CompressMethod):
    name = "prune-channels"
    schema = METHODS[name]["schema"]

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if not 0 < self.options["ratio"] < 1:
            raise ZooValidationError(
                "ratio",
                f"must be in (0, 1), not {self.options['ratio']!r}",
                hint="the fraction of channels to remove, e.g. 0.3",
            )

    def prune(self, model: nn.Module) -> dict[str, Any]:
        chains, skipped = find_chains(model)
        if not chains:
            sample = "; ".join(f"'{k}': {v}" for k, v in list(skipped.items())[:3])
            raise ZooCompressError(
                "prune-channels found no chain of layers whose channels can be removed (a conv whose output "
                "reaches exactly one conv or linear layer through BatchNorm, activations and a depthwise conv)"
                + (f"; e.g. {sample}" if sample else "; the model has no nn.Conv2d"),
                hint="this method prunes CNNs (MobileNet, EfficientNet, ResNet bottlenecks)",
            )
        before = sum(p.numel() for p in model.parameters())
        step, ratio, removed = self.options["round_to"], self.options["ratio"], 0
        for c in chains:
            producer = model.get_submodule(c.producer)
            n = max(step, int(round(c.channels * (1 - ratio) / step)) * step)
            if n >= c.channels:
                continue
            score = producer.weight.detach().abs().flatten(1).sum(1)
            keep = torch.sort(torch.topk(score, n).indices).values
            _cut(producer, keep, 0)
            for name in c.along:
                _cut(model.get_submodule(name), keep, 0)
            _cut(model.get_submodule(c.consumer), keep, 1)
            removed += c.channels - n
        after = sum(p.numel() for p in model.parameters())
        return {
            "chains": len(chains),
            "channels_removed": removed,
            "params_before": before,
            "params_after": after,
            "left_alone": len(skipped),
        }

    def compress(self, model: nn.Module, ctx: CompressContext) -> Compressed:
        p = self.options
        if p["recovery_epochs"] and ctx.train is None:
            raise ZooValidationError(
                "calibration",
                "the recovery fine-tune needs labelled data",
                hint="pass calibration=(inputs, labels), or recovery_epochs=0",
            )
        info = self.prune(model)
        if p["recovery_epochs"]:
            from zoo.finetuning import finetune

            result = finetune(
                model,
                ctx.train,
                recipe=p["recovery_recipe"],
                epochs=p["recovery_epochs"],
                lr=p["recovery_lr"],
                batch_size=p["batch_size"],
                registry=ctx.registry,
                host=ctx.host,
                progress=False,
            )
            model = result.model.to("cpu").eval()
            info["recovery"] = {
                "recipe": p["recovery_recipe"],
                "epochs": p["recovery_epochs"],
                "train_accuracy": result.final.train_accuracy if result.final else None,
            }
        tensors = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        return Compressed(model.eval(), tensors, {}, info=info)

    def load(self, tensors: dict[str, torch.Tensor], metadata: Mapping[str, str], ctx: CompressContext) -> Any:
        model = ctx.build()
        for name, m in model.named_modules():
            w = tensors.get(f"{name}.weight" if name else "weight")
            if w is None or w.shape == getattr(m, "weight", w).shape:
                continue
            if isinstance(m, nn.Conv2d):
                depthwise = m.groups > 1 and m.groups == m.in_channels
                m.out_channels = w.shape[0]
                m.in_channels = w.shape[0] if depthwise else w.shape[1] * m.groups
                if depthwise:
                    m.groups = w.shape[0]
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.num_features = w.shape[0]
            elif isinstance(m, nn.Linear):
                m.out_features, m.in_features = w.shape
            else:
                raise ZooCompressError(f"cannot resize layer '{name}' ({type(m).__name__}) to {list(w.shape)}")
            prefix = f"{name}." if name else ""
            for key in ("weight", "bias", "running_mean", "running_var"):
                if isinstance(getattr(m, key, None), torch.Tensor) and prefix + key in tensors:
                    _set(m, key, torch.empty_like(tensors[prefix + key]))
        model.load_state_dict(tensors, strict=True)
        return model

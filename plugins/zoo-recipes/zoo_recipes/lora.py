"""Low-rank adapters (LoRA, Hu et al. 2021), written for zoo.

``W x`` becomes ``W x + (alpha / r) * B A x`` with ``A`` (r x in) initialised like a
Linear layer and ``B`` (out x r) at zero, so training starts from the pretrained model
exactly; ``W`` stays frozen.

- ``nn.Linear``: a wrapper computes the low-rank path on the activations
  (``dropout(x) @ A.T @ B.T``), never materialising a full-size update.
- convolutions (any ``nn.Conv2d`` subclass: TF "same" padding, depthwise): the update
  is a weight re-parametrisation, ``W + scale * (B @ A).view_as(W)``, so the module's
  own forward (its padding, stride, groups) is untouched.

:func:`merge` folds every adapter into its weight and restores the original modules,
so the exported state dict has the architecture's own keys.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils import parametrize

__all__ = ["ConvLoRA", "LoRALinear", "add_adapters", "adapter_parameters", "merge", "select_targets"]


class LoRALinear(nn.Module):
    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float = 0.0) -> None:
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        w = base.weight
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features, device=w.device, dtype=w.dtype))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank, device=w.device, dtype=w.dtype))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (self.dropout(x) @ self.lora_A.t() @ self.lora_B.t()) * self.scale

    def merged(self) -> nn.Linear:
        with torch.no_grad():
            self.base.weight += (self.lora_B @ self.lora_A).to(self.base.weight.dtype) * self.scale
        return self.base


class ConvLoRA(nn.Module):
    """A parametrisation of a conv's ``weight``: ``W + scale * (B @ A).view_as(W)``."""

    def __init__(self, weight: torch.Tensor, rank: int, alpha: float) -> None:
        super().__init__()
        out = weight.shape[0]
        fan_in = weight[0].numel()
        self.shape = tuple(weight.shape)
        self.scale = alpha / rank
        self.lora_A = nn.Parameter(torch.empty(rank, fan_in, device=weight.device, dtype=weight.dtype))
        self.lora_B = nn.Parameter(torch.zeros(out, rank, device=weight.device, dtype=weight.dtype))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight + (self.lora_B @ self.lora_A).view(self.shape) * self.scale


def select_targets(model: nn.Module, patterns: Sequence[str], exclude: str) -> list[str]:
    """Module names to adapt. ``["auto"]``: every Linear outside the head, else every
    1x1 (pointwise) conv; otherwise shell patterns matched against module names."""

    def outside(name: str) -> bool:
        return not (name == exclude or name.startswith(exclude + "."))

    if list(patterns) == ["auto"]:
        linears = [n for n, m in model.named_modules() if isinstance(m, nn.Linear) and outside(n)]
        if linears:
            return linears
        return [
            n
            for n, m in model.named_modules()
            if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) and m.groups == 1 and outside(n)
        ]
    chosen = []
    for name, module in model.named_modules():
        if outside(name) and name and any(fnmatch.fnmatchcase(name, p) for p in patterns):
            if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
                chosen.append(name)
    return chosen


def add_adapters(model: nn.Module, names: Sequence[str], *, rank: int, alpha: float, dropout: float) -> None:
    for name in names:
        parent_name, _, leaf = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        module = getattr(parent, leaf)
        if isinstance(module, nn.Linear):
            setattr(parent, leaf, LoRALinear(module, rank, alpha, dropout))
        else:
            r = min(rank, module.weight.shape[0], module.weight[0].numel())
            parametrize.register_parametrization(module, "weight", ConvLoRA(module.weight, r, alpha * r / rank))


def adapter_parameters(model: nn.Module) -> list[nn.Parameter]:
    return [p for n, p in model.named_parameters() if n.rsplit(".", 1)[-1] in ("lora_A", "lora_B")]


def merge(model: nn.Module) -> nn.Module:
    """Fold the adapters into the weights; the model gets its original module types and
    state-dict keys back."""
    for name, module in list(model.named_modules()):
        if isinstance(module, LoRALinear):
            parent_name, _, leaf = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, leaf, module.merged())
    for module in list(model.modules()):
        if parametrize.is_parametrized(module, "weight"):
            with torch.no_grad():
                parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
    return model

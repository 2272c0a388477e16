"""What a recipe needs to know about a model: where its head is and its layer
structure (stem -> blocks -> neck -> head), derived generically.

No family declares its layers; zoo finds them the way the architectures are written:

1. a *block list*: the first ``nn.ModuleList`` / ``nn.Sequential`` with at least two
   children at a conventional path — ``blocks`` (timm EfficientNet, ViT, MobileNet),
   ``stages`` (ConvNeXt), ``layers`` (Swin), ``encoder.layer`` (BERT),
   ``transformer.layer`` (DistilBERT), ``encoder.layers`` (torchvision ViT),
   ``features`` (torchvision EfficientNet, MobileNet, VGG) — also under a wrapper
   (``backbone.``, ``model.``). Each child is one unit; what comes before it along the
   path (embeddings, the conv stem, a ``cls_token``) is the *stem*, what comes after it
   (the final conv, a pooler, a norm) is the *neck*;
2. else the model's top-level children (torchvision ResNet: ``conv1``+``bn1``,
   ``layer1`` … ``layer4``), consecutive single layers grouped into one unit.

A model where neither gives two units has no layer structure: recipes that need one
(``freeze-stages``, ``gradual-unfreeze``, ``llrd``) raise :class:`ZooRecipeError`
saying so, and ``full`` / ``linear-probe`` / ``bitfit`` / ``lora`` still work.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from zoo.errors import ZooRecipeError
from zoo.heads import HEAD_GUESSES, find_head, submodule

__all__ = ["BLOCK_PATHS", "HEAD_GUESSES", "LayerStructure", "Unit", "find_head", "layer_structure", "unwrap"]

BLOCK_PATHS = (
    "blocks",
    "stages",
    "layers",
    "encoder.layer",
    "encoder.layers",
    "transformer.layer",
    "transformer.layers",
    "features",
)
WRAPPERS = ("", "backbone.", "model.", "base_model.")


def unwrap(model: nn.Module) -> nn.Module:
    """The module under ``torch.compile`` / ``DistributedDataParallel`` wrappers."""
    while True:
        inner = getattr(model, "_orig_mod", None) or (
            model.module if isinstance(model, nn.parallel.DistributedDataParallel) else None
        )
        if inner is None:
            return model
        model = inner


@dataclass
class Unit:
    """One step of the layer structure: a label and the module paths it covers (plus
    parameters owned directly by a container on the way, e.g. a ViT's ``cls_token``)."""

    label: str
    paths: list[str]
    extra: list[str] = field(default_factory=list)  # names of directly owned parameters

    def parameters(self, model: nn.Module) -> Iterator[nn.Parameter]:
        for path in self.paths:
            yield from model.get_submodule(path).parameters()
        for name in self.extra:
            yield model.get_parameter(name)

    def modules(self, model: nn.Module) -> Iterator[nn.Module]:
        for path in self.paths:
            yield from model.get_submodule(path).modules()


@dataclass
class LayerStructure:
    """``units`` from input to output (the stem first, the neck last); ``head`` is not
    among them. ``source`` says how it was found."""

    units: list[Unit]
    head: str
    source: str

    def __len__(self) -> int:
        return len(self.units)

    @property
    def labels(self) -> list[str]:
        return [u.label for u in self.units]

    def parameters(self, model: nn.Module, index: int) -> list[nn.Parameter]:
        return [p for p in self.units[index].parameters(model)]

    def check_covers(self, model: nn.Module) -> list[str]:
        """Names of backbone parameters no unit covers (should be none)."""
        covered = {id(p) for u in self.units for p in u.parameters(model)}
        covered |= {id(p) for p in model.get_submodule(self.head).parameters()}
        return [n for n, p in model.named_parameters() if id(p) not in covered]


def _has_params(module: nn.Module) -> bool:
    return next(module.parameters(), None) is not None


def _is_leaf(module: nn.Module) -> bool:
    return not any(_has_params(c) for c in module.children())


def _related(path: str, head: str) -> bool:
    """``path`` is the head, inside it, or contains it."""
    return path == head or path.startswith(head + ".") or head.startswith(path + ".") or path == ""


def layer_structure(model: nn.Module, head: str) -> LayerStructure:
    """The model's layer structure; :class:`ZooRecipeError` when it has none."""
    model = unwrap(model)
    for wrapper in WRAPPERS:
        for path in BLOCK_PATHS:
            full = wrapper + path
            blocks = submodule(model, full)
            if isinstance(blocks, (nn.ModuleList, nn.Sequential)) and not _related(full, head):
                units = _block_units(blocks, full)
                if len(units) >= 2:
                    stem, neck = _around(model, full, head)
                    result = ([stem] if stem.paths or stem.extra else []) + units
                    result += [neck] if neck.paths or neck.extra else []
                    return LayerStructure(result, head, f"block list {full!r}")
    units = _group_children(model, "", head)
    if len(units) >= 2:
        return LayerStructure(units, head, "top-level children")
    raise ZooRecipeError(
        f"this {type(model).__name__} has no layer structure zoo can find: no block list "
        f"({', '.join(BLOCK_PATHS)}) and fewer than two parametrised top-level children besides the head",
        hint="use a recipe that needs no stages (full, linear-probe, bitfit, lora, l2-sp), or give the "
        "model a block list (an nn.ModuleList/nn.Sequential named 'blocks')",
    )


def _block_units(blocks: nn.Module, path: str) -> list[Unit]:
    """Each parametrised child is a unit; parameter-free children (activations,
    pooling) join the unit before them."""
    units: list[Unit] = []
    for name, child in blocks.named_children():
        if _has_params(child):
            units.append(Unit(f"{path}.{name}", [f"{path}.{name}"]))
        elif units:
            units[-1].paths.append(f"{path}.{name}")
    return units


def _around(model: nn.Module, path: str, head: str) -> tuple[Unit, Unit]:
    """What comes before (stem) and after (neck) the module at ``path`` along its
    ancestors, leaving out the head."""
    stem, neck = Unit("stem", []), Unit("neck", [])
    parts = path.split(".")
    for depth in range(len(parts)):
        parent_path = ".".join(parts[:depth])
        parent = submodule(model, parent_path)
        on_path = parts[depth]
        stem.extra += [f"{parent_path}.{n}" if parent_path else n for n, _ in parent.named_parameters(recurse=False)]
        before = True
        for name, child in parent.named_children():
            child_path = f"{parent_path}.{name}" if parent_path else name
            if name == on_path:
                before = False
                continue
            if _related(child_path, head) or not _has_params(child):
                continue
            (stem if before else neck).paths.append(child_path)
    return stem, neck


def _group_children(model: nn.Module, prefix: str, head: str) -> list[Unit]:
    units: list[Unit] = []
    grouping = False  # the last unit collects consecutive single layers
    extra = [n for n, _ in model.named_parameters(recurse=False)]
    for name, child in model.named_children():
        path = f"{prefix}{name}"
        if _related(path, head):
            continue
        if not _has_params(child):
            continue
        if _is_leaf(child):
            if grouping:
                units[-1].paths.append(path)
                units[-1].label += f"+{name}"
            else:
                units.append(Unit(name, [path]))
                grouping = True
        else:
            units.append(Unit(name, [path]))
            grouping = False
    if units and extra:
        units[0].extra += extra
    return units


def count_params(params: Any) -> int:
    return sum(p.numel() for p in params)


def trainable_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def set_trainable(params: Any, flag: bool) -> None:
    for p in params:
        p.requires_grad_(flag)


def is_norm(module: nn.Module) -> bool:
    return isinstance(module, (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm))


def freeze_frozen_batchnorm(model: nn.Module) -> list[str]:
    """Put every BatchNorm whose parameters are all frozen in eval mode, so that its
    running statistics stay the pretrained ones. Returns their names."""
    frozen = []
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            params = list(module.parameters(recurse=False))
            if params and not any(p.requires_grad for p in params):
                module.eval()
                frozen.append(name)
    return frozen


def no_decay(name: str, param: torch.Tensor) -> bool:
    """Biases, norms' scales and embeddings-like 1-d tensors are not decayed."""
    return param.ndim <= 1 or name.endswith(".bias")

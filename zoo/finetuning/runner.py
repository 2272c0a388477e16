"""The runner protocol: how a recipe prepares a model and schedules its training.

A :class:`zoo.records.Recipe` names its runner by import string. ``zoo.finetune``
imports it, constructs it with the hyper-parameters (the record's ``params`` are the
defaults, the caller's override them) and asks it for a *plan*::

    runner = Runner(**params)                  # validates; ZooValidationError names the parameter
    phases = runner.plan(model, ctx)           # freeze, wrap, group; ZooRecipeError if it does not fit
    ...                                        # zoo's loop trains phase after phase
    model = runner.export(model)               # e.g. merge LoRA adapters; default: unchanged

``plan`` returns :class:`Phase` objects: how many epochs, which parameters the
optimizer updates in which :class:`ParamGroup` at which learning rate, whether the head
is trained on features computed once (a linear probe), what to do at the start of the
phase and of each epoch (gradual unfreezing), and a penalty added to the loss (L2-SP).
Everything else — data loading, the optimizer (AdamW or SGD), warm-up and cosine
schedule per phase, mixed precision, DDP, the feature cache, checkpoints and resume,
metrics, progress, registration — is zoo's, the same for every recipe.

Rules the loop applies to every phase: at its start only the parameters of its groups
train (``requires_grad``), then ``setup`` runs; a BatchNorm whose parameters are all
frozen runs in eval mode (its statistics stay the pretrained ones); biases and other
1-d parameters get no weight decay.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from zoo.errors import ZooRecipeError
from zoo.finetuning import layers as _layers
from zoo.finetuning.params import COMMON, Param, validate

__all__ = ["FinetuneContext", "ParamGroup", "Phase", "RecipeRunner"]


@dataclass
class ParamGroup:
    """Parameters the optimizer updates at ``lr`` (``weight_decay``: ``None`` uses the
    recipe's). ``name`` shows in results and in the optimizer's param group."""

    name: str
    params: list[nn.Parameter]
    lr: float
    weight_decay: float | None = None


@dataclass
class Phase:
    """A stretch of training with one optimizer and one schedule."""

    name: str
    epochs: int
    groups: list[ParamGroup]
    features: bool = False
    """Train only the head, on the frozen backbone's features computed once (no
    augmentation on this path: every epoch sees the same features)."""
    setup: Callable[[nn.Module], None] | None = None
    """Called at the phase's start (and again on resume), after the groups' parameters
    were made trainable and all others frozen."""
    on_epoch: Callable[[nn.Module, int], None] | None = None
    """Called at the start of each epoch with the epoch's index within the phase."""
    penalty: Callable[[nn.Module], torch.Tensor] | None = None
    """A regulariser added to the mean loss of each batch."""
    warmup_epochs: float | None = None
    """``None``: the recipe's ``warmup_epochs``."""
    backbone_eval: bool = False
    """Run everything but the head in eval mode (no dropout, no BatchNorm updates): a
    linear probe that re-runs the frozen backbone each epoch."""
    freeze_bn_stats: bool = False
    """Keep every BatchNorm's running statistics (eval mode), trainable or not."""


@dataclass
class FinetuneContext:
    """What the runner knows about the run when it plans."""

    head: str
    num_classes: int
    epochs: int
    params: Mapping[str, Any]
    device: torch.device
    world_size: int = 1
    family: str | None = None
    modality: str | None = None
    registry: Any = None
    """The registry ``zoo.finetune`` was given (``None``: the default); for recipes that
    load another model by name (a distillation teacher)."""
    host: Any = None
    _structure: _layers.LayerStructure | None = field(default=None, repr=False)

    def head_module(self, model: nn.Module) -> nn.Module:
        return model.get_submodule(self.head)

    def layers(self, model: nn.Module) -> _layers.LayerStructure:
        """The model's layer structure (stem, blocks, neck); :class:`ZooRecipeError`
        when it has none."""
        if self._structure is None:
            self._structure = _layers.layer_structure(model, self.head)
        return self._structure

    def backbone_parameters(self, model: nn.Module) -> list[nn.Parameter]:
        head = {id(p) for p in self.head_module(model).parameters()}
        return [p for p in model.parameters() if id(p) not in head]


class RecipeRunner:
    """Base class of the built-in runners (optional for a plugin's own: any class with
    ``__init__(**params)`` and ``plan(model, ctx)`` is a runner).

    Subclasses set ``name`` and ``schema`` (:class:`~zoo.finetuning.params.Param` by
    name; :data:`~zoo.finetuning.params.COMMON` holds what every recipe shares) and
    implement :meth:`plan`."""

    name = "recipe"
    schema: Mapping[str, Param] = COMMON

    def __init__(self, **params: Any) -> None:
        self.params = validate(self.schema, params, recipe=self.name)
        self.check()

    def check(self) -> None:
        """Cross-parameter checks (after each parameter was validated on its own)."""

    def plan(self, model: nn.Module, ctx: FinetuneContext) -> Sequence[Phase]:  # pragma: no cover
        raise NotImplementedError

    def export(self, model: nn.Module) -> nn.Module:
        """The model to return and register: its state dict must load into the family's
        architecture (merge adapters, drop wrappers)."""
        return model

    # helpers for subclasses ---------------------------------------------------------

    def require_layers(self, model: nn.Module, ctx: FinetuneContext, at_least: int = 2) -> _layers.LayerStructure:
        structure = ctx.layers(model)
        if len(structure) < at_least:
            raise ZooRecipeError(
                f"recipe {self.name!r} needs at least {at_least} layer units; this model has "
                f"{len(structure)} ({', '.join(structure.labels)})",
                hint="use recipe 'full' or 'linear-probe'",
            )
        return structure


def check_runner(runner: Any, recipe: str, import_string: str) -> None:
    """A runner must at least plan."""
    if not callable(getattr(runner, "plan", None)):
        raise ZooRecipeError(
            f"recipe {recipe!r}: its runner {import_string} has no plan(model, ctx) method, so zoo.finetune "
            "cannot run it",
            hint="implement the runner protocol (docs/plugins.md, zoo_recipes): plan() returns the phases; "
            "subclass zoo.finetuning.RecipeRunner",
        )

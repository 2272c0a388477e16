"""The built-in recipes' runners (imported when a recipe runs; imports torch).

Each plans the run as :class:`zoo.finetuning.Phase` objects: what trains, in which
param groups, at which learning rate. zoo's loop does the rest (optimizer, schedule,
feature cache, DDP, checkpoints). The practice each encodes is from the
transfer-learning literature, cited in its description (:mod:`zoo_recipes.specs`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from zoo.errors import ZooRecipeError, ZooValidationError
from zoo.finetuning.runner import FinetuneContext, ParamGroup, Phase, RecipeRunner
from zoo_recipes import lora as _lora
from zoo_recipes.specs import SPECS


def _spec(name: str):
    return SPECS[name]["schema"]


def _head(model: nn.Module, ctx: FinetuneContext, lr: float) -> ParamGroup:
    return ParamGroup("head", list(ctx.head_module(model).parameters()), lr)


class LinearProbe(RecipeRunner):
    name = "linear-probe"
    schema = _spec(name)

    def plan(self, model: nn.Module, ctx: FinetuneContext) -> Sequence[Phase]:
        p = self.params
        cached = p["cache_features"]
        return [Phase("probe", p["epochs"], [_head(model, ctx, p["lr"])], features=cached, backbone_eval=not cached)]


class Full(RecipeRunner):
    name = "full"
    schema = _spec(name)

    def plan(self, model: nn.Module, ctx: FinetuneContext) -> Sequence[Phase]:
        p = self.params
        return [
            Phase(
                "full",
                p["epochs"],
                [
                    ParamGroup("backbone", ctx.backbone_parameters(model), p["lr"] * p["backbone_lr_mult"]),
                    _head(model, ctx, p["lr"]),
                ],
            )
        ]


class FreezeStages(RecipeRunner):
    name = "freeze-stages"
    schema = _spec(name)

    def plan(self, model: nn.Module, ctx: FinetuneContext) -> Sequence[Phase]:
        p = self.params
        structure = self.require_layers(model, ctx)
        n = p["frozen_stages"]
        if n >= len(structure):
            raise ZooValidationError(
                "frozen_stages",
                f"is {n}, but the model has {len(structure)} units "
                f"({', '.join(structure.labels)}): nothing would train but the head",
                hint=f"use at most {len(structure) - 1}, or recipe 'linear-probe'",
            )
        frozen = {id(q) for i in range(n) for q in structure.parameters(model, i)}
        rest = [q for q in ctx.backbone_parameters(model) if id(q) not in frozen]
        return [
            Phase(
                "fine-tune",
                p["epochs"],
                [ParamGroup("backbone", rest, p["lr"] * p["backbone_lr_mult"]), _head(model, ctx, p["lr"])],
            )
        ]


class GradualUnfreeze(RecipeRunner):
    name = "gradual-unfreeze"
    schema = _spec(name)

    def plan(self, model: nn.Module, ctx: FinetuneContext) -> Sequence[Phase]:
        p = self.params
        structure = self.require_layers(model, ctx)
        units = [structure.parameters(model, i) for i in range(len(structure))]
        groups = [
            ParamGroup(label, params, p["lr"] * p["backbone_lr_mult"])
            for label, params in zip(structure.labels, units, strict=True)
        ]
        groups.append(_head(model, ctx, p["lr"]))
        every = p["unfreeze_every"]

        def on_epoch(m: nn.Module, epoch: int) -> None:
            # Epoch e trains the head and the top e // every units (a function of e
            # only, so that a resumed run lands in the same state).
            thawed = min(len(units), epoch // every)
            for i, params in enumerate(units):
                for q in params:
                    q.requires_grad_(i >= len(units) - thawed)

        return [Phase("unfreeze", p["epochs"], groups, on_epoch=on_epoch)]


class LayerwiseLRDecay(RecipeRunner):
    name = "llrd"
    schema = _spec(name)

    def plan(self, model: nn.Module, ctx: FinetuneContext) -> Sequence[Phase]:
        p = self.params
        structure = self.require_layers(model, ctx)
        depth = len(structure)
        groups = [
            ParamGroup(label, structure.parameters(model, i), p["lr"] * p["layer_decay"] ** (depth - i))
            for i, label in enumerate(structure.labels)
        ]
        uncovered = structure.check_covers(model)
        if uncovered:
            raise ZooRecipeError(
                f"llrd: the layer structure ({structure.source}) leaves parameters without a "
                f"layer: {', '.join(uncovered[:5])}",
                hint="use recipe 'full' for this model",
            )
        return [Phase("llrd", p["epochs"], groups + [_head(model, ctx, p["lr"])])]


class BitFit(RecipeRunner):
    name = "bitfit"
    schema = _spec(name)

    def plan(self, model: nn.Module, ctx: FinetuneContext) -> Sequence[Phase]:
        p = self.params
        head = {id(q) for q in ctx.head_module(model).parameters()}
        biases = [q for n, q in model.named_parameters() if n.endswith("bias") and id(q) not in head]
        if not biases:
            raise ZooRecipeError(
                "bitfit: the backbone has no bias terms to train", hint="use recipe 'lora' or 'linear-probe'"
            )
        return [
            Phase(
                "bitfit",
                p["epochs"],
                [ParamGroup("biases", biases, p["lr"] * p["bias_lr_mult"]), _head(model, ctx, p["lr"])],
            )
        ]


class LoRA(RecipeRunner):
    name = "lora"
    schema = _spec(name)

    def plan(self, model: nn.Module, ctx: FinetuneContext) -> Sequence[Phase]:
        p = self.params
        targets = _lora.select_targets(model, p["targets"], ctx.head)
        if not targets:
            raise ZooRecipeError(
                f"lora: no module matches targets {p['targets']} (Linear or Conv modules outside the head)",
                hint="name modules by pattern, e.g. targets='*.query,*.value' or 'blocks.*.conv_pw'",
            )
        _lora.add_adapters(model, targets, rank=p["rank"], alpha=p["alpha"], dropout=p["dropout"])
        self.targets = targets
        return [
            Phase(
                "lora",
                p["epochs"],
                [ParamGroup("adapters", _lora.adapter_parameters(model), p["lr"]), _head(model, ctx, p["lr"])],
            )
        ]

    def export(self, model: nn.Module) -> nn.Module:
        return _lora.merge(model)


class LinearProbeThenFinetune(RecipeRunner):
    name = "lp-ft"
    schema = _spec(name)

    def check(self) -> None:
        p = self.params
        if p["epochs"] < 2:
            raise ZooValidationError(
                "epochs", f"lp-ft needs at least 2 epochs (a probe, then fine-tuning), not {p['epochs']}"
            )
        if p["probe_epochs"] >= p["epochs"]:
            raise ZooValidationError(
                "probe_epochs",
                f"is {p['probe_epochs']}, which leaves no epoch of fine-tuning out of {p['epochs']}",
                hint=f"use at most {p['epochs'] - 1}, or 0 for half",
            )

    def plan(self, model: nn.Module, ctx: FinetuneContext) -> Sequence[Phase]:
        p = self.params
        probe = p["probe_epochs"] or p["epochs"] // 2
        return [
            Phase("probe", probe, [_head(model, ctx, p["probe_lr"])], features=True, warmup_epochs=0.0),
            Phase(
                "fine-tune",
                p["epochs"] - probe,
                [
                    ParamGroup("backbone", ctx.backbone_parameters(model), p["lr"] * p["backbone_lr_mult"]),
                    _head(model, ctx, p["lr"]),
                ],
            ),
        ]


class L2SP(RecipeRunner):
    name = "l2-sp"
    schema = _spec(name)

    def plan(self, model: nn.Module, ctx: FinetuneContext) -> Sequence[Phase]:
        p = self.params
        backbone = ctx.backbone_parameters(model)
        anchors = [q.detach().clone() for q in backbone]  # the pretrained starting point w0
        head = list(ctx.head_module(model).parameters())
        alpha, beta = p["alpha"], p["beta"]

        def penalty(m: nn.Module) -> torch.Tensor:
            pull = sum(((q - a) ** 2).sum() for q, a in zip(backbone, anchors, strict=True))
            shrink = sum((q**2).sum() for q in head)
            return 0.5 * alpha * pull + 0.5 * beta * shrink

        return [
            Phase(
                "l2-sp",
                p["epochs"],
                [ParamGroup("backbone", backbone, p["lr"] * p["backbone_lr_mult"]), _head(model, ctx, p["lr"])],
                penalty=penalty,
            )
        ]

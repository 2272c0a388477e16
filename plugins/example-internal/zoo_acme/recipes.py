"""ACME's fine-tuning recipe. Imported only when the recipe runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from zoo.errors import ZooValidationError


class HeadOnly:
    """Recipe ``acme-head-only``: freeze the backbone, train only the head.

    The runner named by a :class:`zoo.records.Recipe` is constructed with the recipe's
    hyper-parameters (the record's ``params`` are the defaults, the caller's override
    them). ``zoo.finetune(..., recipe="acme-head-only")`` asks it to ``plan`` the run
    (the runner protocol, docs/plugins.md): which parameters train at which learning
    rate; zoo's loop does the rest (data, schedule, checkpoints, DDP, registration)::

        zoo.finetune("acme-tinynet", train, val, recipe="acme-head-only", register_as="acme/digits")

    ``fit`` is the same recipe as a self-contained loop, for code that trains outside
    zoo: it trains in place and returns the final training loss and accuracy.
    """

    defaults: Mapping[str, Any] = {"lr": 0.01, "epochs": 20, "batch_size": 64, "seed": 0}

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(self.defaults)
        if unknown:
            raise ZooValidationError(
                "params",
                f"unknown hyper-parameters {sorted(unknown)}",
                hint=f"acme-head-only takes {sorted(self.defaults)}",
            )
        self.params = {**self.defaults, **params}
        for key in ("epochs", "batch_size"):
            if not isinstance(self.params[key], int) or self.params[key] < 1:
                raise ZooValidationError(key, "must be a positive integer")
        if not float(self.params["lr"]) > 0:
            raise ZooValidationError("lr", "must be positive")

    def plan(self, model: nn.Module, ctx):
        from zoo.finetuning import ParamGroup, Phase

        head = list(ctx.head_module(model).parameters())
        # backbone_eval: the frozen backbone keeps its normalisation statistics, as in fit()
        return [
            Phase(
                "head-only",
                self.params["epochs"],
                [ParamGroup("head", head, float(self.params["lr"]))],
                backbone_eval=True,
            )
        ]

    def fit(self, model: nn.Module, data: tuple[torch.Tensor, torch.Tensor], *, head: str = "head") -> dict[str, float]:
        x, y = data
        head_module = model.get_submodule(head)
        for p in model.parameters():
            p.requires_grad_(False)
        for p in head_module.parameters():
            p.requires_grad_(True)
        optimizer = torch.optim.SGD(head_module.parameters(), lr=float(self.params["lr"]), momentum=0.9)
        generator = torch.Generator().manual_seed(int(self.params["seed"]))
        model.eval()  # the frozen backbone keeps its normalisation statistics
        loss = torch.tensor(0.0)
        for _ in range(self.params["epochs"]):
            order = torch.randperm(len(y), generator=generator)
            for i in range(0, len(order), self.params["batch_size"]):
                idx = order[i : i + self.params["batch_size"]]
                optimizer.zero_grad()
                loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
                loss.backward()
                optimizer.step()
        with torch.no_grad():
            accuracy = (model(x).argmax(1) == y).float().mean().item()
        return {"loss": loss.item(), "accuracy": accuracy}

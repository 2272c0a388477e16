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
    them) and asked to ``fit`` a model that already carries its new head::

        runner = HeadOnly(lr=0.01, epochs=20)
        metrics = runner.fit(model, (x_train, y_train), head="head")

    ``fit`` trains in place and returns the final training loss and accuracy; it is
    deliberately small: copy it and replace the loop with your team's trainer.
    """

    defaults: Mapping[str, Any] = {"lr": 0.01, "epochs": 20, "batch_size": 64, "seed": 0}

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(self.defaults)
        if unknown:
            raise ZooValidationError("params", f"unknown hyper-parameters {sorted(unknown)}",
                                     hint=f"acme-head-only takes {sorted(self.defaults)}")
        self.params = {**self.defaults, **params}
        for key in ("epochs", "batch_size"):
            if not isinstance(self.params[key], int) or self.params[key] < 1:
                raise ZooValidationError(key, "must be a positive integer")
        if not float(self.params["lr"]) > 0:
            raise ZooValidationError("lr", "must be positive")

    def fit(self, model: nn.Module, data: tuple[torch.Tensor, torch.Tensor], *, head: str = "head"
            ) -> dict[str, float]:
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
                idx = order[i:i + self.params["batch_size"]]
                optimizer.zero_grad()
                loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
                loss.backward()
                optimizer.step()
        with torch.no_grad():
            accuracy = (model(x).argmax(1) == y).float().mean().item()
        return {"loss": loss.item(), "accuracy": accuracy}

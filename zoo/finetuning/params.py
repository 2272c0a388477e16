"""Hyper-parameter schemas for recipes: plain Python (no torch), so that a plugin can
build its :class:`zoo.records.Recipe` defaults from the same schema its runner
validates with.

A schema maps a name to a :class:`Param`; :func:`validate` merges the defaults with
the caller's values and raises :class:`~zoo.errors.ZooValidationError` naming the
first bad parameter (unknown names included), so nothing runs with a typo.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from zoo.errors import ZooValidationError

__all__ = ["COMMON", "Param", "defaults", "describe", "validate"]


@dataclass(frozen=True)
class Param:
    """One hyper-parameter: its type, default, allowed range or choices, and what it does.

    ``kind`` is ``"int"``, ``"float"``, ``"bool"``, ``"str"`` or ``"strs"`` (a list of
    strings; a comma-separated string is accepted). ``low``/``high`` bound numbers
    (``low_open``: strictly greater than ``low``). ``optional``: ``None`` is allowed.
    """

    kind: str
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple[str, ...] | None = None
    optional: bool = False

    def check(self, name: str, value: Any) -> Any:
        if value is None:
            if self.optional:
                return None
            raise ZooValidationError(name, "must be given", hint=self.help)
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "0", "false", "no"):
                return value.strip().lower() in ("1", "true", "yes")
            raise ZooValidationError(name, f"must be true or false, not {value!r}", hint=self.help)
        if self.kind in ("int", "float"):
            number = _number(name, value, self.kind, self.help)
            if self.low is not None and (number <= self.low if self.low_open else number < self.low):
                raise ZooValidationError(
                    name, f"must be {'>' if self.low_open else '>='} {self.low:g}, not {number!r}", hint=self.help
                )
            if self.high is not None and number > self.high:
                raise ZooValidationError(name, f"must be <= {self.high:g}, not {number!r}", hint=self.help)
            return number
        if self.kind == "str":
            if not isinstance(value, str) or not value.strip():
                raise ZooValidationError(name, f"must be text, not {value!r}", hint=self.help)
            value = value.strip()
            if self.choices is not None and value not in self.choices:
                raise ZooValidationError(
                    name, f"unknown value {value!r}", hint=f"use one of: {', '.join(self.choices)}"
                )
            return value
        if self.kind == "strs":
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, Sequence) or not all(isinstance(i, str) for i in items):
                raise ZooValidationError(name, f"must be a list of names, not {value!r}", hint=self.help)
            items = [i.strip() for i in items if i.strip()]
            if not items:
                raise ZooValidationError(name, "must name at least one item", hint=self.help)
            return items
        raise ZooValidationError(name, f"has an unknown kind {self.kind!r} in the recipe's schema")

    def describe(self) -> str:
        text = self.help
        if self.choices:
            text += f" ({', '.join(self.choices)})"
        return text


def _number(name: str, value: Any, kind: str, help_text: str) -> int | float:
    if isinstance(value, bool):
        raise ZooValidationError(name, f"must be a number, not {value!r}", hint=help_text)
    if isinstance(value, str):
        try:
            value = float(value) if kind == "float" else int(value)
        except ValueError:
            raise ZooValidationError(name, f"must be a number, not {value!r}", hint=help_text) from None
    if kind == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise ZooValidationError(name, f"must be an integer, not {value!r}", hint=help_text)
        return value
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ZooValidationError(name, f"must be a finite number, not {value!r}", hint=help_text)
    return float(value)


# The parameters every built-in recipe shares; the core's loop reads them.
COMMON: dict[str, Param] = {
    "epochs": Param("int", 5, "passes over the training data", low=1, high=10_000),
    "batch_size": Param("int", 32, "samples per optimizer step (the global batch under torchrun)", low=1, high=1 << 20),
    "lr": Param(
        "float", 1e-3, "peak learning rate of the head (other groups are scaled from it)", low=0, low_open=True, high=10
    ),
    "weight_decay": Param(
        "float", 0.01, "decoupled weight decay (AdamW); not applied to biases and norms", low=0, high=1
    ),
    "optimizer": Param("str", "adamw", "the optimizer", choices=("adamw", "sgd")),
    "momentum": Param("float", 0.9, "SGD momentum", low=0, high=1),
    "warmup_epochs": Param("float", 0.0, "linear warm-up before the cosine decay, in epochs", low=0),
    "schedule": Param("str", "cosine", "learning-rate schedule within each phase", choices=("cosine", "constant")),
    "label_smoothing": Param("float", 0.0, "cross-entropy label smoothing", low=0, high=0.5),
    "grad_clip": Param("float", 0.0, "clip the gradient norm to this (0: off)", low=0),
    "freeze_bn_stats": Param(
        "bool",
        False,
        "keep every BatchNorm's pretrained running statistics (eval mode): helps with small batches or little data",
    ),
}


def defaults(schema: Mapping[str, Param]) -> dict[str, Any]:
    """The schema's defaults: what a :class:`zoo.records.Recipe` declares as ``params``."""
    return {name: p.default for name, p in schema.items()}


def validate(schema: Mapping[str, Param], values: Mapping[str, Any], *, recipe: str = "recipe") -> dict[str, Any]:
    """Defaults overridden by ``values``, each checked; unknown names are an error that
    lists the close matches and every parameter the recipe takes."""
    for name in values:
        if name not in schema:
            close = difflib.get_close_matches(name, list(schema), 3)
            raise ZooValidationError(
                name,
                f"is not a hyper-parameter of recipe {recipe!r}"
                + (f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""),
                hint=f"{recipe} takes: {', '.join(sorted(schema))} (`zoo recipes` describes them)",
            )
    merged = {name: p.default for name, p in schema.items()}
    merged.update(values)
    return {name: schema[name].check(name, merged[name]) for name in schema}


def describe(schema: Mapping[str, Param]) -> list[dict[str, Any]]:
    """JSON-ready rows: name, default, what it does."""
    return [{"name": n, "default": p.default, "help": p.describe()} for n, p in schema.items()]

"""Fine-tuning: ``zoo.finetune(model_or_name, train, val, recipe=...)``.

This package was ``zoo.finetune`` in 0.1 (a package that was also a callable
module); ``zoo.finetune`` is now only the function, and the old import paths
(``zoo.finetune.runner``, ``from zoo.finetune import Phase``) still work with a
``DeprecationWarning``.

Recipes are plugins (hook ``zoo_recipes``; the built-in ones are the ``zoo-recipes``
distribution); this package is the runner they plug into: the training loop, the
feature cache of linear probes, DDP, per-epoch checkpoints and resume, and the lineage
written back into the registry (``register_as``). The runner protocol is in
:mod:`zoo.finetuning.runner` and docs/plugins.md.

Importing this package imports no torch; :func:`finetune` does, when it runs.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from zoo.finetuning.options import FinetuneOptions
from zoo.finetuning.params import COMMON, Param
from zoo.finetuning.result import EpochMetrics, FinetuneResult, PhaseInfo

__all__ = [
    "COMMON",
    "EpochMetrics",
    "FinetuneContext",
    "FinetuneOptions",
    "FinetuneResult",
    "LayerStructure",
    "Param",
    "ParamGroup",
    "Phase",
    "PhaseInfo",
    "RecipeRunner",
    "finetune",
    "layer_structure",
    "recipes",
]

_LAZY = {
    "FinetuneContext": "zoo.finetuning.runner:FinetuneContext",
    "ParamGroup": "zoo.finetuning.runner:ParamGroup",
    "Phase": "zoo.finetuning.runner:Phase",
    "RecipeRunner": "zoo.finetuning.runner:RecipeRunner",
    "LayerStructure": "zoo.finetuning.layers:LayerStructure",
    "layer_structure": "zoo.finetuning.layers:layer_structure",
}


def finetune(
    model_or_name: Any,
    train: Any,
    val: Any = None,
    *,
    options: FinetuneOptions | None = None,
    **kwargs: Any,
) -> FinetuneResult:
    """Fine-tune ``model_or_name`` on ``train`` with a recipe; returns a :class:`FinetuneResult`.

    ``model_or_name``: a name ``zoo.get`` resolves (the head gets ``num_classes``
    outputs, inferred from the labels when omitted) or an ``nn.Module`` (from
    ``zoo.get``, or any model with a head at ``head``). ``train`` / ``val``: a torch
    ``Dataset``, a ``DataLoader`` or ``(inputs, labels)`` tensors; samples are
    ``(inputs, label)`` or mappings with ``labels`` (text).

    The keywords are the fields of :class:`FinetuneOptions` (``recipe``, ``epochs``,
    ``batch_size``, ``lr``, ``device``, ``seed``, ``register_as``, ``checkpoint_dir``,
    ``resume``, ``progress``, ``time_limit_s``, ``acknowledge``, ``eval_every``, ...;
    see there); any other keyword is a hyper-parameter of the recipe (``zoo recipes``
    lists them). ``options``: a :class:`FinetuneOptions` to start from (the keywords
    override it), e.g. one shared by several runs.

    Every bad input is a typed ``ZooError`` raised before training (empty data, labels
    outside ``num_classes``, unknown recipe or hyper-parameter, a recipe that does not
    fit the model); nothing is registered unless training finished.
    """
    opts = FinetuneOptions.from_kwargs(options, **kwargs)
    from zoo.finetuning.trainer import run

    return run(model_or_name, train, val, opts)


finetune.__signature__ = inspect.Signature(  # type: ignore[attr-defined]  # help() and IDEs show every option
    [
        inspect.Parameter("model_or_name", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("train", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("val", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None),
        inspect.Parameter("options", inspect.Parameter.KEYWORD_ONLY, default=None),
        *FinetuneOptions.keyword_parameters(),
        inspect.Parameter("recipe_params", inspect.Parameter.VAR_KEYWORD),
    ],
    return_annotation="FinetuneResult",
)


def recipes(host: Any = None) -> list[dict[str, Any]]:
    """The installed recipes as JSON-ready rows (name, plugin, description, runner,
    hyper-parameter defaults); no torch import."""
    from zoo.plugins import default_host

    host = host or default_host()
    versions = {i.name: i.version for i in host.plugins}
    rows = []
    for name, recipe in sorted(host.recipes().items()):
        plugin = host.owner("recipes", name)
        rows.append(
            {
                "name": name,
                "plugin": plugin,
                "plugin_version": versions.get(plugin),
                "description": recipe.description,
                "runner": recipe.runner,
                "params": dict(recipe.params or {}),
            }
        )
    return rows


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'zoo.finetune' has no attribute {name!r}")
    module_name, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value

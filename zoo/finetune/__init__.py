"""Fine-tuning: ``zoo.finetune(model_or_name, train, val, recipe=...)``.

Recipes are plugins (hook ``zoo_recipes``; the built-in ones are the ``zoo-recipes``
distribution); this package is the runner they plug into: the training loop, the
feature cache of linear probes, DDP, per-epoch checkpoints and resume, and the lineage
written back into the registry (``register_as``). The runner protocol is in
:mod:`zoo.finetune.runner` and docs/plugins.md.

Importing this package imports no torch; :func:`finetune` does, when it runs.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from zoo.finetune.params import COMMON, Param
from zoo.finetune.result import EpochMetrics, FinetuneResult, PhaseInfo

if TYPE_CHECKING:  # pragma: no cover
    from zoo.registry import Registry

__all__ = [
    "COMMON",
    "EpochMetrics",
    "FinetuneContext",
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
    "FinetuneContext": "zoo.finetune.runner:FinetuneContext",
    "ParamGroup": "zoo.finetune.runner:ParamGroup",
    "Phase": "zoo.finetune.runner:Phase",
    "RecipeRunner": "zoo.finetune.runner:RecipeRunner",
    "LayerStructure": "zoo.finetune.layers:LayerStructure",
    "layer_structure": "zoo.finetune.layers:layer_structure",
}


def finetune(
    model_or_name: Any,
    train: Any,
    val: Any = None,
    *,
    num_classes: int | None = None,
    recipe: str = "linear-probe",
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    device: Any = "auto",
    amp: Any = None,
    seed: int = 0,
    register_as: str | None = None,
    registry: Registry | None = None,
    checkpoint_dir: Any = None,
    resume: bool = False,
    progress: Any = None,
    head: str | None = None,
    dataset: str | None = None,
    preprocessing: Mapping[str, Any] | None = None,
    time_limit_s: float | None = None,
    host: Any = None,
    acknowledge: Any = (),
    eval_every: int = 1,
    **recipe_params: Any,
) -> FinetuneResult:
    """Fine-tune ``model_or_name`` on ``train`` with a recipe; returns a :class:`FinetuneResult`.

    ``model_or_name``: a name ``zoo.get`` resolves (the head gets ``num_classes``
    outputs, inferred from the labels when omitted) or an ``nn.Module`` (from
    ``zoo.get``, or any model with a head at ``head``). ``train`` / ``val``: a torch
    ``Dataset``, a ``DataLoader`` or ``(inputs, labels)`` tensors; samples are
    ``(inputs, label)`` or mappings with ``labels`` (text). ``recipe``: a name from
    ``zoo recipes``; ``epochs``, ``batch_size`` (the global batch), ``lr`` and any
    ``**recipe_params`` override the recipe's defaults. ``device``: ``"auto"`` (cuda,
    mps, cpu); ``amp``: ``None`` = on for CUDA; ``seed``: runs with the same seed give
    the same weights. ``register_as="team/name"`` registers the result with its
    lineage (next version) in ``registry`` (default: ``$ZOO_REGISTRY_URL`` /
    ``$ZOO_HOME``); ``dataset`` names the training data there (default: its
    fingerprint). ``checkpoint_dir``: a checkpoint per epoch; ``resume=True``
    continues from the last one. ``progress``: ``None`` = a bar when stderr is a
    terminal, ``True``/``False``, or a callable that gets one dict per epoch.
    ``time_limit_s``: stop training once this much wall time has passed (the result
    says ``stopped_early``). ``acknowledge``: weights whose high-severity bias notes you
    have read (the registry's usage policies, :mod:`zoo.policy`, apply to fine-tuning).
    ``eval_every``: evaluate on ``val`` every that many epochs (and after the last).

    Every bad input is a typed ``ZooError`` raised before training (empty data, labels
    outside ``num_classes``, unknown recipe or hyper-parameter, a recipe that does not
    fit the model); nothing is registered unless training finished.
    """
    from zoo.finetune.trainer import run

    return run(
        model_or_name,
        train,
        val,
        num_classes=num_classes,
        recipe=recipe,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        device=device,
        amp=amp,
        seed=seed,
        register_as=register_as,
        registry=registry,
        checkpoint_dir=checkpoint_dir,
        resume=resume,
        progress=progress,
        head=head,
        dataset=dataset,
        preprocessing=preprocessing,
        time_limit_s=time_limit_s,
        host=host,
        acknowledge=acknowledge,
        eval_every=eval_every,
        **recipe_params,
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


class _CallableModule(types.ModuleType):
    # ``zoo.finetune`` is both this package and the function: once anything imports the
    # package, Python binds the module to ``zoo.finetune``, so the module must be callable.
    def __call__(self, *args: Any, **kwargs: Any) -> FinetuneResult:
        return finetune(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

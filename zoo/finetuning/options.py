"""The options of one fine-tuning run: :class:`FinetuneOptions`.

``zoo.finetune(model, train, val, **options)`` builds one (its keywords are this class's
fields; any other keyword is a recipe hyper-parameter) and hands it to the trainer, so
the list of options is written once, here. Every field is checked when the object is
made: a bad value is a typed :class:`~zoo.errors.ZooValidationError` before anything
is built or trained. No torch import.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from zoo.errors import ZooValidationError

if TYPE_CHECKING:  # pragma: no cover
    from zoo.plugins import PluginHost
    from zoo.registry import Registry

__all__ = ["FinetuneOptions"]


def _check_int(value: Any, name: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ZooValidationError(name, f"must be an integer >= {low}, not {value!r}")
    return value


@dataclass(frozen=True)
class FinetuneOptions:
    """How to fine-tune: the recipe and its overrides, where to run, what to register.

    ``num_classes``: outputs of the new head (default: inferred from the labels when a
    name is fine-tuned). ``recipe``: a name from ``zoo recipes``; ``epochs``,
    ``batch_size`` (the global batch), ``lr`` and ``recipe_params`` override its
    defaults. ``device``: ``"auto"`` (cuda, mps, cpu) or a torch device; ``amp``:
    ``None`` = on for CUDA; ``seed``: runs with the same seed give the same weights.
    ``register_as="team/name"`` registers the result with its lineage (next version) in
    ``registry`` (default: ``$ZOO_REGISTRY_URL`` / ``$ZOO_HOME``); ``dataset`` names the
    training data there (default: its fingerprint); ``preprocessing`` is recorded with
    it. ``checkpoint_dir``: a checkpoint per epoch; ``resume=True`` continues from the
    last one. ``progress``: ``None`` = a bar when stderr is a terminal, ``True`` /
    ``False``, or a callable that gets one dict per epoch. ``head``: the attribute path
    of the head of a model that ``zoo.get`` did not build. ``time_limit_s``: stop once
    this much wall time has passed. ``host``: the plugin host (default: the process's).
    ``acknowledge``: weights whose high-severity bias notes you have read.
    ``eval_every``: evaluate on ``val`` every that many epochs (and after the last).
    """

    num_classes: int | None = None
    recipe: str = "linear-probe"
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    device: Any = "auto"
    amp: bool | None = None
    seed: int = 0
    register_as: str | None = None
    registry: Registry | None = None
    checkpoint_dir: str | os.PathLike[str] | None = None
    resume: bool = False
    progress: bool | Callable[[dict[str, Any]], Any] | None = None
    head: str | None = None
    dataset: str | None = None
    preprocessing: Mapping[str, Any] | None = None
    time_limit_s: float | None = None
    host: PluginHost | None = None
    acknowledge: str | Iterable[str] | None = ()
    eval_every: int = 1
    recipe_params: Mapping[str, Any] = field(default_factory=dict)
    """The recipe's own hyper-parameters (``zoo recipes`` lists them), e.g. ``backbone_lr_mult``."""

    def __post_init__(self) -> None:
        _check_int(self.seed, "seed")
        if not isinstance(self.resume, bool):
            raise ZooValidationError("resume", f"must be True or False, not {self.resume!r}")
        if self.resume and self.checkpoint_dir is None:
            raise ZooValidationError("resume", "needs checkpoint_dir (where the interrupted run wrote its checkpoints)")
        if self.num_classes is not None:
            _check_int(self.num_classes, "num_classes", 1)
            from zoo.limits import MAX_CLASSES

            if self.num_classes > MAX_CLASSES:
                raise ZooValidationError("num_classes", f"{self.num_classes} is more than {MAX_CLASSES:,} classes")
        if not (self.progress is None or isinstance(self.progress, bool) or callable(self.progress)):
            raise ZooValidationError("progress", f"must be None, True, False or a callable, not {self.progress!r}")
        from zoo.policy import check_acknowledge

        check_acknowledge(self.acknowledge)
        _check_int(self.eval_every, "eval_every", 1)
        limit = self.time_limit_s
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float)) or not limit > 0):
            raise ZooValidationError("time_limit_s", f"must be a positive number of seconds, not {limit!r}")
        if self.register_as is not None:
            from zoo.records import MODEL_NAME_RE

            name = self.register_as
            if not isinstance(name, str) or not MODEL_NAME_RE.match(name.strip().lower()) or "@" in name:
                raise ZooValidationError(
                    "register_as",
                    f"{name!r} is not a registered-model name",
                    hint="write 'team/name' (lower case; the registry assigns the version)",
                )
            object.__setattr__(self, "register_as", name.strip().lower())
        if self.dataset is not None:
            from zoo.records import DATASET_RE

            if not isinstance(self.dataset, str) or not DATASET_RE.match(self.dataset.strip().lower()):
                raise ZooValidationError(
                    "dataset",
                    f"{self.dataset!r} is not a dataset name",
                    hint="lower-case letters, digits, '-', '_', '.', '/', e.g. 'uci-digits'",
                )
            object.__setattr__(self, "dataset", self.dataset.strip().lower())
        if not isinstance(self.recipe_params, Mapping):
            raise ZooValidationError(
                "recipe_params", f"must be a mapping of hyper-parameter names to values, not {self.recipe_params!r}"
            )
        object.__setattr__(self, "recipe_params", MappingProxyType(dict(self.recipe_params)))

    @classmethod
    def from_kwargs(cls, options: FinetuneOptions | None = None, **kwargs: Any) -> FinetuneOptions:
        """``zoo.finetune``'s keywords as options: the fields of this class by name, every
        other keyword a recipe hyper-parameter. ``options`` is the starting point (the
        keywords override it; recipe hyper-parameters are merged)."""
        if options is not None and not isinstance(options, FinetuneOptions):
            raise ZooValidationError(
                "options", f"must be a zoo.finetuning.FinetuneOptions, not {type(options).__name__}"
            )
        names = {f.name for f in dataclasses.fields(cls)} - {"recipe_params"}
        given = {k: v for k, v in kwargs.items() if k in names}
        extra = {k: v for k, v in kwargs.items() if k not in names}
        if "recipe_params" in kwargs:  # a hyper-parameter of that name cannot exist; keep the error typed
            raise ZooValidationError("recipe_params", "pass recipe hyper-parameters as keywords of zoo.finetune")
        if options is None:
            return cls(**given, recipe_params=extra)
        return dataclasses.replace(options, **given, recipe_params={**options.recipe_params, **extra})

    @classmethod
    def keyword_parameters(cls) -> list[inspect.Parameter]:
        """The fields as keyword-only parameters (``zoo.finetune``'s signature)."""
        out = []
        for f in dataclasses.fields(cls):
            if f.name == "recipe_params":
                continue
            default = f.default if f.default is not dataclasses.MISSING else inspect.Parameter.empty
            out.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=f.type))
        return out

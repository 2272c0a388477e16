"""Deprecated: the fine-tuning package is :mod:`zoo.finetuning` (since the release after 0.1.0; see CHANGELOG.md).

``zoo.finetune`` is the function (``zoo.finetune(model, train, val, ...)``). This package
only keeps the old import paths working (``from zoo.finetune import Phase``,
``zoo.finetune.runner``, ...), each with a ``DeprecationWarning``; it hands out the very
objects of :mod:`zoo.finetuning`. It will be removed in a later release.

Importing it makes Python bind it to ``zoo.finetune`` (a package's attribute is set to
its imported subpackage), so it stays callable: ``zoo.finetune(...)`` keeps working even
after someone imported an old path. That is the only reason for :class:`_Deprecated`.
"""

from __future__ import annotations

import sys
import types
import warnings
from typing import Any

import zoo.finetuning as _new

warnings.warn(
    "the package zoo.finetune is now zoo.finetuning (zoo.finetune is the function); import from zoo.finetuning instead",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = list(_new.__all__)


def __getattr__(name: str) -> Any:
    return getattr(_new, name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(dir(_new)))


def _alias(name: str) -> Any:
    """The stub ``zoo.finetune.NAME`` becomes ``zoo.finetuning.NAME`` (the same module)."""
    import importlib

    module = importlib.import_module(f"zoo.finetuning.{name}")
    warnings.warn(
        f"zoo.finetune.{name} is now zoo.finetuning.{name}; import it from there", DeprecationWarning, stacklevel=3
    )
    sys.modules[f"{__name__}.{name}"] = module
    return module


class _Deprecated(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _new.finetune(*args, **kwargs)


sys.modules[__name__].__class__ = _Deprecated

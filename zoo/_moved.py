"""Deprecated packages that moved: ``zoo.finetune`` → ``zoo.finetuning`` and
``zoo.compress`` → ``zoo.compression`` (since the release after 0.1.0; see CHANGELOG.md).

Each old package keeps its import paths working, with a ``DeprecationWarning``, and hands
out the very objects of the new one. Importing an old package makes Python bind it to the
``zoo`` package's attribute of the same name (a package's attribute is set to its imported
subpackage), which is also the name of a function (``zoo.finetune(...)``,
``zoo.compress(...)``): the stand-in stays callable for that reason alone.
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["MOVED", "moved_module", "moved_package"]

# old package -> new package
MOVED = {"zoo.finetune": "zoo.finetuning", "zoo.compress": "zoo.compression"}


class _CallableStandIn(types.ModuleType):
    """An old package that is also the name of a function: calling it calls the function."""

    _zoo_function: Callable[..., Any]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._zoo_function(*args, **kwargs)


def moved_package(old: str, new: str, function: str) -> None:
    """Make the (importing) module ``old`` a stand-in for package ``new``: its attributes
    resolve to ``new``'s, and calling ``old`` calls ``new.<function>``."""
    module = sys.modules[old]
    target = importlib.import_module(new)
    warnings.warn(
        f"the package {old} is now {new} ({old} is the function); import from {new} instead",
        DeprecationWarning,
        stacklevel=3,
    )

    module.__dict__.update(
        __all__=list(getattr(target, "__all__", ())),
        __getattr__=lambda name: getattr(target, name),
        __dir__=lambda: sorted(set(vars(module)) | set(dir(target))),
        _zoo_function=getattr(target, function),
    )
    module.__class__ = _CallableStandIn


def moved_module(old: str) -> None:
    """The stub module ``old`` (``zoo.finetune.trainer``) becomes the moved module
    (``zoo.finetuning.trainer``): the same module object, with a ``DeprecationWarning``."""
    package, _, name = old.rpartition(".")
    new = f"{MOVED[package]}.{name}"
    moved = importlib.import_module(new)
    warnings.warn(f"{old} is now {new}; import it from there", DeprecationWarning, stacklevel=3)
    sys.modules[old] = moved

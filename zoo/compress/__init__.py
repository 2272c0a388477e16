"""Deprecated: the compression package is :mod:`zoo.compression` (since the release after 0.1.0; see CHANGELOG.md).

``zoo.compress`` is the function (``zoo.compress(model_or_name, method, ...)``). This
package only keeps the old import paths working (``from zoo.compress import
deployment``, ``zoo.compress.runner``, ...), each with a ``DeprecationWarning``; it hands
out the very objects of :mod:`zoo.compression`. It will be removed in a later release.

Importing it makes Python bind it to ``zoo.compress`` (a package's attribute is set to
its imported subpackage), so it stays callable: ``zoo.compress(...)`` keeps working even
after someone imported an old path. That is the only reason for :class:`_Deprecated`.
"""

from __future__ import annotations

import sys
import types
import warnings
from typing import Any

import zoo.compression as _new

warnings.warn(
    "the package zoo.compress is now zoo.compression (zoo.compress is the function); import from zoo.compression instead",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = list(_new.__all__)


def __getattr__(name: str) -> Any:
    return getattr(_new, name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(dir(_new)))


def _alias(name: str) -> Any:
    """The stub ``zoo.compress.NAME`` becomes ``zoo.compression.NAME`` (the same module)."""
    import importlib

    module = importlib.import_module(f"zoo.compression.{name}")
    warnings.warn(
        f"zoo.compress.{name} is now zoo.compression.{name}; import it from there", DeprecationWarning, stacklevel=3
    )
    sys.modules[f"{__name__}.{name}"] = module
    return module


class _Deprecated(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _new.compress(*args, **kwargs)


sys.modules[__name__].__class__ = _Deprecated

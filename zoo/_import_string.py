"""``import_object("package.module:attr")``: how the core reaches what a record names by
import string (a family's builder, a key adapter, a compression runner, a recipe).
A module of its own (it imports nothing of zoo but the errors) so that the plugin host,
the core's default hooks and the loaders can all use it without importing each other.
"""

from __future__ import annotations

import importlib
from typing import Any

from zoo.errors import ZooPluginError

__all__ = ["import_object"]


def import_object(import_string: str, *, what: str = "object") -> Any:
    """Import ``"package.module:attr.sub"``; a failure is a ``ZooPluginError`` naming
    ``what`` (e.g. "builder of family 'resnet50'")."""
    module_name, sep, attr = str(import_string).partition(":")
    if not sep or not module_name or not attr:
        raise ZooPluginError(
            f"{what}: {import_string!r} is not an import string", hint="write 'package.module:function'"
        )
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:  # any import failure is the plugin's
        raise ZooPluginError(
            f"{what}: cannot import {module_name!r} ({type(exc).__name__}: {exc})",
            hint="install the plugin's dependencies, or fix the import string",
        ) from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ZooPluginError(
                f"{what}: {module_name!r} has no attribute {attr!r}",
                hint="fix the import string in the plugin's record",
            ) from None
    return obj

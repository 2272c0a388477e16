"""The core's default implementations of the firstresult hooks.

The plugin host registers this module as plugin ``zoo``; both hooks are ``trylast``,
so any plugin that returns a result overrides them. torch is imported inside the
functions only: loading or listing plugins never imports it. Head replacement itself
lives in :mod:`zoo.heads` (``zoo._builtin.replace_head`` is a deprecated alias).
"""

from __future__ import annotations

import inspect
from typing import Any

from zoo._import_string import import_object
from zoo.errors import ZooPluginError
from zoo.hookspecs import hookimpl
from zoo.records import Family


@hookimpl(trylast=True)
def zoo_build(family: Family, pretrained: bool, num_classes: int | None) -> Any:
    """Import ``family.builder`` and call it with ``family.builder_kwargs``. The head
    is adapted separately (``zoo_adapt_head``), so ``num_classes`` is not passed."""
    builder = import_object(family.builder, what=f"builder of family {family.name!r}")
    if not callable(builder):
        raise ZooPluginError(
            f"builder of family {family.name!r}: {family.builder!r} is not callable",
            hint="name a function or class that returns an nn.Module",
        )
    kwargs = dict(family.builder_kwargs or {})
    try:
        inspect.signature(builder).bind(**kwargs)
    except TypeError as exc:
        raise ZooPluginError(
            f"builder of family {family.name!r} ({family.builder}) does not accept "
            f"builder_kwargs {sorted(kwargs)}: {exc}",
            hint="fix Family.builder_kwargs",
        ) from None
    except ValueError:  # no signature (a C function): let the call decide
        pass
    return builder(**kwargs)


@hookimpl(trylast=True)
def zoo_adapt_head(model: Any, family: Family, num_classes: int) -> Any:
    """Swap the layer at ``family.head`` for a fresh one; ``None`` when the family
    names no head (another plugin must adapt it)."""
    if family.head is None:
        return None
    from zoo.heads import replace_head

    replace_head(model, family.head, num_classes, family=family.name)
    return model


@hookimpl
def zoo_datasets():
    """The common datasets' facts (:mod:`zoo.known_datasets`), shared by every plugin."""
    from zoo.known_datasets import datasets

    return datasets()


def __getattr__(name: str) -> Any:
    if name == "replace_head":  # documented for plugins until 0.x; it moved to zoo.heads
        import warnings

        from zoo.heads import replace_head

        warnings.warn("zoo._builtin.replace_head moved to zoo.heads.replace_head", DeprecationWarning, stacklevel=2)
        return replace_head
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

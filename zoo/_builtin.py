"""The core's default implementations of the firstresult hooks.

The plugin host registers this module as plugin ``zoo``; both hooks are ``trylast``,
so any plugin that returns a result overrides them. torch is imported inside the
functions only: loading or listing plugins never imports it.
"""

from __future__ import annotations

import inspect
from typing import Any

from zoo.errors import ZooPluginError
from zoo.hookspecs import hookimpl
from zoo.records import Family


@hookimpl(trylast=True)
def zoo_build(family: Family, pretrained: bool, num_classes: int | None) -> Any:
    """Import ``family.builder`` and call it with ``family.builder_kwargs``. The head
    is adapted separately (``zoo_adapt_head``), so ``num_classes`` is not passed."""
    from zoo.plugins import import_object

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
    replace_head(model, family.head, num_classes, family=family.name)
    return model


def replace_head(model: Any, path: str, num_classes: int, *, family: str | None = None) -> Any:
    """Replace the ``nn.Linear`` (or 1x1 ``nn.Conv2d``, as in SqueezeNet) at attribute
    path ``path`` (``"fc"``, ``"classifier.1"``, ``"heads.head"``) with a fresh layer of
    ``num_classes`` outputs on the old layer's device and dtype, or with
    ``nn.Identity`` for ``num_classes == 0``. Returns the new layer."""
    from torch import nn

    what = f"family {family!r}" if family else "model"
    parent_path, _, leaf = path.rpartition(".")
    try:
        parent = model.get_submodule(parent_path) if parent_path else model
        old = parent.get_submodule(leaf)
    except AttributeError as exc:
        raise ZooPluginError(
            f"{what}: head path {path!r} does not name a submodule of the built {type(model).__name__} ({exc})",
            hint="fix Family.head, or implement zoo_adapt_head for this family",
        ) from None
    if isinstance(old, nn.Linear):
        new: nn.Module = (
            nn.Identity()
            if num_classes == 0
            else nn.Linear(
                old.in_features,
                num_classes,
                bias=old.bias is not None,
                device=old.weight.device,
                dtype=old.weight.dtype,
            )
        )
    elif isinstance(old, nn.Conv2d) and old.kernel_size == (1, 1):
        new = (
            nn.Identity()
            if num_classes == 0
            else nn.Conv2d(
                old.in_channels,
                num_classes,
                1,
                bias=old.bias is not None,
                device=old.weight.device,
                dtype=old.weight.dtype,
            )
        )
    else:
        raise ZooPluginError(
            f"{what}: the head at {path!r} is a {type(old).__name__}, not an nn.Linear or a 1x1 nn.Conv2d",
            hint="point Family.head at the final layer, or implement zoo_adapt_head",
        )
    setattr(parent, leaf, new)
    return new


@hookimpl
def zoo_datasets():
    """The common datasets' facts (:mod:`zoo.known_datasets`), shared by every plugin."""
    from zoo.known_datasets import datasets

    return datasets()

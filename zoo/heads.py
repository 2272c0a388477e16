"""Classification heads: find, measure, replace and set aside a model's head.

Every place that touches a head goes through here: the core's default
``zoo_adapt_head`` hook (:mod:`zoo._builtin`), ``zoo.get``'s load report
(:mod:`zoo._loading`), fine-tuning (:mod:`zoo.finetuning`: the head to train, the frozen
backbone's features) and the plugin checks of :mod:`zoo.testing`. A head is named by its
attribute path (``"fc"``, ``"classifier.1"``, ``"heads.head"``), as ``Family.head`` does.

torch is imported inside the functions only: importing this module (the plugin host
does, through :mod:`zoo._builtin`) never imports it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from zoo.errors import ZooPluginError, ZooValidationError

__all__ = [
    "HEAD_GUESSES",
    "find_head",
    "head_keys",
    "head_outputs",
    "headless",
    "replace_head",
    "submodule",
]

HEAD_GUESSES = ("head", "fc", "classifier", "heads.head", "head.fc", "classifier.1")
"""Conventional head paths, tried in order when neither the caller nor the family names one."""


def submodule(model: Any, path: str | None) -> Any:
    """The module at attribute path ``path`` (``""``: the model itself), or ``None``
    when ``path`` is ``None`` or names nothing."""
    if path is None:
        return None
    try:
        return model.get_submodule(path) if path else model
    except AttributeError:
        return None


def head_outputs(model: Any, path: str | None) -> int | None:
    """Outputs of the head at ``path``: its weight's first dimension, ``0`` for an
    ``nn.Identity`` (pooled features), ``None`` when there is no such layer."""
    import torch
    from torch import nn

    head = submodule(model, path) if path else None
    weight = getattr(head, "weight", None) if head is not None else None
    if isinstance(weight, torch.Tensor) and weight.dim() >= 1:
        return int(weight.shape[0])
    return 0 if isinstance(head, nn.Identity) else None


def head_keys(model: Any, path: str | None) -> tuple[str, ...]:
    """The state-dict keys of the head at ``path`` (``()`` when there is none)."""
    head = submodule(model, path) if path else None
    if head is None:
        return ()
    return tuple(f"{path}.{k}" for k in head.state_dict(keep_vars=True))


def find_head(model: Any, head: str | None = None) -> str:
    """The attribute path of the classification head: ``head`` if given, else the
    family's (``model.zoo``), else a conventional name (:data:`HEAD_GUESSES`) that holds
    an ``nn.Linear`` or ``nn.Identity``. A ``ZooValidationError`` when there is none."""
    from torch import nn

    if head is None:
        card = getattr(model, "zoo", None)
        record = getattr(card, "record", None)
        head = getattr(getattr(record, "family", None), "head", None)
    if head is None:
        for guess in HEAD_GUESSES:
            if isinstance(submodule(model, guess), (nn.Linear, nn.Identity)):
                head = guess
                break
    if head is None:
        raise ZooValidationError(
            "head",
            f"cannot tell where the classification head of this {type(model).__name__} is",
            hint="pass head='attribute.path' of its final nn.Linear, or load the model "
            "with zoo.get (its family names the head)",
        )
    if submodule(model, head) is None:
        raise ZooValidationError(
            "head",
            f"{head!r} is not a submodule of this {type(model).__name__}",
            hint="give the attribute path of the final nn.Linear, e.g. 'fc' or 'classifier'",
        )
    return head


def _parent(model: Any, path: str) -> tuple[Any, str]:
    parent_path, _, leaf = path.rpartition(".")
    return (model.get_submodule(parent_path) if parent_path else model), leaf


def replace_head(model: Any, path: str, num_classes: int, *, family: str | None = None) -> Any:
    """Replace the ``nn.Linear`` (or 1x1 ``nn.Conv2d``, as in SqueezeNet) at attribute
    path ``path`` with a fresh layer of ``num_classes`` outputs on the old layer's device
    and dtype, or with ``nn.Identity`` for ``num_classes == 0``. Returns the new layer.
    ``family`` names the family in errors (a ``ZooPluginError``: the family's head is wrong)."""
    from torch import nn

    what = f"family {family!r}" if family else "model"
    try:
        parent, leaf = _parent(model, path)
        old = parent.get_submodule(leaf)
    except AttributeError as exc:
        raise ZooPluginError(
            f"{what}: head path {path!r} does not name a submodule of the built {type(model).__name__} ({exc})",
            hint="fix Family.head, or implement zoo_adapt_head for this family",
        ) from None
    new: nn.Module
    if isinstance(old, nn.Linear):
        new = (
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


@contextlib.contextmanager
def headless(model: Any, path: str) -> Iterator[Any]:
    """Within the block, the head at ``path`` is an ``nn.Identity`` (the model returns
    its pooled features); yields the head, which is put back on exit, even on an error."""
    from torch import nn

    parent, leaf = _parent(model, path)
    head = getattr(parent, leaf)
    setattr(parent, leaf, nn.Identity())
    try:
        yield head
    finally:
        setattr(parent, leaf, head)

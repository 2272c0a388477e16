"""What ``zoo.get`` did to a checkpoint's tensors (:class:`LoadReport`).

A module of its own below both (no torch; it imports only :mod:`zoo.records`): :mod:`zoo._loading` builds the report and
:mod:`zoo.resolve` returns it in ``model.zoo.load_report``; the public names are
``zoo.LoadReport`` and ``zoo.resolve.LoadReport``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zoo.records import to_jsonable

__all__ = ["LoadReport"]


@dataclass(frozen=True)
class LoadReport:
    """What happened to the checkpoint's tensors.

    Loading is strict except for the head: ``missing`` / ``unexpected`` /
    ``mismatched`` can only hold head keys (anything else is a ``ZooLoadError``)."""

    pretrained: bool
    loaded: int = 0
    """How many tensors came from the checkpoint."""
    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    mismatched: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = ()
    """``(key, checkpoint shape, model shape)``."""
    head_reinitialised: tuple[str, ...] = ()
    """Keys of the freshly initialised head (the only randomly initialised tensors)."""
    adapter: str | None = None
    """The key adapter applied to the checkpoint's names, if any."""
    checkpoint_classes: int | None = None
    """Outputs of the checkpoint's head (``None``: it has none)."""
    num_classes: int | None = None
    """Outputs of the returned model's head: ``0`` pooled features, ``None`` no head."""
    recomputed_buffers: tuple[str, ...] = ()
    """Non-persistent buffers no checkpoint carries, recomputed by a real build on CPU."""

    @property
    def strict(self) -> bool:
        """True when every non-head tensor of the model came from the checkpoint."""
        return self.pretrained and not (self.missing or self.unexpected or self.mismatched)

    def summary(self) -> str:
        if not self.pretrained:
            lines = ["architecture's own initialisation (pretrained=False)"]
        else:
            lines = [f"{self.loaded} tensors loaded" + (f" through key adapter {self.adapter}" if self.adapter else "")]
        if self.checkpoint_classes is not None:
            lines.append(f"checkpoint head: {self.checkpoint_classes} classes")
        if self.num_classes == 0:
            lines.append("head: removed, the model returns pooled features")
        elif self.num_classes is not None:
            lines.append(
                f"head: {self.num_classes} classes"
                + (" (new, randomly initialised)" if self.head_reinitialised else " (pretrained)")
            )
        for label, keys in (
            ("missing (head)", self.missing),
            ("unexpected (head, ignored)", self.unexpected),
            ("re-initialised", self.head_reinitialised),
            ("recomputed buffers", self.recomputed_buffers),
        ):
            if keys:
                lines.append(f"{label}: {_keys(keys)}")
        if self.mismatched:
            lines.append(
                "mismatched (head): " + ", ".join(f"{k} {list(a)} vs {list(b)}" for k, a, b in self.mismatched)
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = to_jsonable(self)
        data["strict"] = self.strict
        return data


def _keys(keys: tuple[str, ...], limit: int = 8) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", … ({len(keys) - limit} more)" if len(keys) > limit else "")

"""What ``zoo.compress`` returns (plain Python; the model is whatever the method made)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["CompressResult"]


@dataclass
class CompressResult:
    """The compressed model and what was measured against its parent.

    ``measured`` holds, for ``"parent"`` and ``"child"``: ``file_bytes``,
    ``latency_ms_b1``, ``latency_ms_b32`` (medians), ``peak_mb`` (resident memory a batch
    of 32 added); plus ``threads``, ``repeats`` and the quality numbers (``accuracy``
    of both and ``accuracy_drop_pt``, or embedding ``cosine_mean`` / ``cosine_min`` for
    text, and ``max_abs_diff`` of the outputs) when eval data was given."""

    model: Any
    method: str
    relation: str
    options: dict[str, Any]
    parent: str | None
    measured: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    registered: str | None = None
    """``team/name@version`` when ``register_as`` was given."""

    def ratio(self, key: str) -> float | None:
        """child / parent for a measurement (``file_bytes``, ``latency_ms_b1`` ...)."""
        p, c = self.measured.get("parent", {}).get(key), self.measured.get("child", {}).get(key)
        return round(c / p, 4) if p and c is not None else None

    def summary(self) -> str:
        m = self.measured
        parts = [f"{self.method} ({self.relation}) of {self.parent or 'a model'}"]
        for key, label in (("file_bytes", "file"), ("latency_ms_b1", "latency b1"), ("latency_ms_b32", "latency b32")):
            r = self.ratio(key)
            if r is not None:
                parts.append(f"{label} {r:.2f}x")
        if "accuracy_drop_pt" in m:
            parts.append(f"accuracy {100 * m['child_accuracy']:.2f}% ({-m['accuracy_drop_pt']:+.2f} pt)")
        if "cosine_mean" in m:
            parts.append(f"cosine {m['cosine_mean']:.4f} (min {m['cosine_min']:.4f})")
        if m.get("threads"):
            parts.append(f"{m['threads']} threads")
        return ", ".join(parts) + (f"; registered {self.registered}" if self.registered else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "relation": self.relation,
            "options": self.options,
            "parent": self.parent,
            "measured": self.measured,
            "info": self.info,
            "registered": self.registered,
        }

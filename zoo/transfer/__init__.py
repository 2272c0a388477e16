"""The transfer advisor: ``zoo.rank`` (which backbone), ``zoo.advise`` (which recipe,
and is pretraining any help), ``zoo.drift`` (does new data depart from the training
data). Scores and drift tests are plugins (hook ``zoo_transfer_methods``). Importing
this package imports no torch."""

from __future__ import annotations

from zoo._lazy import lazy_getattr

__all__ = ["Advice", "DriftResult", "RankResult", "advise", "drift", "methods", "rank", "reference"]

_LAZY = {
    "rank": "zoo.transfer.core:rank",
    "advise": "zoo.transfer.core:advise",
    "drift": "zoo.transfer.core:drift",
    "reference": "zoo.transfer.core:reference",
    "RankResult": "zoo.transfer.core:RankResult",
    "Advice": "zoo.transfer.core:Advice",
    "DriftResult": "zoo.transfer.core:DriftResult",
}

__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def methods(host=None) -> list[dict]:
    """The installed scores and drift tests as JSON-ready rows; no torch import."""
    from zoo.plugins import default_host

    host = host or default_host()
    return [
        {
            "name": m.name,
            "kind": m.kind.value,
            "plugin": host.owner("transfer_methods", m.name),
            "description": m.description,
            "higher_is_better": m.higher_is_better,
            "min_per_class": m.min_per_class,
            "needs_source_head": m.needs_source_head,
        }
        for m in sorted(host.transfer_methods().values(), key=lambda m: (m.kind.value, m.name))
    ]

"""The zoo registry: pretrained weights with provenance, bias notes and an
append-only, hash-chained audit trail, in SQLite or PostgreSQL. No torch import.

Names are imported lazily (transformers-style): ``import zoo.registry`` is cheap, and
SQLAlchemy is imported only when :class:`Registry` is first used, so that the CLI's
read-only fast path (``zoo list``, ``zoo info``, ``zoo audit``) never pays for it."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zoo.registry._audit import AuditVerification
    from zoo.registry._location import default_url, zoo_home
    from zoo.registry._reads import ParsedName, SearchResult, WeightsSummary
    from zoo.registry._store import Registry, SyncReport

_LAZY = {
    "AuditVerification": "zoo.registry._audit",
    "ParsedName": "zoo.registry._reads",
    "Registry": "zoo.registry._store",
    "SearchResult": "zoo.registry._reads",
    "SyncReport": "zoo.registry._store",
    "WeightsSummary": "zoo.registry._reads",
    "default_url": "zoo.registry._location",
    "zoo_home": "zoo.registry._location",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'zoo.registry' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def open_registry(url: str | None = None, **kwargs) -> Registry:
    """Open (creating if new) the registry at ``url``, ``$ZOO_REGISTRY_URL`` or
    ``$ZOO_HOME/registry.db``."""
    from zoo.registry._store import Registry

    return Registry(url, **kwargs)


__all__ = [
    "AuditVerification",
    "ParsedName",
    "Registry",
    "SearchResult",
    "SyncReport",
    "WeightsSummary",
    "default_url",
    "open_registry",
    "zoo_home",
]

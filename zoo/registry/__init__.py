"""The zoo registry: pretrained weights with provenance, bias notes and an
append-only, hash-chained audit trail, in SQLite or PostgreSQL. No torch import.

Names are imported lazily (transformers-style): ``import zoo.registry`` is cheap, and
SQLAlchemy is imported only when :class:`Registry` is first used, so that the CLI's
read-only fast path (``zoo list``, ``zoo info``, ``zoo audit``) never pays for it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zoo._lazy import lazy_getattr

if TYPE_CHECKING:
    from zoo.registry._chain import AuditVerification
    from zoo.registry._location import default_url, zoo_home
    from zoo.registry._reads import ParsedName, RegistryReads, SearchResult, WeightsSummary
    from zoo.registry._store import Registry
    from zoo.registry._sync import SyncReport

_LAZY = {
    "AuditVerification": "zoo.registry._chain:AuditVerification",
    "ParsedName": "zoo.registry._reads:ParsedName",
    "Registry": "zoo.registry._store:Registry",
    "RegistryReads": "zoo.registry._reads:RegistryReads",
    "SearchResult": "zoo.registry._reads:SearchResult",
    "SyncReport": "zoo.registry._sync:SyncReport",
    "WeightsSummary": "zoo.registry._reads:WeightsSummary",
    "default_url": "zoo.registry._location:default_url",
    "zoo_home": "zoo.registry._location:zoo_home",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def open_registry(url: str | None = None, **kwargs: Any) -> Registry:
    """Open (creating if new) the registry at ``url``, ``$ZOO_REGISTRY_URL`` or
    ``$ZOO_HOME/registry.db``."""
    registry: Registry = __getattr__("Registry")(url, **kwargs)  # the lazy name: SQLAlchemy only now
    return registry


__all__ = [
    "AuditVerification",
    "ParsedName",
    "Registry",
    "RegistryReads",
    "SearchResult",
    "SyncReport",
    "WeightsSummary",
    "default_url",
    "open_registry",
    "zoo_home",
]

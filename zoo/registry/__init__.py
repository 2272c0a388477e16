"""The zoo registry: pretrained weights with provenance, bias notes and an
append-only, hash-chained audit trail, in SQLite or PostgreSQL. No torch import."""

from zoo.registry._audit import AuditVerification
from zoo.registry._engine import default_url, zoo_home
from zoo.registry._store import ParsedName, Registry, SearchResult, SyncReport, WeightsSummary


def open_registry(url: str | None = None, **kwargs) -> Registry:
    """Open (creating if new) the registry at ``url``, ``$ZOO_REGISTRY_URL`` or
    ``$ZOO_HOME/registry.db``."""
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

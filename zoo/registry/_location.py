"""Where the registry lives and which schema it must have. No SQLAlchemy import: the
fast read path of the CLI (:mod:`zoo.registry._lite`) needs these too."""

from __future__ import annotations

import os
from pathlib import Path

SCHEMA_REVISION = "0008_audit_trigger"
KNOWN_REVISIONS = (
    "0001_initial",
    "0002_pins",
    "0003_audit_key",
    "0005_datasets",
    "0006_compress",
    "0007_transfer",
    "0008_audit_trigger",
)
APPLICATION = "zoo"


def zoo_home() -> Path:
    """``$ZOO_HOME``, else ``$XDG_CACHE_HOME/zoo``, else ``~/.cache/zoo``."""
    if home := os.environ.get("ZOO_HOME"):
        return Path(home).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "zoo"


def default_url() -> str:
    """``$ZOO_REGISTRY_URL``, else the embedded SQLite file ``$ZOO_HOME/registry.db``."""
    if url := os.environ.get("ZOO_REGISTRY_URL"):
        return url
    return f"sqlite:///{zoo_home() / 'registry.db'}"


def normalize_url(url: str) -> str:
    """Accept plain paths and ``postgresql://`` (mapped to the psycopg 3 driver)."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def sqlite_path(url: str) -> Path | None:
    """The file of an ``sqlite:///PATH`` registry URL; None for anything else
    (in-memory SQLite, other databases, URLs with options)."""
    url = normalize_url(url)
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    database = url[len(prefix) :]
    if database in ("", ":memory:"):
        return None
    return Path(database)

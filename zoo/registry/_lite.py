"""The cold read path of the CLI and of ``zoo.get``: the registry's read layer
(:class:`~zoo.registry._reads.RegistryReads`) over one stdlib ``sqlite3`` or psycopg
connection, without importing SQLAlchemy (DESIGN.md: ``zoo list`` / ``zoo info`` /
``zoo audit`` as whole processes well under half a second).

:func:`open_lite` returns a :class:`LiteRegistry` only when nothing but reading is
needed: the registry exists with the current zoo schema and (when asked) the installed
plugins are those of its last complete sync. Anything else (no file yet, a schema to
create or upgrade, a foreign or newer database, plugins to sync) returns None, and the
caller opens :class:`zoo.registry.Registry`, which does that work and says what is
wrong. The reads are the very ones ``Registry`` runs, so both paths answer alike.
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager

from zoo.errors import ZooRegistryError
from zoo.registry import _location
from zoo.registry._conn import PsycopgConnection, ReadConnection, SqliteConnection, hide_password, pg_conninfo
from zoo.registry._location import sqlite_path  # re-exported
from zoo.registry._reads import RegistryReader, RegistryReads

_BUSY_TIMEOUT_S = 30


def open_lite(url: str | None = None, *, check_plugins: bool = True, postgresql: bool = False) -> LiteRegistry | None:
    """A read-only fast path to the registry at ``url`` (default: the configured one),
    or None when the full :class:`~zoo.registry.Registry` must open it. ``postgresql``:
    a PostgreSQL registry too (plain psycopg, one read-only REPEATABLE READ snapshot)."""
    url = _location.normalize_url(url or _location.default_url())
    if url.startswith("postgresql+psycopg://"):
        return _open_postgresql(url, check_plugins) if postgresql else None
    path = sqlite_path(url)
    if path is None or not path.is_file():
        return None
    try:
        conn = sqlite3.connect(
            "file:" + urllib.parse.quote(str(path.resolve())) + "?mode=ro",
            uri=True,
            timeout=_BUSY_TIMEOUT_S,
            isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.Error:
        return None
    lite = LiteRegistry(SqliteConnection(conn, f"sqlite:///{path}"), url)
    try:
        conn.execute("PRAGMA query_only = ON")
        conn.execute("BEGIN")  # one snapshot for every query of this command
        if lite.current(check_plugins=check_plugins):
            return lite
    except (sqlite3.Error, ZooRegistryError):  # not a database, a schema from elsewhere: the full path says what
        pass
    lite.close()
    return None


def _open_postgresql(url: str, check_plugins: bool) -> LiteRegistry | None:
    try:
        import psycopg
    except ImportError:
        return None
    try:
        conn = psycopg.connect(pg_conninfo(url), connect_timeout=10)
        conn.read_only = True
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # one snapshot per command
    except psycopg.Error:  # unreachable, refused: the full path says what is wrong
        return None
    lite = LiteRegistry(PsycopgConnection(conn, hide_password(url)), url)
    try:
        if lite.current(check_plugins=check_plugins):
            return lite
    except psycopg.Error:
        pass
    lite.close()
    return None


class LiteRegistry(RegistryReads):
    """The registry's reads on one read-only ``sqlite3`` (or psycopg) connection: one
    snapshot for the whole command."""

    def __init__(self, conn: ReadConnection, url: str) -> None:
        self.conn = conn
        self.url = url
        self.dialect = conn.dialect
        self.reader = RegistryReader(conn)

    @property
    def display_url(self) -> str:
        return self.conn.display_url

    @contextmanager
    def _connection(self) -> Iterator[ReadConnection]:
        yield self.conn

    def current(self, *, check_plugins: bool) -> bool:
        """Whether reading is all there is to do: zoo's current schema and, when
        ``check_plugins``, the installed plugins already synced."""
        tables = {
            n
            for (n,) in self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                if self.dialect == "sqlite"
                else "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            ).fetchall()
        }
        if not {"zoo_settings", "alembic_version", "weights"} <= tables:
            return False
        if self.reader.get_setting("application") != _location.APPLICATION:
            return False
        if self.reader.scalar("SELECT version_num FROM alembic_version") != _location.SCHEMA_REVISION:
            return False
        if check_plugins:
            from zoo._selection import FINGERPRINT_SETTING, installed_fingerprint

            return self.reader.get_setting(FINGERPRINT_SETTING) == installed_fingerprint()
        return True

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> LiteRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

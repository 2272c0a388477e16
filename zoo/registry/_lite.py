"""The CLI's fast read path: an SQLite registry read over the standard library's
``sqlite3``, without importing SQLAlchemy (DESIGN.md: ``zoo list`` / ``zoo info`` /
``zoo audit`` as whole processes well under half a second).

:func:`open_lite` returns a :class:`LiteRegistry` only when nothing but reading is
needed: the registry is an existing SQLite file with the current zoo schema, and (when
asked) the installed plugins are those of its last complete sync. Anything else (no
file yet, a schema to create or upgrade, a foreign or newer database, plugins to sync,
PostgreSQL) returns None, and the caller opens :class:`zoo.registry.Registry`, which
does that work and says what is wrong. The queries are :mod:`zoo.registry._reads`,
the very ones ``Registry`` runs, so both paths answer alike.
"""

from __future__ import annotations

import re
import sqlite3
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from zoo.errors import ZooRegistryError
from zoo.registry import _location
from zoo.registry._chain import CHAIN_COLUMNS, AuditVerification, check_chain
from zoo.registry._reads import RegistryReader, Rows, driver_sql

_BUSY_TIMEOUT_S = 30


def sqlite_path(url: str) -> Path | None:
    """The file of an ``sqlite:///PATH`` registry URL; None for anything else
    (in-memory SQLite, other databases, URLs with options)."""
    url = _location.normalize_url(url)
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    database = url[len(prefix) :]
    if database in ("", ":memory:"):
        return None
    return Path(database)


def open_lite(url: str | None = None, *, check_plugins: bool = True, postgresql: bool = False) -> LiteRegistry | None:
    """A read-only fast path to the registry at ``url`` (default: the configured one),
    or None when the full :class:`~zoo.registry.Registry` must open it. ``postgresql``:
    a PostgreSQL registry too (plain psycopg, one read-only REPEATABLE READ snapshot),
    for the callers that need only resolve / search / history."""
    url = url or _location.default_url()
    if postgresql and _location.normalize_url(url).startswith(("postgresql://", "postgresql+psycopg://")):
        return _open_postgresql(_location.normalize_url(url), check_plugins)
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
    lite = LiteRegistry(conn, path)
    try:
        conn.execute("PRAGMA query_only = ON")
        conn.execute("BEGIN")  # one snapshot for every query of this command
        if not lite.current(check_plugins=check_plugins):
            lite.close()
            return None
    except sqlite3.Error:  # not a database, a schema from elsewhere: the full path says what
        lite.close()
        return None
    return lite


def _open_postgresql(url: str, check_plugins: bool) -> LiteRegistry | None:
    try:
        import psycopg
    except ImportError:
        return None
    conninfo = "postgresql://" + url.split("://", 1)[1]  # SQLAlchemy's driver suffix off
    try:
        conn = psycopg.connect(conninfo, connect_timeout=10)
        conn.read_only = True
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # one snapshot per command
    except psycopg.Error:  # unreachable, refused: the full path says what is wrong
        return None
    shown = re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)  # as Registry.display_url hides it
    lite = LiteRegistry(conn, None, dialect="postgresql", display_url=shown, errors=(psycopg.Error,))
    try:
        if lite.current(check_plugins=check_plugins):
            return lite
    except psycopg.Error:
        pass
    lite.close()
    return None


class LiteRegistry:
    """The read methods of :class:`~zoo.registry.Registry` the CLI needs, on one
    read-only ``sqlite3`` connection (or psycopg, for PostgreSQL)."""

    def __init__(
        self,
        conn: Any,
        path: Path | None,
        *,
        dialect: str = "sqlite",
        display_url: str | None = None,
        errors: tuple[type[Exception], ...] = (sqlite3.Error,),
    ) -> None:
        self._conn = conn
        self.path = path
        self.dialect = dialect
        self._display_url = display_url
        self._errors = errors
        self.reader = RegistryReader(self._execute, dialect)

    @property
    def display_url(self) -> str:
        return self._display_url or f"sqlite:///{self.path}"

    @contextmanager
    def _reading(self) -> Iterator[None]:
        # What Registry's translate_db_errors does for SQLAlchemy: a driver failure while
        # reading (a damaged file, a disk error) is a ZooRegistryError, not a traceback.
        try:
            yield
        except self._errors as exc:
            raise ZooRegistryError(
                f"cannot read registry {self.display_url}: {exc}",
                hint="check the file (sqlite3 PATH 'PRAGMA integrity_check'), or restore it from a backup",
            ) from None

    def _execute(self, sql: str, params: Mapping[str, Any]) -> Rows:
        with self._reading():
            return self._conn.execute(sql, dict(params)).fetchall()

    def current(self, *, check_plugins: bool) -> bool:
        """Whether reading is all there is to do: zoo's current schema and, when
        ``check_plugins``, the installed plugins already synced."""
        tables = {
            n
            for (n,) in self._conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                if self.dialect == "sqlite"
                else "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            )
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
        self._conn.close()

    def __enter__(self) -> LiteRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the Registry methods ---------------------------------------------------------

    @property
    def url(self) -> str:
        return self.display_url

    def resolve(self, name: str):
        return self.reader.resolve(name)

    def family(self, name: str):
        family = self.reader.family(name)
        if family is None:
            from zoo.errors import ZooNotFoundError

            raise ZooNotFoundError("architecture", name)
        return family

    def get_setting(self, key: str) -> str | None:
        return self.reader.get_setting(key)

    def search(self, pattern: str | None = None, **filters: Any):
        return self.reader.search(pattern, **filters)

    def history(self, name: str | None = None, **filters: Any):
        return self.reader.history(name, **filters)

    def count(self) -> int:
        return self.reader.count()

    def datasets(self):
        return self.reader.datasets()

    def dataset(self, name: str):
        return self.reader.dataset(name)

    def audit_query(self, name: str, **params: Any):
        """A named audit query (:mod:`zoo.registry.queries`) -> ``QueryResult``."""
        from zoo.registry import queries

        query = queries.get_query(name)
        bound = queries.bind(name, params, self.reader.resolve_id)
        if name == "trained-on":  # an unknown dataset (a typo) is an error, not 0 rows
            self.reader.dataset(bound["dataset"])
        statement, values = driver_sql(query.sql, bound, self.dialect)
        with self._reading():
            cursor = self._conn.execute(statement, values)
            columns = tuple(d[0] for d in cursor.description)
            return queries.QueryResult(columns, tuple(cursor.fetchall()))

    def read_only_sql(
        self,
        statement: str,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        max_rows: int | None = None,
    ):
        """``zoo sql``: as ``Registry.read_only_sql``, on a connection of its own."""
        from zoo.registry import _readonly

        return _readonly.run(self, statement, params, timeout=timeout, max_rows=max_rows)

    def verify_audit(self, *, checkpoint: dict[str, Any] | None = None) -> AuditVerification:
        """Recompute the audit trail's chain (as ``Registry.verify_audit``: the same
        :func:`~zoo.registry._chain.check_chain`, the same keys)."""
        from zoo.registry._keys import load_keyring

        keyring = load_keyring()
        head = self.reader.get_setting("audit_head")
        with self._reading():
            cursor = self._conn.execute(f"SELECT {CHAIN_COLUMNS} FROM audit_events ORDER BY seq")

            def rows() -> Iterator[tuple[Any, ...]]:
                while batch := cursor.fetchmany(5000):
                    yield from batch

            return check_chain(rows(), head, keyring, checkpoint)

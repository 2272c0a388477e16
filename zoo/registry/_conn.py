"""Connection adapters: the registry's reads (:mod:`zoo.registry._reads`) are SQL with
``:name`` placeholders; an adapter runs them on one connection of one driver and owns
that driver's parameter style, list expansion (``IN :names``), typed parameters and
error translation.

- :class:`SqliteConnection`: the standard library's ``sqlite3`` (``:name`` is its own
  style; only lists are expanded and times bound as SQLAlchemy stores them);
- :class:`PsycopgConnection`: psycopg 3 (``%(name)s``; typed parameters get a cast, so
  that the server knows the type of a NULL);
- :class:`SQLAlchemyConnection`: a SQLAlchemy ``Connection`` (``text()`` with expanding
  and typed bind parameters: SQLAlchemy renders them for its dialect).

The first two import no SQLAlchemy: they are the CLI's and ``zoo.get``'s cold path.
Values come back as each driver gives them (SQLite: text for JSON and times, 0/1 for
booleans); the read layer's converters make the dialects agree.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from zoo.errors import ZooRegistryError

Row = tuple[Any, ...]
PARAM_TYPES = ("text", "int", "float", "timestamp", "bool")
"""The SQL types a parameter can be given (named queries, ``zoo sql -p NAME:TYPE=``)."""
SQLITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy's DateTime stores times in SQLite
_PG_TYPES = {"text": "text", "int": "bigint", "float": "double precision", "timestamp": "timestamp", "bool": "boolean"}
_PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_READ_HINT = "check the file (sqlite3 PATH 'PRAGMA integrity_check'), or restore it from a backup"


def naive_utc(value: dt.datetime) -> dt.datetime:
    """Times are stored as naive UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def wildcard_to_like(pattern: str) -> str:
    """Shell wildcards (``*``, ``?``) to a LIKE pattern with ``\\`` as escape."""
    out = []
    for char in pattern.lower():
        if char in "%_\\":
            out.append("\\" + char)
        elif char == "*":
            out.append("%")
        elif char == "?":
            out.append("_")
        else:
            out.append(char)
    return "".join(out)


class MissingParameterError(KeyError):
    """A ``:name`` in the statement has no value."""


class ReadConnection:
    """One connection (one read transaction) that runs ``:name`` SQL. ``types`` names
    the SQL type of parameters whose type the database cannot infer (a NULL)."""

    dialect: str
    display_url: str

    def execute(self, sql: str, params: Mapping[str, Any] | None = None, types: Mapping[str, str] | None = None) -> Any:
        """A DB-API-like cursor / result with ``description`` and ``fetchmany``."""
        raise NotImplementedError

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Driver failures while reading -> :class:`~zoo.errors.ZooRegistryError`."""
        yield

    def rows(
        self, sql: str, params: Mapping[str, Any] | None = None, types: Mapping[str, str] | None = None
    ) -> list[Row]:
        with self.reading():
            return [tuple(r) for r in self.execute(sql, params, types).fetchall()]

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None

    def query(
        self, sql: str, params: Mapping[str, Any] | None = None, types: Mapping[str, str] | None = None
    ) -> tuple[tuple[str, ...], list[Row]]:
        """Column names and rows."""
        with self.reading():
            cursor = self.execute(sql, params, types)
            return _columns(cursor), [tuple(r) for r in cursor.fetchall()]

    def stream(self, sql: str, params: Mapping[str, Any] | None = None, batch: int = 5000) -> Iterator[Row]:
        """Rows in batches (the audit trail may be long)."""
        with self.reading():
            cursor = self.execute(sql, params)
            while chunk := cursor.fetchmany(batch):
                yield from chunk

    def close(self) -> None:
        pass


def _columns(cursor: Any) -> tuple[str, ...]:
    if hasattr(cursor, "keys"):  # a SQLAlchemy result
        return tuple(cursor.keys())
    return tuple(d[0] for d in cursor.description)


def expand_lists(sql: str, params: Mapping[str, Any], mark: Callable[[str], str]) -> tuple[str, dict[str, Any]]:
    """``IN :names`` with a list value -> ``IN (:names_0, :names_1, ...)``; ``mark(name)``
    writes one placeholder in the driver's style (an empty list matches nothing)."""
    bound: dict[str, Any] = {}

    def place(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in params:
            raise MissingParameterError(name)
        value = params[name]
        if isinstance(value, (list, tuple)):
            if not value:  # IN () is not SQL; nothing can match an empty list
                return "(NULL)"
            names = [f"{name}_{i}" for i in range(len(value))]
            bound.update(zip(names, value, strict=False))
            return "(" + ", ".join(mark(n) for n in names) + ")"
        bound[name] = value
        return mark(name)

    return _PLACEHOLDER.sub(place, sql), bound


# -- sqlite3 ----------------------------------------------------------------------------


class SqliteConnection(ReadConnection):
    """The standard library's ``sqlite3``: ``:name`` is its own parameter style."""

    dialect = "sqlite"

    def __init__(self, conn: Any, display_url: str) -> None:
        self.conn = conn
        self.display_url = display_url

    @staticmethod
    def compile(sql: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        values = {k: v.strftime(SQLITE_TIME_FORMAT) if isinstance(v, dt.datetime) else v for k, v in params.items()}
        if not any(isinstance(v, (list, tuple)) for v in values.values()):
            return sql, values
        return expand_lists(sql, values, lambda n: f":{n}")

    def execute(self, sql: str, params: Mapping[str, Any] | None = None, types: Mapping[str, str] | None = None) -> Any:
        statement, values = self.compile(sql, params or {})
        return self.conn.execute(statement, values)

    @contextmanager
    def reading(self) -> Iterator[None]:
        import sqlite3

        # What Registry's translate_db_errors does for SQLAlchemy: a driver failure while
        # reading (a damaged file, a disk error) is a ZooRegistryError, not a traceback.
        try:
            yield
        except sqlite3.Error as exc:
            raise ZooRegistryError(f"cannot read registry {self.display_url}: {exc}", hint=_READ_HINT) from None

    def close(self) -> None:
        self.conn.close()


# -- psycopg ----------------------------------------------------------------------------


def pg_conninfo(url: str) -> str:
    """A ``postgresql+psycopg://`` registry URL as libpq's connection URI."""
    return "postgresql://" + url.split("://", 1)[1]


def hide_password(url: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class PsycopgConnection(ReadConnection):
    """psycopg 3: ``%(name)s``; a typed parameter is cast (``%(since)s::timestamp``)."""

    dialect = "postgresql"

    def __init__(self, conn: Any, display_url: str) -> None:
        self.conn = conn
        self.display_url = display_url

    @staticmethod
    def compile(
        sql: str, params: Mapping[str, Any], types: Mapping[str, str] | None = None
    ) -> tuple[str, dict[str, Any]]:
        types = types or {}

        def mark(name: str) -> str:
            kind = types.get(name)
            return f"%({name})s" + (f"::{_PG_TYPES[kind]}" if kind else "")

        return expand_lists(sql.replace("%", "%%"), params, mark)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None, types: Mapping[str, str] | None = None) -> Any:
        statement, values = self.compile(sql, params or {}, types)
        return self.conn.execute(statement, values)

    @contextmanager
    def reading(self) -> Iterator[None]:
        import psycopg

        try:
            yield
        except psycopg.Error as exc:
            raise ZooRegistryError(
                f"cannot read registry {self.display_url}: {str(exc).strip()}",
                hint="check that the database is reachable",
            ) from None

    def close(self) -> None:
        self.conn.close()


# -- SQLAlchemy -------------------------------------------------------------------------


class SQLAlchemyConnection(ReadConnection):
    """A SQLAlchemy ``Connection`` (a session's): ``text()`` with bind parameters that
    SQLAlchemy renders for the dialect (lists expanding, times as its DateTime)."""

    def __init__(self, conn: Any, display_url: str) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self.display_url = display_url

    def execute(self, sql: str, params: Mapping[str, Any] | None = None, types: Mapping[str, str] | None = None) -> Any:
        params = dict(params or {})
        binds = []
        for name, value in params.items():
            if isinstance(value, (list, tuple)):
                binds.append((name, "list"))
            elif types and name in types:
                binds.append((name, types[name]))
            elif isinstance(value, dt.datetime):
                binds.append((name, "timestamp"))
        return self.conn.execute(_text(sql, tuple(binds)), params)

    def stream(self, sql: str, params: Mapping[str, Any] | None = None, batch: int = 5000) -> Iterator[Row]:
        from sqlalchemy import text

        yield from self.conn.execute(text(sql).execution_options(yield_per=batch), dict(params or {}))


@functools.lru_cache(maxsize=512)
def _text(sql: str, binds: tuple[tuple[str, str], ...]) -> Any:
    """The ``text()`` clause of ``sql`` with its expanding / typed bind parameters; kept,
    so that a read parses its SQL once per process (SQLAlchemy caches the compiled form)."""
    from sqlalchemy import Boolean, DateTime, Float, Integer, String, bindparam, text

    kinds = {"text": String, "int": Integer, "float": Float, "timestamp": DateTime, "bool": Boolean}
    clause = text(sql)
    present = set(clause._bindparams)
    wanted = [
        bindparam(name, expanding=True) if kind == "list" else bindparam(name, type_=kinds[kind]())
        for name, kind in binds
        if name in present
    ]
    return clause.bindparams(*wanted) if wanted else clause

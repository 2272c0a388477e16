"""Read-only SQL for auditors (``zoo sql``, :meth:`Registry.read_only_sql`).

Writes are refused by the database session itself, never by looking at the statement:

- SQLite: a connection of its own opened with ``mode=ro`` (the file cannot be written
  through it) and ``PRAGMA query_only`` (not even the temp schema); an authorizer denies
  ``ATTACH`` (which would create files, and which ``VACUUM INTO`` uses); a progress
  handler enforces the time limit. The driver runs one statement per call.
- PostgreSQL: a connection of its own (no pool: session-level state such as an advisory
  lock or a ``SET`` dies with it) inside ``SET TRANSACTION READ ONLY`` with
  ``SET LOCAL statement_timeout``, fixed by a first query (so that ``SET TRANSACTION READ
  WRITE`` is refused); the statement is sent as a prepared statement (the extended
  protocol), so the server refuses a second statement such as ``; COMMIT; ...``.

Every transaction is rolled back, never committed.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import time
from dataclasses import dataclass
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.errors import (
    ZooQueryError,
    ZooQueryTimeoutError,
    ZooReadOnlyError,
    ZooRegistryError,
    ZooValidationError,
)
from zoo.registry.queries import QueryResult

if TYPE_CHECKING:  # pragma: no cover
    from zoo.registry._lite import LiteRegistry
    from zoo.registry._store import Registry

DEFAULT_TIMEOUT_S = 30.0
_PROGRESS_EVERY = 1_000  # SQLite VM instructions between deadline checks (cheap)
_HINT_SCHEMA = "docs/schema.md documents the tables and columns; `zoo audit` has ready-made queries"
_HINT_WRITE = ("`zoo sql` only reads; change records with the zoo commands (note, deprecate, revoke, alias, "
               "card import ...), which write the audit trail. Nothing was written")


PARAM_TYPES = ("text", "int", "float", "timestamp", "bool")


@dataclass(frozen=True)
class Param:
    """A bound value with its SQL type, so that the database knows the type even of a
    NULL (PostgreSQL cannot infer ``:since IS NULL`` from an untyped parameter).
    ``zoo sql -p NAME:TYPE=VALUE`` makes these; an empty VALUE is NULL."""

    value: Any
    type: str = "text"
    explicit: bool = True  # the caller said the type (``-p name:TYPE=``), it was not inferred

    @classmethod
    def parse(cls, name: str, text_value: str, type_name: str | None = None) -> Param:
        """``-p`` text -> a typed value: ``int``, ``float``, ``timestamp`` (ISO 8601, stored as
        naive UTC), ``bool``, ``text``; without a type a value that reads as an ISO date or
        date-time is a timestamp and an integer an int. '' is NULL."""
        from zoo.registry.queries import parse_time

        kind = (type_name or "").strip().lower() or None
        if kind is not None and kind not in PARAM_TYPES:
            raise ZooValidationError(f"param {name}", f"unknown type {kind!r}", hint="use one of: " +
                                     ", ".join(PARAM_TYPES))
        if text_value == "":
            return cls(None, kind or "text", explicit=kind is not None)
        if kind is None:
            kind = ("int" if re.fullmatch(r"-?\d+", text_value) else
                    "timestamp" if re.fullmatch(r"\d{4}-\d\d-\d\d([T ][\d:.]+)?(Z|[+-]\d\d:?\d\d)?", text_value)
                    else "text")
        try:
            value = {"int": int, "float": float, "text": str,
                     "bool": lambda v: {"true": True, "1": True, "false": False, "0": False}[v.lower()],
                     "timestamp": lambda v: parse_time(v, f"param {name}")}[kind](text_value)
        except (ValueError, KeyError):
            raise ZooValidationError(f"param {name}", f"{text_value!r} is not a {kind}") from None
        return cls(value, kind)

    def sqlite_value(self) -> Any:
        if isinstance(self.value, dt.datetime):  # as SQLAlchemy stores times in SQLite
            return self.value.strftime("%Y-%m-%d %H:%M:%S.%f")
        return self.value

    def sa_type(self):
        from sqlalchemy import Boolean, DateTime, Float, Integer, Text

        return {"int": Integer, "float": Float, "timestamp": DateTime, "bool": Boolean, "text": Text}[self.type]()


def _typed(params: Mapping[str, Any]) -> dict[str, Param]:
    out = {}
    for key, value in params.items():
        if isinstance(value, Param):
            out[key] = value
        elif isinstance(value, bool):
            out[key] = Param(value, "bool")
        elif isinstance(value, int):
            out[key] = Param(value, "int")
        elif isinstance(value, float):
            out[key] = Param(value, "float")
        elif isinstance(value, dt.datetime):
            out[key] = Param(value if value.tzinfo is None else
                             value.astimezone(dt.timezone.utc).replace(tzinfo=None), "timestamp")
        else:
            out[key] = Param(value, "text", explicit=value is not None)
    return out


def check_arguments(statement: Any, params: Any, timeout: Any, max_rows: Any) -> None:
    if not isinstance(statement, str) or not statement.strip():
        raise ZooValidationError("statement", "give one SQL statement, e.g. SELECT name FROM weights",
                                 hint=_HINT_SCHEMA)
    if params is not None and (not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params)):
        raise ZooValidationError("params", "must be a mapping of parameter names to values",
                                 hint="write :name in the statement and pass {'name': value}")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not timeout > 0):
        raise ZooValidationError("timeout", f"must be a positive number of seconds, not {timeout!r}")
    if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 0):
        raise ZooValidationError("max_rows", f"must be a non-negative integer, not {max_rows!r}")


def run(registry: Registry | LiteRegistry, statement: str, params: Mapping[str, Any] | None, *,
        timeout: float | None, max_rows: int | None) -> QueryResult:
    check_arguments(statement, params, timeout, max_rows)
    timeout = DEFAULT_TIMEOUT_S if timeout is None else float(timeout)
    typed = _typed(params or {})
    if registry.dialect == "sqlite":
        return _run_sqlite(registry, statement, {k: p.sqlite_value() for k, p in typed.items()}, timeout, max_rows)
    if registry.dialect == "postgresql":
        return _run_postgresql(registry, statement, typed, timeout, max_rows)
    raise ZooRegistryError(f"read-only SQL is not supported on {registry.dialect}")  # pragma: no cover


def _fetch(cursor: Any, max_rows: int | None) -> tuple[tuple[tuple[Any, ...], ...], bool]:
    if cursor.description is None:  # a statement without a result set (e.g. a PRAGMA)
        return (), False
    if max_rows is None:
        return tuple(tuple(r) for r in cursor.fetchall()), False
    rows = cursor.fetchmany(max_rows + 1) if max_rows else cursor.fetchmany(1)
    truncated = len(rows) > max_rows
    return tuple(tuple(r) for r in rows[:max_rows]), truncated


# -- SQLite ---------------------------------------------------------------------------------


def _deny_attach(action: int, *_args: Any) -> int:
    # ATTACH (and VACUUM INTO, which attaches its output) would create files on disk.
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _run_sqlite(registry: Registry, statement: str, params: dict[str, Any], timeout: float,
                max_rows: int | None) -> QueryResult:
    # A LiteRegistry (the CLI's fast path) knows its file; a Registry its engine's URL.
    database = str(registry.path) if hasattr(registry, "path") else (registry.engine.url.database or "")
    shared = None
    if database in ("", ":memory:"):
        # An in-memory registry exists only on its one connection: use it, query-only.
        shared = registry.engine.raw_connection()
        conn = shared.driver_connection
    else:
        uri = "file:" + urllib.parse.quote(str(Path(database).resolve())) + "?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise ZooRegistryError(f"cannot open registry {registry.display_url} read-only: {exc}",
                                   hint="check that the file exists and is readable") from None
    deadline = time.monotonic() + timeout
    timed_out = False

    def progress() -> int:
        nonlocal timed_out
        if time.monotonic() > deadline:
            timed_out = True
            return 1  # SQLite interrupts the statement
        return 0

    try:
        conn.execute("PRAGMA query_only = ON")
        conn.set_authorizer(_deny_attach)
        conn.set_progress_handler(progress, _PROGRESS_EVERY)
        try:
            cursor = conn.execute(statement, params)
            columns = tuple(d[0] for d in cursor.description or ())
            rows, truncated = _fetch(cursor, max_rows)
        except (sqlite3.Error, sqlite3.Warning) as exc:
            raise _sqlite_error(exc, timed_out, timeout) from None
        return QueryResult(columns, rows, truncated=truncated)
    finally:
        try:
            if conn.in_transaction:
                conn.rollback()
            if shared is not None:  # hand the shared connection back as it was
                conn.set_progress_handler(None, 0)
                conn.set_authorizer(None)
                conn.execute("PRAGMA query_only = OFF")
        finally:
            if shared is not None:
                shared.close()
            else:
                conn.close()


def _sqlite_error(exc: BaseException, timed_out: bool, timeout: float) -> Exception:
    message = str(exc).strip()
    name = getattr(exc, "sqlite_errorname", "") or ""
    if timed_out:
        return _timeout_error(timeout)
    if name in ("SQLITE_READONLY",) or "readonly database" in message:
        return ZooReadOnlyError(f"the registry is read-only here; the database refused: {message}",
                                hint=_HINT_WRITE)
    if name == "SQLITE_AUTH":
        return ZooReadOnlyError("the database refused: ATTACH and VACUUM INTO are not allowed in `zoo sql`",
                                hint=_HINT_WRITE)
    if "one statement at a time" in message:
        return ZooQueryError("give exactly one SQL statement; the database refused more than one",
                             hint="run each statement on its own")
    if "binding" in message.lower():
        return ZooQueryError(f"a parameter is missing: {message}",
                             hint="write :name in the statement and give its value (zoo sql ... --param name=VALUE)")
    return ZooQueryError(f"the database refused the statement: {message}", hint=_HINT_SCHEMA)


def _timeout_error(timeout: float) -> ZooQueryTimeoutError:
    return ZooQueryTimeoutError(
        f"the statement ran longer than {timeout:g} s and was cancelled; nothing was written",
        hint="narrow it (a WHERE clause, LIMIT), or allow more time with --timeout SECONDS")


# -- PostgreSQL -----------------------------------------------------------------------------


def _run_postgresql(registry: Registry, statement: str, params: dict[str, Any], timeout: float,
                    max_rows: int | None) -> QueryResult:
    import psycopg
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError, InvalidRequestError

    engine = registry._read_only_engine()
    sql, bound = statement, None
    if params:
        # One placeholder syntax (:name) on both databases; psycopg wants %(name)s. Each
        # parameter is typed (SQLAlchemy renders %(name)s::TYPE), so that the server knows
        # the type of a NULL-tested one.
        from sqlalchemy import bindparam

        # A NULL of no stated type is written as the literal NULL, which PostgreSQL types
        # from its context (`at >= NULL`); a bound untyped NULL it could not type at all.
        for key in [k for k, p in params.items() if p.value is None and not p.explicit]:
            statement = re.sub(rf"(?<![:\w]):{re.escape(key)}\b", "NULL", statement)
            del params[key]
        try:
            clause = text(statement)
            present = set(clause._bindparams)
            clause = clause.bindparams(*(bindparam(k, type_=p.sa_type()) for k, p in params.items()
                                         if k in present))
            compiled = clause.compile(dialect=engine.dialect)
            sql, bound = compiled.string, compiled.construct_params({k: p.value for k, p in params.items()})
        except InvalidRequestError as exc:
            raise ZooQueryError(f"a parameter is missing: {str(exc).splitlines()[0]}",
                                hint="write :name in the statement and give its value "
                                     "(zoo sql ... --param name=VALUE)") from None
    try:
        conn = engine.connect()
    except DBAPIError as exc:
        raise ZooRegistryError(f"cannot connect to registry {registry.display_url}: "
                               f"{str(exc.orig).strip().splitlines()[0]}",
                               hint="check that the database is reachable") from None
    try:
        raw = conn.connection.driver_connection
        if raw.prepare_threshold is None:  # prepared statements: one statement per call
            raw.prepare_threshold = 5
        try:
            with raw.cursor() as cursor:
                cursor.execute("SET TRANSACTION READ ONLY")  # the first statement of the transaction
                cursor.execute(f"SET LOCAL statement_timeout = {max(1, int(timeout * 1000))}")
                # A first query fixes the snapshot: from here on the transaction cannot be
                # switched back with SET TRANSACTION READ WRITE.
                cursor.execute("SELECT 1")
                cursor.execute(sql, bound, prepare=True)
                columns = tuple(d.name for d in cursor.description or ())
                rows, truncated = _fetch(cursor, max_rows)
        except psycopg.Error as exc:
            raise _pg_error(exc, timeout) from None
        finally:
            raw.rollback()
            # Session-level advisory locks would die with the connection, but the server
            # ends the backend only after we hang up: release them now, synchronously.
            try:
                raw.execute("SELECT pg_advisory_unlock_all()")
                raw.rollback()
            except psycopg.Error:
                pass
        return QueryResult(columns, rows, truncated=truncated)
    finally:
        conn.close()


def _pg_error(exc: Any, timeout: float) -> Exception:
    message = (getattr(getattr(exc, "diag", None), "message_primary", None) or str(exc)).strip()
    state = getattr(exc, "sqlstate", None) or ""
    if state == "25006":  # read_only_sql_transaction
        return ZooReadOnlyError(f"the registry is read-only here; the database refused: {message}",
                                hint=_HINT_WRITE)
    if state == "57014":  # query_canceled (statement_timeout)
        return _timeout_error(timeout)
    if state == "42601" and "multiple commands" in message:
        return ZooQueryError("give exactly one SQL statement; the database refused more than one",
                             hint="run each statement on its own")
    if state == "42601" and 'near ":"' in message:
        return ZooQueryError(f"the database refused the statement: {message}",
                             hint="a :name placeholder needs its value (zoo sql ... --param name=VALUE)")
    if state.startswith("08"):
        return ZooRegistryError(f"lost the connection to the registry: {message}",
                                hint="check that the database is reachable")
    position = getattr(getattr(exc, "diag", None), "statement_position", None)
    where = f" (at character {position})" if position else ""
    return ZooQueryError(f"the database refused the statement{where}: {message}", hint=_HINT_SCHEMA)

"""Read-only SQL for auditors (``zoo sql``, :meth:`Registry.read_only_sql`).

Only one statement that reads runs, and the database enforces it, never a look at the
statement's text:

- SQLite: a connection of its own opened with ``mode=ro`` (the file cannot be written
  through it) and ``PRAGMA query_only`` (not even the temp schema); an authorizer allows
  only reading (SELECT, reading columns, functions, recursive CTEs) and denies the rest:
  PRAGMA, SAVEPOINT, BEGIN/COMMIT, ATTACH (which would create files, and which
  ``VACUUM INTO`` uses), writes. A progress handler enforces the time limit. The driver
  runs one statement per call, and one without a result is refused.
- PostgreSQL: a connection of its own (no pool: session-level state dies with it) inside
  ``SET TRANSACTION READ ONLY`` with ``SET LOCAL statement_timeout``. The statement is
  first prepared (parsed, never run) as the connecting user: more than one statement, or
  one without a result (SET, COPY, DO, a write), is refused there. It then runs inside
  ``zoo_sql_run``, a ``SECURITY DEFINER`` function owned by the registry's reader role
  (:func:`reader_role`, created by ``zoo db upgrade``), which may only SELECT the
  registry's tables, after ``SET LOCAL ROLE`` to that role. Inside a security-definer
  function PostgreSQL refuses to change ``role`` or ``session_authorization``, so even
  with a superuser URL the statement cannot read or write server files (``COPY``,
  ``pg_read_file``), signal other sessions (``pg_terminate_backend``) or regain the
  connecting user's rights. Advisory locks stay callable by any role (PostgreSQL grants
  them to PUBLIC), but none guards the registry's writes, so they block nothing of zoo's.

Every transaction is rolled back, never committed.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zoo.errors import (
    ZooQueryError,
    ZooQueryTimeoutError,
    ZooReadOnlyError,
    ZooRegistryError,
    ZooValidationError,
)
from zoo.registry._conn import (
    PARAM_TYPES,
    SQLITE_TIME_FORMAT,
    MissingParameterError,
    PsycopgConnection,
    naive_utc,
    pg_conninfo,
)
from zoo.registry._location import sqlite_path
from zoo.registry.queries import QueryResult

if TYPE_CHECKING:  # pragma: no cover
    from zoo.registry._reads import RegistryReads

DEFAULT_TIMEOUT_S = 30.0
_PROGRESS_EVERY = 1_000  # SQLite VM instructions between deadline checks (cheap)
_HINT_SCHEMA = "docs/schema.md documents the tables and columns; `zoo audit` has ready-made queries"
_HINT_WRITE = (
    "`zoo sql` only reads; change records with the zoo commands (note, deprecate, revoke, alias, "
    "card import ...), which write the audit trail. Nothing was written"
)


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
            raise ZooValidationError(
                f"param {name}", f"unknown type {kind!r}", hint="use one of: " + ", ".join(PARAM_TYPES)
            )
        if text_value == "":
            return cls(None, kind or "text", explicit=kind is not None)
        if kind is None:
            kind = (
                "int"
                if re.fullmatch(r"-?\d+", text_value)
                else "timestamp"
                if re.fullmatch(r"\d{4}-\d\d-\d\d([T ][\d:.]+)?(Z|[+-]\d\d:?\d\d)?", text_value)
                else "text"
            )
        parsers: dict[str, Callable[[str], Any]] = {
            "int": int,
            "float": float,
            "text": str,
            "bool": lambda v: {"true": True, "1": True, "false": False, "0": False}[v.lower()],
            "timestamp": lambda v: parse_time(v, f"param {name}"),
        }
        try:
            value = parsers[kind](text_value)
        except (ValueError, KeyError):
            raise ZooValidationError(f"param {name}", f"{text_value!r} is not a {kind}") from None
        return cls(value, kind)

    def sqlite_value(self) -> Any:
        if isinstance(self.value, dt.datetime):  # as SQLAlchemy stores times in SQLite
            return self.value.strftime(SQLITE_TIME_FORMAT)
        return self.value


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
            out[key] = Param(naive_utc(value), "timestamp")
        else:
            out[key] = Param(value, "text", explicit=value is not None)
    return out


def check_arguments(statement: Any, params: Any, timeout: Any, max_rows: Any) -> None:
    if not isinstance(statement, str) or not statement.strip():
        raise ZooValidationError(
            "statement", "give one SQL statement, e.g. SELECT name FROM weights", hint=_HINT_SCHEMA
        )
    if params is not None and (not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params)):
        raise ZooValidationError(
            "params",
            "must be a mapping of parameter names to values",
            hint="write :name in the statement and pass {'name': value}",
        )
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0):
        raise ZooValidationError("timeout", f"must be a positive number of seconds, not {timeout!r}")
    if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 0):
        raise ZooValidationError("max_rows", f"must be a non-negative integer, not {max_rows!r}")


def run(
    registry: RegistryReads,
    statement: str,
    params: Mapping[str, Any] | None,
    *,
    timeout: float | None,
    max_rows: int | None,
) -> QueryResult:
    """Run ``statement`` read-only on a connection of its own (``registry._sql_connection``)."""
    check_arguments(statement, params, timeout, max_rows)
    timeout = DEFAULT_TIMEOUT_S if timeout is None else float(timeout)
    typed = _typed(params or {})
    if registry.dialect not in ("sqlite", "postgresql"):  # pragma: no cover
        raise ZooRegistryError(f"read-only SQL is not supported on {registry.dialect}")
    with registry._sql_connection() as (conn, shared):
        if registry.dialect == "sqlite":
            values = {k: p.sqlite_value() for k, p in typed.items()}
            return _run_sqlite(conn, shared, statement, values, timeout, max_rows)
        return _run_postgresql(conn, registry.display_url, statement, typed, timeout, max_rows)


@contextmanager
def connect(dialect: str, url: str, display_url: str) -> Iterator[Any]:
    """A driver connection of its own to the registry at ``url``: SQLite opened
    ``mode=ro``, PostgreSQL a fresh psycopg connection (no pool: session-level state a
    statement leaves behind, a SET or an advisory lock, dies with it)."""
    conn: Any  # a sqlite3 or a psycopg connection
    if dialect == "sqlite":
        path = sqlite_path(url)
        if path is None:  # pragma: no cover - an in-memory registry shares its connection
            raise ZooRegistryError(f"cannot open registry {display_url} read-only")
        uri = "file:" + urllib.parse.quote(str(path.resolve())) + "?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise ZooRegistryError(
                f"cannot open registry {display_url} read-only: {exc}",
                hint="check that the file exists and is readable",
            ) from None
    else:
        import psycopg

        try:
            conn = psycopg.connect(pg_conninfo(url), connect_timeout=10)
        except psycopg.Error as exc:
            raise ZooRegistryError(
                f"cannot connect to registry {display_url}: {str(exc).strip().splitlines()[0]}",
                hint="check that the database is reachable",
            ) from None
    try:
        yield conn
    finally:
        conn.close()


def _fetch(cursor: Any, max_rows: int | None) -> tuple[tuple[tuple[Any, ...], ...], bool]:
    if cursor.description is None:  # a statement without a result set (e.g. a PRAGMA)
        return (), False
    if max_rows is None:
        return tuple(tuple(r) for r in cursor.fetchall()), False
    rows = cursor.fetchmany(max_rows + 1) if max_rows else cursor.fetchmany(1)
    truncated = len(rows) > max_rows
    return tuple(tuple(r) for r in rows[:max_rows]), truncated


# -- SQLite ---------------------------------------------------------------------------------


# What a read does; anything else (PRAGMA, SAVEPOINT, transactions, ATTACH, writes,
# schema changes) is denied by the authorizer.
_SQLITE_READ_ACTIONS = frozenset(
    {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, getattr(sqlite3, "SQLITE_RECURSIVE", 33)}
)
_SQLITE_ACTION_NAMES = {
    getattr(sqlite3, n): n.removeprefix("SQLITE_").replace("_", " ")
    for n in dir(sqlite3)
    if n.startswith("SQLITE_")
    and n not in ("SQLITE_OK", "SQLITE_DENY", "SQLITE_IGNORE")
    and isinstance(getattr(sqlite3, n), int)
    and getattr(sqlite3, n) < 64
}


def _run_sqlite(
    conn: sqlite3.Connection,
    shared: bool,
    statement: str,
    params: dict[str, Any],
    timeout: float,
    max_rows: int | None,
) -> QueryResult:
    # ``shared``: an in-memory registry exists only on its one connection: use it, query-only.
    deadline = time.monotonic() + timeout
    timed_out = False
    denied: list[str] = []

    def authorize(action: int, *_args: Any) -> int:
        if action in _SQLITE_READ_ACTIONS:
            return sqlite3.SQLITE_OK
        denied.append(_SQLITE_ACTION_NAMES.get(action, str(action)))
        return sqlite3.SQLITE_DENY

    def progress() -> int:
        nonlocal timed_out
        if time.monotonic() > deadline:
            timed_out = True
            return 1  # SQLite interrupts the statement
        return 0

    try:
        conn.execute("PRAGMA query_only = ON")
        conn.set_authorizer(authorize)
        conn.set_progress_handler(progress, _PROGRESS_EVERY)
        try:
            cursor = conn.execute(statement, params)
            if cursor.description is None:  # e.g. only a comment: nothing that reads
                raise _not_a_read(statement)
            columns = tuple(d[0] for d in cursor.description)
            rows, truncated = _fetch(cursor, max_rows)
        except (sqlite3.Error, sqlite3.Warning) as exc:
            raise _sqlite_error(exc, timed_out, timeout, denied) from None
        return QueryResult(columns, rows, truncated=truncated)
    finally:
        if conn.in_transaction:
            conn.rollback()
        if shared:  # hand the shared connection back as it was
            conn.set_progress_handler(None, 0)
            conn.set_authorizer(None)
            conn.execute("PRAGMA query_only = OFF")


def _not_a_read(statement: str) -> ZooReadOnlyError:
    word = (statement.split() or ["?"])[0].upper()
    return ZooReadOnlyError(
        f"the registry is read-only here: `zoo sql` runs one statement that reads and "
        f"returns rows (SELECT, WITH ... SELECT, VALUES), not {word[:20]}",
        hint=_HINT_WRITE,
    )


def _sqlite_error(exc: BaseException, timed_out: bool, timeout: float, denied: list[str]) -> Exception:
    message = str(exc).strip()
    name = getattr(exc, "sqlite_errorname", "") or ""
    if timed_out:
        return _timeout_error(timeout)
    if name in ("SQLITE_READONLY",) or "readonly database" in message:
        return ZooReadOnlyError(f"the registry is read-only here; the database refused: {message}", hint=_HINT_WRITE)
    if name == "SQLITE_AUTH" or denied:
        what = ", ".join(dict.fromkeys(denied)) or "it"
        return ZooReadOnlyError(
            f"the registry is read-only here: `zoo sql` runs one statement that reads "
            f"(SELECT, WITH ... SELECT, VALUES); the database refused {what}",
            hint=_HINT_WRITE,
        )
    if "one statement at a time" in message:
        return ZooQueryError(
            "give exactly one SQL statement; the database refused more than one", hint="run each statement on its own"
        )
    if "binding" in message.lower():
        return ZooQueryError(
            f"a parameter is missing: {message}",
            hint="write :name in the statement and give its value (zoo sql ... --param name=VALUE)",
        )
    return ZooQueryError(f"the database refused the statement: {message}", hint=_HINT_SCHEMA)


def _timeout_error(timeout: float) -> ZooQueryTimeoutError:
    return ZooQueryTimeoutError(
        f"the statement ran longer than {timeout:g} s and was cancelled; nothing was written",
        hint="narrow it (a WHERE clause, LIMIT), or allow more time with --timeout SECONDS",
    )


# -- PostgreSQL -----------------------------------------------------------------------------


READER_FUNCTION = "zoo_sql_run"


def reader_role(database: str, schema: str) -> str:
    """The role ``zoo sql`` runs as on the PostgreSQL registry in ``database``.``schema``:
    one per registry (roles are cluster-wide; each may read only its own registry)."""
    import hashlib

    return "zoo_sql_reader_" + hashlib.sha256(f"{database}.{schema}".encode()).hexdigest()[:16]


def ensure_reader_role(conn: Any) -> str:
    """Create (or refresh) the registry's reader role and ``zoo_sql_run``: SELECT on every
    table of the registry's schema, nothing else. Run by ``Registry.upgrade`` (``zoo db
    upgrade``) on PostgreSQL, inside its transaction; needs the right to create roles."""
    from sqlalchemy import text

    database, schema, superuser = conn.execute(
        text("SELECT current_database(), current_schema(), rolsuper FROM pg_roles WHERE rolname = current_user")
    ).one()
    role = reader_role(database, schema)
    q_role, q_schema = f'"{role}"', '"' + schema.replace('"', '""') + '"'
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar()
    if not exists:
        conn.execute(text(f"CREATE ROLE {q_role} NOLOGIN NOINHERIT"))
    if not superuser:  # to SET ROLE to it, and to hand it the function below
        conn.execute(text(f"GRANT {q_role} TO CURRENT_USER"))
    conn.execute(text(f"GRANT USAGE ON SCHEMA {q_schema} TO {q_role}"))
    conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA {q_schema} TO {q_role}"))
    function = f"{q_schema}.{READER_FUNCTION}(text)"
    conn.execute(
        text(
            f"CREATE OR REPLACE FUNCTION {q_schema}.{READER_FUNCTION}(statement text) RETURNS SETOF record "
            "LANGUAGE plpgsql SECURITY DEFINER AS $zoo$ BEGIN RETURN QUERY EXECUTE statement; END $zoo$"
        )
    )
    conn.execute(text(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC"))
    # A new owner needs CREATE on the schema, for the moment of the hand-over only.
    conn.execute(text(f"GRANT CREATE ON SCHEMA {q_schema} TO {q_role}"))
    conn.execute(text(f"ALTER FUNCTION {function} OWNER TO {q_role}"))
    conn.execute(text(f"REVOKE CREATE ON SCHEMA {q_schema} FROM {q_role}"))
    return role


def _run_postgresql(
    raw: Any, display_url: str, statement: str, params: dict[str, Param], timeout: float, max_rows: int | None
) -> QueryResult:
    import psycopg
    from psycopg import sql as pgsql

    statement_text = statement
    if params:
        # A NULL of no stated type is written as the literal NULL, which PostgreSQL types
        # from its context (`at >= NULL`); a bound untyped NULL it could not type at all.
        for key in [k for k, p in params.items() if p.value is None and not p.explicit]:
            statement = re.sub(rf"(?<![:\w]):{re.escape(key)}\b", "NULL", statement)
            del params[key]
        # One placeholder syntax (:name) on both databases: the psycopg adapter writes each
        # as %(name)s::TYPE, so that the server knows the type of a NULL-tested one, and
        # psycopg quotes the values into the text that the reader function runs (it takes
        # one statement, no parameters).
        try:
            sql, bound = PsycopgConnection.compile(
                statement, {k: p.value for k, p in params.items()}, {k: p.type for k, p in params.items()}
            )
        except MissingParameterError as exc:
            raise ZooQueryError(
                f"a parameter is missing: no value for :{exc.args[0]}",
                hint="write :name in the statement and give its value (zoo sql ... --param name=VALUE)",
            ) from None
        statement_text = psycopg.ClientCursor(raw).mogrify(sql, bound)
    try:
        with raw.cursor() as cursor:
            cursor.execute("SET TRANSACTION READ ONLY")  # the first statement of the transaction
            cursor.execute(f"SET LOCAL statement_timeout = {max(1, int(timeout * 1000))}")
            cursor.execute("SELECT current_database(), current_schema()")
            database, schema = cursor.fetchone()
            names, types = _describe(raw, cursor, statement_text)
            role = reader_role(database, schema)
            if not cursor.execute(
                "SELECT 1 FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner "
                "WHERE p.proname = %s AND p.pronamespace = %s::regnamespace "
                "AND r.rolname = %s",
                (READER_FUNCTION, f'"{schema}"', role),
            ).fetchone():
                raise ZooRegistryError(
                    f"registry {display_url} has no reader role for `zoo sql`",
                    hint="run `zoo db upgrade` as a user that may create roles",
                )
            cursor.execute(pgsql.SQL("SET LOCAL ROLE {}").format(pgsql.Identifier(role)))
            columns = pgsql.SQL(", ").join(
                pgsql.SQL("{} {}").format(pgsql.Identifier(f"c{i}"), pgsql.SQL(t)) for i, t in enumerate(types)
            )
            cursor.execute(
                pgsql.SQL("SELECT * FROM {}.{}(%s) AS t({})").format(
                    pgsql.Identifier(schema), pgsql.Identifier(READER_FUNCTION), columns
                ),
                (statement_text,),
            )
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
    return QueryResult(names, rows, truncated=truncated)


def _describe(raw: Any, cursor: Any, statement: str) -> tuple[tuple[str, ...], list[str]]:
    """Parse ``statement`` without running it: its column names and SQL types. More than
    one statement, or one that returns no rows, is refused here."""
    from psycopg import pq

    result = raw.pgconn.prepare(b"", statement.encode("utf-8"))
    if result.status == pq.ExecStatus.FATAL_ERROR:
        raise _pg_error(_ResultError(result), 0)
    described = raw.pgconn.describe_prepared(b"")
    if described.nfields == 0:
        raise _not_a_read(statement)
    names = tuple(described.fname(i).decode("utf-8", "replace") for i in range(described.nfields))
    cursor.execute(
        "SELECT format_type(t, NULLIF(m, -1)), (SELECT typtype FROM pg_type WHERE oid = t) "
        "FROM unnest(%s::oid[], %s::int[]) WITH ORDINALITY AS u(t, m, i) ORDER BY i",
        ([described.ftype(i) for i in range(described.nfields)], [described.fmod(i) for i in range(described.nfields)]),
    )
    types = cursor.fetchall()
    for name, (sql_type, kind) in zip(names, types, strict=False):
        if kind == "p":  # void, record ...: not a value a column can carry
            raise ZooQueryError(
                f"column {name!r} is of pseudo-type {sql_type}, not data", hint="cast it (e.g. ::text) or leave it out"
            )
    return names, [t for t, _ in types]


class _ResultError(Exception):
    """A failed libpq result, shaped like a psycopg error for :func:`_pg_error`."""

    def __init__(self, result: Any) -> None:
        from psycopg import pq

        def field(code: Any) -> str | None:
            value = result.error_field(code)
            return value.decode("utf-8", "replace") if value else None

        self.sqlstate = field(pq.DiagnosticField.SQLSTATE)
        self.diag = type(
            "Diag",
            (),
            {
                "message_primary": field(pq.DiagnosticField.MESSAGE_PRIMARY),
                "statement_position": field(pq.DiagnosticField.STATEMENT_POSITION),
            },
        )()
        super().__init__(self.diag.message_primary or "error")


def _pg_error(exc: Any, timeout: float) -> Exception:
    message = (getattr(getattr(exc, "diag", None), "message_primary", None) or str(exc)).strip()
    state = getattr(exc, "sqlstate", None) or ""
    if state in ("25006", "42501", "42P11", "0A000") or "security-definer" in message:
        # read-only transaction, insufficient privilege (the reader role), a statement
        # that cannot be a query (cursor), or a refused role change
        return ZooReadOnlyError(f"the registry is read-only here; the database refused: {message}", hint=_HINT_WRITE)
    if state == "57014":  # query_canceled (statement_timeout)
        return _timeout_error(timeout)
    if state == "42601" and "multiple commands" in message:
        return ZooQueryError(
            "give exactly one SQL statement; the database refused more than one", hint="run each statement on its own"
        )
    if state == "42601" and 'near ":"' in message:
        return ZooQueryError(
            f"the database refused the statement: {message}",
            hint="a :name placeholder needs its value (zoo sql ... --param name=VALUE)",
        )
    if state.startswith("08"):
        return ZooRegistryError(
            f"lost the connection to the registry: {message}", hint="check that the database is reachable"
        )
    position = getattr(getattr(exc, "diag", None), "statement_position", None)
    where = f" (at character {position})" if position else ""
    return ZooQueryError(f"the database refused the statement{where}: {message}", hint=_HINT_SCHEMA)

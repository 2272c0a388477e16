"""Connecting to a registry database: URL handling, per-dialect session set-up, and
the schema check that refuses a database that is not zoo's or is from a newer zoo."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError
from sqlalchemy.pool import StaticPool

from zoo.errors import ZooRegistryError
from zoo.registry._location import (  # noqa: F401  (re-exported)
    APPLICATION,
    KNOWN_REVISIONS,
    SCHEMA_REVISION,
    default_url,
    normalize_url,
    zoo_home,
)

BUSY_TIMEOUT_MS = 30_000


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit
    # transactions cannot take the write lock up front).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # No journal_mode here: WAL is persistent, written into the file, so it is switched on
    # only once the file is known to be a zoo registry or empty (``enable_wal``); a file
    # zoo refuses stays byte-for-byte as it was.
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # Write units take the database lock at BEGIN, so two writers never both read the
    # same "next version" or audit chain head; readers use a plain deferred BEGIN.
    options = conn.get_execution_options()
    if options.get("zoo_read_only"):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("zoo_write") else "BEGIN")


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ZooRegistryError(
            f"cannot parse registry URL {url!r}: {exc}", hint="use sqlite:///PATH or postgresql://USER@HOST/DB"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        memory = database in ("", ":memory:")
        if not memory:
            path = Path(database)
            if path.is_dir():
                raise ZooRegistryError(
                    f"registry path {path} is a directory",
                    hint="point ZOO_REGISTRY_URL at a file, e.g. sqlite:///registry.db",
                )
            path.parent.mkdir(parents=True, exist_ok=True)
        kwargs = {"connect_args": {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}}
        if memory:
            kwargs["poolclass"] = StaticPool
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if backend == "postgresql":
        # Small insertmanyvalues pages: a bulk INSERT ... RETURNING of thousands of rows
        # as one huge statement is slow for psycopg to convert and for the server to plan
        # (bench/registry.py: register_many ~1.5x faster with 100 than the default 1000).
        return create_engine(parsed, pool_pre_ping=True, insertmanyvalues_page_size=100)
    raise ZooRegistryError(
        f"unsupported registry database {backend!r}",
        hint="use SQLite (sqlite:///PATH) or PostgreSQL (postgresql://...)",
    )


@contextmanager
def translate_db_errors(url: str) -> Iterator[None]:
    """Turn driver failures on open into a typed error that names the database."""
    try:
        yield
    except (OperationalError, DatabaseError) as exc:
        orig = getattr(exc, "orig", exc)
        if isinstance(orig, sqlite3.DatabaseError) and "not a database" in str(orig):
            raise ZooRegistryError(
                f"{url} is not a zoo registry (not an SQLite database)",
                hint="point ZOO_REGISTRY_URL at a zoo registry or a new file",
            ) from None
        raise ZooRegistryError(
            f"cannot use registry {url}: {str(orig).strip()}", hint="check that the database is reachable and writable"
        ) from None


def schema_state(conn: Connection) -> str | None:
    """``None`` for an empty database, else the zoo schema revision.

    Raises if the database holds tables that are not a zoo registry, or a revision
    this zoo does not know (written by a newer zoo)."""
    names = set(inspect(conn).get_table_names())
    if not names:
        return None
    if "zoo_settings" not in names or "alembic_version" not in names:
        raise ZooRegistryError(
            "the database holds tables but is not a zoo registry "
            f"(found: {', '.join(sorted(names)[:5])}{'...' if len(names) > 5 else ''})",
            hint="use an empty database or schema for a new registry",
        )
    app = conn.execute(text("SELECT value FROM zoo_settings WHERE key = 'application'")).scalar()
    if app != APPLICATION:
        raise ZooRegistryError(
            "the database is not a zoo registry (no application marker)",
            hint="use an empty database or schema for a new registry",
        )
    revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if revision not in KNOWN_REVISIONS:
        raise ZooRegistryError(
            f"the registry has schema revision {revision!r}, which this zoo does not know: a newer zoo wrote it",
            hint="upgrade zoo (pip install -U zoo) to use this registry",
        )
    return revision


def enable_wal(engine: Engine) -> None:
    """Switch a file SQLite registry to WAL (readers never block the writer); called
    after :func:`schema_state` accepted the file."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return
    raw = engine.raw_connection()  # outside a transaction: SQLite refuses the switch inside one
    try:
        cursor = raw.cursor()
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()
    finally:
        raw.close()


def audit_triggers_present(conn: Connection) -> bool:
    """Whether the append-only triggers on ``audit_events`` exist (a registry loaded from
    registry.db.sql has none: their SQL is not portable; ``zoo db upgrade`` adds them)."""
    if conn.dialect.name == "sqlite":
        sql = "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'"
    else:
        sql = (
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relname = 'audit_events' AND c.relnamespace = current_schema()::regnamespace "
            "AND NOT t.tgisinternal"
        )
    return bool(conn.exec_driver_sql(sql).scalar())


def install_audit_triggers(conn: Connection) -> None:
    """The dialect's append-only triggers and, on PostgreSQL, the key generators of a
    schema loaded from portable SQL (SQLite's INTEGER PRIMARY KEY generates by itself)."""
    from zoo.registry.schema import (
        POSTGRESQL_AUDIT_INSERT_TRIGGERS,
        POSTGRESQL_AUDIT_TRIGGERS,
        SQLITE_AUDIT_INSERT_TRIGGERS,
        SQLITE_AUDIT_TRIGGERS,
        Base,
    )

    sqlite = conn.dialect.name == "sqlite"
    for statement in (
        (SQLITE_AUDIT_TRIGGERS + SQLITE_AUDIT_INSERT_TRIGGERS)
        if sqlite
        else (POSTGRESQL_AUDIT_TRIGGERS + POSTGRESQL_AUDIT_INSERT_TRIGGERS)
    ):
        conn.execute(text(statement))  # text(): the driver's '%' escaping is SQLAlchemy's job
    if conn.dialect.name != "postgresql":
        return
    for table in Base.metadata.sorted_tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or table.name == "zoo_settings" or keys[0].type.python_type is not int:
            continue
        column = keys[0].name
        plain = conn.execute(
            text(
                "SELECT column_default IS NULL AND is_identity = 'NO' FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = :t AND column_name = :c"
            ),
            {"t": table.name, "c": column},
        ).scalar()
        if plain:
            conn.exec_driver_sql(
                f'ALTER TABLE "{table.name}" ALTER COLUMN "{column}" ADD GENERATED BY DEFAULT AS IDENTITY'
            )
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', '{column}'), "
                f'COALESCE((SELECT MAX("{column}") FROM "{table.name}"), 0) + 1, false)'
            )


def needs_upgrade(revision: str | None) -> bool:
    return revision != SCHEMA_REVISION

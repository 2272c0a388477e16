"""``registry.db.sql``: the default registry as portable SQL.

A complete registry: the whole schema (tables, keys, CHECK constraints, indexes, the
audit trail and ``alembic_version``), the built-in catalogue (what the first-party
plugins and the core's dataset declarations hold), the audit events of that catalogue
with their hash chain, and the settings that mark it as zoo's — in ONE transaction
(a failed load leaves nothing), with types and literals that both SQLite and
PostgreSQL accept, in a deterministic order, so that a reviewer can diff a changed hash
or bias note and an auditor can load it and write queries. The append-only triggers
are dialect-specific: zoo adds them when it first opens the loaded database (or
``zoo db upgrade``). Catalogue rows carry the fixed provenance ``CATALOGUE_EPOCH`` /
``CATALOGUE_ACTOR`` (docs/schema.md), so that regeneration is deterministic.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
)

from zoo.registry.schema import SCHEMA_REVISION, Base

# A fixed clock and actor make the catalogue's timestamps reproducible.
CATALOGUE_EPOCH = dt.datetime(2026, 1, 1)
CATALOGUE_ACTOR = "zoo"
# The built-in catalogue is what these first-party plugins declare (example-internal
# is a template, not part of it).
FIRST_PARTY_PLUGINS = ("torchvision", "timm", "transformers")
SKIPPED_TABLES = ()
KEPT_SETTINGS = ("application", "audit_head")  # the rest are a live registry's caches


def _type(column) -> str:
    t = column.type
    if isinstance(t, BigInteger):
        return "BIGINT"
    if isinstance(t, Integer):
        return "INTEGER"
    if isinstance(t, Boolean):
        return "BOOLEAN"
    if isinstance(t, Float):
        return "DOUBLE PRECISION"
    if isinstance(t, DateTime):
        return "TIMESTAMP"
    if isinstance(t, JSON):
        return "TEXT"  # JSON text; PostgreSQL users may cast to jsonb
    if isinstance(t, String) and not isinstance(t, Text) and t.length:
        return f"VARCHAR({t.length})"
    return "TEXT"


def _quote(name: str) -> str:
    return f'"{name}"'


def create_table_sql(table: Table) -> str:
    lines = []
    for column in table.columns:
        line = f"  {_quote(column.name)} {_type(column)}"
        if not column.nullable:
            line += " NOT NULL"
        lines.append(line)
    pk = [c.name for c in table.primary_key.columns]
    lines.append("  PRIMARY KEY (" + ", ".join(_quote(c) for c in pk) + ")")
    # Constraints are a set: sort by kind, name and columns so the output is stable.
    constraints = sorted(
        table.constraints,
        key=lambda c: (type(c).__name__, str(c.name), tuple(col.name for col in getattr(c, "columns", ()))),
    )
    for constraint in constraints:
        if isinstance(constraint, UniqueConstraint):
            cols = ", ".join(_quote(c.name) for c in constraint.columns)
            lines.append(f"  UNIQUE ({cols})")
        elif isinstance(constraint, CheckConstraint):
            lines.append(f"  CONSTRAINT {_quote(str(constraint.name))} CHECK ({constraint.sqltext})")
        elif isinstance(constraint, ForeignKeyConstraint):
            cols = ", ".join(_quote(c.name) for c in constraint.columns)
            target = constraint.elements[0].column.table.name
            refs = ", ".join(_quote(e.column.name) for e in constraint.elements)
            lines.append(f"  FOREIGN KEY ({cols}) REFERENCES {_quote(target)} ({refs})")
    return f"CREATE TABLE {_quote(table.name)} (\n" + ",\n".join(lines) + "\n);"


def create_index_sql(table: Table) -> list[str]:
    out = []
    for index in sorted(table.indexes, key=lambda i: str(i.name)):
        cols = ", ".join(_quote(c.name) for c in index.columns)
        unique = "UNIQUE " if index.unique else ""
        out.append(f"CREATE {unique}INDEX {_quote(str(index.name))} ON {_quote(table.name)} ({cols});")
    return out


def _literal(value: Any, column) -> str:
    if value is None:
        return "NULL"
    if isinstance(column.type, JSON):
        value = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        value = value.strftime("%Y-%m-%d %H:%M:%S")
    return "'" + str(value).replace("'", "''") + "'"


def dump_sql(registry, *, header: Sequence[str] = ()) -> str:
    """The registry's schema and catalogue rows (not the audit trail) as portable SQL."""
    tables = [t for t in Base.metadata.sorted_tables if t.name not in SKIPPED_TABLES]
    out: list[str] = [
        "-- zoo registry: schema, built-in catalogue and its audit trail, portable SQL (SQLite and",
        "-- PostgreSQL), one transaction. Load: sqlite3 registry.db < registry.db.sql, or",
        "-- psql -v ON_ERROR_STOP=1 -f registry.db.sql; zoo adds the append-only triggers on first open.",
        "-- Regenerate with `zoo db dump`; do not edit by hand. A CI test checks it is current.",
        f"-- Schema revision: {SCHEMA_REVISION}. Documented in docs/schema.md.",
        f"-- Catalogue rows are stamped created_at {CATALOGUE_EPOCH:%Y-%m-%d %H:%M:%S} by "
        f"'{CATALOGUE_ACTOR}' (fixed, so the file is reproducible).",
    ]
    out += [f"-- {line}" for line in header]
    out += [
        "",
        "BEGIN;",
        "",
        'CREATE TABLE "alembic_version" (\n  "version_num" VARCHAR(32) NOT NULL,\n  PRIMARY KEY ("version_num")\n);',
        f'INSERT INTO "alembic_version" ("version_num") VALUES (\'{SCHEMA_REVISION}\');',
        "",
    ]
    for table in tables:
        out.append(create_table_sql(table))
        out += create_index_sql(table)
        out.append("")
    with registry.engine.connect() as conn:
        audit = Base.metadata.tables["audit_events"]
        _, legacy_head = _unkeyed_trail(
            conn.execute(select(*audit.columns).order_by(audit.c.seq)).all(), list(audit.columns)
        )
        for table in tables:
            order = list(table.primary_key.columns)
            columns = list(table.columns)
            rows = conn.execute(select(*columns).order_by(*order)).all()
            if table.name == "audit_events":
                rows, _ = _unkeyed_trail(rows, columns)
            if table.name == "zoo_settings":
                rows = [r for r in rows if r[0] in KEPT_SETTINGS]
                rows = [(k, legacy_head) if k == "audit_head" else (k, v) for k, v in rows]
            if not rows:
                continue
            names = ", ".join(_quote(c.name) for c in columns)
            out.append(f"-- {table.name}: {len(rows)} rows")
            for row in rows:
                values = ", ".join(_literal(v, c) for v, c in zip(row, columns, strict=True))
                out.append(f"INSERT INTO {_quote(table.name)} ({names}) VALUES ({values});")
            out.append("")
    out.append("COMMIT;")
    return "\n".join(out).rstrip("\n") + "\n"


def _unkeyed_trail(rows: Sequence[Any], columns: Sequence[Any]) -> tuple[list[tuple[Any, ...]], str]:
    """The trail re-chained with plain sha256 (no key): a key is a machine's secret and
    must not travel in a public file, and an HMAC under a throwaway key would verify
    nowhere. zoo seals such a trail with a keyed event when it first opens the loaded
    database (``audit.keyed``), as for trails written before audit keys."""
    from zoo.registry._chain import event_hash

    names = [c.name for c in columns]
    out, prev = [], None
    for row in rows:
        r = dict(zip(names, row, strict=True))
        r["prev_hash"] = prev if prev is not None else r["prev_hash"]
        r["hash"] = event_hash(
            r["prev_hash"],
            r["at"],
            r["actor"],
            r["action"],
            r["entity_type"],
            r["entity_key"],
            r["before_json"],
            r["after_json"],
            r["plugin"],
            r["plugin_version"],
        )
        r["key_id"] = None
        prev = r["hash"]
        out.append(tuple(r[n] for n in names))
    return out, prev or ""


def catalogue_registry(plugin_names: Sequence[str] = FIRST_PARTY_PLUGINS):
    """A fresh in-memory registry holding what the first-party plugins declare, written
    with a fixed clock and actor (deterministic). Strict: a broken first-party plugin
    must fail the dump, not silently shrink the catalogue."""
    from zoo.plugins import PluginHost, sync_registry
    from zoo.registry import Registry

    host = PluginHost(plugins=list(plugin_names), disable=(), strict=True)
    missing = sorted(set(plugin_names) - {i.name for i in host.plugins if i.loaded})
    if missing:
        from zoo.errors import ZooPluginError

        raise ZooPluginError(
            f"first-party plugins not installed: {', '.join(missing)}",
            hint="run `make setup` (installs plugins/* into .venv)",
        )
    registry = Registry("sqlite://", actor=CATALOGUE_ACTOR, clock=lambda: CATALOGUE_EPOCH)
    reports = sync_registry(registry, host, strict=True)
    return registry, host, reports


def catalogue_sql() -> str:
    registry, host, _ = catalogue_registry()
    versions = ", ".join(f"{i.name} {i.version}" for i in host.plugins if i.loaded and not i.core)
    try:
        return dump_sql(registry, header=[f"Built-in catalogue from the first-party plugins: {versions}."])
    finally:
        registry.close()

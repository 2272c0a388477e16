"""Read-only SQL (`zoo sql`, Registry.read_only_sql), `zoo audit` bad input, and SQL
injection through every filter — on SQLite and PostgreSQL. Whatever the statement, the
database session refuses to write: row counts and the audit chain never change."""

from __future__ import annotations

import json
import os
import time

import pytest
from sqlalchemy import text

from zoo.cli import main
from zoo.errors import (
    ZooNotFoundError,
    ZooQueryError,
    ZooQueryTimeoutError,
    ZooReadOnlyError,
    ZooValidationError,
)
from zoo.records import ParentLink, Weights
from zoo.testing import make_weights

TABLES = (
    "families",
    "weights",
    "sources",
    "datasets",
    "weights_datasets",
    "metrics",
    "card_sections",
    "lineage",
    "tags",
    "aliases",
    "audit_events",
    "zoo_settings",
)


@pytest.fixture
def filled(registry, resnet_family):
    registry.add_family(resnet_family)
    registry.register(make_weights())
    registry.register(Weights("resnet50", name="team/digits", parents=[ParentLink("resnet50.tv_in1k")]))
    registry.set_alias("team/digits", "prod")
    return registry


def snapshot(registry) -> dict:
    """Every table's row count, the audit chain head and whether the chain verifies."""
    with registry.engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in TABLES}
        settings = dict(conn.execute(text("SELECT key, value FROM zoo_settings")).all())
    verification = registry.verify_audit()
    assert verification.ok, verification.problems
    return {"counts": counts, "settings": settings, "events": verification.events}


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch):
    monkeypatch.setenv("COLUMNS", "500")  # rich wraps error messages at 80 columns otherwise


def cli(registry, *args: str) -> tuple[int, str, str]:
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--registry", registry.url, *args])
    return code, out.getvalue(), err.getvalue()


# -- reading ---------------------------------------------------------------------------------


def test_select_with_columns_params_and_truncation(filled):
    result = filled.read_only_sql("SELECT name, version FROM weights ORDER BY name")
    assert result.columns == ("name", "version")
    assert result.rows == (("resnet50.tv_in1k", 1), ("team/digits", 1))
    bound = filled.read_only_sql(
        "SELECT name FROM weights WHERE name LIKE 'res%' AND license_spdx = :spdx", {"spdx": "BSD-3-Clause"}
    )
    assert bound.rows == (("resnet50.tv_in1k",),)
    # A bound value is data, never SQL.
    assert filled.read_only_sql("SELECT name FROM weights WHERE name = :n", {"n": "' OR '1'='1"}).rows == ()
    capped = filled.read_only_sql("SELECT seq FROM audit_events ORDER BY seq", max_rows=2)
    assert len(capped.rows) == 2 and capped.truncated
    assert not filled.read_only_sql("SELECT 1 AS one", max_rows=5).truncated


WRITES = [
    "INSERT INTO zoo_settings (key, value) VALUES ('x', 'y')",
    "UPDATE weights SET license_spdx = 'MIT'",
    "DELETE FROM weights",
    "DELETE FROM audit_events",
    "UPDATE zoo_settings SET value = 'x' WHERE key = 'audit_head'",
    "DROP TABLE lineage",
    "CREATE TABLE evil (a INTEGER)",
    "CREATE TEMP TABLE evil (a INTEGER)",
    "CREATE INDEX ix_evil ON weights (publisher)",
    "WITH doomed AS (SELECT id FROM aliases) DELETE FROM aliases WHERE id IN (SELECT id FROM doomed)",
]


def test_every_write_is_refused_by_the_database_and_nothing_changes(filled):
    before = snapshot(filled)
    for statement in WRITES:
        with pytest.raises(ZooReadOnlyError) as err:
            filled.read_only_sql(statement)
        assert "read-only" in err.value.message and "Nothing was written" in err.value.hint, statement
    for statement in (
        "SELECT 1; DELETE FROM weights",
        "SELECT 1; COMMIT; DELETE FROM weights",
        "SELECT 1; DROP TABLE weights; --",
    ):
        with pytest.raises(ZooQueryError, match="exactly one SQL statement"):
            filled.read_only_sql(statement)
    assert snapshot(filled) == before
    # The registry still writes normally afterwards (no lock or state left behind).
    filled.add_bias_note("team/digits", "Digits are 8x8 greyscale scans.")
    assert snapshot(filled)["events"] == before["events"] + 1


def test_sqlite_session_cannot_escape(filled, tmp_path):
    if filled.dialect != "sqlite":
        pytest.skip("SQLite only")
    before = snapshot(filled)
    # Anything that is not one statement that reads is refused, even what would do nothing.
    for statement in (
        f"ATTACH DATABASE '{tmp_path / 'other.db'}' AS other",
        "DETACH DATABASE main",
        f"VACUUM INTO '{tmp_path / 'copy.db'}'",
        "VACUUM",
        "PRAGMA user_version = 7",
        "PRAGMA query_only = OFF",
        "PRAGMA table_info(weights)",
        "SAVEPOINT s",
        "RELEASE s",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "ANALYZE",
        "REINDEX",
        "-- only a comment",
    ):
        with pytest.raises(ZooReadOnlyError, match="read-only") as err:
            filled.read_only_sql(statement)
        assert "Nothing was written" in err.value.hint, statement
    assert not (tmp_path / "other.db").exists() and not (tmp_path / "copy.db").exists()
    with pytest.raises(ZooReadOnlyError, match="PRAGMA"):
        filled.read_only_sql("PRAGMA query_only = OFF")
    assert filled.read_only_sql(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT group_concat(i) FROM n"
    ).rows == (("1,2,3",),)
    with pytest.raises(ZooReadOnlyError):
        filled.read_only_sql("DELETE FROM weights")
    assert snapshot(filled) == before


def test_postgresql_session_cannot_escape(filled):
    if filled.dialect != "postgresql":
        pytest.skip("PostgreSQL only")
    before = snapshot(filled)
    for statement in (
        "SET TRANSACTION READ WRITE",
        "SET default_transaction_read_only = off",
        "RESET ROLE",
        "SET ROLE postgres",
        "SET SESSION AUTHORIZATION postgres",
        "DELETE FROM weights",
        "DO $$ BEGIN PERFORM 1; END $$",
        "LOCK TABLE zoo_settings IN EXCLUSIVE MODE",
        "SELECT nextval(pg_get_serial_sequence('weights', 'id'))",
    ):
        with pytest.raises(ZooReadOnlyError, match="read-only"):
            filled.read_only_sql(statement)
    # A session-level advisory lock does not outlive the call.
    with pytest.raises(ZooQueryError, match="pseudo-type void"):
        filled.read_only_sql("SELECT pg_advisory_lock(hashtext(current_schema()))")
    filled.read_only_sql("SELECT pg_advisory_lock(hashtext(current_schema()))::text")
    with filled.engine.connect() as conn:
        assert conn.execute(text("SELECT pg_try_advisory_lock(hashtext(current_schema()))")).scalar()
        conn.execute(text("SELECT pg_advisory_unlock(hashtext(current_schema()))"))
        conn.rollback()
    assert snapshot(filled) == before


def test_postgresql_statement_cannot_act_even_with_a_superuser_url(filled, tmp_path):
    if filled.dialect != "postgresql":
        pytest.skip("PostgreSQL only")
    with filled.engine.connect() as conn:
        assert conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar()
    before = snapshot(filled)
    target = f"/tmp/zoo-sql-{tmp_path.name}.txt"
    for statement in (
        f"COPY (SELECT name FROM weights) TO '{target}'",
        "SELECT pg_read_file('/etc/hostname')",
        "SELECT pg_ls_dir('.')",
        "SELECT lo_import('/etc/hostname')",
        "SELECT set_config('role', 'postgres', true), pg_read_file('/etc/hostname')",
        "SELECT set_config('role', 'postgres', true), query_to_xml('SELECT pg_read_file(''/etc/hostname'')', "
        "true, false, '')",
        "SELECT set_config('session_authorization', 'postgres', true)",
        "SELECT * FROM pg_catalog.pg_authid",
    ):
        with pytest.raises(ZooReadOnlyError, match="read-only"):
            filled.read_only_sql(statement)
    assert not os.path.exists(target)
    assert filled.read_only_sql("SELECT current_user").rows[0][0].startswith("zoo_sql_reader_")
    # Another session cannot be signalled.
    with filled.engine.connect() as victim:
        pid = victim.execute(text("SELECT pg_backend_pid()")).scalar()
        with pytest.raises(ZooReadOnlyError):
            filled.read_only_sql(f"SELECT pg_terminate_backend({pid})")
        assert victim.execute(text("SELECT 1")).scalar() == 1
    # An advisory lock held on the old write-lock key does not stop a writer.
    with filled.engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(hashtext(current_schema()))"))
        filled.add_bias_note("team/digits", "Digits are 8x8 greyscale scans.")
        holder.execute(text("SELECT pg_advisory_unlock_all()"))
        holder.rollback()
    assert snapshot(filled)["events"] == before["events"] + 1
    # Typed values, and the statement's own column names
    result = filled.read_only_sql(
        "SELECT name, version, created_at, 1.5::numeric AS n FROM weights ORDER BY name LIMIT 1"
    )
    assert result.columns == ("name", "version", "created_at", "n")
    assert isinstance(result.rows[0][1], int) and hasattr(result.rows[0][2], "year")


def test_postgresql_reader_role_is_made_by_upgrade(filled):
    if filled.dialect != "postgresql":
        pytest.skip("PostgreSQL only")
    with filled.engine.begin() as conn:
        conn.execute(text("DROP FUNCTION zoo_sql_run(text)"))
    with pytest.raises(Exception, match="zoo db upgrade"):
        filled.read_only_sql("SELECT 1")
    assert main(["--registry", filled.url, "db", "upgrade"]) == 0
    assert filled.read_only_sql("SELECT count(*) FROM weights").rows == ((2,),)


def test_errors_are_typed_and_say_what_the_database_said(filled):
    with pytest.raises(ZooQueryError, match="(?i)syntax error") as err:
        filled.read_only_sql("SELEC name FROM weights")
    assert "docs/schema.md" in err.value.hint
    with pytest.raises(ZooQueryError, match="no_such_table|no such table|does not exist"):
        filled.read_only_sql("SELECT * FROM no_such_table")
    with pytest.raises(ZooQueryError) as err:
        filled.read_only_sql("SELECT name FROM weights WHERE name = :name")
    assert "--param" in err.value.hint
    for bad in (
        {"statement": ""},
        {"statement": "SELECT 1", "timeout": 0},
        {"statement": "SELECT 1", "max_rows": -1},
        {"statement": "SELECT 1", "params": ["x"]},
    ):
        with pytest.raises(ZooValidationError):
            filled.read_only_sql(**bad)


def test_a_runaway_statement_is_cancelled(filled):
    before = snapshot(filled)
    started = time.monotonic()
    with pytest.raises(ZooQueryTimeoutError, match="longer than 0.3 s") as err:
        filled.read_only_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT COUNT(*) FROM n", timeout=0.3
        )
    assert time.monotonic() - started < 10
    assert "--timeout" in err.value.hint
    assert snapshot(filled) == before


# -- the CLI ---------------------------------------------------------------------------------


def test_zoo_sql_cli(filled):
    code, out, _ = cli(filled, "sql", "SELECT name, version FROM weights ORDER BY name", "--json")
    assert code == 0 and json.loads(out) == [
        {"name": "resnet50.tv_in1k", "version": 1},
        {"name": "team/digits", "version": 1},
    ]
    code, out, _ = cli(filled, "sql", "SELECT alias FROM aliases WHERE name = :n", "-p", "n=team/digits", "--csv")
    assert code == 0 and out.splitlines() == ["alias", "prod"]
    code, out, err = cli(filled, "sql", "SELECT seq FROM audit_events", "--max-rows", "1", "--json")
    assert code == 0 and len(json.loads(out)) == 1 and "only the first 1 rows" in err
    before = snapshot(filled)
    code, _, err = cli(filled, "sql", "DROP TABLE weights")
    assert code == 1 and "read-only" in err and "Nothing was written" in " ".join(err.split())
    code, _, err = cli(filled, "sql", "SELECT 1", "-p", "novalue")
    assert code == 2 and "NAME=VALUE" in err
    assert snapshot(filled) == before


def test_zoo_audit_bad_input(filled):
    code, _, err = cli(filled, "audit", "licence")
    assert code == 1 and "unknown audit query 'licence'" in err and "'licences'" in err
    code, _, err = cli(filled, "audit", "verfy")
    assert code == 1 and "'verify'" in err
    code, _, err = cli(filled, "audit", "history", "--since", "yesterday")
    assert code == 1 and "'yesterday' is not a date" in err and "ISO 8601" in " ".join(err.split())
    code, _, err = cli(filled, "audit", "lineage")
    assert code == 2


# -- injection through filters ----------------------------------------------------------------

PAYLOADS = ["' OR '1'='1", "x'; DROP TABLE weights; --", "%", "_", "resnet50.tv_in1k' --"]


def test_filter_values_are_never_sql(filled):
    before = snapshot(filled)
    for payload in PAYLOADS:
        for kwargs in (
            {"pattern": payload},
            {"dataset": payload},
            {"license": payload},
            {"tag": payload},
            {"arch": payload},
            {"task": payload},
        ):
            assert filled.search(**kwargs).total == 0, (payload, kwargs)
        with pytest.raises(ZooNotFoundError, match="unknown dataset"):  # said, not 0 rows
            filled.audit_query("trained-on", dataset=payload)
        assert filled.audit_query("history", actor=payload).rows == ()
        assert filled.audit_query("history", action=payload).rows == ()
        with pytest.raises((ZooNotFoundError, ZooValidationError)):
            filled.audit_query("lineage", model=payload)
        assert filled.history(actor=payload) == [] and filled.history(action=payload) == []
    # Through the command line too.
    for payload in PAYLOADS[:3]:
        for args in (
            ["list", payload],
            ["list", "--dataset", payload],
            ["list", "--license", payload],
            ["list", "--tag", payload],
        ):
            code, out, _ = cli(filled, *args, "--json", "--no-sync")
            assert code == 0 and json.loads(out)["total"] == 0, args
        for args in (["audit", "history", "--actor", payload], ["audit", "history", "--action", payload]):
            code, out, _ = cli(filled, *args, "--json")
            assert code == 0 and json.loads(out) == [], args
        code, _, err = cli(filled, "audit", "trained-on", payload)
        assert code == 1 and "unknown dataset" in err
        code, _, err = cli(filled, "audit", "lineage", payload)
        assert code == 1 and "unknown" in err
    assert snapshot(filled) == before
    assert filled.search().total == 2  # the data is all still there


@pytest.mark.parametrize("createrole", [False, True])
def test_postgresql_registry_of_a_user_who_is_not_superuser(pg_schema_url, createrole):
    import uuid

    from sqlalchemy import create_engine

    from zoo.registry import Registry
    from zoo.registry._readonly import reader_role

    user = f"zoo_test_user_{uuid.uuid4().hex[:8]}"
    schema = pg_schema_url.rsplit("%3D", 1)[1]
    admin = create_engine(pg_schema_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{user}" LOGIN {"CREATEROLE" if createrole else ""}'))
        conn.execute(text(f'ALTER SCHEMA "{schema}" OWNER TO "{user}"'))  # an application's own schema
    url = pg_schema_url.replace("postgres@", f"{user}@", 1)
    try:
        with Registry(url, actor="tester@zoo") as reg:
            reg.set_audited_setting("k", "v")
            assert reg.verify_audit().ok
            if createrole:
                assert reg.read_only_sql("SELECT count(*) FROM audit_events").rows == ((1,),)
                with pytest.raises(ZooReadOnlyError):
                    reg.read_only_sql("SELECT set_config('role', :u, true)", {"u": user})
            else:  # the registry works; `zoo sql` says what is missing
                with pytest.raises(Exception, match="zoo db upgrade"):
                    reg.read_only_sql("SELECT 1")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))  # the fixture drops it again
            database = conn.execute(text("SELECT current_database()")).scalar_one()
            conn.execute(text(f'DROP ROLE IF EXISTS "{reader_role(database, schema)}"'))
            conn.execute(text(f'DROP OWNED BY "{user}"'))
            conn.execute(text(f'DROP ROLE "{user}"'))
        admin.dispose()


# -- typed parameters, NULL, times ------------------------------------------------------


def test_the_documented_history_query_runs_with_typed_and_null_parameters(filled):
    """`zoo sql - -p ...` on the `history` query: NULL-tested parameters are typed, so
    PostgreSQL accepts them; `-p x=` binds NULL (not '')."""
    import contextlib
    import io
    import sys

    from zoo.registry.queries import HISTORY

    def run(*params: str) -> list[dict]:
        out, err = io.StringIO(), io.StringIO()
        stdin, sys.stdin = sys.stdin, io.StringIO(HISTORY.sql)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(["--registry", filled.url, "sql", "-", *params, "--json"])
        finally:
            sys.stdin = stdin
        assert code == 0, err.getvalue()
        return json.loads(out.getvalue())

    everything = run("-p", "actor=", "-p", "action=", "-p", "since=", "-p", "until=")
    assert everything == run("-p", "actor:text=", "-p", "action=", "-p", "since:timestamp=", "-p", "until=")
    assert len(everything) == len(filled.history()) > 0
    actor = filled.history()[0].actor
    mine = run("-p", f"actor={actor}", "-p", "action=weights.%", "-p", "since=2000-01-01", "-p", "until=")
    assert mine and {e["actor"] for e in mine} == {actor}
    assert all(e["action"].startswith("weights.") for e in mine)
    assert run("-p", "actor=", "-p", "action=", "-p", "since=2999-01-01", "-p", "until:timestamp=") == []
    # '' would match no actor; NULL matches every one
    code, out, _ = cli(filled, "sql", "SELECT COUNT(*) AS n FROM weights WHERE :p IS NULL", "-p", "p:text=", "--json")
    assert code == 0 and json.loads(out) == [{"n": filled.count()}]
    code, _, err = cli(filled, "sql", "SELECT 1 WHERE :p = 1", "-p", "p:complex=1")
    assert code == 1 and "unknown type" in err


def test_times_print_the_same_on_both_databases(filled):
    code, out, _ = cli(filled, "sql", "SELECT at FROM audit_events ORDER BY seq LIMIT 1", "--json")
    assert code == 0
    (row,) = json.loads(out)
    event = filled.history()[0]
    assert row["at"] == event.at.isoformat(timespec="microseconds")  # ISO 8601, 'T', microseconds
    code, out, _ = cli(filled, "sql", "SELECT created_at FROM weights ORDER BY id LIMIT 1", "--csv")
    assert out.splitlines()[1].count("T") == 1 and len(out.splitlines()[1]) == 26


def test_history_json_has_the_same_keys_from_both_commands(filled):
    code, mine, _ = cli(filled, "history", "team/digits", "--json")
    assert code == 0
    code, audit, _ = cli(filled, "audit", "history", "--json")
    assert code == 0
    mine, audit = json.loads(mine), json.loads(audit)
    assert mine and set(mine[0]) == set(audit[0])
    by_seq = {e["seq"]: e for e in audit}
    assert all(by_seq[e["seq"]] == e for e in mine)  # the same event, said the same way

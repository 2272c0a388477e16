"""registry.db.sql is current, deterministic, and loads into SQLite and PostgreSQL."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from zoo.registry.dump import catalogue_sql

ROOT = Path(__file__).resolve().parents[1]
CHECKED_IN = ROOT / "registry.db.sql"


@pytest.fixture(scope="module")
def generated() -> str:
    return catalogue_sql()


def test_registry_db_sql_is_current(generated):
    assert CHECKED_IN.exists(), "registry.db.sql is missing: run `zoo db dump`"
    assert CHECKED_IN.read_text(encoding="utf-8") == generated, (
        "registry.db.sql is stale: run `zoo db dump` and review the diff"
    )


def test_dump_is_deterministic(generated):
    assert catalogue_sql() == generated


def _counts(generated: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in re.findall(r'^INSERT INTO "(\w+)"', generated, flags=re.M):
        counts[table] = counts.get(table, 0) + 1
    return counts


def test_catalogue_holds_the_first_party_plugins(generated):
    counts = _counts(generated)
    assert counts["weights"] > 100 and counts["families"] > 30
    for publisher_plugin in ("'torchvision'", "'timm'", "'transformers'"):
        assert publisher_plugin in generated
    # Every catalogue weights record comes with at least one bias or limitation note.
    assert counts["card_sections"] >= counts["weights"]


def test_loads_into_sqlite(generated, tmp_path):
    conn = sqlite3.connect(tmp_path / "catalogue.db")
    conn.executescript(generated)
    expected = _counts(generated)
    for table, count in expected.items():
        assert conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] == count
    # An audit question over the loaded file: weights with no bias / limitation note of
    # their own, of an ancestor, or of a dataset in their training lineage.
    from zoo.registry.queries import MISSING_BIAS_NOTES

    assert conn.execute(MISSING_BIAS_NOTES.sql).fetchall() == []
    conn.close()


def test_is_one_transaction_with_schema_revision_and_audit_trail(generated):
    from zoo.registry.schema import SCHEMA_REVISION

    assert generated.index("\nBEGIN;\n") < generated.index("CREATE TABLE") and generated.rstrip().endswith("COMMIT;")
    assert f'INSERT INTO "alembic_version" ("version_num") VALUES (\'{SCHEMA_REVISION}\')' in generated
    counts = _counts(generated)
    declared = generated.count("'dataset.register'")
    assert declared > 10 and counts["audit_events"] == counts["weights"] + counts["families"] + declared
    assert counts["dataset_notes"] > 0


def _open_loaded(url: str) -> None:
    """zoo opens a database loaded from registry.db.sql as its registry: the audit
    chain verifies, the append-only triggers are added, and a write is audited."""
    from sqlalchemy import text

    from zoo.registry import Registry

    with Registry(url, actor="auditor@zoo") as registry:
        assert registry.count() == _counts(CHECKED_IN.read_text(encoding="utf-8"))["weights"]
        assert registry.verify_audit().ok
        registry.add_bias_note("resnet50", "checked after loading the dump", severity="low")
        assert registry.verify_audit().ok
        with pytest.raises(Exception, match="append-only"):
            with registry.engine.begin() as conn:
                conn.execute(text("DELETE FROM audit_events"))
        assert registry.dataset("imagenet-1k").dataset.terms.commercial_use.value == "forbidden"


def test_zoo_opens_the_sqlite_file_loaded_from_it(generated, tmp_path):
    import subprocess
    import time

    path = tmp_path / "loaded.db"
    started = time.perf_counter()
    subprocess.run(["sqlite3", str(path)], input=CHECKED_IN.read_bytes(), check=True)
    assert time.perf_counter() - started < 10  # one transaction: ~0.2 s (was 10-100 s row by row)
    _open_loaded(f"sqlite:///{path}")


def test_zoo_opens_the_postgresql_schema_loaded_from_it(generated, pg_schema_url):
    from sqlalchemy import create_engine

    engine = create_engine(pg_schema_url)
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cursor:
            cursor.execute(CHECKED_IN.read_text(encoding="utf-8"))
        raw.commit()
    engine.dispose()
    _open_loaded(pg_schema_url)


def test_a_failed_load_leaves_nothing(tmp_path):
    broken = CHECKED_IN.read_text(encoding="utf-8").replace("COMMIT;", "INSERT INTO nowhere VALUES (1);\nCOMMIT;")
    path = tmp_path / "broken.db"
    conn = sqlite3.connect(path, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError):
        conn.executescript(broken)
    conn.execute("ROLLBACK")
    assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    conn.close()


def test_a_refused_sqlite_file_is_left_byte_for_byte(tmp_path):
    import hashlib

    from zoo.errors import ZooRegistryError
    from zoo.registry import Registry

    path = tmp_path / "mine.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('mine')")
    conn.commit()
    conn.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ZooRegistryError, match="not a zoo registry"):
        Registry(f"sqlite:///{path}")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.db"]  # no -wal / -shm left behind


def test_loads_into_postgresql(generated, pg_schema_url):
    from sqlalchemy import create_engine

    engine = create_engine(pg_schema_url)
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cursor:
            cursor.execute(generated)
        raw.commit()
        for table, count in _counts(generated).items():
            with raw.cursor() as cursor:
                cursor.execute(f'SELECT count(*) FROM "{table}"')
                assert cursor.fetchone()[0] == count
    engine.dispose()

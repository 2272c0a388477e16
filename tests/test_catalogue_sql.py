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
        "registry.db.sql is stale: run `zoo db dump` and review the diff")


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
    # An audit question over the loaded file: weights with no bias / limitation note.
    missing = conn.execute(
        "SELECT count(*) FROM weights w WHERE NOT EXISTS (SELECT 1 FROM card_sections c "
        "WHERE c.weights_id = w.id AND c.kind IN ('bias_risks', 'limitations'))").fetchone()[0]
    assert missing == 0
    conn.close()


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

"""The schema: the Alembic migration creates exactly the SQLAlchemy models on both
dialects; databases that are not zoo's, or come from a newer zoo, are refused without
being touched; upgrading is idempotent; the registry never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from zoo.errors import ZooRegistryError
from zoo.registry import Registry
from zoo.registry.schema import SCHEMA_REVISION, Base
from zoo.testing import make_weights


def test_migration_yields_exactly_the_models(registry):
    with registry.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
        assert diffs == []
        inspector = inspect(conn)
        tables = set(inspector.get_table_names())
        assert tables == set(Base.metadata.tables) | {"alembic_version"}
        # Alembic does not compare CHECK constraints: the closed vocabularies must be there too.
        for name, table in Base.metadata.tables.items():
            expected = {c.name for c in table.constraints if c.__class__.__name__ == "CheckConstraint"}
            found = {c["name"] for c in inspector.get_check_constraints(name)}
            assert found == expected, name
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == SCHEMA_REVISION


def test_check_constraints_refuse_bad_values_from_raw_sql(registry, resnet_family):
    registry.add_family(resnet_family)
    registry.register(make_weights())
    for statement in (
        "UPDATE weights SET status = 'gone'",
        "UPDATE weights SET commercial_use = 'maybe'",
        "UPDATE weights SET sha256 = 'abc'",
        "UPDATE card_sections SET severity = 'critical'",
        "UPDATE weights_datasets SET role = 'training'",
    ):
        with pytest.raises(Exception, match="(?i)check"):
            with registry.engine.begin() as conn:
                conn.execute(text(statement))
    assert registry.resolve("resnet50").weights.status.value == "active"


def test_upgrade_is_idempotent(registry, resnet_family):
    registry.add_family(resnet_family)
    registry.register(make_weights())
    assert registry.upgrade() == SCHEMA_REVISION
    assert registry.upgrade() == SCHEMA_REVISION
    # Reopening an up-to-date registry changes nothing either.
    with Registry(registry.url, actor="other") as again:
        assert again.upgrade() == SCHEMA_REVISION
        assert again.resolve("resnet50").ref == "resnet50.tv_in1k"
    assert registry.count() == 1
    result = registry.verify_audit()
    assert result.ok and result.events == 2
    with registry.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM zoo_settings")).scalar_one() == 2


def test_open_without_create_refuses_an_empty_database(registry_url):
    with pytest.raises(ZooRegistryError, match="empty"):
        Registry(registry_url, create=False)
    with Registry(registry_url) as reg:  # now created
        pass
    with Registry(registry_url, create=False) as reg:
        assert reg.count() == 0


def test_a_file_that_is_not_sqlite_is_refused(tmp_path):
    path = tmp_path / "notes.db"
    content = b"this is a text file, not a database\n" * 200
    path.write_bytes(content)
    with pytest.raises(ZooRegistryError, match="not a zoo registry") as exc:
        Registry(f"sqlite:///{path}")
    assert exc.value.hint
    assert path.read_bytes() == content
    with pytest.raises(ZooRegistryError):
        Registry(str(path))  # a plain path means the same file


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(ZooRegistryError, match="directory"):
        Registry(f"sqlite:///{tmp_path}")


def test_unsupported_database_is_refused():
    with pytest.raises(ZooRegistryError, match="unsupported"):
        Registry("mysql://user@localhost/db")


def _raw_engine(url: str):
    from zoo.registry._engine import normalize_url

    return create_engine(normalize_url(url))


def test_a_database_with_unrelated_tables_is_refused(registry_url):
    engine = _raw_engine(registry_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)"))
        conn.execute(text("INSERT INTO customers VALUES (1, 'ada')"))
    with pytest.raises(ZooRegistryError, match="not a zoo registry") as exc:
        Registry(registry_url)
    assert "customers" in str(exc.value)
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) == {"customers"}  # nothing created
    engine.dispose()


def test_zoo_like_tables_without_the_marker_are_refused(registry_url):
    Registry(registry_url).close()
    engine = _raw_engine(registry_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE zoo_settings SET value = 'other-app' WHERE key = 'application'"))
    with pytest.raises(ZooRegistryError, match="application marker"):
        Registry(registry_url)
    engine.dispose()


def test_a_registry_from_a_newer_zoo_is_refused(registry_url, resnet_family):
    with Registry(registry_url, actor="old") as reg:
        reg.add_family(resnet_family)
        reg.register(make_weights())
    engine = _raw_engine(registry_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(ZooRegistryError, match="newer zoo") as exc:
        Registry(registry_url)
    assert "9999_future" in str(exc.value) and "upgrade zoo" in (exc.value.hint or "")
    with engine.connect() as conn:  # left as it was
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "9999_future"
        assert conn.execute(text("SELECT count(*) FROM weights")).scalar_one() == 1
    engine.dispose()


def test_registry_use_imports_no_torch(registry_url):
    script = textwrap.dedent(f"""
        import json, sys
        from zoo.registry import Registry
        from zoo.records import Family, License, Source, Weights, DatasetUse, CardSection
        reg = Registry({registry_url!r}, actor="ci")
        reg.add_family(Family(name="resnet50", modality="vision", builder="torchvision.models:resnet50",
                              default_tag="tv_in1k"))
        reg.register(Weights(arch="resnet50", tag="tv_in1k", sources=(Source("https://x.org/w.pth"),),
                             license=License("BSD-3-Clause", "unknown"),
                             datasets=(DatasetUse("imagenet-1k"),),
                             card=(CardSection("bias_risks", "skewed"),)))
        reg.register(Weights(arch="resnet50", name="team/digits"))
        found = reg.search("resnet50*", dataset="imagenet-1k")
        info = reg.resolve("resnet50")
        reg.set_alias("team/digits", "prod", 1)
        reg.history("team/digits")
        ok = reg.verify_audit().ok
        heavy = sorted(m for m in sys.modules
                       if m.split(".")[0] in ("torch", "torchvision", "timm", "transformers", "numpy"))
        print(json.dumps({{"total": found.total, "ref": info.ref, "ok": ok, "heavy": heavy}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"total": 1, "ref": "resnet50.tv_in1k", "ok": True, "heavy": []}

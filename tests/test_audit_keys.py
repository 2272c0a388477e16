"""The keyed audit trail: hashed fields typed before hashing, overwrites refused by the
database, a missing or stale head caught, HMAC keys outside the database (rotation,
permissions), checkpoints kept elsewhere, and registries from before audit keys."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat

import pytest
from sqlalchemy import text

from zoo.errors import ZooAuditError, ZooValidationError
from zoo.registry import Registry
from zoo.registry._chain import event_hash
from zoo.testing import make_family, make_weights


@pytest.fixture
def keyed(registry_url, resnet_family, tmp_path, monkeypatch):
    monkeypatch.delenv("ZOO_AUDIT_KEY", raising=False)
    monkeypatch.setenv("ZOO_AUDIT_KEY_FILE", str(tmp_path / "keys" / "audit.key"))
    reg = Registry(registry_url, actor="tester@zoo")
    reg.add_family(resnet_family)
    reg.register(make_weights())
    reg.register(make_weights(tag=None, name="team/a"))
    yield reg
    reg.close()


def rows(reg: Registry) -> list:
    with reg.engine.connect() as conn:
        return conn.execute(text("SELECT * FROM audit_events ORDER BY seq")).all()


def run_sql(reg: Registry, sql: str, params: dict | None = None, *, replica: bool = False) -> None:
    with reg.engine.begin() as conn:
        if replica and reg.dialect == "postgresql":  # a superuser who bypasses the triggers
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        elif replica:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
        conn.execute(text(sql), params or {})


# -- hashed fields are typed before hashing ------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [("actor", 5), ("plugin", 5), ("plugin_version", 1.5), ("actor", ""), ("actor", "a\x00b"), ("actor", "x" * 201)],
)
def test_bad_hashed_field_is_refused_before_anything_is_written(keyed, field, value):
    before = len(rows(keyed))
    with pytest.raises(ZooValidationError, match=field):
        keyed.register(make_weights(tag=None, name="team/b"), **{field: value})
    assert len(rows(keyed)) == before and not keyed.exists("team/b")
    keyed.register(make_weights(tag=None, name="team/b"), actor="alice@zoo")
    assert keyed.verify_audit().ok


def test_registry_actor_is_checked_when_opened(registry_url):
    with pytest.raises(ZooValidationError, match="actor"):
        Registry(registry_url, actor=5)


# -- the database refuses overwrites -------------------------------------------------------


def _copy_of_event(reg: Registry, number: int, **changes) -> dict:
    row = rows(reg)[number - 1]._asdict()
    row.update(changes)
    return row


_COLUMNS = (
    "seq, at, actor, action, entity_type, entity_key, before_json, after_json, plugin, plugin_version, "
    "prev_hash, hash, key_id"
)
_VALUES = ", ".join(":" + c.strip() for c in _COLUMNS.split(","))


@pytest.mark.parametrize("verb", ["INSERT OR REPLACE", "REPLACE"])
@pytest.mark.parametrize("clash", ["seq", "hash"])
def test_sqlite_replace_into_the_trail_is_refused(keyed, verb, clash):
    if keyed.dialect != "sqlite":
        pytest.skip("REPLACE is SQLite's")
    changes = {"actor": "mallory"} | ({"seq": 999} if clash == "hash" else {"hash": "ab" * 32})
    event = _copy_of_event(keyed, 2, **changes)
    with pytest.raises(Exception, match="append-only"):
        run_sql(keyed, f"{verb} INTO audit_events ({_COLUMNS}) VALUES ({_VALUES})", event)
    assert rows(keyed)[1].actor == "tester@zoo" and keyed.verify_audit().ok


def test_upsert_into_the_trail_is_refused(keyed):
    event = _copy_of_event(keyed, 2, actor="mallory", hash="ab" * 32)
    with pytest.raises(Exception, match="append-only"):
        run_sql(
            keyed,
            f"INSERT INTO audit_events ({_COLUMNS}) VALUES ({_VALUES}) "
            "ON CONFLICT (seq) DO UPDATE SET actor = excluded.actor",
            event,
        )
    assert rows(keyed)[1].actor == "tester@zoo" and keyed.verify_audit().ok


# -- the chain head ------------------------------------------------------------------------


def test_missing_head_fails_verify_and_refuses_the_next_write(keyed):
    last = rows(keyed)[-1].seq
    run_sql(keyed, "DELETE FROM audit_events WHERE seq = :s", {"s": last}, replica=True)
    run_sql(keyed, "DELETE FROM zoo_settings WHERE key = 'audit_head'")
    result = keyed.verify_audit()
    assert not result.ok and any("head" in p and "missing" in p for p in result.problems)
    with pytest.raises(ZooAuditError, match="head .*missing"):
        keyed.register(make_weights(tag=None, name="team/c"))
    assert not keyed.exists("team/c")


def test_stale_head_fails_verify_and_refuses_the_next_write(keyed):
    first = rows(keyed)[0]
    run_sql(keyed, "UPDATE zoo_settings SET value = :h WHERE key = 'audit_head'", {"h": first.hash})
    assert any("not the newest event" in p for p in keyed.verify_audit().problems)
    with pytest.raises(ZooAuditError, match="not its newest event"):
        keyed.set_alias("team/a", "prod")


# -- the key -------------------------------------------------------------------------------


def test_events_are_signed_and_the_key_file_is_private(keyed, tmp_path):
    path = tmp_path / "keys" / "audit.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key_ids = {r.key_id for r in rows(keyed)}
    assert len(key_ids) == 1 and None not in key_ids
    assert keyed.history()[0].key_id in key_ids
    result = keyed.verify_audit()
    assert result.ok and result.keyed == 3 and result.legacy == 0


def test_appended_or_recomputed_events_without_the_key_fail(keyed):
    last = rows(keyed)[-1]
    at = dt.datetime(2024, 1, 1)
    forged = event_hash(
        last.hash,
        at,
        "mallory",
        "weights.register",
        "weights",
        "evil/x",
        None,
        None,
        None,
        None,
        seq=last.seq + 1,
        key=b"guessed-key-guessed-key",
    )
    run_sql(
        keyed,
        f"INSERT INTO audit_events ({_COLUMNS}) VALUES ({_VALUES})",
        dict(
            seq=last.seq + 1,
            at=at,
            actor="mallory",
            action="weights.register",
            entity_type="weights",
            entity_key="evil/x",
            before_json=None,
            after_json=None,
            plugin=None,
            plugin_version=None,
            prev_hash=last.hash,
            hash=forged,
            key_id=last.key_id,
        ),
    )
    run_sql(keyed, "UPDATE zoo_settings SET value = :h WHERE key = 'audit_head'", {"h": forged})
    problems = keyed.verify_audit().problems
    assert problems == (
        f"event {last.seq + 1}: content does not match its signature (edited, or written without the audit key)",
    )


def test_whole_chain_recomputed_without_the_key_fails(keyed):
    prev = "0" * 64
    for row in rows(keyed):
        at = row.at if isinstance(row.at, dt.datetime) else dt.datetime.fromisoformat(row.at)
        digest = event_hash(
            prev,
            at,
            row.actor,
            row.action,
            row.entity_type,
            row.entity_key,
            row.before_json,
            row.after_json,
            row.plugin,
            row.plugin_version,
        )
        run_sql(
            keyed,
            "UPDATE audit_events SET prev_hash = :p, hash = :h, key_id = NULL WHERE seq = :s",
            {"p": prev, "h": digest, "s": row.seq},
            replica=True,
        )
        prev = digest
    run_sql(keyed, "UPDATE zoo_settings SET value = :h WHERE key = 'audit_head'", {"h": prev})
    result = keyed.verify_audit()
    assert not result.ok and any("rewritten without the key" in p for p in result.problems)


def test_another_key_cannot_verify(keyed, monkeypatch, tmp_path):
    monkeypatch.setenv("ZOO_AUDIT_KEY", os.urandom(32).hex())
    result = keyed.verify_audit()
    assert not result.ok and any("not available" in p for p in result.problems)
    monkeypatch.setenv("ZOO_AUDIT_KEY", (tmp_path / "keys" / "audit.key").read_text().split()[-1])
    assert keyed.verify_audit().ok  # the same key given by the environment


def test_rotation_keeps_old_events_verifiable(keyed, tmp_path):
    from zoo.registry._keys import rotate_key

    old_id = rows(keyed)[0].key_id
    new_id, path = rotate_key()
    assert new_id != old_id and stat.S_IMODE(path.stat().st_mode) == 0o600
    keyed.set_alias("team/a", "prod")
    assert rows(keyed)[-1].key_id == new_id
    result = keyed.verify_audit()
    assert result.ok and result.key_ids == tuple(sorted({old_id, new_id}))
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    path.write_text(lines[0] + "\n")  # the old key lost
    assert any(old_id in p and "not available" in p for p in keyed.verify_audit().problems)


def test_key_file_readable_by_others_is_refused(keyed, tmp_path):
    path = tmp_path / "keys" / "audit.key"
    path.chmod(0o644)
    with pytest.raises(ZooAuditError, match="chmod 600"):
        keyed.set_alias("team/a", "prod")
    with pytest.raises(ZooAuditError, match="read by others"):
        keyed.verify_audit()


def test_malformed_key_is_refused(keyed, monkeypatch):
    monkeypatch.setenv("ZOO_AUDIT_KEY", "not-hex")
    with pytest.raises(ZooAuditError, match="hex digits"):
        keyed.set_alias("team/a", "prod")


# -- checkpoints ---------------------------------------------------------------------------


def test_checkpoint_catches_a_truncated_trail(keyed):
    checkpoint = keyed.audit_checkpoint()
    assert checkpoint["seq"] == rows(keyed)[-1].seq and checkpoint["hash"] == rows(keyed)[-1].hash
    assert keyed.verify_audit(checkpoint=checkpoint).ok
    keyed.set_alias("team/a", "prod")
    assert keyed.verify_audit(checkpoint=checkpoint).ok  # later events are fine
    # Remove the newest events and point the head at what is left: only the checkpoint knows.
    keep = rows(keyed)[0]
    run_sql(keyed, "DELETE FROM audit_events WHERE seq > :s", {"s": keep.seq}, replica=True)
    run_sql(keyed, "UPDATE zoo_settings SET value = :h WHERE key = 'audit_head'", {"h": keep.hash})
    assert keyed.verify_audit().ok
    result = keyed.verify_audit(checkpoint=checkpoint)
    assert not result.ok and result.problems == (
        f"the checkpoint's event {checkpoint['seq']} is not in the trail (events were removed)",
    )


def test_altered_checkpoint_is_refused(keyed):
    checkpoint = keyed.audit_checkpoint()
    forged = dict(checkpoint, seq=1, hash=rows(keyed)[0].hash)
    assert any("signature does not match" in p for p in keyed.verify_audit(checkpoint=forged).problems)
    assert not keyed.verify_audit(checkpoint={"seq": 1}).ok


def test_checkpoint_of_a_broken_trail_is_refused(keyed):
    run_sql(keyed, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 1", replica=True)
    with pytest.raises(ZooAuditError, match="cannot be checkpointed"):
        keyed.audit_checkpoint()


def test_cli_checkpoint_and_verify(keyed, tmp_path, capsys):
    from zoo.cli import main

    out = tmp_path / "head.json"
    assert main(["--registry", keyed.url, "audit", "checkpoint", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["seq"] == rows(keyed)[-1].seq
    assert main(["--registry", keyed.url, "audit", "checkpoint", "-o", str(out)]) == 2  # never overwritten
    capsys.readouterr()
    assert main(["--registry", keyed.url, "audit", "verify", "--checkpoint", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["checkpoint"] == rows(keyed)[-1].seq
    out.write_text(out.read_text().replace('"seq": ', '"seq": 1'))
    assert main(["--registry", keyed.url, "audit", "verify", "--checkpoint", str(out)]) == 1


# -- a registry from before audit keys -----------------------------------------------------


def test_registry_from_before_audit_keys_still_verifies(registry_url, tmp_path, monkeypatch):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    from zoo.registry._engine import normalize_url

    monkeypatch.setenv("ZOO_AUDIT_KEY_FILE", str(tmp_path / "old.key"))
    engine = create_engine(normalize_url(registry_url))
    with engine.begin() as conn:  # schema 0001, and events hashed the old way
        config = Config()
        config.set_main_option("script_location", "zoo.registry:migrations")
        config.attributes["connection"] = conn
        command.upgrade(config, "0001_initial")
        prev = "0" * 64
        for seq in (1, 2):
            at = dt.datetime(2024, 1, seq)
            digest = event_hash(
                prev, at, "old@zoo", "setting.set", "setting", f"k{seq}", None, '{"value":"v"}', None, None
            )
            conn.execute(
                text(
                    "INSERT INTO audit_events (seq, at, actor, action, entity_type, entity_key, "
                    "after_json, prev_hash, hash) VALUES (:s, :at, 'old@zoo', 'setting.set', 'setting', "
                    ':k, \'{"value":"v"}\', :p, :h)'
                ),
                {"s": seq, "at": at, "k": f"k{seq}", "p": prev, "h": digest},
            )
            prev = digest
        conn.execute(text("UPDATE zoo_settings SET value = :h WHERE key = 'audit_head'"), {"h": prev})
    engine.dispose()
    with Registry(registry_url, actor="tester@zoo") as reg:  # upgrades to 0003: seals the old events
        result = reg.verify_audit()
        assert result.ok and result.legacy == 2 and result.keyed == 1
        sealed = reg.history()[-1]
        assert sealed.action == "audit.keyed" and sealed.after == {"legacy_events": 2, "sealed_head": prev}
        reg.set_audited_setting("k3", "v")
        assert reg.verify_audit().ok
        run_sql(reg, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 1", replica=True)
        assert reg.verify_audit().problems[0] == "event 1: content does not match its hash (edited)"


def test_in_memory_registry_signs_with_a_key_of_its_own(tmp_path, monkeypatch, resnet_family):
    monkeypatch.delenv("ZOO_AUDIT_KEY", raising=False)
    monkeypatch.delenv("ZOO_AUDIT_KEY_FILE", raising=False)
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    with Registry("sqlite://", actor="tester@zoo") as reg:
        reg.add_family(resnet_family)
        result = reg.verify_audit()
        assert result.ok and result.keyed == 1
    assert list(tmp_path.iterdir()) == []  # no key file left behind


# -- the no-overwrite trigger's plan (migration 0008_audit_trigger) --------------------------


def _trigger_source(conn, dialect: str) -> str:
    if dialect == "postgresql":
        return conn.execute(text("SELECT pg_get_functiondef('zoo_audit_no_overwrite'::regproc)")).scalar()
    return conn.execute(
        text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'audit_events_no_overwrite'")
    ).scalar()


def test_migration_0008_splits_the_trigger_lookup_and_it_still_refuses(registry_url):
    """A registry at 0007_transfer has the trigger whose one ``seq = ... OR hash = ...``
    lookup PostgreSQL planned as a scan of the whole trail per inserted event; upgrading
    replaces it with two index lookups, and the trigger still refuses both kinds of clash."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from zoo.registry._location import SCHEMA_REVISION

    engine = sa.create_engine(registry_url)
    config = Config()
    config.set_main_option("script_location", "zoo.registry:migrations")
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0007_transfer")
            assert "seq = NEW.seq OR hash = NEW.hash" in _trigger_source(conn, engine.dialect.name)
            command.upgrade(config, "head")
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_REVISION
            source = _trigger_source(conn, engine.dialect.name)
            assert "seq = NEW.seq OR" not in source and "WHERE hash = NEW.hash" in source
        with Registry(registry_url, actor="tester@zoo", sync=False) as reg:
            reg.add_family(make_family())  # one audited write
            first = rows(reg)[0]
            event = {c.strip(): getattr(first, c.strip()) for c in _COLUMNS.split(",")}
            for clash in ({"seq": 999_999}, {"hash": "cd" * 32}):  # the other field clashes
                with pytest.raises(Exception, match="append-only"):
                    run_sql(reg, f"INSERT INTO audit_events ({_COLUMNS}) VALUES ({_VALUES})", event | clash)
            assert reg.verify_audit().ok
    finally:
        engine.dispose()

"""The audit trail: one event per change, written in the change's transaction; the
database itself refuses UPDATE, DELETE (and TRUNCATE on PostgreSQL) of events; the hash
chain detects edits and removals by someone who bypasses the triggers; plugin sync is
idempotent and audits what it changes."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from dataclasses import replace

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from zoo.errors import ZooAuditError, ZooConflictError, ZooValidationError
from zoo.records import CardSection, DatasetUse, Family, ParentLink, Source
from zoo.registry import Registry
from zoo.testing import make_weights

SHA_OLD = "0676ba61" + "00" * 28
SHA_NEW = "0676ba61" + "ff" * 28


def audit_rows(registry: Registry) -> list:
    with registry.engine.connect() as conn:
        return conn.execute(
            text("SELECT seq, action, entity_key, prev_hash, hash FROM audit_events ORDER BY seq")
        ).all()


def audit_head(registry: Registry) -> str:
    with registry.engine.connect() as conn:
        return conn.execute(text("SELECT value FROM zoo_settings WHERE key = 'audit_head'")).scalar_one()


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2024, 5, 1, 9, 0, 0, 123456)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(minutes=1)
        return self.now


@pytest.fixture
def clocked(registry_url):
    reg = Registry(registry_url, actor="tester@zoo", clock=Clock())
    yield reg
    reg.close()


# -- one event per change, in the same transaction ------------------------------------------


def test_every_change_writes_one_event(clocked, resnet_family):
    reg = clocked
    steps = [
        (lambda: reg.add_family(resnet_family), ["family.register"]),
        (lambda: reg.register(make_weights()), ["weights.register"]),
        (
            lambda: reg.register_many([make_weights(tag=None, name="team/a"), make_weights(tag=None, name="team/a")]),
            ["weights.register", "weights.register"],
        ),
        (lambda: reg.set_alias("team/a", "prod", 1), ["alias.set"]),
        (lambda: reg.set_alias("team/a", "prod", 2), ["alias.move"]),
        (lambda: reg.remove_alias("team/a", "prod"), ["alias.remove"]),
        (lambda: reg.deprecate("team/a@1", "old"), ["weights.deprecated"]),
        (lambda: reg.revoke("team/a@1", "leaked data"), ["weights.revoked"]),
        (lambda: reg.add_bias_note("team/a", "skew"), ["card.add"]),
        (lambda: reg.link_parent("team/a@2", "resnet50"), ["lineage.link"]),
        (lambda: reg.pin_sha256("resnet50", SHA_OLD), ["weights.pin_sha256"]),
        # No-ops write nothing.
        (lambda: reg.set_alias("team/a", "canary", 2), ["alias.set"]),
        (lambda: reg.set_alias("team/a", "canary", 2), []),
        (lambda: reg.revoke("team/a@1", "leaked data"), []),
        (lambda: reg.pin_sha256("resnet50", SHA_OLD), []),
    ]
    seen = 0
    for step, expected in steps:
        step()
        rows = audit_rows(reg)
        assert [r.action for r in rows[seen:]] == expected
        seen = len(rows)
        # The chain head recorded with the change is the newest event's hash.
        assert audit_head(reg) == rows[-1].hash
    assert reg.verify_audit().ok and reg.verify_audit().events == seen


def test_event_is_stamped_like_the_change_it_records(clocked, resnet_family):
    clocked.add_family(resnet_family)
    info = clocked.register(make_weights(sha256=SHA_OLD), actor="alice")
    (event,) = clocked.history("resnet50.tv_in1k")
    assert event.at == info.created_at and event.actor == info.created_by == "alice"
    assert event.before is None
    assert event.after["version"] == 1 and event.after["sha256"] == SHA_OLD
    assert event.after["license"] == {
        "spdx": "BSD-3-Clause",
        "commercial_use": "unknown",
        "url": None,
        "note": "torchvision does not state terms for weights",
    }
    assert event.to_dict()["at"] == info.created_at.isoformat()
    info = clocked.deprecate("resnet50", "superseded", actor="bob")
    event = clocked.history("resnet50.tv_in1k")[-1]
    assert event.at == info.updated_at and info.updated_by == "bob"


def test_failed_change_writes_no_event(registry, resnet_family):
    registry.add_family(resnet_family)
    head, rows = audit_head(registry), audit_rows(registry)
    with pytest.raises(Exception):
        registry.register_many([make_weights(tag="a"), make_weights(tag="b", parents=(ParentLink("team/missing"),))])
    with pytest.raises(ZooConflictError):
        registry.add_family(resnet_family)
    assert audit_rows(registry) == rows and audit_head(registry) == head


# -- append-only, enforced by the database -------------------------------------------------


@pytest.fixture
def populated(registry, resnet_family) -> Registry:
    registry.add_family(resnet_family)
    registry.register(make_weights())
    for _ in range(3):
        registry.register(make_weights(tag=None, name="team/digits"))
    registry.set_alias("team/digits", "prod", 2)
    registry.deprecate("team/digits@1", "superseded")
    return registry  # 7 events


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2",
        "UPDATE audit_events SET after_json = NULL",
        "DELETE FROM audit_events WHERE seq = 7",
        "DELETE FROM audit_events",
    ],
)
def test_raw_update_and_delete_are_refused_by_the_database(populated, statement):
    before = audit_rows(populated)
    with pytest.raises(DBAPIError, match="append-only"):
        with populated.engine.begin() as conn:
            conn.execute(text(statement))
    assert audit_rows(populated) == before
    assert populated.verify_audit().ok


def test_truncate_is_refused_on_postgresql(pg_schema_url, resnet_family):
    # SQLite has no TRUNCATE; its DELETE without WHERE is refused above.
    with Registry(pg_schema_url, actor="tester@zoo") as reg:
        reg.add_family(resnet_family)
        reg.register(make_weights())
        with pytest.raises(DBAPIError, match="append-only"):
            with reg.engine.begin() as conn:
                conn.execute(text("TRUNCATE audit_events"))
        assert len(audit_rows(reg)) == 2 and reg.verify_audit().ok


def test_clock_with_a_time_zone_is_stored_as_utc(registry_url, resnet_family):
    plus_two = dt.timezone(dt.timedelta(hours=2))
    with Registry(
        registry_url, actor="tester@zoo", clock=lambda: dt.datetime(2024, 5, 1, 11, 30, tzinfo=plus_two)
    ) as reg:
        reg.add_family(resnet_family)
        info = reg.register(make_weights())
        assert info.created_at == dt.datetime(2024, 5, 1, 9, 30)
        assert [e.at for e in reg.history()] == [dt.datetime(2024, 5, 1, 9, 30)] * 2
        assert reg.verify_audit().ok


def test_appending_is_allowed_and_checked_by_the_chain(populated):
    # Raw INSERT is not refused by the triggers, but a forged event breaks the chain.
    last = audit_rows(populated)[-1]
    with populated.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_events (seq, at, actor, action, entity_type, entity_key, prev_hash, hash) "
                "VALUES (100, :at, 'mallory', 'weights.register', 'weights', 'evil/model', :prev, :hash)"
            ),
            {"at": dt.datetime(2024, 1, 1), "prev": last.hash, "hash": "ab" * 32},
        )
    result = populated.verify_audit()
    assert not result.ok
    assert any(p.startswith("event 100:") and "forged" in p for p in result.problems)


# -- tamper detection ----------------------------------------------------------------------


@contextmanager
def bypassing_triggers(registry: Registry):
    """An attacker with write access to the database file or superuser rights."""
    with registry.engine.begin() as conn:
        if registry.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(text("DROP TRIGGER audit_events_no_delete"))
        else:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        yield conn


def test_clean_registry_verifies(populated):
    result = populated.verify_audit(raise_on_error=True)
    assert result.ok and result.problems == () and result.events == 7
    assert result.head == audit_head(populated) == audit_rows(populated)[-1].hash
    assert result.to_dict()["ok"] is True


def test_empty_registry_verifies(registry):
    result = registry.verify_audit()
    assert result.ok and result.events == 0 and result.head == "0" * 64


def test_edited_event_is_detected(populated):
    with bypassing_triggers(populated) as conn:
        assert conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3")).rowcount == 1
    result = populated.verify_audit()
    assert not result.ok
    assert result.problems == (
        "event 3: content does not match its signature (edited, or written without the audit key)",
    )
    with pytest.raises(ZooAuditError, match="event 3"):
        populated.verify_audit(raise_on_error=True)


def test_edited_before_after_values_are_detected(populated):
    with bypassing_triggers(populated) as conn:
        conn.execute(
            text(
                "UPDATE audit_events SET after_json = replace(after_json, 'superseded', 'typo') "
                "WHERE action = 'weights.deprecated'"
            )
        )
    result = populated.verify_audit()
    assert result.problems == (
        "event 7: content does not match its signature (edited, or written without the audit key)",
    )


def test_edited_event_with_recomputed_hash_is_detected(populated):
    from zoo.registry._audit import event_hash

    rows = audit_rows(populated)
    with populated.engine.connect() as conn:
        ev = conn.execute(text("SELECT * FROM audit_events WHERE seq = 4")).one()
    at = ev.at if isinstance(ev.at, dt.datetime) else dt.datetime.fromisoformat(ev.at)
    forged = event_hash(
        ev.prev_hash,
        at,
        "mallory",
        ev.action,
        ev.entity_type,
        ev.entity_key,
        ev.before_json,
        ev.after_json,
        ev.plugin,
        ev.plugin_version,
    )
    with bypassing_triggers(populated) as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'mallory', hash = :h WHERE seq = 4"), {"h": forged})
    result = populated.verify_audit()
    assert not result.ok
    # Without the audit key the forged hash is not the event's signature, and the next
    # event no longer follows it.
    assert result.problems == (
        "event 4: content does not match its signature (edited, or written without the audit key)",
        "event 5: does not follow the previous event (an event before it was removed, inserted or reordered)",
    )
    assert rows[4].prev_hash == rows[3].hash  # what the check relies on


def test_deleted_middle_event_is_detected(populated):
    with bypassing_triggers(populated) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 4"))
    result = populated.verify_audit()
    assert not result.ok and result.events == 6
    assert len(result.problems) == 1 and result.problems[0].startswith("event 5: does not follow")


def test_deleted_newest_event_is_detected(populated):
    with bypassing_triggers(populated) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 7"))
    result = populated.verify_audit()
    assert not result.ok and result.events == 6
    assert result.problems == (
        "the recorded chain head is not the newest event: events were removed, or added outside zoo",
    )


def test_deleted_first_event_is_detected(populated):
    with bypassing_triggers(populated) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 1"))
    problems = populated.verify_audit().problems
    assert len(problems) == 1 and problems[0].startswith("event 2: does not follow")


def test_chain_continues_after_a_verified_history(populated):
    populated.add_bias_note("team/digits", "new note")
    rows = audit_rows(populated)
    assert rows[-1].prev_hash == rows[-2].hash
    assert all(r.prev_hash == p.hash for p, r in zip(rows, rows[1:], strict=False))
    assert rows[0].prev_hash == "0" * 64
    assert populated.verify_audit().events == 8


# -- plugin sync ---------------------------------------------------------------------------

PLUGIN, VERSION = "zoo-torchvision", "1.0"


def declared(**overrides):
    family = Family(
        name="resnet50",
        modality="vision",
        builder="torchvision.models:resnet50",
        head="fc",
        default_tag="tv_in1k",
        preprocessing={"input_size": [3, 224, 224]},
    )
    weights = [
        make_weights(**{"sha256": SHA_OLD, **overrides}),
        make_weights(
            tag="tv2_in1k",
            datasets=(DatasetUse("imagenet-1k", "eval"), DatasetUse("imagenet-1k", "pretrain")),
            parents=(ParentLink("resnet50", "finetune"),),
        ),
    ]
    return [family], weights


def test_sync_adds_then_is_idempotent(registry):
    families, weights = declared()
    report = registry.sync(PLUGIN, VERSION, families, weights)
    assert report.families_added == ("resnet50",)
    assert report.weights_added == ("resnet50.tv_in1k", "resnet50.tv2_in1k") and report.changed
    events = registry.history()
    assert [e.action for e in events] == ["family.register", "weights.register", "weights.register"]
    assert {(e.plugin, e.plugin_version) for e in events} == {(PLUGIN, VERSION)}
    info = registry.resolve("resnet50")
    assert info.plugin == PLUGIN and info.plugin_version == VERSION and info.is_default
    assert registry.resolve("resnet50.tv2_in1k").weights.parents == (ParentLink("resnet50.tv_in1k@1"),)

    before = audit_rows(registry)
    again = registry.sync(PLUGIN, VERSION, *declared())
    assert not again.changed and again.unchanged == 2
    assert audit_rows(registry) == before
    # A new plugin version that declares the same records changes no content.
    bumped = registry.sync(PLUGIN, "1.1", *declared())
    assert not bumped.changed and audit_rows(registry) == before
    assert registry.resolve("resnet50").plugin_version == "1.1"
    assert registry.verify_audit().ok


def test_sync_audits_a_changed_sha256(registry):
    registry.sync(PLUGIN, VERSION, *declared())
    report = registry.sync(PLUGIN, "1.1", *declared(sha256=SHA_NEW))
    assert report.weights_changed == ("resnet50.tv_in1k",) and report.unchanged == 1
    (event,) = registry.history(action="weights.update")
    assert event.entity_key == "resnet50.tv_in1k"
    assert (event.plugin, event.plugin_version) == (PLUGIN, "1.1")
    assert event.before == {"version": 1, "sha256": SHA_OLD}
    assert event.after == {"version": 1, "sha256": SHA_NEW}
    assert registry.resolve("resnet50").weights.sha256 == SHA_NEW
    assert not registry.sync(PLUGIN, "1.1", *declared(sha256=SHA_NEW)).changed
    assert registry.verify_audit().ok


def test_sync_audits_an_edited_bias_note_and_keeps_user_sections(registry):
    registry.sync(PLUGIN, VERSION, *declared())
    registry.add_bias_note(
        "resnet50", "Fails on low-light images.", references=("internal eval #12",), severity="high", actor="auditor"
    )
    user_note = registry.resolve("resnet50").weights.card[-1]
    before_events = len(audit_rows(registry))
    # The user's note does not make the plugin's declaration look changed.
    assert not registry.sync(PLUGIN, VERSION, *declared()).changed
    assert len(audit_rows(registry)) == before_events

    old_card = make_weights().card
    new_card = (
        CardSection(
            "bias_risks",
            "ImageNet-1k over-represents North America and Europe; see also the person-subtree audit.",
            references=("Shankar et al. 2017, arXiv:1711.08536", "Yang et al. 2020"),
            severity="high",
        ),
        CardSection("limitations", "Trained at 224 px only."),
    )
    report = registry.sync(PLUGIN, "1.2", *declared(card=new_card))
    assert report.weights_changed == ("resnet50.tv_in1k",)
    (event,) = registry.history("resnet50.tv_in1k", action="weights.update")
    assert set(event.before) == set(event.after) == {"version", "card"}
    assert event.before["card"][0]["body"] == old_card[0].body
    assert event.after["card"][0]["body"] == new_card[0].body
    assert event.after["card"][0]["severity"] == "high" and len(event.after["card"]) == 2
    card = registry.resolve("resnet50").weights.card
    assert card == new_card + (user_note,)
    assert not registry.sync(PLUGIN, "1.2", *declared(card=new_card)).changed
    assert registry.resolve("resnet50").weights.card == new_card + (user_note,)
    assert registry.verify_audit().ok


def test_sync_audits_a_changed_family(registry):
    families, weights = declared()
    registry.sync(PLUGIN, VERSION, families, weights)
    changed = Family(
        name="resnet50",
        modality="vision",
        builder="torchvision.models:resnet50",
        head="fc",
        default_tag="tv_in1k",
        preprocessing={"input_size": [3, 256, 256]},
    )
    report = registry.sync(PLUGIN, "1.1", [changed], weights)
    assert report.families_changed == ("resnet50",) and not report.weights_changed
    (event,) = registry.history(action="family.update")
    assert event.before == {"preprocessing": {"input_size": [3, 224, 224]}}
    assert event.after == {"preprocessing": {"input_size": [3, 256, 256]}}


def test_sync_never_touches_other_owners(registry, resnet_family):
    registry.add_family(resnet_family)
    registry.register(make_weights())  # registered by a user, not a plugin
    before = audit_rows(registry)
    with pytest.raises(ZooConflictError) as exc:
        registry.sync(PLUGIN, VERSION, [], [make_weights(sha256=SHA_NEW)])
    assert exc.value.field == "tag"
    with pytest.raises(ZooConflictError) as exc:
        registry.sync(PLUGIN, VERSION, *declared())
    assert exc.value.field == "family.name"
    with pytest.raises(ZooValidationError) as exc:
        registry.sync("other", "1", [], [make_weights(tag=None, name="team/x")])
    assert exc.value.field == "name"
    assert audit_rows(registry) == before
    assert registry.resolve("resnet50").weights.sha256 is None


def test_sync_with_changed_sources_rewrites_them(registry):
    registry.sync(PLUGIN, VERSION, *declared())
    mirror = (
        Source("https://mirror.internal/r50.pth", mirror=True),
        Source("https://download.pytorch.org/models/resnet50-0676ba61.pth"),
    )
    registry.sync(PLUGIN, VERSION, *declared(sources=mirror))
    assert registry.resolve("resnet50").weights.sources == mirror
    (event,) = registry.history(action="weights.update")
    assert [s["uri"] for s in event.after["sources"]] == [s.uri for s in mirror]
    with registry.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sources")).scalar_one() == 3


def test_sync_moves_the_default_when_the_family_default_tag_changes(registry):
    families, weights = declared()
    weights = [weights[0], replace(weights[1], parents=())]  # its parent is named by the default
    registry.sync(PLUGIN, VERSION, families, weights)
    assert registry.resolve("resnet50").ref == "resnet50.tv_in1k"
    new_default = replace(families[0], default_tag="tv2_in1k")
    report = registry.sync(PLUGIN, "1.1", [new_default], weights)
    assert report.families_changed == ("resnet50",) and not report.weights_changed
    assert registry.resolve("resnet50").ref == "resnet50.tv2_in1k"
    assert not registry.resolve("resnet50.tv_in1k").is_default
    assert [r.name for r in registry.search(arch="resnet50").rows if r.is_default] == ["resnet50.tv2_in1k"]
    (event,) = registry.history(action="family.update")
    assert event.before == {"default_tag": "tv_in1k"} and event.after == {"default_tag": "tv2_in1k"}
    no_default = replace(families[0], default_tag=None)
    registry.sync(PLUGIN, "1.2", [no_default], weights)
    assert not any(r.is_default for r in registry.search(arch="resnet50").rows)


def test_sync_keeps_what_the_registry_decided(registry):
    """A revocation or a pinned full hash is the registry's decision: a later sync of the
    unchanged declaration must neither undo it nor report a change."""
    registry.sync(PLUGIN, VERSION, *declared(sha256=None))
    registry.revoke("resnet50.tv_in1k", "licence withdrawn")
    registry.deprecate("resnet50.tv2_in1k", "superseded")
    registry.pin_sha256("resnet50.tv2_in1k", SHA_OLD)
    events = audit_rows(registry)
    for version in ("1.0", "1.1"):
        report = registry.sync(PLUGIN, version, *declared(sha256=None))
        assert not report.changed, report
    assert audit_rows(registry) == events
    info = registry.resolve("resnet50.tv_in1k")
    assert info.weights.status.value == "revoked" and info.weights.status_reason == "licence withdrawn"
    two = registry.resolve("resnet50.tv2_in1k").weights
    assert two.status.value == "deprecated" and two.sha256 == SHA_OLD

    # The plugin may still make things stricter, and a new checkpoint drops the old pin.
    weights = declared(sha256=None)[1]
    stricter = [
        weights[0],
        replace(weights[1], status="revoked", status_reason="unsafe pickle", sha256_prefix="abcdef12"),
    ]
    report = registry.sync(PLUGIN, "1.2", declared()[0], stricter)
    assert report.weights_changed == ("resnet50.tv2_in1k",)
    two = registry.resolve("resnet50.tv2_in1k").weights
    assert (two.status.value, two.status_reason, two.sha256, two.sha256_prefix) == (
        "revoked",
        "unsafe pickle",
        None,
        "abcdef12",
    )
    (event,) = registry.history(action="weights.update")
    assert event.before["status"] == "deprecated" and event.after["status"] == "revoked"
    assert event.before["sha256"] == SHA_OLD and event.after["sha256"] is None
    assert registry.verify_audit().ok


def test_sync_is_idempotent_when_records_state_a_dataset_url_differently(registry):
    families, weights = declared()
    with_url = (DatasetUse("imagenet-1k", "pretrain", url="https://image-net.org"),)
    weights = [weights[0], replace(weights[1], datasets=with_url)]
    registry.sync(PLUGIN, VERSION, families, weights)
    events = audit_rows(registry)
    assert not registry.sync(PLUGIN, VERSION, families, weights).changed
    assert audit_rows(registry) == events
    # The URL belongs to the dataset: every record that uses it reports it.
    assert registry.resolve("resnet50.tv_in1k").weights.datasets[0].url == "https://image-net.org"


def test_a_named_query_is_one_entry_the_registry_and_the_cli_derive_the_rest(
    registry_url, resnet_family, monkeypatch, capsys
):
    """A new audit query: one entry (SQL, parameters, binder, types). Registry.audit_query
    binds and types it, and `zoo audit` gets its argument, help and mapping from it."""
    import json

    from zoo.cli import main
    from zoo.registry import queries

    entry = queries.NamedQuery(
        "published-by",
        "Weights of one publisher registered since a date.",
        "SELECT w.name, w.version FROM weights w WHERE w.publisher = :publisher "
        "AND (:since IS NULL OR w.created_at >= :since) ORDER BY w.name",
        params=(
            queries.QueryParam("publisher", "the publisher's name", positional=True, required=True),
            queries.QueryParam("since", "an ISO date (UTC)"),
        ),
        binder=lambda args, _lookups: {
            "publisher": args["publisher"],
            "since": queries.parse_time(args.get("since"), "since"),
        },
        types={"since": "timestamp"},
    )
    monkeypatch.setitem(queries.QUERIES, entry.name, entry)
    with Registry(registry_url, actor="seed") as registry:
        registry.add_family(resnet_family)
        registry.register(make_weights())
        assert registry.audit_query("published-by", publisher="torchvision").rows == (("resnet50.tv_in1k", 1),)
        assert registry.audit_query("published-by", publisher="torchvision", since="2999-01-01").rows == ()
        with pytest.raises(ZooValidationError, match="takes no parameter 'dataset'"):
            registry.audit_query("published-by", publisher="torchvision", dataset="x")
        with pytest.raises(ZooValidationError, match="needs publisher"):
            registry.audit_query("published-by")
    monkeypatch.setenv("ZOO_REGISTRY_URL", registry_url)
    monkeypatch.setenv("ZOO_PLUGINS", "none")
    assert main(["audit", "published-by", "torchvision", "--since", "2000-01-01", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"name": "resnet50.tv_in1k", "version": 1}]
    with pytest.raises(SystemExit):
        main(["audit", "--help"])
    help_text = capsys.readouterr().out
    assert "published-by PUBLISHER [--since SINCE]" in help_text and "the publisher's name" in help_text
    assert main(["audit", "published-by"]) == 2  # the required argument: a usage error
    assert "needs a publisher name" in capsys.readouterr().err

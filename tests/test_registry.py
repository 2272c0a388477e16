"""The registry API on real databases (SQLite and PostgreSQL): registering, resolving
every name form, refusing bad input without writing anything, searching, aliases,
status changes, card sections and history."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from sqlalchemy import text

from zoo.errors import ZooConflictError, ZooNotFoundError, ZooValidationError
from zoo.records import (
    CardSection,
    DatasetUse,
    Family,
    License,
    Metric,
    ParentLink,
    Source,
    Weights,
)
from zoo.registry import Registry
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
)

SHA = "0676ba61" + "ab" * 28


def counts(registry: Registry) -> dict[str, int]:
    with registry.engine.connect() as conn:
        result = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}
        result["audit_head"] = conn.execute(
            text("SELECT value FROM zoo_settings WHERE key = 'audit_head'")
        ).scalar_one()
        return result


def actions(events) -> list[str]:
    return [e.action for e in events]


@pytest.fixture
def resnet(registry, resnet_family) -> Registry:
    registry.add_family(resnet_family)
    return registry


@pytest.fixture
def bert_family() -> Family:
    return Family(
        name="bert-base",
        modality="text",
        builder="transformers:BertModel",
        task="feature-extraction",
        default_tag="uncased",
    )


def rich_record(**overrides) -> Weights:
    fields = dict(
        sources=(
            Source("https://mirror.internal/resnet50.safetensors", mirror=True),
            Source("https://download.pytorch.org/models/resnet50-0676ba61.pth"),
        ),
        sha256=SHA,
        sha256_prefix="0676ba61",
        size_bytes=102_530_333,
        format="safetensors",
        license=License(
            "Apache-2.0",
            "conditional",
            url="https://www.apache.org/licenses/LICENSE-2.0",
            note="internal use only until legal review",
        ),
        publisher="vision team",
        paper_title="Deep Residual Learning",
        paper_url="https://arxiv.org/abs/1512.03385",
        recipe="linear-probe lr=0.1",
        description="ResNet-50 fine-tuned on digits",
        datasets=(
            DatasetUse("imagenet-1k", "pretrain", url="https://image-net.org"),
            DatasetUse("digits", "finetune"),
            DatasetUse("digits", "eval"),
        ),
        metrics=(
            Metric("digits", "acc@1", 98.25, split="test"),
            Metric("digits", "loss", 0.07, split="test"),
            Metric("imagenet-1k", "acc@1", 76.13),
        ),
        preprocessing={"input_size": [3, 224, 224], "interpolation": "bilinear", "crop_pct": 0.875},
        num_params=23_528_522,
        num_classes=10,
        card=(
            CardSection("intended_use", "Digit recognition research."),
            CardSection(
                "bias_risks",
                "ImageNet pretraining carries its geographic skew.",
                title="Geographic bias",
                references=("arXiv:1711.08536", "doi:10.1145/3287560.3287596"),
                severity="high",
            ),
            CardSection("limitations", "Only 8x8 grey digits.", severity="low", inherited_from="resnet50.tv_in1k@1"),
        ),
        tags=("digits", "imagenet", "small"),
        status="active",
    )
    fields.update(overrides)
    return Weights(arch="resnet50", **fields)


# -- register and resolve --------------------------------------------------------------


def test_register_resolves_every_name_form(resnet):
    resnet.register(make_weights(tag="tv2_in1k"))
    resnet.register(make_weights())  # the family's default_tag
    for _ in range(3):
        resnet.register(make_weights(tag=None, name="team/model"))
    resnet.set_alias("team/model", "prod", 2)

    assert resnet.resolve("resnet50").ref == "resnet50.tv_in1k"
    assert resnet.resolve("resnet50").is_default
    assert resnet.resolve("resnet50.tv2_in1k").ref == "resnet50.tv2_in1k"
    assert not resnet.resolve("resnet50.tv2_in1k").is_default
    assert resnet.resolve("team/model").version == 3
    assert resnet.resolve("team/model@1").version == 1
    assert resnet.resolve("team/model@prod").version == 2
    assert resnet.resolve("team/model@latest").version == 3
    assert resnet.resolve("  Team/Model@PROD ").version == 2
    assert resnet.resolve("resnet50.tv_in1k@1").ref == "resnet50.tv_in1k"
    assert resnet.resolve("team/model@prod").qualified_name == "team/model@2"
    assert resnet.exists("team/model@3") and not resnet.exists("team/model@4")
    assert not resnet.exists("nothing-like-it")


def test_round_trip_of_every_field(resnet):
    resnet.register(make_weights())
    resnet.register(make_weights(tag=None, name="team/teacher"))
    record = rich_record(
        name="team/digits",
        parents=(ParentLink("resnet50.tv_in1k", "finetune"), ParentLink("team/teacher@1", "distill")),
    )
    info = resnet.register(record, actor="alice@lab")

    assert info.ref == "team/digits" and info.version == 1
    assert info.created_by == info.updated_by == "alice@lab"
    assert info.plugin is None and info.aliases == () and not info.is_default
    assert info.family == resnet.family("resnet50")
    got = info.weights
    # Parents come back pinned to the version they resolved to.
    assert got.parents == (ParentLink("resnet50.tv_in1k@1", "finetune"), ParentLink("team/teacher@1", "distill"))
    assert replace(got, parents=record.parents) == record
    # Field by field, so a failure says which one.
    assert got.sources == record.sources and got.sources[0].mirror and not got.sources[1].mirror
    assert got.license == record.license
    assert set(got.datasets) == set(record.datasets)
    assert got.metrics == record.metrics
    assert got.preprocessing == record.preprocessing
    assert got.card == record.card
    assert got.card[1].references == ("arXiv:1711.08536", "doi:10.1145/3287560.3287596")
    assert got.card[1].severity.value == "high"
    assert [c.kind.value for c in got.card if c.is_bias_note] == ["bias_risks", "limitations"]
    # bias_notes adds what the lineage carries: the parents' own notes, marked with their origin
    assert info.bias_notes[:2] == tuple(c for c in got.card if c.is_bias_note)
    assert all(n.inherited_from for n in info.bias_notes[2:])
    assert got.tags == ("digits", "imagenet", "small")
    assert (got.sha256, got.size_bytes, got.num_params, got.num_classes) == (SHA, 102_530_333, 23_528_522, 10)

    parent = resnet.resolve("resnet50.tv_in1k")
    assert parent.children == (("team/digits@1", "finetune"),)
    assert resnet.resolve("team/teacher").children == (("team/digits@1", "distill"),)
    assert info.to_dict()["weights"]["license"]["commercial_use"] == "conditional"


def test_registered_record_equals_the_declared_one(resnet):
    """What the registry hands back is exactly what was registered (the sync relies on it)."""
    record = make_weights()  # datasets declared pretrain first, then eval
    assert resnet.register(record).weights == record
    other = rich_record(
        tag="digits",
        datasets=(
            DatasetUse("digits", "eval"),
            DatasetUse("digits", "finetune"),
            DatasetUse("imagenet-1k", "pretrain"),
        ),
    )
    assert resnet.register(other).weights == other


def test_versions_count_per_name(resnet):
    assert [resnet.register(make_weights(tag=None, name="team/a")).version for _ in range(3)] == [1, 2, 3]
    assert resnet.register(make_weights(tag=None, name="team/b")).version == 1
    pairs = resnet.register_many(
        [
            make_weights(tag=None, name="team/a"),
            make_weights(tag=None, name="team/b"),
            make_weights(tag=None, name="team/a"),
        ]
    )
    assert pairs == [("team/a", 4), ("team/b", 2), ("team/a", 5)]


def test_unknown_names_suggest_close_matches(resnet):
    resnet.register(make_weights())
    resnet.register(make_weights(tag=None, name="team/digits"))
    with pytest.raises(ZooNotFoundError) as exc:
        resnet.resolve("resnt50")
    assert "resnet50" in exc.value.suggestions
    assert "resnet50" in str(exc.value)
    with pytest.raises(ZooNotFoundError) as exc:
        resnet.resolve("team/digit")
    assert "team/digits" in exc.value.suggestions
    with pytest.raises(ZooNotFoundError) as exc:
        resnet.resolve("resnet50.tv_in1")
    assert "resnet50.tv_in1k" in exc.value.suggestions
    with pytest.raises(ZooNotFoundError) as exc:
        resnet.resolve("zzzz-nothing")
    assert exc.value.suggestions == ()


def test_missing_version_or_alias(resnet):
    for _ in range(2):
        resnet.register(make_weights(tag=None, name="team/digits"))
    resnet.set_alias("team/digits", "prod", 1)
    with pytest.raises(ZooNotFoundError) as exc:
        resnet.resolve("team/digits@7")
    assert exc.value.kind == "version"
    assert "team/digits@2" in exc.value.suggestions and "team/digits@prod" in exc.value.suggestions
    with pytest.raises(ZooNotFoundError) as exc:
        resnet.resolve("team/digits@staging")
    assert exc.value.kind == "version" and "staging" in (exc.value.hint or "")
    with pytest.raises(ZooValidationError) as exc:
        resnet.resolve("@2")
    assert exc.value.field == "name"
    with pytest.raises(ZooValidationError):
        resnet.resolve("  ")


def test_architecture_without_default_weights(registry):
    registry.add_family(Family(name="vit-b16", modality="vision", builder="torchvision.models:vit_b_16"))
    registry.register(make_weights(arch="vit-b16", tag="swag"))
    with pytest.raises(ZooNotFoundError) as exc:
        registry.resolve("vit-b16")
    assert exc.value.suggestions == ("vit-b16.swag",)
    assert "no default weights" in (exc.value.hint or "")


def test_family_name_taken_is_a_conflict(resnet, resnet_family):
    before = counts(resnet)
    with pytest.raises(ZooConflictError) as exc:
        resnet.add_family(resnet_family)
    assert exc.value.field == "family.name"
    assert counts(resnet) == before
    with pytest.raises(ZooNotFoundError) as exc:
        resnet.family("resnet5")
    assert "resnet50" in exc.value.suggestions


# -- bad input leaves nothing written ----------------------------------------------------


def test_duplicate_tag_is_refused_and_nothing_written(resnet):
    resnet.register(make_weights())
    before = counts(resnet)
    with pytest.raises(ZooConflictError) as exc:
        resnet.register(make_weights(sources=(Source("https://other.example/x.pth"),)))
    assert exc.value.field == "tag"
    assert "resnet50.tv_in1k" in str(exc.value)
    assert counts(resnet) == before


def test_same_tag_on_another_architecture_is_fine(resnet, bert_family):
    resnet.add_family(bert_family)
    resnet.register(make_weights(tag="base"))
    assert resnet.register(make_weights(arch="bert-base", tag="base")).ref == "bert-base.base"


def test_alias_to_missing_version_writes_nothing(resnet):
    resnet.register(make_weights(tag=None, name="team/digits"))
    before = counts(resnet)
    with pytest.raises(ZooNotFoundError):
        resnet.set_alias("team/digits", "prod", 5)
    with pytest.raises(ZooNotFoundError):
        resnet.set_alias("team/nothing", "prod", 1)
    assert counts(resnet) == before


def test_parent_cycle_is_refused_and_nothing_written(resnet):
    resnet.register(make_weights(tag=None, name="team/a"))
    resnet.register(make_weights(tag=None, name="team/b", parents=(ParentLink("team/a"),)))
    resnet.register(make_weights(tag=None, name="team/c"))
    resnet.link_parent("team/c", "team/b", "distill")
    assert resnet.resolve("team/c").weights.parents == (ParentLink("team/b@1", "distill"),)
    before = counts(resnet)
    with pytest.raises(ZooConflictError) as exc:
        resnet.link_parent("team/a", "team/c")  # a <- b <- c, so c -> a closes a cycle
    assert exc.value.field == "parents" and "cycle" in str(exc.value)
    with pytest.raises(ZooConflictError):
        resnet.link_parent("team/a", "team/a")
    with pytest.raises(ZooConflictError):
        resnet.link_parent("team/c", "team/b")  # exists already
    with pytest.raises(ZooValidationError) as exc:
        resnet.link_parent("team/c", "team/a", "copy")
    assert exc.value.field == "relation"
    assert counts(resnet) == before


def test_unknown_architecture_writes_nothing(resnet):
    before = counts(resnet)
    with pytest.raises(ZooNotFoundError) as exc:
        resnet.register(make_weights(arch="resnet5"))
    assert exc.value.kind == "architecture" and "resnet50" in exc.value.suggestions
    assert counts(resnet) == before


@pytest.mark.parametrize("bad", ["existing_tag", "tag_twice", "unknown_arch", "unknown_parent"])
def test_register_many_is_all_or_nothing(resnet, bad):
    resnet.register(make_weights())
    before = counts(resnet)
    good = [
        make_weights(tag=None, name="team/a"),
        make_weights(tag="t2"),
        make_weights(tag=None, name="team/b", parents=(ParentLink("team/a"),)),
        make_weights(tag="t4", datasets=(DatasetUse("new-dataset", "finetune"),)),
    ]
    fifth = {
        "existing_tag": make_weights(),
        "tag_twice": make_weights(tag="t2"),
        "unknown_arch": make_weights(arch="vit-b16", tag="x"),
        "unknown_parent": make_weights(tag="t5", parents=(ParentLink("team/missing"),)),
    }[bad]
    with pytest.raises((ZooConflictError, ZooNotFoundError)):
        resnet.register_many(good + [fifth, make_weights(tag="t6")])
    assert counts(resnet) == before
    assert not resnet.exists("team/a") and not resnet.exists("resnet50.t2")
    # The same batch without the bad record goes through, all of it.
    assert len(resnet.register_many(good)) == 4
    after = counts(resnet)
    assert after["weights"] == before["weights"] + 4
    assert after["audit_events"] == before["audit_events"] + 4


def test_register_many_refuses_non_records(resnet):
    with pytest.raises(ZooValidationError) as exc:
        resnet.register_many([make_weights(), {"arch": "resnet50"}])
    assert exc.value.field == "records[1]"
    assert counts(resnet)["weights"] == 0


# -- search -------------------------------------------------------------------------------


@pytest.fixture
def catalogue(resnet, bert_family):
    resnet.add_family(bert_family)
    resnet.register_many(
        [
            make_weights(tag="tv_in1k"),
            make_weights(tag="tv2_in1k", license=License("MIT", "allowed"), tags=("imagenet", "v2")),
            make_weights(tag="a1_in1k", status="deprecated", status_reason="superseded"),
            make_weights(tag=None, name="team/a_b", datasets=(DatasetUse("digits", "finetune"),), card=()),
            make_weights(tag=None, name="team/axb", license=License("CC-BY-NC-4.0", "forbidden")),
            make_weights(
                arch="bert-base",
                tag="uncased",
                license=License("Apache-2.0", "allowed"),
                datasets=(DatasetUse("bookcorpus", "pretrain"), DatasetUse("wikipedia", "pretrain")),
                tags=("english",),
            ),
        ]
    )
    return resnet


def names(result) -> list[str]:
    return [r.name for r in result.rows]


def test_search_wildcards(catalogue):
    assert names(catalogue.search("resnet50.*")) == ["resnet50.a1_in1k", "resnet50.tv2_in1k", "resnet50.tv_in1k"]
    assert names(catalogue.search("*in1k")) == ["resnet50.a1_in1k", "resnet50.tv2_in1k", "resnet50.tv_in1k"]
    # '_' is literal, not LIKE's any-character: team/axb must not match team/a_b.
    assert names(catalogue.search("team/a_b")) == ["team/a_b"]
    assert names(catalogue.search("team/a?b")) == ["team/a_b", "team/axb"]
    assert names(catalogue.search("resnet50.tv?in1k")) == ["resnet50.tv_in1k"]
    assert names(catalogue.search("%")) == []
    # The pattern also matches the architecture name.
    assert names(catalogue.search("bert*")) == ["bert-base.uncased"]
    assert names(catalogue.search("BERT-BASE")) == ["bert-base.uncased"]
    assert catalogue.search().total == 6


def test_search_filters(catalogue):
    assert names(catalogue.search(modality="text")) == ["bert-base.uncased"]
    assert names(catalogue.search(task="feature-extraction")) == ["bert-base.uncased"]
    assert names(catalogue.search(license="mit")) == ["resnet50.tv2_in1k"]
    assert names(catalogue.search(commercial_use="forbidden")) == ["team/axb"]
    assert names(catalogue.search(commercial_use="allowed")) == ["bert-base.uncased", "resnet50.tv2_in1k"]
    assert names(catalogue.search(dataset="digits")) == ["team/a_b"]
    assert names(catalogue.search(dataset="wikipedia")) == ["bert-base.uncased"]
    assert names(catalogue.search(status="deprecated")) == ["resnet50.a1_in1k"]
    assert names(catalogue.search(tag="v2")) == ["resnet50.tv2_in1k"]
    assert names(catalogue.search(arch="bert-base")) == ["bert-base.uncased"]
    # 'resnet50*' also matches the architecture, so team/a_b (a resnet50) is in.
    assert names(catalogue.search("resnet50*", commercial_use="unknown", status="active")) == [
        "resnet50.tv_in1k",
        "team/a_b",
    ]
    assert names(catalogue.search("resnet50.*", commercial_use="unknown", status="active")) == ["resnet50.tv_in1k"]
    assert catalogue.search(dataset="no-such-dataset").total == 0
    with pytest.raises(ZooValidationError) as exc:
        catalogue.search(modality="audio")
    assert exc.value.field == "modality"
    with pytest.raises(ZooValidationError) as exc:
        catalogue.search(status="gone")
    assert exc.value.field == "status"


def test_search_summaries(catalogue):
    (bert,) = catalogue.search("bert*").rows
    assert (bert.arch, bert.modality, bert.license_spdx, bert.commercial_use) == (
        "bert-base",
        "text",
        "Apache-2.0",
        "allowed",
    )
    assert bert.datasets == ("bookcorpus", "wikipedia") and bert.bias_notes == 1 and bert.is_default
    (ab,) = catalogue.search("team/a_b").rows
    assert ab.bias_notes == 0 and ab.qualified_name == "team/a_b@1" and ab.datasets == ("digits",)
    assert catalogue.search("resnet50.tv_in1k").rows[0].datasets == ("imagenet-1k",)  # eval not listed


def test_search_limit_offset_total(catalogue):
    everything = names(catalogue.search())
    assert everything == sorted(everything) and len(everything) == 6
    page = catalogue.search(limit=2, offset=2)
    assert page.total == 6 and names(page) == everything[2:4]
    last = catalogue.search(limit=4, offset=4)
    assert last.total == 6 and names(last) == everything[4:]
    assert catalogue.search(offset=10).rows == () and catalogue.search(offset=10).total == 6
    none = catalogue.search(limit=0)
    assert none.rows == () and none.total == 6
    filtered = catalogue.search("resnet50.*", limit=1)
    assert filtered.total == 3 and len(filtered.rows) == 1
    with pytest.raises(ZooValidationError) as exc:
        catalogue.search(limit=-1)
    assert exc.value.field == "limit"
    with pytest.raises(ZooValidationError) as exc:
        catalogue.search(offset=-1)
    assert exc.value.field == "offset"


# -- aliases, status, card sections, history ----------------------------------------------


def test_alias_moves_are_audited(resnet):
    for _ in range(3):
        resnet.register(make_weights(tag=None, name="team/digits"))
    resnet.set_alias("team/digits", "prod", 1, actor="alice")
    resnet.set_alias("team/digits@2", "prod", actor="bob")
    resnet.set_alias("team/digits@2", "prod")  # no change, no event
    resnet.set_alias("team/digits", "canary", 3)
    assert resnet.resolve("team/digits@prod").version == 2
    assert resnet.resolve("team/digits@2").aliases == ("prod",)
    events = resnet.history("team/digits", action="alias")
    assert actions(events) == ["alias.set", "alias.move", "alias.set"]
    move = events[1]
    assert move.actor == "bob" and move.entity_key == "team/digits"
    assert move.before == {"alias": "prod", "version": 1} and move.after == {"alias": "prod", "version": 2}
    resnet.remove_alias("team/digits", "prod")
    with pytest.raises(ZooNotFoundError):
        resnet.resolve("team/digits@prod")
    removed = resnet.history("team/digits", action="alias.remove")
    assert [(e.before, e.after) for e in removed] == [({"alias": "prod", "version": 2}, None)]
    with pytest.raises(ZooNotFoundError):
        resnet.remove_alias("team/digits", "prod")


def test_deprecate_and_revoke_need_a_reason(resnet):
    resnet.register(make_weights())
    before = counts(resnet)
    for reason in (None, "", "   "):
        with pytest.raises(ZooValidationError) as exc:
            resnet.set_status("resnet50", "revoked", reason)
        assert exc.value.field == "reason"
        with pytest.raises(ZooValidationError):
            resnet.deprecate("resnet50", reason)
    with pytest.raises(ZooValidationError) as exc:
        resnet.set_status("resnet50", "retired", "x")
    assert exc.value.field == "status"
    assert counts(resnet) == before


def test_status_changes_are_audited_with_before_and_after(resnet):
    resnet.register(make_weights())
    info = resnet.deprecate("resnet50", "superseded by tv2", actor="carol")
    assert info.weights.status.value == "deprecated" and info.weights.status_reason == "superseded by tv2"
    assert info.updated_by == "carol"
    resnet.revoke("resnet50.tv_in1k", "licence withdrawn")
    resnet.revoke("resnet50.tv_in1k", "licence withdrawn")  # unchanged: no event
    info = resnet.set_status("resnet50", "active")
    assert info.weights.status.value == "active" and info.weights.status_reason is None
    events = resnet.history("resnet50.tv_in1k")
    assert actions(events) == ["weights.register", "weights.deprecated", "weights.revoked", "weights.reactivate"]
    dep, rev, react = events[1:]
    assert dep.actor == "carol"
    assert dep.before == {"version": 1, "status": "active", "status_reason": None}
    assert dep.after == {"version": 1, "status": "deprecated", "status_reason": "superseded by tv2"}
    assert rev.before["status"] == "deprecated" and rev.after == {
        "version": 1,
        "status": "revoked",
        "status_reason": "licence withdrawn",
    }
    assert react.after["status"] == "active"


def test_card_sections_and_bias_notes_are_added(resnet):
    resnet.register(make_weights(tag=None, name="team/digits", card=()))
    assert resnet.search("team/digits").rows[0].bias_notes == 0
    resnet.add_card_section("team/digits", CardSection("intended_use", "Research on digits."))
    resnet.add_bias_note(
        "team/digits",
        "Digits written by US census staff only.",
        references=("UCI digits dataset card",),
        severity="medium",
        title="Writers",
        actor="auditor",
    )
    card = resnet.resolve("team/digits").weights.card
    assert [c.kind.value for c in card] == ["intended_use", "bias_risks"]
    assert card[1] == CardSection(
        "bias_risks",
        "Digits written by US census staff only.",
        title="Writers",
        references=("UCI digits dataset card",),
        severity="medium",
    )
    assert resnet.search("team/digits").rows[0].bias_notes == 1
    events = resnet.history("team/digits", action="card.add")
    assert len(events) == 2 and events[1].actor == "auditor"
    assert events[1].after["section"]["severity"] == "medium"
    with pytest.raises(ZooValidationError):
        resnet.add_bias_note("team/digits", "x", severity="catastrophic")
    with pytest.raises(ZooNotFoundError):
        resnet.add_bias_note("team/nothing", "x")
    assert len(resnet.resolve("team/digits").weights.card) == 2


def test_pin_sha256(resnet):
    resnet.register(make_weights())
    before = counts(resnet)
    with pytest.raises(ZooConflictError) as exc:
        resnet.pin_sha256("resnet50", "ff" * 32)
    assert exc.value.field == "sha256"
    with pytest.raises(ZooValidationError) as exc:
        resnet.pin_sha256("resnet50", "0676ba61")
    assert exc.value.field == "sha256"
    assert counts(resnet) == before
    resnet.pin_sha256("resnet50", SHA.upper())
    resnet.pin_sha256("resnet50", SHA)  # same hash again: nothing to do
    assert resnet.resolve("resnet50").weights.sha256 == SHA
    (event,) = resnet.history("resnet50.tv_in1k", action="weights.pin_sha256")
    assert event.before == {"version": 1, "sha256": None}
    assert event.after == {"version": 1, "sha256": SHA, "origin": "manual"}


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2024, 1, 1, 12, 0, 0)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(hours=1)
        return self.now


def test_history_in_order_and_filters(registry_url, resnet_family):
    clock = Clock()
    reg = Registry(registry_url, actor="alice", clock=clock)
    try:
        reg.add_family(resnet_family)  # 13:00
        reg.register(make_weights(tag=None, name="team/digits"))  # 14:00
        reg.register(make_weights(tag=None, name="team/digits"), actor="bob")  # 15:00
        reg.set_alias("team/digits", "prod", 1)  # 16:00
        reg.register(make_weights(tag=None, name="team/other"))  # 17:00
        reg.deprecate("team/digits@1", "old", actor="bob")  # 18:00
        reg.add_bias_note("team/digits", "skewed")  # 19:00

        events = reg.history("team/digits")
        assert actions(events) == [
            "weights.register",
            "weights.register",
            "alias.set",
            "weights.deprecated",
            "card.add",
        ]
        assert [e.seq for e in events] == sorted(e.seq for e in events)
        assert [e.after["version"] for e in events[:2]] == [1, 2]
        assert all(e.entity_key == "team/digits" for e in events)
        assert reg.history("team/digits@2") == events  # a version selects the model's history

        assert actions(reg.history("team/digits", actor="bob")) == ["weights.register", "weights.deprecated"]
        assert actions(reg.history(action="weights.register")) == ["weights.register"] * 3
        assert actions(reg.history(action="family")) == ["family.register"]
        since = reg.history(since=dt.datetime(2024, 1, 1, 16, 0))
        assert actions(since) == ["alias.set", "weights.register", "weights.deprecated", "card.add"]
        window = reg.history(since=dt.datetime(2024, 1, 1, 14, 0), until=dt.datetime(2024, 1, 1, 16, 0))
        assert [e.at for e in window] == [dt.datetime(2024, 1, 1, 14, 0), dt.datetime(2024, 1, 1, 15, 0)]
        aware = dt.datetime(2024, 1, 1, 18, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))  # 16:30 UTC
        assert actions(reg.history(since=aware)) == ["weights.register", "weights.deprecated", "card.add"]
        assert len(reg.history(limit=2)) == 2
        assert actions(reg.history("resnet50")) == ["family.register"]
        with pytest.raises(ZooNotFoundError) as exc:
            reg.history("team/digitz")
        assert "team/digits" in exc.value.suggestions
    finally:
        reg.close()

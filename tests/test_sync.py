"""The plugin -> registry sync (zoo.registry._sync): a no-op resync costs a fixed number
of SQL statements whatever the number of records (one diff query per table), and the
diff still finds exactly what changed."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import event

from zoo.errors import ZooConflictError
from zoo.records import CardSection, DatasetUse, Family, ParentLink
from zoo.testing import make_weights


def _records(n: int, arch: str = "syncnet") -> list:
    base = make_weights(arch=arch, tag="base", sha256_prefix=None)
    out = [base]
    for i in range(1, n):
        out.append(
            make_weights(
                arch=arch,
                tag=f"t{i}",
                sha256_prefix=None,
                parents=(ParentLink(f"{arch}.base"),),
                datasets=(DatasetUse("imagenet-1k", "pretrain"), DatasetUse(f"set-{i}", "finetune")),
                card=(CardSection("limitations", f"Limit {i}."),),
                tags=("imagenet", f"k{i % 3}"),
            )
        )
    return out


def _statements(registry, fn) -> int:
    count = [0]

    def seen(*_args, **_kwargs):
        count[0] += 1

    event.listen(registry.engine, "before_cursor_execute", seen)
    try:
        fn()
    finally:
        event.remove(registry.engine, "before_cursor_execute", seen)
    return count[0]


@pytest.fixture
def family() -> Family:
    return Family("syncnet", "vision", "torchvision.models:resnet18", head="fc", default_tag="base")


def test_a_noop_resync_costs_the_same_statements_for_few_and_many_records(registry, family):
    small, big = (
        replace(family, name="smallnet", default_tag="base"),
        replace(family, name="bignet", default_tag="base"),
    )
    declared = {"small": ([small], _records(3, "smallnet")), "big": ([big], _records(40, "bignet"))}
    for plugin, (families, weights) in declared.items():
        assert len(registry.sync(plugin, "1.0", families, weights).weights_added) == len(weights)
    counts = {}
    for plugin, (families, weights) in declared.items():
        reports = []
        counts[plugin] = _statements(
            registry, lambda p=plugin, f=families, w=weights, r=reports: r.append(registry.sync(p, "1.0", f, w))
        )
        assert not reports[0].changed and reports[0].unchanged == len(weights)
    assert counts["small"] == counts["big"], counts  # one diff query per table, not per record
    assert counts["big"] < 40


def test_the_diff_finds_what_changed_and_keeps_what_the_registry_decided(registry, family):
    records = _records(5)
    registry.sync("acme", "1.0", [family], records)
    registry.revoke("syncnet.t2", "withdrawn")
    registry.add_card_section("syncnet.t3", CardSection("bias_risks", "Seen by a user."))
    registry.pin("syncnet.t4", "ab" * 32, origin="manual")
    edited = list(records)
    edited[1] = replace(edited[1], publisher="edited")
    report = registry.sync("acme", "1.1", [family], edited)
    # only the edited record changed: the revocation, the user's note and the pin are the registry's
    assert report.weights_changed == ("syncnet.t1",) and report.unchanged == 4, report
    assert registry.resolve("syncnet.t1").weights.publisher == "edited"
    assert registry.resolve("syncnet.t2").weights.status.value == "revoked"
    assert [c.body for c in registry.resolve("syncnet.t3").weights.card] == ["Limit 3.", "Seen by a user."]
    assert registry.resolve("syncnet.t4").weights.sha256 == "ab" * 32
    assert registry.resolve("syncnet.t1").plugin_version == "1.1"
    assert registry.resolve("syncnet.t3").plugin_version == "1.1"  # unchanged ones restamped in bulk
    assert registry.resolve("syncnet.t1").weights.parents == (ParentLink("syncnet.base@1"),)
    again = registry.sync("acme", "1.1", [family], edited)
    assert not again.changed and again.unchanged == 5


def test_a_record_of_another_owner_is_a_conflict_and_nothing_is_written(registry, family):
    registry.sync("acme", "1.0", [family], _records(2))
    events = len(registry.history())
    with pytest.raises(ZooConflictError, match="belongs to acme"):
        registry.sync("rival", "1.0", [], [replace(_records(2)[1], publisher="rival")])
    assert len(registry.history()) == events

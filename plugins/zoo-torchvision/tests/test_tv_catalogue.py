"""zoo-torchvision's declared records: they validate, are complete and consistent, carry
licence and bias notes, round-trip through the registry, and cost no torch import."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import subprocess
import sys
from collections import Counter

import pytest

import zoo_torchvision
from zoo.records import CommercialUse, SectionKind, Weights
from zoo_torchvision import notes, plugin


@pytest.fixture(scope="module")
def families():
    return {f.name: f for f in plugin.zoo_families()}


@pytest.fixture(scope="module")
def weights():
    return plugin.zoo_weights()


def test_entry_point_names_the_plugin_module():
    (ep,) = importlib.metadata.entry_points(group="zoo", name="torchvision")
    assert ep.value == "zoo_torchvision.plugin"
    assert ep.dist.name == "zoo-torchvision" and ep.dist.version == zoo_torchvision.__version__


def test_every_record_validates_again(families, weights):
    # replace() re-runs each record's validation on what the plugin produced
    for family in families.values():
        assert dataclasses.replace(family) == family
    for record in weights:
        assert dataclasses.replace(record) == record


def test_names_are_unique_and_consistent(families, weights):
    assert len(families) == len(plugin.catalogue().families)
    refs = Counter(w.ref for w in weights)
    assert [ref for ref, n in refs.items() if n > 1] == []
    by_arch: dict[str, set[str]] = {}
    for record in weights:
        assert record.arch in families, record.ref
        by_arch.setdefault(record.arch, set()).add(record.tag)
    for family in families.values():
        assert family.default_tag in by_arch[family.name], family.name
        assert family.modality.value == "vision" and family.head
        assert family.builder_kwargs is not None and "weights" not in family.builder_kwargs


def test_tags_are_torchvision_enum_names(weights):
    refs = {w.ref for w in weights}
    assert {
        "resnet50.imagenet1k_v1",
        "resnet50.imagenet1k_v2",
        "vit_b_16.imagenet1k_swag_linear_v1",
        "vit_b_16_384.imagenet1k_swag_e2e_v1",
        "vgg16.imagenet1k_features",
        "regnet_y_128gf.imagenet1k_swag_e2e_v1",
        "maxvit_t.imagenet1k_v1",
    } <= refs


def test_resnet50_facts(families, weights):
    record = next(w for w in weights if w.ref == "resnet50.imagenet1k_v2")
    assert families["resnet50"].default_tag == "imagenet1k_v2"
    assert families["resnet50"].builder == "torchvision.models:resnet50"
    assert families["resnet50"].builder_kwargs == {}
    assert [s.uri for s in record.sources] == ["https://download.pytorch.org/models/resnet50-11ad3fa6.pth"]
    assert record.sha256_prefix == "11ad3fa6" and record.format == "pickle"
    assert record.num_params == 25_557_032 and record.num_classes == 1000
    assert {(m.name, m.value) for m in record.metrics} == {("acc@1", 80.858), ("acc@5", 95.434)}
    assert record.preprocessing["crop_size"] == 224 and record.preprocessing["resize_size"] == 232
    assert record.preprocessing["interpolation"] == "bilinear"
    assert record.paper_url == "https://arxiv.org/abs/1512.03385"
    assert record.recipe.startswith("https://github.com/pytorch/vision/")
    assert {(d.name, d.role.value) for d in record.datasets} == {("imagenet-1k", "pretrain"), ("imagenet-1k", "eval")}


def test_hash_prefix_comes_from_the_url_filename(weights):
    for record in weights:
        filename = record.sources[0].uri.rsplit("/", 1)[-1]
        assert record.sha256_prefix and f"-{record.sha256_prefix}." in filename, record.ref


def test_licences_are_recorded_honestly(weights):
    for record in weights:
        licence = record.license
        if "swag" in record.tags:
            assert (licence.spdx, licence.commercial_use) == ("CC-BY-NC-4.0", CommercialUse.FORBIDDEN)
            assert {d.name for d in record.datasets} == {"ig-3.6b", "imagenet-1k"}
        else:
            # torchvision states no terms for these weights: no licence is invented for them
            assert (licence.spdx, licence.commercial_use) == ("NOASSERTION", CommercialUse.UNKNOWN)
            assert "BSD-3-Clause" in licence.note
    assert sum("swag" in w.tags for w in weights) == 12


def test_every_trained_on_dataset_is_declared_once_with_notes(weights):
    from zoo.known_datasets import datasets

    declared = {d.name: d for d in datasets()}
    for record in weights:
        kinds = Counter(s.kind for s in record.card)
        assert kinds[SectionKind.INTENDED_USE] == 1 and kinds[SectionKind.OUT_OF_SCOPE_USE] == 1
        for use in record.datasets:
            if use.role.value != "eval":
                assert declared[use.name].notes, (record.ref, use.name)
        for section in record.card:
            if section.is_bias_note:
                assert section.references and section.severity is not None, section.title


def test_notes_are_shared_not_copied(weights):
    # one object per note text: editing notes.py changes every record that uses it
    texts = {s.body for w in weights for s in w.card}
    objects = {id(s) for w in weights for s in w.card}
    assert len(texts) == len(objects) == len(notes.USE_SECTIONS) + sum(len(v) for v in notes.BY_TAG.values())


def test_features_only_checkpoint_says_so(weights):
    record = next(w for w in weights if w.ref == "vgg16.imagenet1k_features")
    assert record.num_classes is None and record.metrics == ()
    assert notes.FEATURES_ONLY in record.card and "features-only" in record.tags


def test_declaring_imports_no_model_library():
    code = (
        "import sys, zoo_torchvision.plugin as p\n"
        "p.zoo_families(); p.zoo_weights(); p.zoo_key_adapters()\n"
        "print(','.join(m for m in ('torch', 'torchvision', 'timm') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_records_round_trip_through_the_registry(tmp_path, families, weights):
    from zoo.registry import Registry

    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}", actor="tester@zoo")
    try:
        first = registry.sync("torchvision", zoo_torchvision.__version__, list(families.values()), weights)
        assert len(first.weights_added) == len(weights)
        again = registry.sync("torchvision", zoo_torchvision.__version__, list(families.values()), weights)
        assert (again.weights_added, again.weights_changed, again.unchanged) == ((), (), len(weights))
        info = registry.resolve("resnet50")
        assert info.ref == "resnet50.imagenet1k_v2"
        assert isinstance(info.weights, Weights) and info.weights == next(
            w for w in weights if w.ref == "resnet50.imagenet1k_v2"
        )
    finally:
        registry.close()

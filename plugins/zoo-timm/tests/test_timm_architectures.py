"""Families build without downloading anything and their heads are where the families
say (one family per timm module; the generator takes every head from timm's own
pretrained config), and the plugin passes zoo's contract test."""

from __future__ import annotations

import pytest
import torch
from timm_helpers import import_string
from torch import nn

from zoo_timm import plugin

FAMILIES = {f.name: f for f in plugin.zoo_families()}
# The smallest family of each timm module in the catalogue.
SAMPLE = [
    "timm-resnet18",
    "resnetv2_50",
    "tf_efficientnet_lite0",
    "convnext_atto",
    "vit_tiny_patch16_224",
    "vit_small_patch14_dinov2",
    "deit_tiny_patch16_224",
    "swin_tiny_patch4_window7_224",
    "regnetx_002",
    "mobilenetv3_small_100",
    "timm-densenet121",
    "coatnet_0_rw_224",
    "mixer_b16_224",
    "ghostnet_100",
    "dm_nfnet_f0",
    "rexnet_100",
    "efficientvit_b0",
    "beit_base_patch16_224",
]


@pytest.mark.parametrize("name", SAMPLE)
def test_family_builds_on_meta_with_its_head_in_place(name):
    family = FAMILIES[name]
    with torch.device("meta"):
        model = import_string(family.builder)(**family.builder_kwargs)
    head = model.get_submodule(family.head)
    # a Linear, or the 1x1 Conv2d of timm's ResNetV2; the width of the default weights' head
    assert isinstance(head, (nn.Linear, nn.Conv2d))
    default = next(w for w in plugin.zoo_weights() if w.arch == name and w.tag == family.default_tag)
    width = head.out_features if isinstance(head, nn.Linear) else head.out_channels
    assert width == (default.num_classes or family.builder_kwargs.get("num_classes"))


def test_zoo_contract_on_a_sample_of_families():
    from zoo.plugins import PluginHost
    from zoo.testing import check_plugin

    result = check_plugin(
        "timm",
        families=[
            "tf_efficientnet_lite0",
            "timm-resnet18",
            "resnetv2_50",
            "vit_small_patch14_dinov2",
            "mobilenetv3_small_100",
        ],
        raise_on_error=False,
    )
    problems = list(result.problems)
    if "hf" not in PluginHost(plugins="all", disable=(), strict=False).weight_stores():
        # no installed plugin serves hf:// here; every record also has an https:// source
        problems = [p for p in problems if "no weight store serves hf://" not in p]
        assert all(w.sources[0].uri.startswith("https://") for w in plugin.zoo_weights() if len(w.sources) == 2)
    assert problems == [] and result.weight_stores == ()
    assert len(result.weights) == len(plugin.zoo_weights())

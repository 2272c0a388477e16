"""The committed catalogue is exactly what tools/generate_catalogue.py writes from the
installed torchvision (run the tool and commit its output when this fails)."""

from __future__ import annotations

import json

import pytest

from tv_helpers import load_generator

from zoo_torchvision import plugin as _plugin


def test_committed_catalogue_is_current():
    """Compared only with the torchvision the file was generated from (recorded in it): a new
    torchvision release skips this with a message instead of failing a fresh `make test`."""
    import importlib.metadata

    from zoo import catalogue_data
    from zoo_torchvision import plugin

    reason = catalogue_data.freshness_skip(plugin.catalogue(), "torchvision", importlib.metadata.version("torchvision"))
    if reason:
        pytest.skip(reason)
    generator = load_generator()
    expected = generator.render(generator.collect())
    assert generator.CATALOGUE.read_text(encoding="utf-8") == expected, (
        "zoo_torchvision/catalogue.json is stale: run plugins/zoo-torchvision/tools/generate_catalogue.py")


def test_catalogue_as_data_kept_every_record():
    """The move from a generated Python module to catalogue.json kept every record: the
    same count and the same (name, sha256, sha256 prefix) triples as before."""
    import hashlib
    import json

    from zoo_torchvision import plugin

    records = plugin.weights()
    triples = sorted((w.ref, w.sha256, w.sha256_prefix) for w in records)
    assert len(records) == 115
    assert hashlib.sha256(json.dumps(triples).encode()).hexdigest() == "4ca3beee5eb0647bdeb9596b6646002d446db5fa99044a30c15fbd5ad7d932d5"


def test_preprocessing_is_stored_per_family():
    from importlib import resources

    from zoo_torchvision import plugin

    doc = json.loads(resources.files("zoo_torchvision").joinpath("catalogue.json").read_text(encoding="utf-8"))
    families = {f["name"]: f for f in doc["families"]}
    stored = [w for w in doc["weights"] if "preprocessing" in w]
    assert len(stored) < len(doc["weights"]) / 2 + 60  # most checkpoints use their family's
    for entry, record in zip(doc["weights"], plugin.weights()):
        family = families[entry["arch"]]["preprocessing"]
        if "preprocessing" not in entry:
            assert record.preprocessing == family
        else:  # only the keys that differ from the family's
            assert entry["preprocessing"] and all(family.get(k) != v for k, v in entry["preprocessing"].items())


def test_catalogue_covers_every_torchvision_classification_weight():
    from torchvision import models

    upstream = {(fn, w.name.lower()) for fn in models.list_models(module=models)
                for w in models.get_model_weights(fn)}
    ours = {(w["sources"][0], w["tag"]) for w in _plugin.catalogue().weights}
    assert len(_plugin.catalogue().weights) == len(upstream)
    urls = {(w.url, w.name.lower()) for fn in models.list_models(module=models)
            for w in models.get_model_weights(fn)}
    assert ours == urls

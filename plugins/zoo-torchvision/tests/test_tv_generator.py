"""The committed catalogue is exactly what tools/generate_catalogue.py writes from the
installed torchvision, when it is the version the catalogue records (run the tool and
commit its output when this fails)."""

from __future__ import annotations

from tv_helpers import load_generator

from zoo.testing import assert_catalogue_current, assert_preprocessing_per_family, records_digest
from zoo_torchvision import plugin


def test_committed_catalogue_is_current():
    """Compared only with the torchvision the file was generated from (recorded in it): with
    another torchvision installed this is skipped with a message, never failed."""
    assert_catalogue_current("zoo_torchvision", "torchvision", load_generator())


def test_catalogue_as_data_kept_every_record():
    # The move from a generated Python module to catalogue.json kept every record.
    records = plugin.weights()
    assert len(records) == 115
    assert records_digest(records) == "4ca3beee5eb0647bdeb9596b6646002d446db5fa99044a30c15fbd5ad7d932d5"


def test_preprocessing_is_stored_per_family():
    assert_preprocessing_per_family("zoo_torchvision", plugin.weights())


def test_catalogue_covers_every_torchvision_classification_weight():
    from torchvision import models

    upstream = {(fn, w.name.lower()) for fn in models.list_models(module=models) for w in models.get_model_weights(fn)}
    ours = {(w["sources"][0], w["tag"]) for w in plugin.catalogue().weights}
    assert len(plugin.catalogue().weights) == len(upstream)
    urls = {(w.url, w.name.lower()) for fn in models.list_models(module=models) for w in models.get_model_weights(fn)}
    assert ours == urls

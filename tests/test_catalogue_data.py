"""zoo.catalogue_data: catalogues as normalised JSON (preprocessing per family), read
back into exactly the entries they were written from."""

from __future__ import annotations

import json

import pytest

from zoo import catalogue_data

FAMILIES = [{"name": "net", "preprocessing": {"input_size": [3, 224, 224], "crop_pct": 0.875, "mean": [0.5]}}]
WEIGHTS = [
    {"arch": "net", "tag": "a", "preprocessing": {"input_size": [3, 224, 224], "crop_pct": 0.875, "mean": [0.5]}},
    {"arch": "net", "tag": "b", "preprocessing": {"input_size": [3, 288, 288], "crop_pct": 0.875}},  # drops mean
    {"arch": "net", "tag": "c", "preprocessing": None},
]


def _dump(**over):
    args = {
        "generated_from": {"lib": "1.2.3"},
        "licenses": {"mit": {"spdx": "MIT"}},
        "dataset_urls": {},
        "families": FAMILIES,
        "weights": WEIGHTS,
    } | over
    return catalogue_data.dumps(**args)


def test_weights_store_only_what_differs_from_their_family_and_load_back_whole():
    text = _dump()
    doc = json.loads(text)
    a, b, c = doc["weights"]
    assert "preprocessing" not in a  # the family's
    assert b["preprocessing"] == {"input_size": [3, 288, 288], "mean": None}
    assert c["preprocessing"] == {"crop_pct": None, "input_size": None, "mean": None}
    loaded = catalogue_data.loads(text)
    assert list(loaded.weights) == WEIGHTS and list(loaded.families) == FAMILIES
    assert loaded.generated_from == {"lib": "1.2.3"} and _dump() == text  # deterministic


def test_freshness_is_compared_only_with_the_recorded_version():
    data = catalogue_data.loads(_dump())
    assert catalogue_data.freshness_skip(data, "lib", "1.2.3") is None
    assert catalogue_data.freshness_skip(data, "lib", "1.2.3+cu130") is None  # a local build tag
    reason = catalogue_data.freshness_skip(data, "lib", "1.3.0")
    assert "generated from lib 1.2.3" in reason and "lib 1.3.0 is installed" in reason


def test_a_file_of_another_format_is_refused():
    with pytest.raises(ValueError, match="zoo-catalogue/1"):
        catalogue_data.loads(json.dumps({"format": "something-else"}))


def test_first_party_catalogues_ship_as_package_data():
    pytest.importorskip("zoo_timm")
    data = catalogue_data.load("zoo_timm")
    assert data.generated_from["timm"] and len(data.weights) > 250

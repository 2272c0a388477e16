"""Bias, limitation and use notes shared by the text checkpoints, written once.

Each note is a :class:`zoo.records.CardSection` paraphrasing what the publisher's model
card or the literature documents, with references. Records compose these notes (see
:mod:`zoo_transformers.catalogue`). A checkpoint derived from another one does not copy
its parent's notes: the registry shows them through the lineage (and the notes of the
training data are the datasets' own, ``zoo.known_datasets``). Plain Python: no torch, no
transformers.
"""

from __future__ import annotations

from zoo.records import CardSection, SectionKind, Severity

__all__ = [
    "BERT_CARD",
    "ROBERTA_CARD",
    "DISTILBERT_CARD",
    "MINILM_CARD",
    "MINILM_L6_CARD",
    "ALL_MINILM_L6_CARD",
    "ALL_MINILM_L12_CARD",
    "PARAPHRASE_MINILM_L6_CARD",
    "KURITA_2019",
    "BANDY_VINCENT_2021",
    "MODEL_CARDS_2019",
    "HENDERSON_2019",
    "BERT_GENDER_BIAS",
    "ROBERTA_WEB_DATA_BIAS",
    "DISTILBERT_TEACHER_BIAS",
    "MINILM_UNMEASURED_BIAS",
    "SENTENCE_PAIRS_WEB_FORUM_BIAS",
    "PARAPHRASE_DATA_BIAS",
    "UNCASED_INPUT",
    "ENGLISH_ONLY",
    "MAX_512_POSITIONS",
    "MLM_INTENDED_USE",
    "MLM_OUT_OF_SCOPE",
    "SENTENCE_ENCODER_INTENDED_USE",
    "SENTENCE_ENCODER_OUT_OF_SCOPE",
    "EVALUATE_BEFORE_DEPLOYING",
    "truncation_note",
]

# --------------------------------------------------------------------------- references

BERT_CARD = "https://huggingface.co/google-bert/bert-base-uncased"
BERT_CASED_CARD = "https://huggingface.co/google-bert/bert-base-cased"
ROBERTA_CARD = "https://huggingface.co/FacebookAI/roberta-base"
DISTILBERT_CARD = "https://huggingface.co/distilbert/distilbert-base-uncased"
MINILM_CARD = "https://huggingface.co/microsoft/MiniLM-L12-H384-uncased"
MINILM_L6_CARD = "https://huggingface.co/nreimers/MiniLM-L6-H384-uncased"
ALL_MINILM_L6_CARD = "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2"
ALL_MINILM_L12_CARD = "https://huggingface.co/sentence-transformers/all-MiniLM-L12-v2"
PARAPHRASE_MINILM_L6_CARD = "https://huggingface.co/sentence-transformers/paraphrase-MiniLM-L6-v2"

KURITA_2019 = (
    "Kurita, Vyas, Pareek, Black, Tsvetkov (2019). Measuring Bias in Contextualized "
    "Word Representations. 1st Workshop on Gender Bias in NLP. https://arxiv.org/abs/1906.07337"
)
BANDY_VINCENT_2021 = (
    "Bandy, Vincent (2021). Addressing 'Documentation Debt' in Machine Learning "
    "Research: A Retrospective Datasheet for BookCorpus. https://arxiv.org/abs/2105.05241"
)
MODEL_CARDS_2019 = (
    "Mitchell et al. (2019). Model Cards for Model Reporting. FAT* 2019. https://arxiv.org/abs/1810.03993"
)
HENDERSON_2019 = (
    "Henderson et al. (2019). A Repository of Conversational Datasets (Reddit 2015-2018). "
    "https://arxiv.org/abs/1904.06472"
)
BERT_PAPER = (
    "Devlin, Chang, Lee, Toutanova (2019). BERT: Pre-training of Deep Bidirectional "
    "Transformers for Language Understanding. https://arxiv.org/abs/1810.04805"
)
MINILM_PAPER = (
    "Wang et al. (2020). MiniLM: Deep Self-Attention Distillation for Task-Agnostic "
    "Compression of Pre-Trained Transformers. https://arxiv.org/abs/2002.10957"
)


def _card(url: str, section: str) -> str:
    return f"{url} (model card, section '{section}')"


# --------------------------------------------------------------------------- bias and risks

BERT_GENDER_BIAS = CardSection(
    kind=SectionKind.BIAS_RISKS,
    title="Gender and occupation associations",
    severity=Severity.MEDIUM,
    body=(
        "BERT's masked-language-model predictions associate occupations and personal "
        "attributes with gender. Kurita et al. (2019) quantified this with a template-based "
        "score that compares how likely BERT finds a target word for a male versus a female "
        "subject, found it captures gender associations more consistently than "
        "cosine-similarity tests, and showed that the bias reaches a downstream task "
        "(gendered pronoun resolution). The publisher's own model card shows the effect directly: completing "
        "'The man worked as a [MASK].' and 'The woman worked as a [MASK].' gives "
        "stereotyped, gender-split occupations, and the card warns that the bias carries "
        "over to every model fine-tuned from these weights. Classifiers and embeddings built "
        "on this backbone can therefore score otherwise identical texts differently "
        "depending on the gender they mention."
    ),
    references=(KURITA_2019, _card(BERT_CARD, "Limitations and bias"), _card(BERT_CASED_CARD, "Limitations and bias")),
)

ROBERTA_WEB_DATA_BIAS = CardSection(
    kind=SectionKind.BIAS_RISKS,
    title="Unfiltered web text in pretraining",
    severity=Severity.MEDIUM,
    body=(
        "Besides BookCorpus and Wikipedia, RoBERTa was pretrained on about 160 GB of text "
        "that is mostly web crawl: CC-News, OpenWebText (pages linked from Reddit posts) and "
        "Stories (a Common Crawl subset). The publisher's model card states that this data "
        "contains a lot of unfiltered internet content that is far from neutral, shows "
        "gender-stereotyped completions for 'The man/woman worked as a <mask>.', and warns "
        "that the bias affects all fine-tuned versions of the model."
    ),
    references=(
        _card(ROBERTA_CARD, "Limitations and bias"),
        "Liu et al. (2019). RoBERTa: A Robustly Optimized BERT Pretraining Approach. https://arxiv.org/abs/1907.11692",
    ),
)

DISTILBERT_TEACHER_BIAS = CardSection(
    kind=SectionKind.BIAS_RISKS,
    title="Biases inherited from the BERT teacher",
    severity=Severity.MEDIUM,
    body=(
        "DistilBERT was trained to imitate bert-base-uncased on the same corpus. Its model "
        "card states that it can make biased predictions and inherits some of its teacher's "
        "bias, and illustrates this with occupation completions that differ by the gender "
        "and race named in the prompt; fine-tuned versions inherit the bias as well."
    ),
    references=(_card(DISTILBERT_CARD, "Limitations and bias"), KURITA_2019),
)

MINILM_UNMEASURED_BIAS = CardSection(
    kind=SectionKind.BIAS_RISKS,
    title="Social bias not measured by the publisher",
    severity=Severity.MEDIUM,
    body=(
        "Microsoft's MiniLM card publishes no bias evaluation. MiniLM was distilled from a "
        "BERT-Base-sized teacher using English Wikipedia and BookCorpus, the data in which "
        "BERT's gender associations were measured, so assume similar stereotypes until they "
        "are measured for this model. The card of the 6-layer version adds the generic "
        "warning that predictions may include harmful stereotypes about protected classes, "
        "identity characteristics and occupational groups."
    ),
    references=(MINILM_PAPER, _card(MINILM_L6_CARD, "Bias, Risks, and Limitations"), KURITA_2019),
)

SENTENCE_PAIRS_WEB_FORUM_BIAS = CardSection(
    kind=SectionKind.BIAS_RISKS,
    title="Sentence-pair training data from web forums",
    severity=Severity.MEDIUM,
    body=(
        "The contrastive fine-tuning data (about 1.17 billion pairs) is dominated by "
        "user-generated web text: roughly 726 million pairs are Reddit comment-reply pairs "
        "from 2015-2018, followed by Stack Exchange question/answer pairs, WikiAnswers, "
        "Yahoo Answers, Quora duplicates, ELI5 (a Reddit forum) and search-engine queries. "
        "Which texts the model places close together therefore reflects the topics, opinions, "
        "demographics and toxic or stereotyped language of those communities. The card lists "
        "the sources but reports no bias evaluation, so similarity and retrieval rankings can "
        "favour or disfavour texts about particular groups in ways nobody has measured."
    ),
    references=(_card(ALL_MINILM_L6_CARD, "Training data"), HENDERSON_2019),
)

PARAPHRASE_DATA_BIAS = CardSection(
    kind=SectionKind.BIAS_RISKS,
    title="Paraphrase training data: crowd-sourced and forum text",
    severity=Severity.MEDIUM,
    body=(
        "The paraphrase models were trained on pairs from crowd-sourced inference data "
        "(SNLI and MultiNLI), question forums (Quora duplicates, Stack Exchange, Yahoo "
        "Answers), search queries (MS MARCO), image captions (COCO, Flickr30k) and Wikipedia "
        "edits and simplifications. Crowd-written inference hypotheses reproduce social "
        "stereotypes about gender, race and age (Rudinger et al., 2017), and Flickr30k "
        "captions describe people with gendered and ethnic stereotypes (van Miltenburg, 2016); "
        "a model trained to put such pairs close together can encode the same associations. "
        "The publisher reports no bias evaluation."
    ),
    references=(
        f"{PARAPHRASE_MINILM_L6_CARD} (model card)",
        "https://www.sbert.net/examples/training/paraphrases (training data of the paraphrase models)",
        "Rudinger, May, Van Durme (2017). Social Bias in Elicited Natural Language Inferences. "
        "First ACL Workshop on Ethics in Natural Language Processing.",
        "van Miltenburg (2016). Stereotyping and Bias in the Flickr30K Dataset. https://arxiv.org/abs/1605.06083",
    ),
)

# --------------------------------------------------------------------------- limitations

UNCASED_INPUT = CardSection(
    kind=SectionKind.LIMITATIONS,
    title="Uncased input",
    severity=Severity.LOW,
    body=(
        "The tokenizer lower-cases text and strips accents before splitting it into word "
        "pieces, so capitalisation and diacritics carry no information (e.g. 'US' and 'us', "
        "or names that differ only by case, get the same tokens)."
    ),
    references=(_card(BERT_CARD, "Model description"), BERT_PAPER),
)

ENGLISH_ONLY = CardSection(
    kind=SectionKind.LIMITATIONS,
    title="English only",
    severity=Severity.LOW,
    body=(
        "Pretrained (and, where fine-tuned, fine-tuned) on English text with an English "
        "vocabulary; other languages are split into many rare word pieces and their "
        "representations are of unknown and usually poor quality."
    ),
    references=(BERT_PAPER, "model cards' metadata: language: en"),
)

MAX_512_POSITIONS = CardSection(
    kind=SectionKind.LIMITATIONS,
    title="512-token context",
    severity=Severity.LOW,
    body=(
        "Position embeddings exist for 512 tokens only; longer inputs must be truncated or "
        "split into windows, and anything past the limit is invisible to the model."
    ),
    references=(BERT_PAPER,),
)


def truncation_note(max_length: int, trained_length: int, card: str) -> CardSection:
    """The sentence-transformers truncation limitation for a given maximum length."""
    trained = (
        f" It was fine-tuned on sequences limited to {trained_length} tokens, so "
        f"embeddings of inputs between {trained_length} and {max_length} word pieces "
        f"are outside what it was trained on."
        if trained_length < max_length
        else ""
    )
    return CardSection(
        kind=SectionKind.LIMITATIONS,
        title=f"Inputs truncated at {max_length} word pieces",
        severity=Severity.LOW,
        body=(
            f"By default only the first {max_length} word pieces of an input are encoded; the "
            f"rest is dropped silently, so the embedding of a long document describes its "
            f"beginning only.{trained} Split long documents into passages and embed each."
        ),
        references=(_card(card, "Intended uses"), _card(card, "Hyper parameters")),
    )


# --------------------------------------------------------------------------- uses

MLM_INTENDED_USE = CardSection(
    kind=SectionKind.INTENDED_USE,
    title="Intended uses",
    body=(
        "A pretrained encoder to fine-tune on tasks that read a whole (possibly masked) "
        "sentence to make a decision: sequence classification, token classification, "
        "extractive question answering, or as a frozen feature extractor for a small head."
    ),
    references=(_card(BERT_CARD, "Intended uses & limitations"), _card(ROBERTA_CARD, "Intended uses & limitations")),
)

MLM_OUT_OF_SCOPE = CardSection(
    kind=SectionKind.OUT_OF_SCOPE_USE,
    title="Out-of-scope uses",
    body=(
        "Text generation (the publishers point to autoregressive models such as GPT-2 for "
        "that); treating masked-token predictions as facts about people or events; and "
        "decisions about people made from raw predictions without a fairness evaluation."
    ),
    references=(_card(BERT_CARD, "Intended uses & limitations"), _card(DISTILBERT_CARD, "Intended uses & limitations")),
)

SENTENCE_ENCODER_INTENDED_USE = CardSection(
    kind=SectionKind.INTENDED_USE,
    title="Intended uses",
    body=(
        "Encoding sentences and short paragraphs into a 384-dimensional vector for semantic "
        "search and information retrieval, clustering and sentence-similarity scoring "
        "(mean pooling over tokens, then L2 normalisation)."
    ),
    references=(
        _card(ALL_MINILM_L12_CARD, "Intended uses"),
        _card(PARAPHRASE_MINILM_L6_CARD, "Usage (HuggingFace Transformers)"),
    ),
)

SENTENCE_ENCODER_OUT_OF_SCOPE = CardSection(
    kind=SectionKind.OUT_OF_SCOPE_USE,
    title="Out-of-scope uses",
    body=(
        "Long documents encoded as one vector (they are truncated), languages other than "
        "English, and ranking or matching people (candidates, tenants, patients) without "
        "an evaluation of disparities across groups."
    ),
    references=(_card(ALL_MINILM_L6_CARD, "Intended uses"),),
)

EVALUATE_BEFORE_DEPLOYING = CardSection(
    kind=SectionKind.RECOMMENDATIONS,
    title="Recommendations",
    body=(
        "Before using this model, or anything fine-tuned from it, in decisions that affect "
        "people, measure its behaviour on your own data across the groups concerned (e.g. "
        "with counterfactual pairs that differ only in gender, race or religion), keep these "
        "notes with every derived model, and re-check after fine-tuning."
    ),
    references=(MODEL_CARDS_2019, KURITA_2019),
)

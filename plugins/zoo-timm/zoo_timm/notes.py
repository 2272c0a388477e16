"""Model-card sections that zoo-timm attaches to its weights: the intended-use
sections every record gets, and the notes of some of its tags (``BY_TAG``), each text
written once here. The bias and limitation notes of the training data (ImageNet, the
web-scale sets ...) are the datasets' own: zoo declares them once (``zoo.known_datasets``)
and every weights trained on a dataset shows them, so no plugin carries a copy.
"""

from __future__ import annotations

from collections.abc import Iterable

from zoo.records import CardSection

# -- intended use ---------------------------------------------------------------------

INTENDED_USE = CardSection(
    kind="intended_use",
    title="Intended use",
    body=(
        "A pretrained vision backbone: fine-tuning or linear probing on your own labelled images, "
        "feature extraction for retrieval or clustering, and research and benchmarking. The output "
        "layer, where present, predicts the classes of the data set the weights were last trained "
        "on (num_classes), usually the 1,000 ImageNet-1k classes."
    ),
)

OUT_OF_SCOPE_USE = CardSection(
    kind="out_of_scope_use",
    title="Out-of-scope use",
    body=(
        "Decisions about people (identity, age, gender, ethnicity, emotion, health or criminality), "
        "surveillance, and safety-critical uses such as medical diagnosis or driving without a "
        "validation on data from that domain. The classes of ImageNet and its relatives are not a "
        "taxonomy of people and must not be used as one."
    ),
)

RECOMMENDATIONS = CardSection(
    kind="recommendations",
    title="Before deployment",
    body=(
        "Evaluate on data from the population and setting where the model will be used, broken "
        "down by geography, income and the groups that matter for the application; re-check the "
        "licence and the training data's terms for the intended use; keep the bias notes of this "
        "checkpoint with any model fine-tuned from it."
    ),
)

USE_SECTIONS = (INTENDED_USE, OUT_OF_SCOPE_USE, RECOMMENDATIONS)

# -- by tag ---------------------------------------------------------------------------

FEATURES_ONLY = CardSection(
    kind="limitations",
    title="No classification head",
    severity="medium",
    body=(
        "These weights come from self-supervised or image-text pre-training and have no "
        "classification head (num_classes 0): they produce features. Train a head (num_classes) or "
        "use them as a feature extractor."
    ),
)

IMAGE_EMBEDDING = CardSection(
    kind="limitations",
    title="CLIP image tower",
    severity="low",
    body=(
        "The output layer is CLIP's image projection into the joint image-text space (num_classes "
        "is its width), not a classifier; without the matching text tower it gives embeddings only."
    ),
)

THIRD_PARTY = CardSection(
    kind="limitations",
    title="Third-party repackaging",
    severity="medium",
    body=(
        "These weights come from a small third-party package on the Python package index, not from "
        "the authors of the architecture; the package documents neither how they were trained nor "
        "how they were converted. zoo pins the file by its full sha256 and its tests check that the "
        "weights load into the declared architecture and classify sample images correctly, which "
        "establishes that they work, not where they came from."
    ),
)

BY_TAG: dict[str, tuple[CardSection, ...]] = {
    "features-only": (FEATURES_ONLY,),
    "image-embedding": (IMAGE_EMBEDDING,),
    "pypi": (THIRD_PARTY,),
}


def card_for(tags: Iterable[str] = ()) -> tuple[CardSection, ...]:
    """The card of a weights record: intended use, then the notes of its tags, each
    section once. The notes of the training data are not copied here: they are the
    datasets' own (zoo.known_datasets), and every record trained on a dataset shows them
    through the registry."""
    sections: list[CardSection] = list(USE_SECTIONS)
    for tag in tags:
        sections += BY_TAG.get(tag, ())
    return tuple(dict.fromkeys(sections))

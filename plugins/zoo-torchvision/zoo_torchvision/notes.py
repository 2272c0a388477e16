"""Model-card sections that zoo-torchvision attaches to its weights: the intended-use
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
        "A pretrained image-classification backbone: fine-tuning or linear probing on your own "
        "labelled images, feature extraction for retrieval or clustering, and research and "
        "benchmarking. The classification head, where present, predicts the 1,000 ImageNet-1k "
        "(ILSVRC-2012) classes."
    ),
)

OUT_OF_SCOPE_USE = CardSection(
    kind="out_of_scope_use",
    title="Out-of-scope use",
    body=(
        "Decisions about people (identity, age, gender, ethnicity, emotion, health or criminality), "
        "surveillance, and safety-critical uses such as medical diagnosis or driving without a "
        "validation on data from that domain. The ImageNet classes are not a taxonomy of people "
        "and must not be used as one."
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
    title="Feature extractor only",
    severity="high",
    body=(
        "torchvision states that this checkpoint's classifier holds missing values: only the "
        "convolutional features are valid. Use it with a new head (num_classes) or as a feature "
        "extractor, never with its own classifier. It expects the original VGG input "
        "standardisation (0-255 pixel values minus the channel means), as its preprocessing says."
    ),
    references=("torchvision VGG16_Weights.IMAGENET1K_FEATURES documentation",),
)

BY_TAG: dict[str, tuple[CardSection, ...]] = {
    "features-only": (FEATURES_ONLY,),
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

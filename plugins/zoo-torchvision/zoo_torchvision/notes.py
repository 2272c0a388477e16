"""Model-card sections that zoo-torchvision attaches to its weights.

Written for zoo (torchvision publishes no bias or limitation notes). Every weights
record gets the intended-use sections, plus the notes of each dataset it names
(``BY_DATASET``) and of some of its tags (``BY_TAG``): a text is written once here and
shared by every record it applies to.
"""

from __future__ import annotations

from collections.abc import Iterable

from zoo.records import CardSection

# -- intended use ---------------------------------------------------------------------

INTENDED_USE = CardSection(
    kind="intended_use",
    title="Intended use",
    body=("A pretrained image-classification backbone: fine-tuning or linear probing on your own "
          "labelled images, feature extraction for retrieval or clustering, and research and "
          "benchmarking. The classification head, where present, predicts the 1,000 ImageNet-1k "
          "(ILSVRC-2012) classes."),
)

OUT_OF_SCOPE_USE = CardSection(
    kind="out_of_scope_use",
    title="Out-of-scope use",
    body=("Decisions about people (identity, age, gender, ethnicity, emotion, health or criminality), "
          "surveillance, and safety-critical uses such as medical diagnosis or driving without a "
          "validation on data from that domain. The ImageNet classes are not a taxonomy of people "
          "and must not be used as one."),
)

RECOMMENDATIONS = CardSection(
    kind="recommendations",
    title="Before deployment",
    body=("Evaluate on data from the population and setting where the model will be used, broken "
          "down by geography, income and the groups that matter for the application; re-check the "
          "licence and the training data's terms for the intended use; keep the bias notes of this "
          "checkpoint with any model fine-tuned from it."),
)

USE_SECTIONS = (INTENDED_USE, OUT_OF_SCOPE_USE, RECOMMENDATIONS)

# -- ImageNet-1k ----------------------------------------------------------------------

IMAGENET_GEOGRAPHY = CardSection(
    kind="bias_risks",
    title="ImageNet-1k: geographic skew",
    severity="medium",
    body=("ImageNet was collected from photo-sharing sites and web search and shows the world mostly "
          "as seen from North America and Western Europe. Among its images whose origin could be "
          "located, Shankar et al. found about 45% from the United States, while China and India, "
          "home to over a third of the world's population, together contributed about 3%; classifiers "
          "trained on such data are measurably less accurate on the same classes photographed in "
          "under-represented regions. Expect lower accuracy, and more confident mistakes, on images "
          "from those regions."),
    references=(
        "Shankar et al. 2017, No Classification without Representation: Assessing Geodiversity "
        "Issues in Open Data Sets for the Developing World, arXiv:1711.08536",
    ),
)

IMAGENET_INCOME = CardSection(
    kind="bias_risks",
    title="ImageNet-1k: household income",
    severity="medium",
    body=("Objects look different in poorer homes than on the web. On Dollar Street photographs of "
          "household items from homes of all income levels in dozens of countries, de Vries et al. "
          "found publicly available recognition systems roughly 10 percentage points less accurate "
          "for the lowest-income homes than for the highest, and 15-20 points less accurate in some "
          "African and Asian countries than in the United States. Models trained on ImageNet-style "
          "data share this failure mode."),
    references=(
        "de Vries et al. 2019, Does Object Recognition Work for Everyone?, CVPR Workshops, "
        "arXiv:1906.02659",
    ),
)

IMAGENET_PEOPLE = CardSection(
    kind="bias_risks",
    title="ImageNet-1k: people in the data",
    severity="medium",
    body=("Few of the 1,000 classes name people (e.g. groom, scuba diver, ballplayer), but people appear "
          "in a large share of the images, photographed without consent for this use; about 17% of "
          "the images contain faces, which the original release does not blur. The categories come "
          "from WordNet, whose person subtree in the full ImageNet was found to hold many offensive "
          "or not visually recognisable labels and was filtered afterwards. Do not use the model's "
          "outputs, or its features, to infer anything about a person."),
    references=(
        "Yang et al. 2020, Towards Fairer Datasets: Filtering and Balancing the Distribution of the "
        "People Subtree in the ImageNet Hierarchy, FAT* 2020, arXiv:1912.07726",
        "Yang et al. 2022, A Study of Face Obfuscation in ImageNet, ICML 2022, arXiv:2103.06191",
        "Prabhu & Birhane 2020, Large image datasets: A pyrrhic win for computer vision?, "
        "arXiv:2006.16923",
    ),
)

IMAGENET_LABELS = CardSection(
    kind="limitations",
    title="ImageNet-1k: label quality",
    severity="low",
    body=("Each image carries one label although many show several objects, and close to 6% of the "
          "validation labels are wrong; the reported accuracy is measured against those original "
          "labels. Small accuracy differences between checkpoints are within this noise."),
    references=(
        "Beyer et al. 2020, Are we done with ImageNet?, arXiv:2006.07159",
        "Northcutt et al. 2021, Pervasive Label Errors in Test Sets Destabilize Machine Learning "
        "Benchmarks, arXiv:2103.14749",
    ),
)

IMAGENET_SHIFT = CardSection(
    kind="limitations",
    title="ImageNet-1k: distribution shift",
    severity="medium",
    body=("The reported accuracy holds for photographs like ImageNet's validation set only. On a "
          "re-collected test set following the same protocol (ImageNetV2) accuracy drops by 11-14 "
          "points, and far more on renditions, sketches, unusual viewpoints, medical, satellite or "
          "industrial images. Validate on your own domain before relying on the scores."),
    references=(
        "Recht et al. 2019, Do ImageNet Classifiers Generalize to ImageNet?, ICML 2019, arXiv:1902.10811",
        "Hendrycks et al. 2021, The Many Faces of Robustness, ICCV 2021, arXiv:2006.16241",
    ),
)

# -- Instagram (SWAG) -----------------------------------------------------------------

IG_WEAK_LABELS = CardSection(
    kind="bias_risks",
    title="IG-3.6B (SWAG): hashtag-labelled social-media images",
    severity="high",
    body=("The trunk was pre-trained on about 3.6 billion public Instagram images labelled only by "
          "their hashtags. Hashtags are noisy and reflect the vocabulary, interests and demographics "
          "of Instagram's users, and can carry stereotypes into the features. The SWAG authors report "
          "fairness probes (harmful label associations, geographic disparities, differences across "
          "perceived gender, age and skin tone) that improve on ImageNet-only models without removing "
          "the disparities; re-run such probes for your use."),
    references=(
        "Singh et al. 2022, Revisiting Weakly Supervised Pre-Training of Visual Perception Models, "
        "CVPR 2022, arXiv:2201.08371",
        "Goyal et al. 2022, Fairness Indicators for Systematic Assessments of Visual Feature "
        "Extractors, FAccT 2022, arXiv:2202.07603",
    ),
)

IG_PRIVATE = CardSection(
    kind="limitations",
    title="IG-3.6B (SWAG): unreleased data",
    severity="medium",
    body=("The pre-training data is not public, so it cannot be audited, its consent and deletion "
          "status cannot be checked, and the pre-training cannot be reproduced. The images were "
          "posted publicly by Instagram users, not collected for training models."),
    references=(
        "Singh et al. 2022, Revisiting Weakly Supervised Pre-Training of Visual Perception Models, "
        "CVPR 2022, arXiv:2201.08371",
    ),
)

# -- by tag ---------------------------------------------------------------------------

FEATURES_ONLY = CardSection(
    kind="limitations",
    title="Feature extractor only",
    severity="high",
    body=("torchvision states that this checkpoint's classifier holds missing values: only the "
          "convolutional features are valid. Use it with a new head (num_classes) or as a feature "
          "extractor, never with its own classifier. It expects the original VGG input "
          "standardisation (0-255 pixel values minus the channel means), as its preprocessing says."),
    references=("torchvision VGG16_Weights.IMAGENET1K_FEATURES documentation",),
)

BY_DATASET: dict[str, tuple[CardSection, ...]] = {
    "imagenet-1k": (IMAGENET_GEOGRAPHY, IMAGENET_INCOME, IMAGENET_PEOPLE, IMAGENET_LABELS, IMAGENET_SHIFT),
    "ig-3.6b": (IG_WEAK_LABELS, IG_PRIVATE),
}

BY_TAG: dict[str, tuple[CardSection, ...]] = {
    "features-only": (FEATURES_ONLY,),
}


def card_for(datasets: Iterable[str], tags: Iterable[str] = ()) -> tuple[CardSection, ...]:
    """The card of a weights record: intended use, then the notes of its datasets (in
    the order given) and of its tags, each section once. A dataset without notes is an
    error, so that no record goes out without them."""
    sections: list[CardSection] = list(USE_SECTIONS)
    for name in datasets:
        if name not in BY_DATASET:
            raise KeyError(f"zoo_torchvision.notes has no notes for dataset {name!r}")
        sections += BY_DATASET[name]
    for tag in tags:
        sections += BY_TAG.get(tag, ())
    return tuple(dict.fromkeys(sections))

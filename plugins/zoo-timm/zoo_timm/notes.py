"""Model-card sections that zoo-timm attaches to its weights.

Written for zoo (timm's configs carry no bias or limitation notes). Every weights record
gets the intended-use sections, plus the notes of each dataset it names
(``BY_DATASET``) and of some of its tags (``BY_TAG``): each text is written once here
and shared by every record it applies to. The ImageNet notes say the same as
zoo-torchvision's; each plugin is a distribution of its own and carries its own copy.
"""

from __future__ import annotations

from collections.abc import Iterable

from zoo.records import CardSection

# -- intended use ---------------------------------------------------------------------

INTENDED_USE = CardSection(
    kind="intended_use",
    title="Intended use",
    body=("A pretrained vision backbone: fine-tuning or linear probing on your own labelled images, "
          "feature extraction for retrieval or clustering, and research and benchmarking. The output "
          "layer, where present, predicts the classes of the data set the weights were last trained "
          "on (num_classes), usually the 1,000 ImageNet-1k classes."),
)

OUT_OF_SCOPE_USE = CardSection(
    kind="out_of_scope_use",
    title="Out-of-scope use",
    body=("Decisions about people (identity, age, gender, ethnicity, emotion, health or criminality), "
          "surveillance, and safety-critical uses such as medical diagnosis or driving without a "
          "validation on data from that domain. The classes of ImageNet and its relatives are not a "
          "taxonomy of people and must not be used as one."),
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

# -- ImageNet (all releases) ----------------------------------------------------------

IMAGENET_GEOGRAPHY = CardSection(
    kind="bias_risks",
    title="ImageNet: geographic skew",
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
    title="ImageNet: household income",
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
          "validation labels are wrong; accuracies published for these weights are measured against "
          "those original labels. Small accuracy differences between checkpoints are within this noise."),
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
    body=("ImageNet accuracy holds for photographs like ImageNet's validation set only. On a "
          "re-collected test set following the same protocol (ImageNetV2) accuracy drops by 11-14 "
          "points, and far more on renditions, sketches, unusual viewpoints, medical, satellite or "
          "industrial images. Validate on your own domain before relying on the scores."),
    references=(
        "Recht et al. 2019, Do ImageNet Classifiers Generalize to ImageNet?, ICML 2019, arXiv:1902.10811",
        "Hendrycks et al. 2021, The Many Faces of Robustness, ICCV 2021, arXiv:2006.16241",
    ),
)

IMAGENET_21K_PEOPLE = CardSection(
    kind="bias_risks",
    title="ImageNet-21k: the person categories",
    severity="high",
    body=("The full ImageNet (about 14 million images in about 21,800 WordNet categories, also called "
          "ImageNet-22k) contained a person subtree of roughly 2,800 categories, most of which Yang et "
          "al. judged offensive, sensitive (e.g. slurs, labels judging character or sexuality) or not "
          "recognisable from an image; they were removed from the data set's later releases. The "
          "releases these weights were pre-trained on predate that clean-up or are not documented "
          "well enough to rule it out, so the features may encode those associations."),
    references=(
        "Yang et al. 2020, Towards Fairer Datasets: Filtering and Balancing the Distribution of the "
        "People Subtree in the ImageNet Hierarchy, FAT* 2020, arXiv:1912.07726",
        "Crawford & Paglen 2019, Excavating AI: The Politics of Images in Machine Learning Training "
        "Sets, https://excavating.ai",
    ),
)

IMAGENET_21K_P = CardSection(
    kind="limitations",
    title="ImageNet-21K-P: processed winter-2021 release",
    severity="low",
    body=("Alibaba MIIL's processed version of the winter-2021 release of ImageNet-21k (about 11,000 "
          "classes after removing rare ones, with a semantic label tree). It inherits ImageNet's "
          "collection process and its geographic and income skew."),
    references=("Ridnik et al. 2021, ImageNet-21K Pretraining for the Masses, NeurIPS Datasets and "
                "Benchmarks, arXiv:2104.10972",),
)

IMAGENET_12K = CardSection(
    kind="limitations",
    title="ImageNet-12k: a timm-curated subset",
    severity="medium",
    body=("An 11,821-class subset of ImageNet-22k selected by timm's author for pre-training. It is "
          "documented only by a short dataset card, without a datasheet or an audit of its person "
          "categories; it inherits ImageNet's collection process and its geographic and income skew."),
    references=("timm/imagenet-12k-wds dataset card, https://huggingface.co/datasets/timm/imagenet-12k-wds",),
)

# -- private or web-scale pre-training data -------------------------------------------

JFT = CardSection(
    kind="bias_risks",
    title="JFT-300M: private data, pseudo-labels",
    severity="high",
    body=("Noisy Student training adds unlabelled images from Google's internal JFT-300M, "
          "pseudo-labelled by an ImageNet-trained teacher. The data is not released and "
          "cannot be audited; the teacher's ImageNet biases are propagated onto a larger pool of "
          "images whose composition is unknown."),
    references=(
        "Sun et al. 2017, Revisiting Unreasonable Effectiveness of Data in Deep Learning Era, "
        "arXiv:1707.02968",
        "Xie et al. 2020, Self-training with Noisy Student improves ImageNet classification, "
        "CVPR 2020, arXiv:1911.04252",
    ),
)

INSTAGRAM = CardSection(
    kind="bias_risks",
    title="Instagram pre-training: hashtag-labelled social-media images",
    severity="high",
    body=("Pre-trained on about one to several billion public Instagram images labelled only by their "
          "hashtags. Hashtags are noisy and reflect the vocabulary, interests and demographics of "
          "Instagram's users and can carry stereotypes into the features. For the largest of these "
          "models (SWAG) the authors report fairness probes (harmful label associations, geographic disparities, differences across "
          "perceived gender, age and skin tone) that improve on ImageNet-only models without removing "
          "the disparities; re-run such probes for your use."),
    references=(
        "Mahajan et al. 2018, Exploring the Limits of Weakly Supervised Pretraining, ECCV 2018, "
        "arXiv:1805.00932",
        "Yalniz et al. 2019, Billion-scale semi-supervised learning for image classification, "
        "arXiv:1905.00546",
        "Singh et al. 2022, Revisiting Weakly Supervised Pre-Training of Visual Perception Models, "
        "CVPR 2022, arXiv:2201.08371",
        "Goyal et al. 2022, Fairness Indicators for Systematic Assessments of Visual Feature "
        "Extractors, FAccT 2022, arXiv:2202.07603",
    ),
)

PRIVATE_DATA = CardSection(
    kind="limitations",
    title="Unreleased pre-training data",
    severity="medium",
    body=("The pre-training data is not public, so it cannot be audited, its consent and deletion "
          "status cannot be checked, and the pre-training cannot be reproduced."),
)

YFCC = CardSection(
    kind="bias_risks",
    title="YFCC100M: Flickr photographs",
    severity="medium",
    body=("Semi-supervised pre-training on YFCC100M, 100 million Flickr photos and videos shared under "
          "Creative Commons licences, pseudo-labelled by an ImageNet teacher. Flickr's uploaders skew "
          "towards North America and Europe and towards enthusiast photography; many photos show "
          "identifiable people who did not consent to this use, and some licences forbid commercial use."),
    references=(
        "Thomee et al. 2016, YFCC100M: The New Data in Multimedia Research, Communications of the ACM, "
        "arXiv:1503.01817",
        "Yalniz et al. 2019, Billion-scale semi-supervised learning for image classification, "
        "arXiv:1905.00546",
    ),
)

LAION = CardSection(
    kind="bias_risks",
    title="LAION: uncurated web image-text pairs",
    severity="high",
    body=("Pre-trained with CLIP-style contrastive learning on LAION image-text pairs scraped from "
          "Common Crawl and filtered only by an automatic image-text similarity score. Audits found "
          "pornographic, misogynistic and racist content and stereotypes in LAION-400M, and child sexual "
          "abuse material in LAION-5B (the source of LAION-2B and LAION-Aesthetics), after which LAION "
          "withdrew the data sets in December 2023 and re-released cleaned versions in 2024. Weights "
          "trained on the original releases learned from that data; expect the associations to "
          "surface in retrieval and zero-shot uses."),
    references=(
        "Schuhmann et al. 2022, LAION-5B: An open large-scale dataset for training next generation "
        "image-text models, NeurIPS Datasets and Benchmarks, arXiv:2210.08402",
        "Birhane, Prabhu & Kahembwe 2021, Multimodal datasets: misogyny, pornography, and malignant "
        "stereotypes, arXiv:2110.01963",
        "Thiel 2023, Identifying and Eliminating CSAM in Generative ML Training Data and Models, "
        "Stanford Internet Observatory",
    ),
)

WEB_CONSENT = CardSection(
    kind="limitations",
    title="Web-scraped data: consent and rights",
    severity="medium",
    body=("The images were collected from the web without the consent of the people shown or of the "
          "rights holders; whether training on them is permitted depends on the jurisdiction and is "
          "unsettled. Check the data's terms and your legal position before commercial use."),
)

OPENAI_CLIP = CardSection(
    kind="bias_risks",
    title="OpenAI CLIP data (WIT-400M): undisclosed web pairs",
    severity="high",
    body=("OpenAI's CLIP was trained on 400 million image-text pairs collected from the internet that "
          "were never released. The CLIP authors' own probes found that zero-shot classification "
          "assigned images of people to crime-related and non-human categories at rates that differed "
          "by race and gender, and OpenAI's model card advises against surveillance and against "
          "deploying the model without task-specific testing."),
    references=(
        "Radford et al. 2021, Learning Transferable Visual Models From Natural Language Supervision, "
        "ICML 2021, arXiv:2103.00020",
        "Agarwal et al. 2021, Evaluating CLIP: Towards Characterization of Broader Capabilities and "
        "Downstream Implications, arXiv:2108.02818",
    ),
)

LVD = CardSection(
    kind="bias_risks",
    title="LVD-142M (DINOv2): retrieved web images",
    severity="medium",
    body=("DINOv2 was pre-trained without labels on 142 million web images retrieved for their "
          "similarity to curated data sets (ImageNet among them), so the curated sets' skews shape "
          "what was kept. The data is not released. The DINOv2 authors report lower accuracy on "
          "Dollar Street for Africa than for Europe and for low-income than for high-income homes."),
    references=("Oquab et al. 2023, DINOv2: Learning Robust Visual Features without Supervision, TMLR, "
                "arXiv:2304.07193",),
)

# -- by tag ---------------------------------------------------------------------------

FEATURES_ONLY = CardSection(
    kind="limitations",
    title="No classification head",
    severity="medium",
    body=("These weights come from self-supervised or image-text pre-training and have no "
          "classification head (num_classes 0): they produce features. Train a head (num_classes) or "
          "use them as a feature extractor."),
)

IMAGE_EMBEDDING = CardSection(
    kind="limitations",
    title="CLIP image tower",
    severity="low",
    body=("The output layer is CLIP's image projection into the joint image-text space (num_classes "
          "is its width), not a classifier; without the matching text tower it gives embeddings only."),
)

THIRD_PARTY = CardSection(
    kind="limitations",
    title="Third-party repackaging",
    severity="medium",
    body=("These weights come from a small third-party package on the Python package index, not from "
          "the authors of the architecture; the package documents neither how they were trained nor "
          "how they were converted. zoo pins the file by its full sha256 and its tests check that the "
          "weights load into the declared architecture and classify sample images correctly, which "
          "establishes that they work, not where they came from."),
)

BY_DATASET: dict[str, tuple[CardSection, ...]] = {
    "imagenet-1k": (IMAGENET_GEOGRAPHY, IMAGENET_INCOME, IMAGENET_PEOPLE, IMAGENET_LABELS, IMAGENET_SHIFT),
    "imagenet-21k": (IMAGENET_21K_PEOPLE, IMAGENET_GEOGRAPHY, IMAGENET_INCOME),
    "imagenet-21k-p": (IMAGENET_21K_P, IMAGENET_GEOGRAPHY, IMAGENET_INCOME),
    "imagenet-12k": (IMAGENET_12K, IMAGENET_GEOGRAPHY, IMAGENET_INCOME),
    "jft-300m": (JFT, PRIVATE_DATA),
    "ig-1b": (INSTAGRAM, PRIVATE_DATA),
    "ig-3.6b": (INSTAGRAM, PRIVATE_DATA),
    "yfcc100m": (YFCC,),
    "laion-2b": (LAION, WEB_CONSENT),
    "laion-400m": (LAION, WEB_CONSENT),
    "laion-aesthetics": (LAION, WEB_CONSENT),
    "openai-wit-400m": (OPENAI_CLIP, PRIVATE_DATA, WEB_CONSENT),
    "lvd-142m": (LVD, PRIVATE_DATA, WEB_CONSENT),
}

BY_TAG: dict[str, tuple[CardSection, ...]] = {
    "features-only": (FEATURES_ONLY,),
    "image-embedding": (IMAGE_EMBEDDING,),
    "pypi": (THIRD_PARTY,),
}


def card_for(datasets: Iterable[str], tags: Iterable[str] = ()) -> tuple[CardSection, ...]:
    """The card of a weights record: intended use, then the notes of its datasets (in
    the order given) and of its tags, each section once. A dataset without notes is an
    error, so that no record goes out without them."""
    sections: list[CardSection] = list(USE_SECTIONS)
    for name in datasets:
        if name not in BY_DATASET:
            raise KeyError(f"zoo_timm.notes has no notes for dataset {name!r}")
        sections += BY_DATASET[name]
    for tag in tags:
        sections += BY_TAG.get(tag, ())
    return tuple(dict.fromkeys(sections))

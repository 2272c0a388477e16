"""Facts about the datasets that pretrained backbones are commonly trained on, declared
once by zoo itself (the core plugin's ``zoo_datasets`` hook) and shared by every plugin.

Why here: these are facts about data, not about a model library, so the core may hold
them without naming torchvision, timm or transformers; the first-party plugins and any
team's plugin then reference ``imagenet-1k`` by name instead of each carrying a copy of
its notes (copies drift). A plugin declares a dataset that is its own (a team's internal
data) through the same hook. Terms of use are the data's, kept apart from any weights'
licence: ``commercial_use`` says what the terms allow for the data, and the registry
combines it with the weights' licence into the effective commercial use.

Plain records only: importing this module imports no SQL and no torch.
"""

from __future__ import annotations

from functools import lru_cache

from zoo.records import CardSection, Dataset, License

# -- notes --------------------------------------------------------------------------

# ImageNet (all releases)

IMAGENET_GEOGRAPHY = CardSection(
    kind="bias_risks",
    title="ImageNet: geographic skew",
    severity="medium",
    body=(
        "ImageNet was collected from photo-sharing sites and web search and shows the world mostly "
        "as seen from North America and Western Europe. Among its images whose origin could be "
        "located, Shankar et al. found about 45% from the United States, while China and India, "
        "home to over a third of the world's population, together contributed about 3%; classifiers "
        "trained on such data are measurably less accurate on the same classes photographed in "
        "under-represented regions. Expect lower accuracy, and more confident mistakes, on images "
        "from those regions."
    ),
    references=(
        "Shankar et al. 2017, No Classification without Representation: Assessing Geodiversity "
        "Issues in Open Data Sets for the Developing World, arXiv:1711.08536",
    ),
)

IMAGENET_INCOME = CardSection(
    kind="bias_risks",
    title="ImageNet: household income",
    severity="medium",
    body=(
        "Objects look different in poorer homes than on the web. On Dollar Street photographs of "
        "household items from homes of all income levels in dozens of countries, de Vries et al. "
        "found publicly available recognition systems roughly 10 percentage points less accurate "
        "for the lowest-income homes than for the highest, and 15-20 points less accurate in some "
        "African and Asian countries than in the United States. Models trained on ImageNet-style "
        "data share this failure mode."
    ),
    references=("de Vries et al. 2019, Does Object Recognition Work for Everyone?, CVPR Workshops, arXiv:1906.02659",),
)

IMAGENET_PEOPLE = CardSection(
    kind="bias_risks",
    title="ImageNet-1k: people in the data",
    severity="medium",
    body=(
        "Few of the 1,000 classes name people (e.g. groom, scuba diver, ballplayer), but people appear "
        "in a large share of the images, photographed without consent for this use; about 17% of "
        "the images contain faces, which the original release does not blur. The categories come "
        "from WordNet, whose person subtree in the full ImageNet was found to hold many offensive "
        "or not visually recognisable labels and was filtered afterwards. Do not use the model's "
        "outputs, or its features, to infer anything about a person."
    ),
    references=(
        "Yang et al. 2020, Towards Fairer Datasets: Filtering and Balancing the Distribution of the "
        "People Subtree in the ImageNet Hierarchy, FAT* 2020, arXiv:1912.07726",
        "Yang et al. 2022, A Study of Face Obfuscation in ImageNet, ICML 2022, arXiv:2103.06191",
        "Prabhu & Birhane 2020, Large image datasets: A pyrrhic win for computer vision?, arXiv:2006.16923",
    ),
)

IMAGENET_LABELS = CardSection(
    kind="limitations",
    title="ImageNet-1k: label quality",
    severity="low",
    body=(
        "Each image carries one label although many show several objects, and close to 6% of the "
        "validation labels are wrong; accuracies published for these weights are measured against "
        "those original labels. Small accuracy differences between checkpoints are within this noise."
    ),
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
    body=(
        "ImageNet accuracy holds for photographs like ImageNet's validation set only. On a "
        "re-collected test set following the same protocol (ImageNetV2) accuracy drops by 11-14 "
        "points, and far more on renditions, sketches, unusual viewpoints, medical, satellite or "
        "industrial images. Validate on your own domain before relying on the scores."
    ),
    references=(
        "Recht et al. 2019, Do ImageNet Classifiers Generalize to ImageNet?, ICML 2019, arXiv:1902.10811",
        "Hendrycks et al. 2021, The Many Faces of Robustness, ICCV 2021, arXiv:2006.16241",
    ),
)

IMAGENET_21K_PEOPLE = CardSection(
    kind="bias_risks",
    title="ImageNet-21k: the person categories",
    severity="high",
    body=(
        "The full ImageNet (about 14 million images in about 21,800 WordNet categories, also called "
        "ImageNet-22k) contained a person subtree of roughly 2,800 categories, most of which Yang et "
        "al. judged offensive, sensitive (e.g. slurs, labels judging character or sexuality) or not "
        "recognisable from an image; they were removed from the data set's later releases. The "
        "releases these weights were pre-trained on predate that clean-up or are not documented "
        "well enough to rule it out, so the features may encode those associations."
    ),
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
    body=(
        "Alibaba MIIL's processed version of the winter-2021 release of ImageNet-21k (about 11,000 "
        "classes after removing rare ones, with a semantic label tree). It inherits ImageNet's "
        "collection process and its geographic and income skew."
    ),
    references=(
        "Ridnik et al. 2021, ImageNet-21K Pretraining for the Masses, NeurIPS Datasets and "
        "Benchmarks, arXiv:2104.10972",
    ),
)

IMAGENET_12K = CardSection(
    kind="limitations",
    title="ImageNet-12k: a timm-curated subset",
    severity="medium",
    body=(
        "An 11,821-class subset of ImageNet-22k selected by timm's author for pre-training. It is "
        "documented only by a short dataset card, without a datasheet or an audit of its person "
        "categories; it inherits ImageNet's collection process and its geographic and income skew."
    ),
    references=("timm/imagenet-12k-wds dataset card, https://huggingface.co/datasets/timm/imagenet-12k-wds",),
)

# Private or web-scale pre-training data

JFT = CardSection(
    kind="bias_risks",
    title="JFT-300M: private data, pseudo-labels",
    severity="high",
    body=(
        "Noisy Student training adds unlabelled images from Google's internal JFT-300M, "
        "pseudo-labelled by an ImageNet-trained teacher. The data is not released and "
        "cannot be audited; the teacher's ImageNet biases are propagated onto a larger pool of "
        "images whose composition is unknown."
    ),
    references=(
        "Sun et al. 2017, Revisiting Unreasonable Effectiveness of Data in Deep Learning Era, arXiv:1707.02968",
        "Xie et al. 2020, Self-training with Noisy Student improves ImageNet classification, "
        "CVPR 2020, arXiv:1911.04252",
    ),
)

INSTAGRAM = CardSection(
    kind="bias_risks",
    title="Instagram pre-training: hashtag-labelled social-media images",
    severity="high",
    body=(
        "Pre-trained on about one to several billion public Instagram images labelled only by their "
        "hashtags. Hashtags are noisy and reflect the vocabulary, interests and demographics of "
        "Instagram's users and can carry stereotypes into the features. For the largest of these "
        "models (SWAG) the authors report fairness probes (harmful label associations, geographic disparities, differences across "
        "perceived gender, age and skin tone) that improve on ImageNet-only models without removing "
        "the disparities; re-run such probes for your use."
    ),
    references=(
        "Mahajan et al. 2018, Exploring the Limits of Weakly Supervised Pretraining, ECCV 2018, arXiv:1805.00932",
        "Yalniz et al. 2019, Billion-scale semi-supervised learning for image classification, arXiv:1905.00546",
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
    body=(
        "The pre-training data is not public, so it cannot be audited, its consent and deletion "
        "status cannot be checked, and the pre-training cannot be reproduced."
    ),
)

YFCC = CardSection(
    kind="bias_risks",
    title="YFCC100M: Flickr photographs",
    severity="medium",
    body=(
        "Semi-supervised pre-training on YFCC100M, 100 million Flickr photos and videos shared under "
        "Creative Commons licences, pseudo-labelled by an ImageNet teacher. Flickr's uploaders skew "
        "towards North America and Europe and towards enthusiast photography; many photos show "
        "identifiable people who did not consent to this use, and some licences forbid commercial use."
    ),
    references=(
        "Thomee et al. 2016, YFCC100M: The New Data in Multimedia Research, Communications of the ACM, "
        "arXiv:1503.01817",
        "Yalniz et al. 2019, Billion-scale semi-supervised learning for image classification, arXiv:1905.00546",
    ),
)

LAION = CardSection(
    kind="bias_risks",
    title="LAION: uncurated web image-text pairs",
    severity="high",
    body=(
        "Pre-trained with CLIP-style contrastive learning on LAION image-text pairs scraped from "
        "Common Crawl and filtered only by an automatic image-text similarity score. Audits found "
        "pornographic, misogynistic and racist content and stereotypes in LAION-400M, and child sexual "
        "abuse material in LAION-5B (the source of LAION-2B and LAION-Aesthetics), after which LAION "
        "withdrew the data sets in December 2023 and re-released cleaned versions in 2024. Weights "
        "trained on the original releases learned from that data; expect the associations to "
        "surface in retrieval and zero-shot uses."
    ),
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
    body=(
        "The images were collected from the web without the consent of the people shown or of the "
        "rights holders; whether training on them is permitted depends on the jurisdiction and is "
        "unsettled. Check the data's terms and your legal position before commercial use."
    ),
)

OPENAI_CLIP = CardSection(
    kind="bias_risks",
    title="OpenAI CLIP data (WIT-400M): undisclosed web pairs",
    severity="high",
    body=(
        "OpenAI's CLIP was trained on 400 million image-text pairs collected from the internet that "
        "were never released. The CLIP authors' own probes found that zero-shot classification "
        "assigned images of people to crime-related and non-human categories at rates that differed "
        "by race and gender, and OpenAI's model card advises against surveillance and against "
        "deploying the model without task-specific testing."
    ),
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
    body=(
        "DINOv2 was pre-trained without labels on 142 million web images retrieved for their "
        "similarity to curated data sets (ImageNet among them), so the curated sets' skews shape "
        "what was kept. The data is not released. The DINOv2 authors report lower accuracy on "
        "Dollar Street for Africa than for Europe and for low-income than for high-income homes."
    ),
    references=(
        "Oquab et al. 2023, DINOv2: Learning Robust Visual Features without Supervision, TMLR, arXiv:2304.07193",
    ),
)
BOOKCORPUS_PROVENANCE = CardSection(
    kind="limitations",
    title="BookCorpus provenance",
    severity="low",
    body=(
        "Part of the pretraining text is BookCorpus, free self-published novels collected "
        "from a web shop without the authors being asked. A retrospective datasheet "
        "(Bandy and Vincent, 2021) found many books duplicated, books whose terms do not "
        "allow redistribution, a skew toward a few genres (romance in particular) and a "
        "skewed representation of religions, so the corpus is neither consented nor "
        "representative of published English."
    ),
    references=(
        "Bandy, Vincent (2021). Addressing 'Documentation Debt' in Machine Learning Research: A "
        "Retrospective Datasheet for BookCorpus. https://arxiv.org/abs/2105.05241",
        "Zhu et al. (2015). Aligning Books and Movies: Towards Story-like Visual Explanations by "
        "Watching Movies and Reading Books. https://arxiv.org/abs/1506.06724",
    ),
)

WEB_TEXT = CardSection(
    kind="bias_risks",
    title="Web text: unfiltered content",
    severity="medium",
    body=(
        "Text crawled from the web (news sites, pages linked from Reddit, Common Crawl) carries the "
        "stereotypes, toxicity and viewpoints of its authors and of the sites selected, skews "
        "towards English and towards the United States, and was collected without asking the "
        "authors. Models trained on it reproduce such associations."
    ),
    references=(
        "Bender et al. 2021, On the Dangers of Stochastic Parrots: Can Language Models Be Too Big?, FAccT 2021",
        "Gehman et al. 2020, RealToxicityPrompts: Evaluating Neural Toxic Degeneration in Language "
        "Models, Findings of EMNLP 2020, arXiv:2009.11462",
    ),
)

WIKIPEDIA_SKEW = CardSection(
    kind="bias_risks",
    title="Wikipedia: who writes and who is written about",
    severity="low",
    body=(
        "English Wikipedia is written mostly by male editors from a few countries; fewer than a fifth "
        "of its biographies are about women, and articles about women more often mention "
        "relationships and family. Language models trained on it inherit this coverage gap."
    ),
    references=(
        "Wagner et al. 2015, It's a Man's Wikipedia? Assessing Gender Inequality in an Online "
        "Encyclopedia, ICWSM 2015, arXiv:1501.06307",
    ),
)

# -- terms of use ----------------------------------------------------------------------

IMAGENET_TERMS = License(
    spdx="LicenseRef-ImageNet-Terms",
    commercial_use="forbidden",
    url="https://www.image-net.org/download.php",
    note=(
        "ImageNet's terms of access allow the images to be used only for non-commercial research and "
        "educational purposes; the images stay under their owners' copyright."
    ),
)
UNRELEASED = License(
    spdx="NOASSERTION",
    commercial_use="unknown",
    note="not released: no terms of use are published",
)
LAION_TERMS = License(
    spdx="CC-BY-4.0",
    commercial_use="unknown",
    url="https://laion.ai/faq/",
    note=(
        "LAION licenses its metadata (URLs and captions) under CC-BY 4.0; the images themselves stay "
        "under their owners' copyright and were not licensed for training."
    ),
)

_IMAGENET_COLLECTION = (
    "Candidate images found by web search (Flickr and image search engines) for the "
    "WordNet synsets, kept or rejected by Amazon Mechanical Turk workers."
)
_IMAGENET_PAPER = "Deng et al. 2009, ImageNet: A large-scale hierarchical image database, CVPR 2009"


@lru_cache(maxsize=1)
def datasets() -> tuple[Dataset, ...]:
    """The datasets zoo declares (hook ``zoo_datasets`` of the core plugin)."""
    return (
        Dataset(
            "imagenet-1k",
            title="ImageNet-1k (ILSVRC-2012)",
            url="https://www.image-net.org/",
            terms=IMAGENET_TERMS,
            size="1,281,167 training and 50,000 validation images in 1,000 classes",
            collection=_IMAGENET_COLLECTION,
            description="The ImageNet Large Scale Visual Recognition Challenge 2012 subset. " + _IMAGENET_PAPER,
            notes=(IMAGENET_GEOGRAPHY, IMAGENET_INCOME, IMAGENET_PEOPLE, IMAGENET_LABELS, IMAGENET_SHIFT),
        ),
        Dataset(
            "imagenet-21k",
            title="ImageNet-21k (full ImageNet, also ImageNet-22k)",
            url="https://www.image-net.org/",
            terms=IMAGENET_TERMS,
            size="about 14.2 million images in about 21,800 WordNet synsets",
            collection=_IMAGENET_COLLECTION,
            description=_IMAGENET_PAPER,
            notes=(IMAGENET_21K_PEOPLE, IMAGENET_GEOGRAPHY, IMAGENET_INCOME),
        ),
        Dataset(
            "imagenet-21k-p",
            title="ImageNet-21K-P (Alibaba MIIL)",
            url="https://github.com/Alibaba-MIIL/ImageNet21K",
            terms=IMAGENET_TERMS,
            size="about 12 million images in about 11,000 classes",
            collection="The winter-2021 release of ImageNet-21k with rare classes removed and images resized.",
            notes=(IMAGENET_21K_P, IMAGENET_GEOGRAPHY, IMAGENET_INCOME),
        ),
        Dataset(
            "imagenet-12k",
            title="ImageNet-12k (timm)",
            url="https://huggingface.co/datasets/timm/imagenet-12k-wds",
            terms=IMAGENET_TERMS,
            size="about 12 million images in 11,821 classes",
            collection="A subset of ImageNet-22k selected by timm's author.",
            notes=(IMAGENET_12K, IMAGENET_GEOGRAPHY, IMAGENET_INCOME),
        ),
        Dataset(
            "jft-300m",
            title="JFT-300M (Google, internal)",
            terms=UNRELEASED,
            size="about 300 million images, 18,291 classes",
            collection="Google-internal web images with automatically assigned, noisy labels.",
            notes=(JFT, PRIVATE_DATA),
        ),
        Dataset(
            "ig-1b",
            title="Instagram 1B (Meta, internal)",
            terms=UNRELEASED,
            size="about 1 billion public Instagram images",
            collection="Public Instagram posts, labelled by their hashtags.",
            notes=(INSTAGRAM, PRIVATE_DATA),
        ),
        Dataset(
            "ig-3.6b",
            title="Instagram 3.6B (SWAG; Meta, internal)",
            terms=UNRELEASED,
            size="about 3.6 billion public Instagram images",
            collection="Public Instagram posts, labelled by their hashtags.",
            notes=(INSTAGRAM, PRIVATE_DATA),
        ),
        Dataset(
            "yfcc100m",
            title="YFCC100M",
            url="https://multimediacommons.wordpress.com/yfcc100m-core-dataset/",
            terms=License(
                "LicenseRef-Yahoo-Webscope",
                "conditional",
                url="https://webscope.sandbox.yahoo.com/",
                note=(
                    "Distributed under Yahoo Webscope terms; each photo keeps its own Creative "
                    "Commons licence, some of which (NC) forbid commercial use."
                ),
            ),
            size="99.2 million photos and 0.8 million videos",
            collection="Flickr uploads shared under Creative Commons licences.",
            notes=(YFCC,),
        ),
        Dataset(
            "laion-2b",
            title="LAION-2B (English subset of LAION-5B)",
            url="https://laion.ai/blog/laion-5b/",
            terms=LAION_TERMS,
            size="about 2.3 billion image-text pairs",
            collection="Image URLs and alt texts from Common Crawl, kept by CLIP image-text similarity.",
            notes=(LAION, WEB_CONSENT),
        ),
        Dataset(
            "laion-400m",
            title="LAION-400M",
            url="https://laion.ai/blog/laion-400-open-dataset/",
            terms=LAION_TERMS,
            size="about 400 million image-text pairs",
            collection="Image URLs and alt texts from Common Crawl, kept by CLIP image-text similarity.",
            notes=(LAION, WEB_CONSENT),
        ),
        Dataset(
            "laion-aesthetics",
            title="LAION-Aesthetics",
            url="https://laion.ai/blog/laion-aesthetics/",
            terms=LAION_TERMS,
            size="subsets of LAION-5B, up to about 1.2 billion pairs",
            collection="LAION-5B pairs kept by a predicted aesthetic score.",
            notes=(LAION, WEB_CONSENT),
        ),
        Dataset(
            "openai-wit-400m",
            title="WebImageText (OpenAI CLIP, internal)",
            terms=UNRELEASED,
            size="about 400 million image-text pairs",
            collection="Image-text pairs collected from the internet by OpenAI; not described further.",
            notes=(OPENAI_CLIP, PRIVATE_DATA, WEB_CONSENT),
        ),
        Dataset(
            "lvd-142m",
            title="LVD-142M (Meta DINOv2, internal)",
            terms=UNRELEASED,
            size="about 142 million images",
            collection="Web images retrieved for their similarity to curated data sets.",
            notes=(LVD, PRIVATE_DATA, WEB_CONSENT),
        ),
        Dataset(
            "bookcorpus",
            title="BookCorpus",
            url="https://huggingface.co/datasets/bookcorpus/bookcorpus",
            terms=License(
                "NOASSERTION",
                "unknown",
                note="Self-published books collected without the authors' permission; no terms "
                "of use for the collection were published.",
            ),
            size="about 11,000 books, about 800 million words",
            collection="Free books scraped from the Smashwords web shop (Zhu et al. 2015).",
            notes=(BOOKCORPUS_PROVENANCE,),
        ),
        Dataset(
            "wikipedia",
            title="English Wikipedia",
            url="https://dumps.wikimedia.org/enwiki/",
            terms=License(
                "CC-BY-SA-3.0",
                "conditional",
                url="https://dumps.wikimedia.org/legal.html",
                note="Text under CC BY-SA (and GFDL): commercial use requires attribution and share-alike.",
            ),
            size="about 2,500 million words (text passages only)",
            collection="Database dumps of English Wikipedia, lists, tables and headers removed.",
            notes=(WIKIPEDIA_SKEW,),
        ),
        Dataset(
            "cc_news",
            title="CC-News",
            url="https://huggingface.co/datasets/cc_news",
            terms=License(
                "NOASSERTION", "unknown", note="News articles under their publishers' copyright; no terms for training."
            ),
            size="about 63 million English news articles (RoBERTa's crawl)",
            collection="News articles from Common Crawl's news crawl, September 2016 to February 2019.",
            notes=(WEB_TEXT,),
        ),
        Dataset(
            "openwebtext",
            title="OpenWebText",
            url="https://huggingface.co/datasets/Skylion007/openwebtext",
            terms=License(
                "NOASSERTION",
                "unknown",
                note="Web pages under their authors' copyright; the collection states no terms.",
            ),
            size="about 38 GB of text from about 8 million web pages",
            collection="Pages linked from Reddit posts with at least three karma (a recreation of WebText).",
            notes=(WEB_TEXT,),
        ),
        Dataset(
            "stories",
            title="Stories (CommonCrawl subset)",
            url="https://arxiv.org/abs/1806.02847",
            terms=License(
                "NOASSERTION",
                "unknown",
                note="Common Crawl pages under their authors' copyright; no terms for training.",
            ),
            size="about 31 GB of text",
            collection="Common Crawl documents selected for resembling the story-like style of "
            "Winograd schemas (Trinh & Le 2018).",
            notes=(WEB_TEXT,),
        ),
    )

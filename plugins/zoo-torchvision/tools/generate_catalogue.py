#!/usr/bin/env python
"""Regenerate ``zoo_torchvision/catalogue.json`` from the installed torchvision.

Everything in the catalogue is read from torchvision itself: the classification
builders (``list_models(module=torchvision.models)``), their weights enums
(``get_model_weights``: URL, meta, transforms) and the builders' docstrings (paper).
Nothing is downloaded. The output is normalised JSON (zoo.catalogue_data), sorted, so the committed
file changes only when torchvision's facts do; a test checks that it is current.

    python tools/generate_catalogue.py           # rewrite the catalogue
    python tools/generate_catalogue.py --check   # exit 1 if the committed one is stale
"""

from __future__ import annotations

import argparse
import inspect
import math
import re
import sys
from pathlib import Path

from zoo import catalogue_data

CATALOGUE = Path(__file__).resolve().parents[1] / "zoo_torchvision" / "catalogue.json"

IMAGENET_1K = "imagenet-1k"
# The same name and URL in every zoo plugin: the registry keeps one URL per dataset.
DATASET_URLS = {IMAGENET_1K: "https://www.image-net.org/", "ig-3.6b": None}
METRIC_DATASETS = {"ImageNet-1K": IMAGENET_1K}

SWAG_PAPER = (
    "Revisiting Weakly Supervised Pre-Training of Visual Perception Models",
    "https://arxiv.org/abs/2201.08371",
)
SQUEEZENET_PAPER = (
    "SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size",
    "https://arxiv.org/abs/1602.07360",
)

# Licence texts are written once here and named by key in each weights record.
UNSTATED = "torchvision-unstated"
DEFAULT_LICENSE = {
    "spdx": "NOASSERTION",
    "commercial_use": "unknown",
    "url": "https://github.com/pytorch/vision#pre-trained-model-license",
    "note": (
        "torchvision's code is BSD-3-Clause, but torchvision states no licence for these "
        "weights: its README says pre-trained models 'may have their own licenses or terms and "
        "conditions derived from the dataset used for training'. ImageNet's terms of access "
        "limit the training images to non-commercial research and education."
    ),
}
# Licences torchvision's weights meta names, by the URL it gives. An unknown URL stops
# the generator: a new licence is a decision for a person, not a default.
KNOWN_LICENSES = {
    "https://github.com/facebookresearch/SWAG/blob/main/LICENSE": "swag-cc-by-nc-4.0",
}
LICENSES = {
    UNSTATED: DEFAULT_LICENSE,
    "swag-cc-by-nc-4.0": {
        "spdx": "CC-BY-NC-4.0",
        "commercial_use": "forbidden",
        "url": "https://github.com/facebookresearch/SWAG/blob/main/LICENSE",
        "note": (
            "torchvision's weights meta names the SWAG licence for these weights: Creative "
            "Commons Attribution-NonCommercial 4.0 (no commercial use, attribution required)."
        ),
    },
}

# Per torchvision module: the kind of network (a tag) and the attribute path of the
# classification layer. tests/test_tv_architectures.py builds every family and checks
# the head is its last layer with 1000 outputs. A new module stops the generator so that
# somebody looks at it.
MODULE_HEAD = {
    "alexnet": "classifier.6",
    "convnext": "classifier.2",
    "densenet": "classifier",
    "efficientnet": "classifier.1",
    "googlenet": "fc",
    "inception": "fc",
    "maxvit": "classifier.5",
    "mnasnet": "classifier.1",
    "mobilenetv2": "classifier.1",
    "mobilenetv3": "classifier.3",
    "regnet": "fc",
    "resnet": "fc",
    "shufflenetv2": "fc",
    "squeezenet": "classifier.1",  # a 1x1 Conv2d, not a Linear
    "swin_transformer": "head",
    "vgg": "classifier.6",
    "vision_transformer": "heads.head",
}
MODULE_KIND = {
    "alexnet": "convnet",
    "convnext": "convnet",
    "densenet": "convnet",
    "efficientnet": "convnet",
    "googlenet": "convnet",
    "inception": "convnet",
    "maxvit": "hybrid",
    "mnasnet": "convnet",
    "mobilenetv2": "convnet",
    "mobilenetv3": "convnet",
    "regnet": "convnet",
    "resnet": "convnet",
    "shufflenetv2": "convnet",
    "squeezenet": "convnet",
    "swin_transformer": "transformer",
    "vgg": "convnet",
    "vision_transformer": "transformer",
}

# Builder arguments torchvision's own builders set when they load weights
# (``_ovewrite_named_param`` in googlenet.py / inception.py). The auxiliary classifiers
# are dropped after loading there too; zoo's key adapter drops their keys instead.
AUX_FAMILIES = {"googlenet", "inception_v3"}
AUX_KWARGS = {"transform_input": True, "aux_logits": False, "init_weights": False}

_LINK = re.compile(r"`([^`]+?)\s+<(https?://[^>\s]+)>`_{1,2}", re.S)
_HASH = re.compile(r"-([0-9a-f]{6,64})\.[A-Za-z]+$")


def _squash(text: str) -> str:
    return " ".join(text.split())


def _rst_to_text(text: str) -> str:
    """``Title <url>`_`` -> ``Title (url)``; whitespace collapsed."""
    return _squash(_LINK.sub(lambda m: f"{_squash(m.group(1))} ({m.group(2)})", text))


def _paper(name: str, doc: str) -> tuple[str | None, str | None]:
    if name.startswith("squeezenet"):  # 1_1's docstring links the repo, not the paper
        return SQUEEZENET_PAPER
    for title, url in _LINK.findall(doc):
        title = _squash(title)
        if title.lower() != "source code" and "github.com/pytorch/vision" not in url:
            return title, url
    return None, None


def _summary(doc: str) -> str:
    head = re.split(r"\n\s*(?:Args:|\.\. note::|\.\. warning::)", doc, maxsplit=1)[0]
    return _rst_to_text(head)


def _preprocessing(weights) -> dict:
    from torchvision.transforms._presets import ImageClassification

    transforms = weights.transforms
    if getattr(transforms, "func", None) is not ImageClassification:
        raise SystemExit(f"{weights}: transforms are not ImageClassification; look at it")
    defaults = {
        k: p.default
        for k, p in inspect.signature(ImageClassification.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    args = {**defaults, **transforms.keywords}
    crop = int(args["crop_size"])
    return {
        "input_size": [3, crop, crop],
        "crop_size": crop,
        "resize_size": int(args["resize_size"]),
        "crop_mode": "center",
        "interpolation": args["interpolation"].value,
        "antialias": bool(args["antialias"]),
        "mean": [float(x) for x in args["mean"]],
        "std": [float(x) for x in args["std"]],
        "min_size": [int(x) for x in weights.meta["min_size"]],
    }


def _regnet_kwargs(fn_name: str) -> dict:
    """RegNet builders compute their block widths with torch at construction, which
    fails under ``torch.device("meta")``; zoo builds RegNet from the computed block
    parameters instead (zoo_torchvision.builders:regnet)."""
    import torch
    from torchvision.models import regnet

    captured = {}
    real = regnet._regnet

    def capture(block_params, weights, progress, **kwargs):
        captured.update(vars(block_params))
        raise _Captured

    regnet._regnet = capture
    try:
        with torch.device("cpu"):
            getattr(regnet, fn_name)()
    except _Captured:
        pass
    finally:
        regnet._regnet = real
    return {
        "depths": [int(x) for x in captured["depths"]],
        "widths": [int(x) for x in captured["widths"]],
        "group_widths": [int(x) for x in captured["group_widths"]],
        "bottleneck_multipliers": [float(x) for x in captured["bottleneck_multipliers"]],
        "strides": [int(x) for x in captured["strides"]],
        "se_ratio": None if captured["se_ratio"] is None else float(captured["se_ratio"]),
    }


class _Captured(Exception):
    pass


def _family_variant(fn_name: str, weights) -> tuple[str, dict]:
    """The family a weights entry belongs to and its builder kwargs. A family is what
    ``torchvision.models.<fn>(weights=DEFAULT)`` builds; ViT weights for another input
    size (torchvision sets ``image_size`` from the weights) get a family of their own,
    ``<fn>_<size>``, because their position embeddings have another shape."""
    kwargs: dict = {}
    name = fn_name
    if fn_name.startswith("vit_"):
        size = int(weights.meta["min_size"][0])
        default_size = int(type(weights).DEFAULT.meta["min_size"][0])
        if size != 224:
            kwargs["image_size"] = size
        if size != default_size:
            name = f"{fn_name}_{size}"
    if fn_name == "maxvit_t" and tuple(weights.meta["min_size"]) != (224, 224):
        kwargs["input_size"] = list(weights.meta["min_size"])
        name = f"{fn_name}_{weights.meta['min_size'][0]}"
    if fn_name in AUX_FAMILIES:
        kwargs.update(AUX_KWARGS)
    return name, kwargs


def collect() -> dict:
    import torchvision
    from torchvision import models

    families: dict[str, dict] = {}
    weights_out: list[dict] = []
    for fn_name in models.list_models(module=models):
        builder = models.get_model_builder(fn_name)
        enum = models.get_model_weights(fn_name)
        module = builder.__module__.rsplit(".", 1)[-1]
        if module not in MODULE_KIND or module not in MODULE_HEAD:
            raise SystemExit(f"torchvision module {module!r} ({fn_name}) is new: add it to MODULE_KIND and MODULE_HEAD")
        doc = inspect.getdoc(builder) or ""
        paper_title, paper_url = _paper(fn_name, doc)
        for w in enum:
            meta = w.meta
            family_name, kwargs = _family_variant(fn_name, w)
            swag = "SWAG" in meta["_docs"]
            linear = "linear classifier" in meta["_docs"]
            features_only = not meta.get("categories")
            if family_name not in families:
                if fn_name.startswith("regnet_"):
                    builder_string, kwargs = "zoo_torchvision.builders:regnet", _regnet_kwargs(fn_name)
                else:
                    builder_string = f"torchvision.models:{fn_name}"
                description = _summary(doc)
                if family_name != fn_name:
                    description += f" Built for {w.meta['min_size'][0]}x{w.meta['min_size'][1]} inputs."
                families[family_name] = {
                    "name": family_name,
                    "modality": "vision",
                    "task": "image-classification",
                    "builder": builder_string,
                    "builder_kwargs": kwargs,
                    "default_tag": None,
                    "head": MODULE_HEAD[module],
                    "preprocessing": None,
                    "description": description,
                    "paper_url": paper_url,
                }
            family = families[family_name]
            if w is enum.DEFAULT or family["default_tag"] is None:
                family["default_tag"] = w.name.lower()
                family["preprocessing"] = _preprocessing(w)

            licence = KNOWN_LICENSES.get(meta["license"]) if "license" in meta else UNSTATED
            if licence is None:
                raise SystemExit(f"{fn_name}.{w.name}: unknown licence {meta['license']!r}: add it to KNOWN_LICENSES")
            if swag:
                datasets = [["ig-3.6b", "pretrain"], [IMAGENET_1K, "finetune"], [IMAGENET_1K, "eval"]]
            elif features_only:
                datasets = [[IMAGENET_1K, "pretrain"]]
            else:
                datasets = [[IMAGENET_1K, "pretrain"], [IMAGENET_1K, "eval"]]
            metrics = []
            for dataset, values in sorted(meta["_metrics"].items()):
                for metric, value in sorted(values.items()):
                    if not math.isnan(value):  # vgg16 features-only: no classifier, no accuracy
                        metrics.append([METRIC_DATASETS[dataset], metric, float(value), "val"])
            filename = w.url.rsplit("/", 1)[-1]
            match = _HASH.search(filename)
            tags = ["torchvision", module, MODULE_KIND[module]]
            if swag:
                tags.append("swag")
            if linear:
                tags.append("linear-classifier")
            if features_only:
                tags.append("features-only")
            description = _rst_to_text(meta["_docs"])
            # No record field holds compute or the approximate size; keep them readable.
            description += (
                f" torchvision reports {meta['_ops']} GFLOPS per image and a {meta['_file_size']} MB checkpoint."
            )
            title, url = SWAG_PAPER if swag else (paper_title, paper_url)
            weights_out.append(
                {
                    "arch": family_name,
                    "tag": w.name.lower(),
                    "sources": [w.url],
                    "sha256_prefix": match.group(1) if match else None,
                    "format": "pickle",
                    "license": licence,
                    "publisher": "torchvision",
                    "paper_title": title,
                    "paper_url": url,
                    "recipe": meta["recipe"],
                    "datasets": datasets,
                    "metrics": metrics,
                    "preprocessing": _preprocessing(w),
                    "num_params": int(meta["num_params"]),
                    "num_classes": len(meta["categories"]) if not features_only else None,
                    "description": description,
                    "tags": sorted(set(tags)),
                }
            )

    return {
        "torchvision_version": torchvision.__version__.split("+")[0],
        "families": sorted(families.values(), key=lambda f: f["name"]),
        "weights": sorted(weights_out, key=lambda w: (w["arch"], w["tag"])),
    }


def render(data: dict) -> str:
    """The catalogue as normalised JSON (zoo.catalogue_data): licences and dataset URLs by
    key, preprocessing per family (a weights entry holds only what differs)."""
    return catalogue_data.dumps(
        generated_from={"torchvision": data["torchvision_version"]},
        licenses=LICENSES,
        dataset_urls=DATASET_URLS,
        families=data["families"],
        weights=data["weights"],
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

"""The image transform that matches a checkpoint's preprocessing config.

Reads only the config (torchvision's ``resize_size`` / ``crop_size`` or timm's
``input_size`` / ``crop_pct``, ``interpolation``, ``mean``, ``std``), so it serves every
vision family, timm's included. Imports torchvision when called, never when the plugin
is listed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from zoo.errors import ZooValidationError

DEFAULT_MEAN = (0.485, 0.456, 0.406)
DEFAULT_STD = (0.229, 0.224, 0.225)


def _size(value: Any, field: str) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if isinstance(value, (list, tuple)) and len(value) in (2, 3) and all(isinstance(v, int) for v in value):
        return int(value[-2]), int(value[-1])
    raise ZooValidationError(
        f"preprocessing.{field}", f"{value!r} is not an image size", hint="give an int or [H, W] (or timm's [C, H, W])"
    )


def image_transform(config: Mapping[str, Any]) -> Any:
    """``v2.Compose``: to image -> resize (shorter side) -> centre crop -> float in
    [0, 1] -> normalize. Accepts PIL images, ``HxWxC`` uint8 arrays and ``CxHxW`` tensors."""
    import torch
    from torchvision.transforms import InterpolationMode, v2

    if "crop_size" in config:
        crop = _size(config["crop_size"], "crop_size")
    elif "input_size" in config:
        crop = _size(config["input_size"], "input_size")
    else:
        crop = (224, 224)
    if "resize_size" in config:
        resize: Any = config["resize_size"]
        resize = list(_size(resize, "resize_size")) if not isinstance(resize, int) else resize
    else:  # timm: scale so that the centre crop keeps crop_pct of the image
        pct = float(config.get("crop_pct", 0.875))
        resize = math.floor(crop[0] / pct) if crop[0] == crop[1] else [math.floor(c / pct) for c in crop]
    name = str(config.get("interpolation", "bilinear")).lower()
    try:
        interpolation = InterpolationMode(name)
    except ValueError:
        raise ZooValidationError(
            "preprocessing.interpolation", f"unknown interpolation {name!r}", hint="use bilinear, bicubic or nearest"
        ) from None
    mean = tuple(float(m) for m in config.get("mean", DEFAULT_MEAN))
    std = tuple(float(s) for s in config.get("std", DEFAULT_STD))
    return v2.Compose(
        [
            v2.ToImage(),
            v2.Resize(resize, interpolation=interpolation, antialias=bool(config.get("antialias", True))),
            v2.CenterCrop(list(crop)),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean, std),
        ]
    )

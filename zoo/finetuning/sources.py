"""Data the ``zoo finetune --data`` command understands:

- ``digits``: scikit-learn's bundled digits (:mod:`zoo.finetuning.digits`), upsampled to
  ``--image-size`` and normalised as the model's preprocessing says;
- a folder of class folders of images (``data/cat/1.jpg``, ``data/dog/2.png`` …), each
  image prepared by the model's own transform (``zoo.preprocess``);
- a ``.safetensors`` file with an ``inputs`` and a ``labels`` tensor.

A seeded, stratified ``--val-fraction`` of the data is held out for validation (digits
keep their own test split).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset, Subset, TensorDataset

from zoo.errors import ZooValidationError

__all__ = ["ImageFolder", "load", "stratified_split"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


class ImageFolder(Dataset):
    """``root/<class>/<image>``; classes in sorted order are labels 0..k-1."""

    def __init__(self, root: Path, transform: Any) -> None:
        self.root, self.transform = root, transform
        self.classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        self.samples = [
            (f, label)
            for label, c in enumerate(self.classes)
            for f in sorted((root / c).rglob("*"))
            if f.suffix.lower() in IMAGE_SUFFIXES
        ]
        self.targets = [label for _, label in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        from PIL import Image

        path, label = self.samples[index]
        with Image.open(path) as image:
            return self.transform(image.convert("RGB")), label


def stratified_split(labels: list[int], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    generator = torch.Generator().manual_seed(seed)
    train, val = [], []
    by_class: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(int(label), []).append(i)
    for label in sorted(by_class):
        idx = by_class[label]
        order = [idx[i] for i in torch.randperm(len(idx), generator=generator).tolist()]
        cut = int(round(len(order) * fraction)) if len(order) > 1 else 0
        val += order[:cut]
        train += order[cut:]
    return sorted(train), sorted(val)


def _name(text: str) -> str:
    return re.sub(r"[^a-z0-9_\-.]+", "-", text.lower()).strip("-.") or "data"


def load(
    spec: str,
    *,
    model: Any = None,
    model_name: str,
    registry: Any = None,
    image_size: int = 64,
    per_class: int | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
) -> tuple[Any, Any, str]:
    """``(train, val, dataset name)`` for ``--data SPEC``. ``model``: a model ``zoo.get``
    returned (``digits`` renders its images to the model's input size and normalisation),
    or ``None`` / the model's name (a folder or a tensor file needs no built model)."""
    if not 0 <= val_fraction < 1:
        raise ZooValidationError("val_fraction", f"must be in [0, 1), not {val_fraction}")
    preprocessing = dict(getattr(getattr(model, "zoo", None), "preprocessing", None) or {})
    if spec == "digits":
        from zoo.finetuning.digits import DATASET, digits

        channels = int((preprocessing.get("input_size") or [3])[0])
        train, val = digits(image_size, channels=channels, per_class=per_class, seed=seed, preprocessing=preprocessing)
        return train, val, DATASET
    path = Path(spec).expanduser()
    if path.is_dir():
        import zoo

        data = ImageFolder(path, zoo.preprocess(model_name, registry=registry))
        if not data.classes or not len(data):
            raise ZooValidationError(
                "data",
                f"{path} has no class folders with images",
                hint="lay it out as DIR/<class>/<image>.jpg, or use --data digits",
            )
        labels = data.targets
        name = _name(path.name)
    elif path.is_file() and path.suffix == ".safetensors":
        from safetensors.torch import load_file

        tensors = load_file(str(path))
        if not {"inputs", "labels"} <= set(tensors):
            raise ZooValidationError(
                "data",
                f"{path} must hold tensors 'inputs' and 'labels', it holds {', '.join(sorted(tensors)) or 'none'}",
            )
        data = TensorDataset(tensors["inputs"], tensors["labels"].long())
        labels = tensors["labels"].tolist()
        name = _name(path.stem)
    else:
        raise ZooValidationError(
            "data",
            f"{spec!r} is neither 'digits', a folder of class folders, nor a .safetensors file",
            hint="e.g. --data digits, --data ./images",
        )
    train_idx, val_idx = stratified_split(labels, val_fraction, seed)
    if per_class is not None:
        kept: dict[int, int] = {}
        chosen = []
        for i in train_idx:
            if kept.get(labels[i], 0) < per_class:
                kept[labels[i]] = kept.get(labels[i], 0) + 1
                chosen.append(i)
        train_idx = chosen
    return Subset(data, train_idx), (Subset(data, val_idx) if val_idx else None), name

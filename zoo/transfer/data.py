"""The labelled data ``zoo.rank`` / ``zoo.advise`` / ``zoo.drift`` take, normalised.

Accepted: ``(inputs, labels)`` with ``inputs`` a float tensor of images (N x C x H x W)
or a list of strings (text), ``labels`` a tensor / list / array of class indices; a
torch ``Dataset`` of ``(input, label)`` samples; or, from the command line, what
``zoo finetune --data`` takes (``digits``, a folder of class folders, a
``.safetensors`` file with ``inputs`` and ``labels``; :mod:`zoo.finetuning.sources`).

The fingerprint is the one lineage records (:mod:`zoo.finetuning.data`): sha256 over
``zoo-data-v1``, the count and the sorted per-sample digests, so the same
``TensorDataset`` gets the same fingerprint here and in ``zoo.finetune``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from zoo.errors import ZooTransferError

__all__ = ["Prepared", "prepare"]


@dataclass(frozen=True)
class Prepared:
    inputs: Any  # a float tensor N x C x H x W (vision) or a list of N strings (text)
    labels: np.ndarray | None  # N ints, or None for unlabelled data (drift only)
    modality: str  # "vision" or "text"
    fingerprint: str
    name: str | None

    def __len__(self) -> int:
        return len(self.inputs)

    def counts(self, num_classes: int) -> np.ndarray:
        return np.bincount(self.labels, minlength=num_classes)


def _fingerprint(inputs: Any, labels: Sequence[int] | None) -> str:
    from zoo.finetuning.data import combine_digests, sample_digest

    # (input,): a sample's inputs as zoo.finetune's scan splits them off its label
    return combine_digests(
        [sample_digest((inputs[i],), None if labels is None else int(labels[i])) for i in range(len(inputs))]
    )


def _labels(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        if value.is_floating_point() or value.dtype == torch.bool:
            raise ZooTransferError(
                "labels", f"are {value.dtype}, not integer class indices", hint="pass class indices 0..k-1"
            )
        return value.detach().cpu().reshape(-1).numpy().astype(np.int64)
    array = np.asarray(value)
    if array.dtype.kind not in "iu":
        raise ZooTransferError(
            "labels", f"are {array.dtype}, not integer class indices", hint="pass class indices 0..k-1"
        )
    return array.reshape(-1).astype(np.int64)


def _unlabelled(what: str) -> ZooTransferError:
    return ZooTransferError(
        "data",
        f"is not labelled ({what}): ranking and advice need a class label per example",
        hint="pass (inputs, labels), or a Dataset of (input, label) samples",
    )


def prepare(data: Any, *, labelled: bool = True, name: str | None = None) -> Prepared:
    """Normalise ``data`` (see the module's docstring); ``labelled=False`` accepts inputs
    alone (drift)."""
    inputs: Any
    labels: Any = None
    if isinstance(data, Prepared):
        if labelled and data.labels is None:
            raise _unlabelled("prepared without labels")
        return data
    if isinstance(data, torch.Tensor) or (isinstance(data, (list, tuple)) and data and isinstance(data[0], str)):
        inputs = data
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        inputs, labels = data
    elif isinstance(data, (tuple, list)) and len(data) == 1:
        inputs = data[0]
    elif hasattr(data, "__getitem__") and hasattr(data, "__len__") and not isinstance(data, (str, bytes, Mapping)):
        xs, ys = [], []
        for i in range(len(data)):
            item = data[i]
            if isinstance(item, Mapping):
                key = next((k for k in ("labels", "label") if k in item), None)
                text = item.get("text")
                xs.append(text)
                ys.append(item[key] if key else None)
            elif isinstance(item, (tuple, list)) and len(item) >= 2:
                xs.append(item[0])
                ys.append(item[-1])
            else:
                xs.append(item[0] if isinstance(item, (tuple, list)) else item)
                ys.append(None)
        if xs and all(isinstance(x, torch.Tensor) for x in xs):
            inputs = torch.stack(xs)
        elif xs and all(isinstance(x, str) for x in xs):
            inputs = list(xs)
        else:
            raise ZooTransferError(
                "data", "samples must be image tensors or strings", hint="pass (images N x C x H x W, labels)"
            )
        labels = None if any(y is None for y in ys) else torch.as_tensor([int(torch.as_tensor(y)) for y in ys])
    else:
        raise ZooTransferError(
            "data",
            f"a {type(data).__name__} is not data zoo can rank on",
            hint="pass (inputs, labels) tensors, (list of strings, labels), or a Dataset of (input, label)",
        )
    if isinstance(inputs, torch.Tensor):
        if not inputs.is_floating_point() or inputs.ndim != 4:
            raise ZooTransferError(
                "data",
                f"image inputs must be a float tensor N x C x H x W, not {inputs.dtype} of shape {tuple(inputs.shape)}",
                hint="pass preprocessed images (e.g. zoo.finetuning.digits.digits())",
            )
        modality = "vision"
    elif isinstance(inputs, (list, tuple)) and inputs and all(isinstance(t, str) for t in inputs):
        inputs, modality = list(inputs), "text"
    else:
        raise ZooTransferError("data", "inputs must be images (a float tensor) or a list of strings")
    if len(inputs) == 0:
        raise ZooTransferError("data", "is empty", hint="check the data set's path or the subset you selected")
    array = None
    if labels is not None:
        array = _labels(labels)
        if len(array) != len(inputs):
            raise ZooTransferError("data", f"has {len(inputs)} inputs but {len(array)} labels")
        if array.min() < 0:
            raise ZooTransferError("labels", f"include negative values ({int(array.min())})", hint="use 0..k-1")
    elif labelled:
        raise _unlabelled("inputs without labels")
    return Prepared(inputs, array, modality, _fingerprint(inputs, array), name)


def check_classes(prepared: Prepared, num_classes: int | None) -> int:
    """``num_classes`` (inferred when ``None``), refusing labels outside it."""
    high = int(prepared.labels.max())
    if num_classes is None:
        return high + 1
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ZooTransferError("num_classes", f"must be an integer >= 2, not {num_classes!r}")
    if high >= num_classes:
        bad = sorted({int(v) for v in prepared.labels if v >= num_classes})
        raise ZooTransferError(
            "labels",
            f"has labels outside 0..{num_classes - 1} (num_classes={num_classes}): {', '.join(map(str, bad[:10]))}",
            hint=f"pass num_classes={high + 1} (or more), or remap the labels to 0..{num_classes - 1}",
        )
    return num_classes

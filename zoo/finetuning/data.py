"""Training data for ``zoo.finetune``: Datasets, DataLoaders, ``(x, y)`` tensors.

zoo does its own batching so that a seeded run is reproducible, a resumed run sees the
same batches, and ``torchrun`` gives the same global batches as one process: every
epoch a permutation is drawn from a generator seeded by ``(seed, epoch)``, cut into
global batches of ``batch_size``, and process ``r`` of ``W`` takes
``batch[r::W]``. From a DataLoader zoo keeps the dataset, ``collate_fn``,
``num_workers`` and ``pin_memory``; a DataLoader over an ``IterableDataset`` is used as
it is (one process only).

A sample is ``(inputs, label)`` — inputs a tensor, a tuple of tensors or a mapping of
tensors (a tokenizer's output) — or a mapping with a ``labels``/``label`` key; a
collated batch has the same shape.

The data fingerprint (what lineage records): sha256 over ``"zoo-data-v1"``, the number
of samples and the sorted sha256 digests of the samples, each digest over the sample as
the dataset returns it — every tensor's dtype, shape and bytes, every number and
string, mapping keys in sorted order — and its label. Sorting makes it independent of
the order; a dataset with random transforms gives another fingerprint each time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler, TensorDataset

from zoo.errors import ZooValidationError

__all__ = ["DataSpec", "GlobalBatchSampler", "ScanResult", "as_spec", "forward", "scan", "split_batch", "to_device"]

LABEL_KEYS = ("labels", "label")


@dataclass
class DataSpec:
    """A normalised data argument."""

    argument: str  # "train" or "val": errors name it
    dataset: Any
    collate_fn: Any = None
    num_workers: int = 0
    pin_memory: bool = False
    loader: DataLoader | None = None  # only for an IterableDataset loader, used as is
    batch_size: int | None = None  # the DataLoader's, when one was given

    @property
    def iterable(self) -> bool:
        return self.loader is not None

    def __len__(self) -> int:
        return len(self.dataset)


def as_spec(data: Any, argument: str) -> DataSpec:
    if isinstance(data, DataLoader):
        if isinstance(data.dataset, IterableDataset):
            return DataSpec(
                argument,
                data.dataset,
                data.collate_fn,
                data.num_workers,
                data.pin_memory,
                loader=data,
                batch_size=data.batch_size,
            )
        return DataSpec(
            argument, data.dataset, data.collate_fn, data.num_workers, data.pin_memory, batch_size=data.batch_size
        )
    if isinstance(data, IterableDataset):
        return DataSpec(argument, data, loader=DataLoader(data, batch_size=None))
    if isinstance(data, Dataset) or (
        hasattr(data, "__getitem__")
        and hasattr(data, "__len__")
        and not isinstance(data, (tuple, list, str, bytes, Mapping))
    ):
        return DataSpec(argument, data)
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data):
        x, y = data
        if len(x) != len(y):
            raise ZooValidationError(
                argument,
                f"has {len(x)} inputs but {len(y)} labels",
                hint="give (inputs, labels) tensors of the same length",
            )
        return DataSpec(argument, TensorDataset(x, y))
    raise ZooValidationError(
        argument,
        f"must be a torch Dataset, a DataLoader or (inputs, labels) tensors, not {type(data).__name__}",
        hint="wrap your data in torch.utils.data.TensorDataset or a Dataset class",
    )


class GlobalBatchSampler(Sampler):
    """This process's share of each global batch (see the module's docstring)."""

    def __init__(self, n: int, batch_size: int, *, shuffle: bool, seed: int, rank: int = 0, world: int = 1) -> None:
        self.n, self.batch_size, self.shuffle, self.seed = n, batch_size, shuffle, seed
        self.rank, self.world = rank, world
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def global_batches(self) -> list[list[int]]:
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(self.n, generator=generator).tolist()
        else:
            order = list(range(self.n))
        batches = [order[i : i + self.batch_size] for i in range(0, self.n, self.batch_size)]
        # A last batch smaller than the number of processes would leave one of them with
        # nothing to do; it is dropped (at most world-1 samples; never with one process).
        if batches and len(batches[-1]) < self.world:
            batches.pop()
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.global_batches():
            yield batch[self.rank :: self.world]

    def __len__(self) -> int:
        return len(self.global_batches())


def loader(spec: DataSpec, sampler: GlobalBatchSampler) -> DataLoader:
    # The workers' seeds (random transforms in a worker) come from this generator, not
    # from the global RNG: the same run seed gives the same augmentations.
    generator = torch.Generator().manual_seed(sampler.seed * 1_000_003 + sampler.epoch + 7)
    return DataLoader(
        spec.dataset,
        batch_sampler=sampler,
        collate_fn=spec.collate_fn,
        num_workers=spec.num_workers,
        pin_memory=spec.pin_memory,
        generator=generator,
    )


# -- batches ---------------------------------------------------------------------------------


def _label_key(batch: Mapping[str, Any]) -> str | None:
    return next((k for k in LABEL_KEYS if k in batch), None)


def split_batch(batch: Any, argument: str = "train") -> tuple[Any, torch.Tensor]:
    """``(inputs, labels)`` of a collated batch."""
    if isinstance(batch, Mapping):
        key = _label_key(batch)
        if key is None:
            raise ZooValidationError(
                argument,
                f"a batch is a mapping without a label ({', '.join(batch)})",
                hint="add a 'labels' entry to each sample",
            )
        return {k: v for k, v in batch.items() if k != key}, batch[key]
    if isinstance(batch, (tuple, list)) and len(batch) >= 2:
        inputs = batch[0] if len(batch) == 2 else tuple(batch[:-1])
        return inputs, batch[-1]
    raise ZooValidationError(
        argument,
        f"a batch is a {type(batch).__name__}, not (inputs, labels)",
        hint="each sample must be (inputs, label) or a mapping with 'labels'",
    )


def to_device(inputs: Any, device: torch.device, non_blocking: bool = False) -> Any:
    if isinstance(inputs, torch.Tensor):
        return inputs.to(device, non_blocking=non_blocking)
    if isinstance(inputs, Mapping):
        return {k: to_device(v, device, non_blocking) for k, v in inputs.items()}
    if isinstance(inputs, (tuple, list)):
        return type(inputs)(to_device(v, device, non_blocking) for v in inputs)
    return inputs


def forward(model: torch.nn.Module, inputs: Any) -> torch.Tensor:
    if isinstance(inputs, Mapping):
        return model(**inputs)
    if isinstance(inputs, (tuple, list)):
        return model(*inputs)
    return model(inputs)


def batch_size_of(inputs: Any) -> int:
    if isinstance(inputs, torch.Tensor):
        return int(inputs.shape[0])
    if isinstance(inputs, Mapping):
        return batch_size_of(next(iter(inputs.values())))
    return batch_size_of(inputs[0])


# -- the scan before training: labels, size, fingerprint --------------------------------------


@dataclass(frozen=True)
class ScanResult:
    count: int
    classes: tuple[int, ...]  # the distinct labels seen
    fingerprint: str | None
    sample_shape: tuple[int, ...] | None  # of an image-like tensor input, if any

    @property
    def max_label(self) -> int:
        return max(self.classes)


def _label_value(value: Any, argument: str, index: int) -> int:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ZooValidationError(
                argument,
                f"sample {index}: the label is a tensor of shape {tuple(value.shape)}, not one class index",
                hint="labels must be integer class indices 0..num_classes-1",
            )
        if value.is_floating_point() or value.dtype == torch.bool:
            raise ZooValidationError(
                argument,
                f"sample {index}: the label {value.item()!r} is not an integer class index",
                hint="labels must be integer class indices 0..num_classes-1",
            )
        return int(value.item())
    if hasattr(value, "dtype") and hasattr(value, "item") and getattr(value, "size", 2) == 1:  # numpy
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int):
        raise ZooValidationError(
            argument,
            f"sample {index}: the label {value!r} is not an integer class index",
            hint="labels must be integer class indices 0..num_classes-1",
        )
    return value


def _item_parts(item: Any, argument: str, index: int) -> tuple[Any, Any]:
    if isinstance(item, Mapping):
        key = _label_key(item)
        if key is None:
            raise ZooValidationError(
                argument,
                f"sample {index} is a mapping without a label ({', '.join(map(str, item))})",
                hint="add a 'labels' entry to each sample",
            )
        return {k: v for k, v in item.items() if k != key}, item[key]
    if isinstance(item, (tuple, list)) and len(item) >= 2:
        return item[:-1], item[-1]
    raise ZooValidationError(
        argument,
        f"sample {index} is a {type(item).__name__}, not (inputs, label)",
        hint="each sample must be (inputs, label) or a mapping with 'labels'",
    )


def _feed(h: Any, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(value, Mapping):
        h.update(b"M")
        for key in sorted(value, key=str):
            h.update(f"k{key}".encode())
            _feed(h, value[key])
    elif isinstance(value, (tuple, list)):
        h.update(f"L{len(value)}".encode())
        for v in value:
            _feed(h, v)
    elif isinstance(value, (bool, int, float, str, type(None))):
        h.update(f"{type(value).__name__}:{value!r}".encode())
    elif isinstance(value, bytes):
        h.update(b"B" + value)
    elif hasattr(value, "__array__"):  # numpy arrays, PIL images
        import numpy as np

        array = np.ascontiguousarray(np.asarray(value))
        h.update(f"A{array.dtype}{array.shape}".encode())
        h.update(array.tobytes())
    else:
        raise ZooValidationError(
            "train",
            f"cannot fingerprint a sample part of type {type(value).__name__}",
            hint="return tensors, numbers, strings or mappings of them from the dataset",
        )


def _image_shape(inputs: Any) -> tuple[int, ...] | None:
    x = inputs[0] if isinstance(inputs, (tuple, list)) and len(inputs) == 1 else inputs
    if isinstance(x, torch.Tensor) and x.ndim == 3 and x.is_floating_point():
        return tuple(int(s) for s in x.shape)
    return None


def sample_digest(inputs: Any, label: int | None) -> bytes:
    """One sample's part of the data fingerprint: its inputs (as a scan splits them off
    the label) and its label, if it has one."""
    h = hashlib.sha256()
    _feed(h, inputs)
    if label is not None:
        _feed(h, label)
    return h.digest()


def combine_digests(digests: Sequence[bytes]) -> str:
    """The data fingerprint from its samples' digests: order-free, and it names the count."""
    h = hashlib.sha256(b"zoo-data-v1\n" + str(len(digests)).encode() + b"\n")
    for d in sorted(digests):
        h.update(d)
    return h.hexdigest()


def scan(spec: DataSpec, *, fingerprint: bool) -> ScanResult:
    """One pass over the samples: count, labels and (if asked) the fingerprint."""
    labels: set[int] = set()
    digests: list[bytes] = []
    shape = None
    count = 0
    if spec.iterable:
        for batch in spec.loader:
            inputs, y = split_batch(batch, spec.argument)
            y = y.reshape(-1) if isinstance(y, torch.Tensor) else torch.as_tensor(y).reshape(-1)
            for row in range(len(y)):
                label = _label_value(y[row], spec.argument, count)
                labels.add(label)
                if fingerprint:
                    digests.append(sample_digest(_row(inputs, row), label))
                count += 1
    else:
        n = len(spec.dataset)
        fast = _fast_labels(spec.dataset) if not fingerprint else None
        if fast is not None:
            for i, value in enumerate(fast):
                labels.add(_label_value(value, spec.argument, i))
            count = n
            item = spec.dataset[0] if n else None
            shape = _image_shape(_item_parts(item, spec.argument, 0)[0]) if item is not None else None
        else:
            for i in range(n):
                inputs, value = _item_parts(spec.dataset[i], spec.argument, i)
                label = _label_value(value, spec.argument, i)
                labels.add(label)
                if shape is None and i == 0:
                    shape = _image_shape(inputs)
                if fingerprint:
                    digests.append(sample_digest(inputs, label))
            count = n
    if count == 0:
        raise ZooValidationError(
            spec.argument,
            "is empty: there is nothing to train or evaluate on",
            hint="check the data set's path or the subset you selected",
        )
    digest = combine_digests(digests) if fingerprint else None
    return ScanResult(count, tuple(sorted(labels)), digest, shape)


def _row(inputs: Any, row: int) -> Any:
    if isinstance(inputs, torch.Tensor):
        return inputs[row]
    if isinstance(inputs, Mapping):
        return {k: _row(v, row) for k, v in inputs.items()}
    if isinstance(inputs, (tuple, list)):
        return tuple(_row(v, row) for v in inputs)
    return inputs


def _fast_labels(dataset: Any) -> Sequence[Any] | None:
    """Labels without loading the samples, where the dataset keeps them apart."""
    if isinstance(dataset, TensorDataset):
        return dataset.tensors[-1]
    targets = getattr(dataset, "targets", None)
    if isinstance(targets, (list, tuple, torch.Tensor)) and len(targets) == len(dataset):
        return targets
    return None


def check_labels(result: ScanResult, num_classes: int, argument: str) -> None:
    low, high = min(result.classes), max(result.classes)
    if low < 0 or high >= num_classes:
        bad = [c for c in result.classes if c < 0 or c >= num_classes]
        raise ZooValidationError(
            argument,
            f"has labels outside 0..{num_classes - 1} (num_classes={num_classes}): "
            f"{', '.join(map(str, bad[:10]))}{' …' if len(bad) > 10 else ''}",
            hint=f"pass num_classes={high + 1} (or more), or remap the labels to 0..{num_classes - 1}",
        )

"""What ``zoo.finetune`` returns (plain Python; the model is whatever torch made)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["EpochMetrics", "FinetuneResult", "PhaseInfo"]


@dataclass(frozen=True)
class EpochMetrics:
    """One epoch: training loss/accuracy (over the epoch's batches, in train mode),
    validation loss/accuracy (``None`` without ``val``), wall time, learning rate of
    the head's group at the epoch's end."""

    epoch: int
    phase: str
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    time_s: float
    lr: float
    trainable_params: int

    @property
    def loss(self) -> float:
        return self.val_loss if self.val_loss is not None else self.train_loss

    @property
    def accuracy(self) -> float:
        return self.val_accuracy if self.val_accuracy is not None else self.train_accuracy


@dataclass(frozen=True)
class PhaseInfo:
    """A phase as it ran: its epochs and the optimizer's param groups, read back from
    the optimizer (``name``, ``lr`` = the group's base learning rate, ``weight_decay``,
    ``params`` = number of tensors, ``numel``)."""

    name: str
    epochs: int
    features: bool
    groups: tuple[dict[str, Any], ...]


@dataclass
class FinetuneResult:
    """The fine-tuned model (exported: adapters merged, eval mode) and how it got there."""

    model: Any
    recipe: str
    params: dict[str, Any]
    metrics: list[EpochMetrics]
    timings: dict[str, float]
    trainable_params: int
    total_params: int
    phases: list[PhaseInfo]
    num_classes: int
    train_samples: int
    val_samples: int | None = None
    data_fingerprint: str | None = None
    registered: str | None = None
    """``team/name@version`` when ``register_as`` was given."""
    resumed_from_epoch: int | None = None
    checkpoint: str | None = None
    seed: int = 0
    world_size: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
    lineage: dict[str, Any] = field(default_factory=dict, repr=False)
    """What registration needs (parent card, recipe record, data scans); internal."""

    @property
    def final(self) -> EpochMetrics | None:
        return self.metrics[-1] if self.metrics else None

    @property
    def accuracy(self) -> float | None:
        """Validation accuracy after the last epoch (training accuracy without ``val``)."""
        return self.final.accuracy if self.final else None

    @property
    def wall_time_s(self) -> float:
        return self.timings.get("total_s", 0.0)

    def summary(self) -> str:
        f = self.final
        acc = f"{100 * f.accuracy:.2f}%" if f else "n/a"
        return (
            f"{self.recipe}: {len(self.metrics)} epochs, accuracy {acc}, {self.trainable_params:,} of "
            f"{self.total_params:,} parameters trained, {self.wall_time_s:.1f} s"
            + (f"; registered {self.registered}" if self.registered else "")
        )

    def register(
        self,
        name: str,
        *,
        registry: Any = None,
        dataset: str | None = None,
        preprocessing: dict[str, Any] | None = None,
    ) -> str:
        """Register the fine-tuned weights as ``name`` (``team/name``; the registry gives
        the next version) with their lineage, as ``register_as`` does; returns
        ``name@version``. Only for a model ``zoo.get`` built (its record is the parent)."""
        from zoo.finetuning.lineage import register_result

        self.registered = register_result(self, name, registry=registry, dataset=dataset, preprocessing=preprocessing)
        return self.registered

    def to_dict(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe,
            "params": self.params,
            "num_classes": self.num_classes,
            "metrics": [asdict(m) for m in self.metrics],
            "timings": self.timings,
            "trainable_params": self.trainable_params,
            "total_params": self.total_params,
            "phases": [asdict(p) for p in self.phases],
            "train_samples": self.train_samples,
            "val_samples": self.val_samples,
            "data_fingerprint": self.data_fingerprint,
            "registered": self.registered,
            "resumed_from_epoch": self.resumed_from_epoch,
            "checkpoint": self.checkpoint,
            "seed": self.seed,
            "world_size": self.world_size,
            "accuracy": self.accuracy,
            **self.extra,
        }

"""Deprecated: this module is :mod:`zoo.finetuning.lineage` (since 0.2)."""

from zoo.finetune import _alias

_alias("lineage")

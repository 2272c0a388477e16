"""Deprecated: this module is :mod:`zoo.finetuning.trainer` (since 0.2)."""

from zoo.finetune import _alias

_alias("trainer")

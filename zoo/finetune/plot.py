"""Deprecated: this module is :mod:`zoo.finetuning.plot` (since 0.2)."""

from zoo.finetune import _alias

_alias("plot")

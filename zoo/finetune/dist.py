"""Deprecated: this module is :mod:`zoo.finetuning.dist` (since 0.2)."""

from zoo.finetune import _alias

_alias("dist")

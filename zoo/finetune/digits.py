"""Deprecated: this module is :mod:`zoo.finetuning.digits` (since the release after 0.1.0; see CHANGELOG.md)."""

from zoo.finetune import _alias

_alias("digits")

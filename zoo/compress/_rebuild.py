"""Deprecated: this module is :mod:`zoo.compression._rebuild` (since the release after 0.1.0; see CHANGELOG.md)."""

from zoo.compress import _alias

_alias("_rebuild")

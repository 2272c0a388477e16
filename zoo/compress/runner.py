"""Deprecated: this module is :mod:`zoo.compression.runner` (since the release after 0.1.0; see CHANGELOG.md)."""

from zoo._moved import moved_module

moved_module(__name__)

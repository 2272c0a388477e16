"""Shared helpers of zoo-timm's tests (a uniquely named module, not a conftest, so that
it never collides with the other plugins' test helpers)."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from pathlib import Path

PLUGIN_ROOT = Path(__file__).resolve().parents[1]

# The ImageNet-1k class indices the tests need (ILSVRC-2012 order, as torchvision's and
# timm's 1000-class heads use it).
IMAGENET_LABELS = {698: "palace", 985: "daisy"}


def load_generator():
    """tools/generate_catalogue.py as a module."""
    path = PLUGIN_ROOT / "tools" / "generate_catalogue.py"
    spec = importlib.util.spec_from_file_location("zoo_timm_generate_catalogue", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def import_string(target: str):
    module, _, attr = target.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def pkg_path(uri: str) -> Path:
    """The installed file a ``pkg://DIST/PATH`` source names."""
    dist_name, _, relative = uri.split("://", 1)[1].partition("/")
    return Path(str(importlib.metadata.distribution(dist_name).locate_file(relative)))

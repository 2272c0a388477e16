"""zoo: a plugin-based model zoo and registry for pretrained PyTorch backbones.

``import zoo`` is cheap: submodules load on first use (no torch, no SQLAlchemy until
needed)."""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# name -> "module:attribute", imported on first access (transformers-style lazy mapping).
_LAZY = {
    "Registry": "zoo.registry:Registry",
    "open_registry": "zoo.registry:open_registry",
    "registry": "zoo.registry:",
    "records": "zoo.records:",
    "errors": "zoo.errors:",
    "ZooError": "zoo.errors:ZooError",
    "get": "zoo.resolve:get",
    "preprocess": "zoo.resolve:preprocess",
    "LoadReport": "zoo.resolve:LoadReport",
    "ModelInfo": "zoo.resolve:ModelInfo",
    "finetune": "zoo.finetune:finetune",
    "FinetuneResult": "zoo.finetune:FinetuneResult",
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'zoo' has no attribute {name!r}")
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    value = getattr(module, attr) if attr else module
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))

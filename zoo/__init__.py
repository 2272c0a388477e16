"""zoo: a plugin-based model zoo and registry for pretrained PyTorch backbones.

``import zoo`` is cheap: submodules load on first use (no torch, no SQLAlchemy until
needed)."""

from __future__ import annotations

from zoo._lazy import lazy_getattr

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
    "LoadReport": "zoo._load_report:LoadReport",
    "ModelInfo": "zoo.resolve:ModelInfo",
    "finetune": "zoo.finetuning:finetune",
    "FinetuneResult": "zoo.finetuning:FinetuneResult",
    "compress": "zoo.compression:compress",
    "CompressResult": "zoo.compression.result:CompressResult",
    "rank": "zoo.transfer.core:rank",
    "advise": "zoo.transfer.core:advise",
    "drift": "zoo.transfer.core:drift",
    "transfer": "zoo.transfer:",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))

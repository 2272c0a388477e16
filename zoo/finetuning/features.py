"""The on-disk cache of frozen backbones' pooled features, shared by the linear probe
(``zoo.finetune`` recipes with ``cache_features``) and the transfer advisor
(``zoo.rank`` / ``zoo.advise``).

An entry is ``$ZOO_HOME/features/<key>.safetensors`` holding ``features`` (n x d, float32,
in the data's order) and, when the source head was read, ``source_logits``; ``key`` is
the sha256 of ``zoo-features-v1``, the weights' sha256 (or ``random:<arch>:<seed>`` for
a control), the data fingerprint and the variant. Written to a temporary file and
renamed, so a reader never sees half an entry; an unreadable entry is recomputed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import torch

__all__ = ["FeatureCache"]


class FeatureCache:
    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        if directory is None:
            from zoo.registry._location import zoo_home

            directory = zoo_home() / "features"
        self.directory = Path(directory)

    @staticmethod
    def key(model_id: str, data_fingerprint: str, variant: str = "pooled") -> str:
        text = f"zoo-features-v1\n{model_id}\n{data_fingerprint}\n{variant}"
        return hashlib.sha256(text.encode()).hexdigest()

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.safetensors"

    def load(self, key: str) -> dict[str, torch.Tensor] | None:
        path = self.path(key)
        if not path.exists():
            return None
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception:  # noqa: BLE001 - a damaged entry (any reader error) is a miss, recomputed and replaced
            return None

    def save(self, key: str, tensors: dict[str, torch.Tensor]) -> Path:
        from safetensors.torch import save_file

        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".partial")
        os.close(fd)
        try:
            save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, tmp)
            os.replace(tmp, self.path(key))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return self.path(key)

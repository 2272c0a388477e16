"""Weights: fetch -> verify -> cache -> open.

``fetch`` returns a verified checkpoint from the content-addressed cache under
``$ZOO_HOME/weights`` (downloading it first from ``file://``, ``http(s)://``,
``pkg://DIST/PATH`` or a plugin store's scheme, mirrors first); ``open_state_dict``
loads it as safetensors after a fast integrity check. Pickles are opened only with
``torch.load(weights_only=True)``, once, and converted to safetensors in the cache.

Importing this package imports no torch.
"""

from __future__ import annotations

from zoo.weights._cache import FetchedFile, WeightsCache
from zoo.weights._fetch import fetch, fetch_weights
from zoo.weights._hashing import fast_fingerprint, sha256_file
from zoo.weights._open import checked_path, open_state_dict, verify_full
from zoo.weights._sources import mirror_rewrites


def add_file(
    path, expected_sha256: str | None = None, *, sha256_prefix: str | None = None, cache: WeightsCache | None = None
) -> FetchedFile:
    """Place a checkpoint you obtained yourself in the cache (what offline mode asks
    for), verified against ``expected_sha256`` or ``sha256_prefix`` when given."""
    return (cache or WeightsCache()).add_file(path, expected_sha256, sha256_prefix=sha256_prefix)


__all__ = [
    "FetchedFile",
    "WeightsCache",
    "add_file",
    "checked_path",
    "fast_fingerprint",
    "fetch",
    "fetch_weights",
    "mirror_rewrites",
    "open_state_dict",
    "sha256_file",
    "verify_full",
]

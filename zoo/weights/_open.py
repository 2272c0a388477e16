"""open: check the cached file, then load it (safetensors only, memory-mapped)."""

from __future__ import annotations

from typing import Any

from zoo.errors import ZooIntegrityError, ZooValidationError
from zoo.weights import _formats
from zoo.weights._cache import FetchedFile, WeightsCache
from zoo.weights._hashing import fast_check

VERIFY_MODES = ("fast", "full", "none")


def _cache_of(fetched: FetchedFile, cache: WeightsCache | None) -> WeightsCache:
    return cache or WeightsCache(fetched.cache_root)


def verify_full(fetched: FetchedFile | str, *, cache: WeightsCache | None = None) -> FetchedFile:
    """Re-hash every byte of a cached checkpoint (original and converted file). A bad
    file is quarantined and :class:`~zoo.errors.ZooIntegrityError` raised."""
    if isinstance(fetched, FetchedFile):
        return _cache_of(fetched, cache).verify_full(fetched.sha256)
    return (cache or WeightsCache()).verify_full(fetched)


def checked_path(fetched: FetchedFile, *, verify: str = "fast", cache: WeightsCache | None = None):
    """The path of ``fetched``'s safetensors file once it passed ``verify``."""
    if not isinstance(fetched, FetchedFile):
        raise ZooValidationError("fetched", f"expected a FetchedFile, got {type(fetched).__name__}",
                                 hint="get one from zoo.weights.fetch(...)")
    if verify not in VERIFY_MODES:
        raise ZooValidationError("verify", f"unknown mode {verify!r}", hint=f"use one of: {', '.join(VERIFY_MODES)}")
    if verify == "none":
        return fetched.path
    if verify == "full":
        return verify_full(fetched, cache=cache).path
    problem = fast_check(fetched.path, fetched.check)
    if problem is None:
        return fetched.path
    # Something changed since the fetch: decide with the full sha256, under the lock.
    store = _cache_of(fetched, cache)
    moved: list[str] = []
    with store.acquire(fetched.sha256):
        data = store.find(fetched.sha256)
        result = store.ready(data, moved=moved) if data is not None else None
    if result is None:
        where = ", ".join(moved) or str(store.quarantine_dir)
        raise ZooIntegrityError(
            f"cached checkpoint {fetched.sha256[:16]}… at {fetched.path} failed its integrity check "
            f"({problem}) and was not loaded; quarantined: {where}",
            quarantined=moved,
            hint="fetch it again (zoo.weights.fetch / zoo.get re-downloads it)",
        )
    return result.path


def open_state_dict(
    fetched: FetchedFile, device: Any = "cpu", *, verify: str = "fast", cache: WeightsCache | None = None
) -> dict[str, Any]:
    """The checkpoint's state dict (``dict[str, Tensor]``) loaded from safetensors straight
    to ``device``, after the integrity check ``verify`` (``'fast'`` by default, ``'full'``
    re-hashes every byte, ``'none'`` skips it). Never unpickles."""
    return _formats.load_safetensors(checked_path(fetched, verify=verify, cache=cache), device=str(device))

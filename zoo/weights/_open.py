"""open: check the cached file, then load it (safetensors only, memory-mapped)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from zoo.errors import ZooFormatError, ZooIntegrityError, ZooValidationError
from zoo.weights import _formats
from zoo.weights._cache import FetchedFile, WeightsCache
from zoo.weights._hashing import fast_check, fast_digest

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
    """The path of ``fetched``'s safetensors file once it passed ``verify`` (``'fast'``
    reads every byte for the xxh3 digest; prefer :func:`open_state_dict`, which checks
    the bytes it loads)."""
    _check_args(fetched, verify)
    if verify == "none":
        return fetched.path
    if verify == "full":
        return verify_full(fetched, cache=cache).path
    problem = fast_check(fetched.path, fetched.check, content=True)
    return fetched.path if problem is None else _reverify(fetched, problem, cache).path


def _check_args(fetched: Any, verify: str) -> None:
    if not isinstance(fetched, FetchedFile):
        raise ZooValidationError(
            "fetched",
            f"expected a FetchedFile, got {type(fetched).__name__}",
            hint="get one from zoo.weights.fetch(...)",
        )
    if verify not in VERIFY_MODES:
        raise ZooValidationError("verify", f"unknown mode {verify!r}", hint=f"use one of: {', '.join(VERIFY_MODES)}")


def _reverify(fetched: FetchedFile, problem: str, cache: WeightsCache | None) -> FetchedFile:
    """Something changed since the fetch: decide with the full sha256, under the lock
    (re-record an intact file, quarantine a damaged one, reconvert from a pickle)."""
    store = _cache_of(fetched, cache)
    moved: list[str] = []
    with store.acquire(fetched.sha256):
        data = store.find(fetched.sha256)
        result = store.ready(data, full=True, moved=moved) if data is not None else None
    if result is None:
        where = ", ".join(moved) or str(store.quarantine_dir)
        raise ZooIntegrityError(
            f"cached checkpoint {fetched.sha256[:16]}… at {fetched.path} failed its integrity check "
            f"({problem}) and was not loaded; quarantined: {where}",
            quarantined=moved,
            hint="fetch it again (zoo.weights.fetch / zoo.get re-downloads it)",
        )
    return result


def _quarantine_malformed(fetched: FetchedFile, exc: ZooFormatError, cache: WeightsCache | None) -> None:
    """A cached file that is not valid safetensors is never trusted again."""
    store = _cache_of(fetched, cache)
    with store.acquire(fetched.sha256):
        moved = store.quarantine(fetched.path, exc.message, expected_sha256=fetched.safetensors_sha256)
        store.sidecar_path(fetched.sha256).unlink(missing_ok=True)
    exc.quarantined = (str(moved),) if moved else ()


class _Mapped:
    """A private (copy-on-write) map of a cached file, its xxh3 digest computed in a
    thread (xxhash releases the GIL) while the caller builds the model."""

    def __init__(self, path) -> None:
        import mmap

        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            # ACCESS_COPY: tensors may be written in place (fine-tuning) without touching the file
            self.buffer = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY) if size else b""
        self.digest: str | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._hash, name="zoo-xxh3", daemon=True)
        self.thread.start()

    def _hash(self) -> None:
        try:
            self.digest = fast_digest(self.buffer)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            self.error = exc

    def result(self) -> str:
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.digest or ""


def begin_open(
    fetched: FetchedFile, device: Any = "cpu", *, verify: str = "fast", cache: WeightsCache | None = None
) -> Callable[[], dict[str, Any]]:
    """Start :func:`open_state_dict`: the file is mapped and its digest computed in the
    background; the returned function waits for it and returns the state dict."""
    _check_args(fetched, verify)
    if verify != "fast":
        return lambda: _load(checked_path(fetched, verify=verify, cache=cache), fetched, device, cache)
    problem = fast_check(fetched.path, fetched.check)
    if problem is not None:  # stat changed: settle it by sha256 first
        fetched = _reverify(fetched, problem, cache)
    try:
        mapped = _Mapped(fetched.path)
    except FileNotFoundError:
        fetched = _reverify(fetched, "file is missing", cache)
        mapped = _Mapped(fetched.path)

    def finish() -> dict[str, Any]:
        nonlocal fetched, mapped
        if mapped.result() != fetched.check.get("xxh3"):
            del mapped  # drop the map of the bad bytes before the file is moved
            fetched = _reverify(fetched, "xxh3 digest differs (corrupted bytes)", cache)
            mapped = _Mapped(fetched.path)
            if mapped.result() != fetched.check.get("xxh3"):
                raise ZooIntegrityError(
                    f"{fetched.path} changed while it was being verified",
                    hint="another process is writing into the cache; retry",
                )
        try:
            start, header = _formats.check_buffer(mapped.buffer, str(fetched.path))
            state = _formats.tensors_from_buffer(mapped.buffer, start, header)
        except ZooFormatError as exc:
            _quarantine_malformed(fetched, exc, cache)
            raise
        if str(device) != "cpu":
            state = {k: v.to(device) for k, v in state.items()}
        return state

    return finish


def _load(path, fetched: FetchedFile, device: Any, cache: WeightsCache | None) -> dict[str, Any]:
    try:
        return _formats.load_safetensors(path, device=str(device))
    except ZooFormatError as exc:
        _quarantine_malformed(fetched, exc, cache)
        raise


def open_state_dict(
    fetched: FetchedFile, device: Any = "cpu", *, verify: str = "fast", cache: WeightsCache | None = None
) -> dict[str, Any]:
    """The checkpoint's state dict (``dict[str, Tensor]``) after the integrity check
    ``verify``: ``'fast'`` (default) maps the file, checks the xxh3 digest of every byte
    and the safetensors header, then builds the tensors on that same map (nothing is read
    twice); ``'full'`` re-hashes every byte with sha256 first; ``'none'`` skips the digest
    (the header is still checked). Never unpickles. A malformed file is quarantined and
    :class:`~zoo.errors.ZooFormatError` raised."""
    return begin_open(fetched, device, verify=verify, cache=cache)()

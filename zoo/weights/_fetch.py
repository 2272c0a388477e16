"""fetch -> verify -> cache: a cache hit by sha256, else the first source that works
(mirrors first), under a cross-process lock, verified before it is kept."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from zoo.errors import (
    ZooFetchError,
    ZooIntegrityError,
    ZooOfflineError,
    ZooValidationError,
)
from zoo.records import FORMATS, Source, Weights
from zoo.weights._cache import FetchedFile, WeightsCache
from zoo.weights._hashing import check_prefix, check_sha256, fast_check
from zoo.weights._progress import ProgressArg, Reporter
from zoo.weights._sources import (
    NETWORK_SCHEMES,
    SourceFailed,
    copy_local,
    env_flag,
    local_path,
    mirror_rewrites,
    normalize_sources,
    normalize_stores,
    plan,
    run_store,
    scheme_of,
)

log = logging.getLogger("zoo.weights")


def fetch(
    sources: str | os.PathLike[str] | Source | Sequence[str | os.PathLike[str] | Source],
    *,
    sha256: str | None = None,
    sha256_prefix: str | None = None,
    size: int | None = None,
    format: str | None = None,
    stores: Mapping[str, Any] | None = None,
    offline: bool | None = None,
    progress: ProgressArg = None,
    cache: WeightsCache | None = None,
    retries: int = 3,
    timeout: float = 30.0,
    backoff: float = 0.5,
) -> FetchedFile:
    """Return the verified checkpoint pinned by ``sha256`` (or ``sha256_prefix``) from
    the cache, fetching it from ``sources`` first if needed.

    Order: ``ZOO_MIRRORS`` rewrites, ``Source(mirror=True)``, then ``sources`` in order;
    the first that delivers the pinned bytes wins, all failures are reported together.
    ``stores`` maps extra URI schemes to a weight store's opener
    (``fetch(uri, destination, progress)``). ``offline`` (default ``$ZOO_OFFLINE``)
    never opens a network connection. ``progress``: ``None`` shows a bar when stderr
    is a terminal, ``True``/``False`` force it, a callable gets ``(done, total)``.
    ``format`` is the record's declared format; the bytes decide (both open safely).
    """
    sha = check_sha256(sha256)
    prefix = check_prefix(sha256_prefix)
    if sha and prefix and not sha.startswith(prefix):
        raise ZooValidationError("sha256_prefix", f"{prefix} is not a prefix of sha256 {sha}")
    if sha is None and prefix is None:
        raise ZooValidationError(
            "sha256",
            "the checkpoint is not pinned: zoo only keeps verified bytes",
            hint="give sha256 (all 64 hex digits, `sha256sum FILE`) or the publisher's sha256_prefix",
        )
    if format is not None and format not in FORMATS:
        raise ZooValidationError("format", f"unknown format {format!r}", hint=f"use one of: {', '.join(FORMATS)}")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise ZooValidationError("size", "must be a non-negative integer")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ZooValidationError("retries", "must be a non-negative integer")
    source_list = normalize_sources(sources)
    store_map = normalize_stores(stores)
    offline = env_flag("ZOO_OFFLINE") if offline is None else bool(offline)
    hub_offline = env_flag("HF_HUB_OFFLINE")
    cache = cache or WeightsCache()

    # Lock-free hit: the common case costs one JSON read and the fast check.
    data = cache.find(sha, prefix)
    if data and data.get("safetensors"):
        st = data["safetensors"]
        if fast_check(cache.directory(data["sha256"]) / st["file"], st["fast"]) is None:
            return _checked_format(cache._fetched(data), format)

    # Lock by the full hash once known, so that fetch, open and verify_full of one entry
    # exclude each other; only a first fetch by prefix locks the prefix.
    key = sha or (data["sha256"] if data else prefix)
    with cache.acquire(key):
        failures: list[tuple[str, str]] = []
        quarantined: list[str] = []
        data = cache.find(sha, prefix)  # another process may have fetched it meanwhile
        if data is not None:
            result = cache.ready(data, moved=quarantined)
            if result is not None:
                return _checked_format(result, format)
            failures.append(
                (
                    "cache",
                    "cached copy failed verification; quarantined: "
                    + (", ".join(quarantined) or str(cache.quarantine_dir)),
                )
            )
            quarantined.clear()  # handled: a fresh copy is fetched below
        uris = plan(source_list, mirror_rewrites())
        if not uris:
            raise ZooFetchError(
                f"checkpoint {_pin(sha, prefix)} is not cached and has no sources",
                hint="add a source to the record, or place the file with "
                "zoo.weights.add_file(FILE, expected_sha256=...)",
            )
        skipped_offline: list[str] = []
        # A store that failed with its own ZooError hint is not a network problem: its
        # hint is passed on instead of "check the network".
        own_hints: list[str] = []
        network_failed = False
        part = cache.part_path(key)
        part.parent.mkdir(parents=True, exist_ok=True)
        for uri in uris:
            scheme = scheme_of(uri)
            if (offline and (scheme in NETWORK_SCHEMES or scheme in store_map)) or (
                hub_offline and scheme in ("hf", *NETWORK_SCHEMES) and _is_hub(uri)
            ):
                skipped_offline.append(uri)  # refused before any connection is opened
                continue
            try:
                actual, resumed = _get(
                    uri, scheme, part, store_map, progress, timeout=timeout, retries=retries, backoff=backoff
                )
                if resumed and not _matches(actual, sha, prefix):
                    # The partial file may have come from elsewhere: one clean try.
                    log.info("resumed download of %s did not verify; downloading it again", uri)
                    part.unlink(missing_ok=True)
                    actual, _ = _get(
                        uri, scheme, part, store_map, progress, timeout=timeout, retries=retries, backoff=backoff
                    )
                fetched = cache.install(part, actual, expected_sha256=sha, sha256_prefix=prefix, source=uri)
                return _checked_format(fetched, format)
            except SourceFailed as exc:
                failures.append((uri, exc.reason))
                if scheme in NETWORK_SCHEMES or not exc.hint:
                    network_failed = True
                elif exc.hint not in own_hints:
                    own_hints.append(exc.hint)
            except ZooIntegrityError as exc:
                failures.append((uri, exc.message))
                quarantined += exc.quarantined
            except OSError as exc:  # writing into the cache failed: no other source helps
                raise ZooFetchError(
                    f"cannot write {part}: {exc.strerror or exc}",
                    hint=f"free disk space under {cache.root}, or point ZOO_HOME at a writable place with room",
                ) from None
        if skipped_offline and not quarantined:
            raise ZooOfflineError(
                _offline_message(cache, sha, prefix, size, skipped_offline, bool(failures)),
                failures,
                hint=_add_hint(sha, prefix),
            )
        failures += [(uri, "skipped: offline mode (ZOO_OFFLINE or HF_HUB_OFFLINE)") for uri in skipped_offline]
        if quarantined:
            raise ZooIntegrityError(
                f"no source delivered the pinned bytes of {_pin(sha, prefix)}:"
                + "".join(f"\n  - {u}: {r}" for u, r in failures),
                quarantined=quarantined,
                hint="a source serves other bytes than the registry pins; the bad files are in "
                f"{cache.quarantine_dir} with a note each. Use another source or mirror, or review "
                "the new file and re-pin the record",
            )
        hints = own_hints + (["check the network (or ZOO_MIRRORS)"] if network_failed or not own_hints else [])
        raise ZooFetchError(
            f"could not fetch checkpoint {_pin(sha, prefix)} from any source:",
            failures,
            hint="; ".join(hints) + ", or fetch the file yourself and place it "
            f"with {_add_hint(sha, prefix, bare=True)}",
        )


def fetch_weights(weights: Weights, **kwargs: Any) -> FetchedFile:
    """:func:`fetch` for a :class:`zoo.records.Weights` record (sources, pins, size, format)."""
    return fetch(
        weights.sources,
        sha256=weights.sha256,
        sha256_prefix=weights.sha256_prefix,
        size=weights.size_bytes,
        format=weights.format,
        **kwargs,
    )


def _get(
    uri: str,
    scheme: str,
    part: Path,
    stores: Mapping[str, Any],
    progress: ProgressArg,
    *,
    timeout: float,
    retries: int,
    backoff: float,
) -> tuple[str, bool]:
    """Bytes of ``uri`` into ``part``: (sha256, whether an earlier partial was reused)."""
    label = uri.rsplit("/", 1)[-1][:40] or uri
    with Reporter(progress, label) as report:
        if scheme in ("file", "pkg"):
            return copy_local(local_path(uri), part, report), False
        if scheme in NETWORK_SCHEMES:
            from zoo.weights._http import download
            from zoo.weights._hub import download_target

            url, auth = download_target(uri)  # a Hub URL honours HF_ENDPOINT and HF_TOKEN
            return download(url, part, report, timeout=timeout, retries=retries, backoff=backoff, auth=auth)
        if scheme in stores:
            return run_store(scheme, stores[scheme], uri, part, report), False
    raise SourceFailed(
        f"no weight store handles scheme {scheme!r}; install the plugin that provides it "
        "(`zoo plugins` lists the stores)"
    )


def _is_hub(uri: str) -> bool:
    from zoo.weights._hub import hub_file

    return hub_file(uri) is not None


def _matches(actual: str, sha: str | None, prefix: str | None) -> bool:
    return actual == sha if sha else actual.startswith(prefix or "")


def _checked_format(fetched: FetchedFile, declared: str | None) -> FetchedFile:
    if declared and declared != fetched.format:
        log.warning(
            "checkpoint %s is declared %s but its bytes are %s; opened as %s (safely)",
            fetched.sha256[:12],
            declared,
            fetched.format,
            fetched.format,
        )
    return fetched


def _pin(sha: str | None, prefix: str | None) -> str:
    return f"sha256 {sha}" if sha else f"sha256 {prefix}… (prefix)"


def _add_hint(sha: str | None, prefix: str | None, bare: bool = False) -> str:
    arg = f"expected_sha256='{sha}'" if sha else f"sha256_prefix='{prefix}'"
    call = f"zoo.weights.add_file('FILE', {arg})"
    return call if bare else f"download it on a connected machine, copy it here, then run {call}"


def _offline_message(
    cache: WeightsCache, sha: str | None, prefix: str | None, size: int | None, uris: list[str], more: bool
) -> str:
    name = uris[-1].rsplit("/", 1)[-1]
    what = f"{name} ({_pin(sha, prefix)}" + (f", {size:,} bytes)" if size is not None else ")")
    return (
        f"offline mode (ZOO_OFFLINE or HF_HUB_OFFLINE): {what} is not in the cache at {cache.root}; "
        "it can be fetched from:" + "".join(f"\n  - {u}" for u in uris) + ("\nwhat else was tried:" if more else "")
    )

"""HTTP(S) downloads with the standard library: streamed in chunks, hashed on the way,
resumed with ``Range`` from the ``.part`` a cut connection left, retried with
exponential back-off on connection errors, timeouts and 5xx/429."""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

from zoo.weights._hashing import READ_CHUNK, sha256_file
from zoo.weights._progress import ProgressCallback
from zoo.weights._sources import SourceFailed

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class _Retry(Exception):
    """A transient failure: try the same URL again after a pause."""


def _user_agent() -> str:
    from zoo import __version__

    return f"zoo/{__version__} (+urllib)"


def download(
    url: str,
    part: Path,
    progress: ProgressCallback,
    *,
    timeout: float = 30.0,
    retries: int = 3,
    backoff: float = 0.5,
    auth: dict[str, str] | None = None,
) -> tuple[str, bool]:
    """Download ``url`` into ``part`` (resuming what is there); returns the sha256 of
    the complete ``part`` and whether any bytes came from an earlier attempt. ``auth``
    headers go to ``url``'s host only, never along a redirect."""
    attempt = 0
    resumed = False
    while True:
        try:
            sha, from_earlier = _attempt(url, part, progress, timeout, auth or {})
            return sha, resumed or from_earlier
        except _Retry as exc:
            if part.exists() and part.stat().st_size:
                resumed = True
            if attempt >= retries:
                raise SourceFailed(f"{exc} (gave up after {attempt + 1} attempts)") from None
            time.sleep(backoff * (2**attempt))
            attempt += 1


def _attempt(
    url: str, part: Path, progress: ProgressCallback, timeout: float, auth: dict[str, str]
) -> tuple[str, bool]:
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": _user_agent(), "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    for key, value in auth.items():
        request.add_unredirected_header(key, value)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and have:
            # Our .part is at least as long as the file: complete, or stale. The hash
            # check decides; a stale one is dropped and fetched again from zero.
            total = _total_from(exc.headers.get("Content-Range"))
            if total == have:
                return sha256_file(part), True
            part.unlink(missing_ok=True)
            raise _Retry(f"HTTP 416 for a {have}-byte partial file; starting over") from None
        if exc.code in _RETRY_STATUS:
            raise _Retry(f"HTTP {exc.code} {exc.reason}") from None
        raise SourceFailed(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Retry(f"cannot connect: {reason}") from None

    with response:
        status = response.status
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        if have and status == 206:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range") or "")
            if not match or int(match.group(1)) != have:
                part.unlink(missing_ok=True)
                raise _Retry("server answered the range request with another range; starting over")
            total = int(match.group(3)) if match.group(3) != "*" else None
            hasher = hashlib.sha256()
            sha256_file(part, hasher)  # seed with the bytes we already have
            mode = "ab"
        elif status == 200:
            have = 0  # the server ignored Range: start from zero
            total = length
            hasher = hashlib.sha256()
            mode = "wb"
        else:
            raise SourceFailed(f"unexpected HTTP status {status}")
        received = 0
        part.parent.mkdir(parents=True, exist_ok=True)
        with open(part, mode) as f:
            while True:
                try:
                    # read1: whatever has arrived (<= 1 MiB), so a stall loses nothing
                    chunk = response.read1(READ_CHUNK)
                except (OSError, http.client.HTTPException) as exc:
                    # What arrived stays in .part for the next attempt. (Write errors, e.g.
                    # a full disk, are not caught here: they are not the server's fault.)
                    f.flush()
                    raise _Retry(f"connection lost after {have + received} bytes: {exc!r}") from None
                if not chunk:
                    break
                f.write(chunk)
                hasher.update(chunk)
                received += len(chunk)
                progress(have + received, total)
            f.flush()
            os.fsync(f.fileno())
        if length is not None and received != length:
            # urllib returns b"" when the peer closes early; the length tells us.
            raise _Retry(f"connection closed after {have + received} of {have + length} bytes")
    return hasher.hexdigest(), bool(have)


def _total_from(content_range: str | None) -> int | None:
    match = re.match(r"bytes\s+\*/(\d+)", content_range or "")
    return int(match.group(1)) if match else None

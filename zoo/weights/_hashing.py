"""Hashes: the full sha256 that pins a checkpoint, and the fast sampled fingerprint that
guards every later load.

Trade-off of the fast check (``FAST_ALGO``): a cached file is trusted on load when its
size and ``mtime_ns`` are the ones recorded at fetch AND a blake2b over its header plus
``SAMPLES`` chunks of ``CHUNK`` bytes spread evenly across the file is unchanged. That
reads the header plus 256 KiB whatever the file's size (under 1 ms, against ~200 ms for
a full sha256 of 100 MB; see bench/cache.py), so it catches truncation (size), anything
rewritten through the file system (mtime), and damage to the header or to a sampled
region. It cannot see a flipped bit in an unsampled region whose mtime was restored
(silent bit rot, deliberate tampering with ``os.utime``): ``verify_full`` re-hashes
every byte for those cases, and a failed fast check always falls back to it.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
from pathlib import Path

from zoo.errors import ZooValidationError

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
PREFIX_RE = re.compile(r"^[0-9a-f]{6,64}$")

READ_CHUNK = 1 << 20  # 1 MiB reads: large enough for throughput, small enough for memory
FAST_ALGO = "blake2b-16x16k-v1"  # names the sampling: a change invalidates old records
SAMPLES = 16
CHUNK = 16 * 1024  # 16 samples x 16 KiB = 256 KiB read per check, whatever the file size
MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit on the JSON header


def check_sha256(value: str | None, field: str = "sha256") -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    if not SHA256_RE.match(text):
        raise ZooValidationError(field, f"{value!r} is not a full sha256",
                                 hint="give all 64 hex digits (`sha256sum FILE`)")
    return text


def check_prefix(value: str | None, field: str = "sha256_prefix") -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    if not PREFIX_RE.match(text):
        raise ZooValidationError(field, f"{value!r} is not a hex prefix of a sha256",
                                 hint="give at least 6 hex digits")
    return text


def sha256_file(path: Path, hasher=None) -> str:
    """Full sha256 of ``path`` (streamed; ``hasher`` may be pre-seeded)."""
    h = hasher or hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(READ_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _header_length(f, size: int) -> int:
    """Bytes to hash as the header: the whole safetensors header (length prefix + JSON)
    when the file looks like one, else the first ``CHUNK`` bytes."""
    head = f.read(8)
    if len(head) == 8:
        (n,) = struct.unpack("<Q", head)
        if 2 <= n <= min(MAX_HEADER, size - 8):
            return 8 + n
    return min(size, CHUNK)


def fast_fingerprint(path: Path, size: int | None = None) -> str:
    """The sampled blake2b of ``path`` (see the module docstring for what it can miss)."""
    if size is None:
        size = os.stat(path).st_size
    h = hashlib.blake2b(digest_size=16)
    h.update(size.to_bytes(8, "little"))
    with open(path, "rb") as f:
        header = _header_length(f, size)
        f.seek(0)
        remaining = header
        while remaining:
            chunk = f.read(min(READ_CHUNK, remaining))
            if not chunk:
                break
            h.update(chunk)
            remaining -= len(chunk)
        body = size - header
        if body <= SAMPLES * CHUNK:
            while chunk := f.read(READ_CHUNK):  # small file: hash it all
                h.update(chunk)
        else:
            span = body - CHUNK
            for i in range(SAMPLES):  # evenly spread, first and last chunk included
                offset = header + span * i // (SAMPLES - 1)
                f.seek(offset)
                h.update(offset.to_bytes(8, "little"))
                h.update(f.read(CHUNK))
    return h.hexdigest()


def stat_record(path: Path) -> dict:
    """What the fast check compares: size, mtime_ns and the sampled fingerprint."""
    st = os.stat(path)
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "algo": FAST_ALGO,
            "sample": fast_fingerprint(path, st.st_size)}


def fast_check(path: Path, record: dict) -> str | None:
    """``None`` when ``path`` still matches ``record``, else why not."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "file is missing"
    if st.st_size != record.get("size"):
        return f"size is {st.st_size} bytes, {record.get('size')} were recorded (truncated?)"
    if record.get("algo") != FAST_ALGO:
        return f"fast-check algorithm {record.get('algo')!r} is not {FAST_ALGO!r}"
    if st.st_mtime_ns != record.get("mtime_ns"):
        return "modification time changed since it was verified"
    if fast_fingerprint(path, st.st_size) != record.get("sample"):
        return "sampled checksum differs (corrupted bytes)"
    return None

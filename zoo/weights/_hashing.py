"""Hashes: the full sha256 that pins a checkpoint, and the fast full-file digest that
guards every later load.

The per-load check (``FAST_ALGO``): when a file's sha256 was verified, zoo records its
size, ``mtime_ns`` and an xxh3-128 digest of every byte. ``fetch`` trusts a cache hit on
size and mtime (a stat); ``open_state_dict`` maps the file, recomputes the xxh3 digest
over the mapped bytes and only then builds tensors on the same mapping, so every byte is
checked on every load at memory speed (about 10 GB/s, against ~0.5 GB/s for sha256; see
bench/cache.py and bench/get.py). xxh3 is not a cryptographic hash: it detects damage
(bit rot, a bad copy, an edit with the mtime restored), not a forger who can write the
cache; ``verify_full`` re-checks the sha256 for that, and a failed check always falls
back to it before anything is quarantined.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from zoo.errors import ZooValidationError

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
PREFIX_RE = re.compile(r"^[0-9a-f]{6,64}$")

READ_CHUNK = 1 << 20  # 1 MiB reads: large enough for throughput, small enough for memory
FAST_ALGO = "xxh3-128-seg16m-v2"  # a change invalidates old records (re-verified by sha256 once)
SEGMENT = 16 << 20  # the per-load digest hashes 16 MiB pieces in parallel
HASH_THREADS = 4
MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit on the JSON header


def check_sha256(value: str | None, field: str = "sha256") -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    if not SHA256_RE.match(text):
        raise ZooValidationError(
            field, f"{value!r} is not a full sha256", hint="give all 64 hex digits (`sha256sum FILE`)"
        )
    return text


def check_prefix(value: str | None, field: str = "sha256_prefix") -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    if not PREFIX_RE.match(text):
        raise ZooValidationError(field, f"{value!r} is not a hex prefix of a sha256", hint="give at least 6 hex digits")
    return text


def sha256_file(path: Path, hasher=None) -> str:
    """Full sha256 of ``path`` (streamed; ``hasher`` may be pre-seeded)."""
    h = hasher or hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(READ_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def fast_digest(buffer) -> str:
    """The per-load digest of ``buffer`` (bytes, mmap): the xxh3-128 of the xxh3-128
    digests of its ``SEGMENT``-sized pieces, hashed by up to ``HASH_THREADS`` threads
    (xxhash releases the GIL), so a large checkpoint is checked at the speed of several
    cores. The same bytes give the same digest whatever the thread count."""
    import xxhash  # lazy: keeps `import zoo.weights` light

    view = memoryview(buffer).cast("B")
    pieces = [view[i : i + SEGMENT] for i in range(0, len(view), SEGMENT)]
    threads = min(HASH_THREADS, len(pieces), os.cpu_count() or 1)
    try:
        if threads > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(threads, thread_name_prefix="zoo-xxh3") as pool:
                digests = list(pool.map(xxhash.xxh3_128_digest, pieces))
        else:
            digests = [xxhash.xxh3_128_digest(p) for p in pieces]
        return xxhash.xxh3_128_hexdigest(len(view).to_bytes(8, "little") + b"".join(digests))
    finally:
        for piece in pieces:  # an mmap cannot close while views of it are alive
            piece.release()
        view.release()


def fast_fingerprint(path: Path, size: int | None = None) -> str:
    """The per-load digest (:func:`fast_digest`) of the file at ``path``."""
    import mmap

    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return fast_digest(b"")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return fast_digest(mm)


def stat_record(path: Path) -> dict:
    """What the per-load check compares: size and mtime_ns (a stat, at fetch) and the
    full-file xxh3 digest (recomputed by every load)."""
    st = os.stat(path)
    return {
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "algo": FAST_ALGO,
        "xxh3": fast_fingerprint(path, st.st_size),
    }


def fast_check(path: Path, record: dict, *, content: bool = False) -> str | None:
    """``None`` when ``path`` still matches ``record``, else why not. The stat part (size,
    mtime) always; the full-file digest too with ``content=True``."""
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
    if content and fast_fingerprint(path, st.st_size) != record.get("xxh3"):
        return "xxh3 digest differs (corrupted bytes)"
    return None

"""The content-addressed weights cache under ``$ZOO_HOME/weights/``.

Layout (``KEY`` is the full sha256 of the checkpoint as published)::

    sha256/ab/KEY.json          sidecar: what was verified, when, from where — the commit mark
    sha256/ab/KEY.safetensors   the checkpoint, or the safetensors converted from a pickle
    sha256/ab/KEY.pickle        a pickle original (kept for ``verify_full``; never reloaded)
    sha256/ab/KEY.part          a partial download, resumed by the next fetch
    locks/KEY.lock              cross-process lock (filelock) around fetch and convert
    quarantine/                 files that failed verification, each with a ``.note.json``

A file appears under its final name only after its sha256 matched (temp file in the same
directory, fsync, atomic rename), so a crash or a cut connection never leaves a file a
later load trusts.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.errors import ZooError, ZooFetchError, ZooIntegrityError, ZooValidationError
from zoo.weights import _formats
from zoo.weights._hashing import (
    check_prefix,
    check_sha256,
    fast_check,
    sha256_file,
    stat_record,
)

SIDECAR_VERSION = 1
LOCK_TIMEOUT_S = 3600.0


@dataclass(frozen=True)
class FetchedFile:
    """A verified checkpoint in the cache, ready to open with :func:`open_state_dict`."""

    path: Path
    """The safetensors file to load (the original, or the one converted from a pickle)."""
    sha256: str
    """Full sha256 of the checkpoint as published (pin it when the record had a prefix)."""
    size: int
    """Size in bytes of the checkpoint as published."""
    format: str
    """Format of the checkpoint as published: ``'safetensors'`` or ``'pickle'``."""
    converted: bool
    """True when ``path`` was converted from a pickle (once, at fetch)."""
    original_path: Path
    source: str | None = None
    """The URI the bytes came from (``None`` when the sidecar does not say)."""
    safetensors_sha256: str = ""
    check: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The fast-check record of ``path`` (size, mtime_ns, sampled checksum)."""
    cache_root: Path | None = field(default=None, compare=False, repr=False)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not supported (e.g. Windows): rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def atomic_write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class WeightsCache:
    """The cache at ``root`` (default ``$ZOO_HOME/weights``)."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        if root is None:
            from zoo.registry import zoo_home  # lazy: keeps `import zoo.weights` light

            root = zoo_home() / "weights"
        self.root = Path(root).expanduser().resolve()
        self.quarantine_dir = self.root / "quarantine"

    def __repr__(self) -> str:
        return f"WeightsCache({str(self.root)!r})"

    # -- paths and locks ---------------------------------------------------------------

    def directory(self, key: str) -> Path:
        return self.root / "sha256" / key[:2]

    def sidecar_path(self, sha256: str) -> Path:
        return self.directory(sha256) / f"{sha256}.json"

    def part_path(self, key: str) -> Path:
        return self.directory(key) / f"{key}.part"

    def lock(self, key: str, timeout: float = LOCK_TIMEOUT_S):
        """A cross-process lock for ``key`` (a sha256 or the prefix a record knows)."""
        from filelock import FileLock

        locks = self.root / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        return FileLock(str(locks / f"{key}.lock"), timeout=timeout)

    def acquire(self, key: str, timeout: float = LOCK_TIMEOUT_S):
        from filelock import Timeout

        try:
            lock = self.lock(key, timeout)
            lock.acquire()
        except Timeout:
            raise ZooFetchError(
                f"another process has held the cache lock for {key[:16]}… for {timeout:.0f} s",
                hint=f"check for a stuck `zoo` process; the lock is {self.root / 'locks' / key}.lock",
            ) from None
        except OSError as exc:
            raise ZooFetchError(f"cannot lock the weights cache at {self.root}: {exc.strerror or exc}",
                                hint="set ZOO_HOME to a directory you can write to") from None
        return lock

    # -- lookup --------------------------------------------------------------------------

    def _read_sidecar(self, path: Path) -> dict | None:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None  # unreadable sidecar: the entry is re-fetched and rewritten
        if not isinstance(data, dict) or data.get("version") != SIDECAR_VERSION:
            return None
        return data

    def find(self, sha256: str | None = None, sha256_prefix: str | None = None) -> dict | None:
        """The sidecar of the entry pinned by ``sha256`` (or the one entry whose hash
        starts with ``sha256_prefix``), or ``None``."""
        if sha256:
            return self._read_sidecar(self.sidecar_path(sha256))
        prefix = check_prefix(sha256_prefix)
        directory = self.directory(prefix)
        matches = sorted(p for p in directory.glob(f"{prefix}*.json") if len(p.stem) == 64)
        if len(matches) > 1:
            raise ZooIntegrityError(
                f"sha256 prefix {prefix} matches {len(matches)} cached checkpoints: "
                + ", ".join(p.stem for p in matches),
                hint="pin the record's full sha256 in the registry",
            )
        return self._read_sidecar(matches[0]) if matches else None

    def entries(self) -> Iterator[FetchedFile]:
        """Every committed entry (sidecar present), fast-check state unverified."""
        for sidecar in sorted((self.root / "sha256").glob("*/*.json")):
            data = self._read_sidecar(sidecar)
            if data and data.get("safetensors"):
                yield self._fetched(data)

    def _fetched(self, data: dict) -> FetchedFile:
        directory = self.directory(data["sha256"])
        st = data["safetensors"]
        return FetchedFile(
            path=directory / st["file"], sha256=data["sha256"], size=data["size"],
            format=data["format"], converted=bool(st["converted"]),
            original_path=directory / data["original"], source=data.get("source"),
            safetensors_sha256=st["sha256"], check=dict(st["fast"]), cache_root=self.root,
        )

    # -- quarantine ------------------------------------------------------------------------

    def quarantine(self, path: Path, reason: str, **details: Any) -> Path | None:
        """Move ``path`` out of the cache with a note saying why; it is never loaded again.
        ``None`` when it was already gone (another process moved it first)."""
        if not path.exists():
            return None
        self.quarantine_dir.mkdir(parents=True, exist_ok=True)
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
        target = self.quarantine_dir / f"{stamp}-{os.getpid()}-{path.name}"
        n = 1
        while target.exists():
            n += 1
            target = self.quarantine_dir / f"{stamp}-{os.getpid()}-{n}-{path.name}"
        try:
            os.replace(path, target)
        except FileNotFoundError:
            return None
        note = {"file": target.name, "original_path": str(path), "reason": reason,
                "quarantined_at": _now(), **details,
                "what_to_do": "Never load this file. If it came from a mirror, tell the mirror's "
                              "owner; if upstream changed the file on purpose, review it and re-pin "
                              "the registry record's sha256. Delete it once inspected."}
        atomic_write_json(target.with_name(target.name + ".note.json"), note)
        return target

    # -- writing entries ----------------------------------------------------------------------

    def install(
        self,
        part: Path,
        actual_sha256: str,
        *,
        expected_sha256: str | None,
        sha256_prefix: str | None,
        source: str | None,
    ) -> FetchedFile:
        """Verify the complete temp file ``part`` against the pin, then commit it under
        its final name (and convert a pickle). A mismatch quarantines ``part``."""
        ok = (actual_sha256 == expected_sha256) if expected_sha256 else actual_sha256.startswith(sha256_prefix or "")
        if not ok:
            pinned = expected_sha256 or f"{sha256_prefix}… (prefix)"
            moved = self.quarantine(part, "sha256 mismatch", expected_sha256=pinned,
                                    actual_sha256=actual_sha256, source=source)
            raise ZooIntegrityError(
                f"sha256 mismatch from {source}: expected {pinned}, got {actual_sha256}; "
                f"the file was quarantined at {moved}",
                quarantined=[moved],
                hint="the source serves other bytes than the registry pins (tampered mirror, "
                     "changed upstream file, or a proxy's error page); fetch from another source, "
                     "or review the new file and re-pin the record",
            )
        try:
            fmt = _formats.sniff(part, label=source)
        except ZooError:
            part.unlink(missing_ok=True)  # verified but unopenable: keep nothing
            raise
        directory = self.directory(actual_sha256)
        directory.mkdir(parents=True, exist_ok=True)
        final = directory / f"{actual_sha256}{_formats.EXTENSIONS[fmt]}"
        fsync_file(part)
        size = part.stat().st_size
        data = {"version": SIDECAR_VERSION, "sha256": actual_sha256, "size": size, "format": fmt,
                "original": final.name, "source": source, "fetched_at": _now(), "safetensors": None}
        if fmt == _formats.SAFETENSORS:
            # rename keeps size and mtime, so the fast record taken now holds for `final`
            data["safetensors"] = {"file": final.name, "sha256": actual_sha256, "size": size,
                                   "converted": False, "fast": stat_record(part)}
        # The sidecar is written first and names the final file: if we die before the
        # rename, the next lookup finds the file missing and fetches again.
        atomic_write_json(self.sidecar_path(actual_sha256), data)
        os.replace(part, final)
        _fsync_dir(directory)
        if fmt == _formats.PICKLE:
            return self._convert(data)
        return self._fetched(data)

    def _convert(self, data: dict) -> FetchedFile:
        """Pickle -> safetensors, once: the pinned original is re-hashed, opened with
        ``weights_only=True`` only, and the result recorded in the sidecar."""
        sha = data["sha256"]
        directory = self.directory(sha)
        original = directory / data["original"]
        actual = sha256_file(original)  # only ever unpickle the pinned bytes
        if actual != sha:
            moved = self.quarantine(original, "sha256 mismatch before conversion",
                                    expected_sha256=sha, actual_sha256=actual)
            self.sidecar_path(sha).unlink(missing_ok=True)
            raise ZooIntegrityError(
                f"cached checkpoint {sha[:16]}… was altered on disk (sha256 {actual}); quarantined at {moved}",
                quarantined=[moved], hint="fetch it again (zoo.weights.fetch)")
        try:
            tensors, dropped = _formats.load_pickle_state_dict(original)
        except ZooError as exc:
            moved = self.quarantine(original, exc.message, expected_sha256=sha, actual_sha256=actual)
            self.sidecar_path(sha).unlink(missing_ok=True)
            exc.quarantined = (str(moved),) if moved else ()
            raise
        final = directory / f"{sha}.safetensors"
        tmp = directory / f".{sha}.safetensors.{os.getpid()}.tmp"
        try:
            _formats.write_safetensors(tensors, tmp, {"zoo.source_sha256": sha, "zoo.converted_from": "pickle"})
            del tensors
            fsync_file(tmp)
            converted = {"file": final.name, "sha256": sha256_file(tmp), "size": tmp.stat().st_size,
                         "converted": True, "dropped_keys": dropped, "converted_at": _now(),
                         "fast": stat_record(tmp)}
            data = {**data, "safetensors": converted}
            atomic_write_json(self.sidecar_path(sha), data)
            os.replace(tmp, final)
            _fsync_dir(directory)
        finally:
            tmp.unlink(missing_ok=True)
        return self._fetched(data)

    # -- checking entries ---------------------------------------------------------------------

    def ready(self, data: dict, *, full: bool = False, moved: list[str] | None = None) -> FetchedFile | None:
        """The entry as a loadable :class:`FetchedFile` after the fast check (or a full
        re-hash with ``full=True``); converts a pickle that has not been converted yet.

        ``None`` when the checkpoint itself is missing or corrupted (it is quarantined and
        must be fetched again); what was quarantined is appended to ``moved``. The caller
        holds the entry's lock."""
        sha = data["sha256"]
        directory = self.directory(sha)
        st = data.get("safetensors")
        if st is None:
            return self._recover(data, moved)
        path = directory / st["file"]
        problem = "full verification requested" if full else fast_check(path, st["fast"])
        if problem is None:
            return self._fetched(data)
        if not path.exists():
            return self._recover(data, moved) if st["converted"] else None
        actual = sha256_file(path)
        if actual == st["sha256"]:
            # Touched but intact (copied cache, restored backup): re-record the fast check.
            data = {**data, "safetensors": {**st, "fast": stat_record(path)}}
            try:
                atomic_write_json(self.sidecar_path(sha), data)
            except OSError:
                pass  # read-only shared cache: still verified for this load
            return self._fetched(data)
        target = self.quarantine(path, f"cache file failed verification: {problem}",
                                 expected_sha256=st["sha256"], actual_sha256=actual, source=data.get("source"))
        if target is not None and moved is not None:
            moved.append(str(target))
        if st["converted"]:
            return self._recover(data, moved)
        self.sidecar_path(sha).unlink(missing_ok=True)
        return None

    def _recover(self, data: dict, moved: list[str] | None) -> FetchedFile | None:
        """No good converted file: convert (again) from the pickle original, if that is
        still intact; ``None`` means fetch again."""
        original = self.directory(data["sha256"]) / data["original"]
        if not original.exists():
            self.sidecar_path(data["sha256"]).unlink(missing_ok=True)
            return None
        try:
            return self._convert({**data, "safetensors": None})
        except ZooIntegrityError as exc:  # the original was altered too
            if moved is not None:
                moved.extend(exc.quarantined)
            return None

    def verify_full(self, sha256: str) -> FetchedFile:
        """Re-hash every byte of the entry ``sha256`` (the original and the converted
        file). Raises :class:`ZooIntegrityError` (after quarantining) when it is bad."""
        sha = check_sha256(sha256)
        with self.acquire(sha):
            data = self.find(sha)
            if data is None:
                raise ZooIntegrityError(f"checkpoint {sha} is not in the cache at {self.root}",
                                        hint="fetch it first (zoo.weights.fetch)")
            original = self.directory(sha) / data["original"]
            if data["original"] != (data.get("safetensors") or {}).get("file") and original.exists():
                actual = sha256_file(original)
                if actual != sha:
                    moved = self.quarantine(original, "sha256 mismatch (verify_full)",
                                            expected_sha256=sha, actual_sha256=actual)
                    raise ZooIntegrityError(f"cached original of {sha[:16]}… is corrupted; quarantined at {moved}",
                                            quarantined=[moved], hint="fetch it again (zoo.weights.fetch)")
            result = self.ready(data, full=True)
        if result is None:
            raise ZooIntegrityError(f"cached checkpoint {sha[:16]}… was missing or corrupted and was quarantined "
                                    f"(see {self.quarantine_dir})", hint="fetch it again (zoo.weights.fetch)")
        return result

    def add_file(
        self,
        path: str | os.PathLike[str],
        expected_sha256: str | None = None,
        *,
        sha256_prefix: str | None = None,
    ) -> FetchedFile:
        """Copy a checkpoint you obtained yourself into the cache (what offline mode asks
        for). Verified against ``expected_sha256`` (or a prefix) when given."""
        from zoo.weights._sources import copy_local

        expected = check_sha256(expected_sha256, "expected_sha256")
        prefix = check_prefix(sha256_prefix)
        src = Path(path).expanduser()
        if not src.is_file():
            raise ZooValidationError("path", f"{src} is not a file", hint="give the checkpoint's path")
        if expected is None and prefix is None:
            actual = sha256_file(src)  # nothing pinned: the caller vouches for the file
            expected = actual
        key = expected or prefix
        with self.acquire(key):
            part = self.part_path(key)
            part.parent.mkdir(parents=True, exist_ok=True)
            actual = copy_local(src, part, progress=None)
            return self.install(part, actual, expected_sha256=expected, sha256_prefix=prefix,
                                source=src.resolve().as_uri())

    def remove(self, sha256: str) -> bool:
        """Delete an entry (original, converted file, sidecar); ``False`` if absent."""
        sha = check_sha256(sha256)
        with self.acquire(sha):
            directory = self.directory(sha)
            found = False
            for name in (f"{sha}.json", f"{sha}.safetensors", f"{sha}.pickle", f"{sha}.part"):
                if (directory / name).exists():
                    (directory / name).unlink()
                    found = True
            return found

    def clear_quarantine(self) -> int:
        """Delete the quarantine folder; returns how many files it held."""
        if not self.quarantine_dir.exists():
            return 0
        count = sum(1 for p in self.quarantine_dir.iterdir() if not p.name.endswith(".note.json"))
        shutil.rmtree(self.quarantine_dir)
        return count

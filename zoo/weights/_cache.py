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

from zoo.errors import ZooError, ZooFetchError, ZooFormatError, ZooIntegrityError, ZooValidationError
from zoo.weights import _formats
from zoo.weights._hashing import (
    FAST_ALGO,
    SHA256_RE,
    check_prefix,
    check_sha256,
    fast_check,
    sha256_file,
    stat_record,
)

SIDECAR_VERSION = 1
LOCK_TIMEOUT_S = 3600.0
QUARANTINE_MAX_FILES = 8
"""The quarantine keeps the newest files (with their notes) up to these bounds."""
QUARANTINE_MAX_BYTES = 1 << 30


def _is_name(value: Any) -> bool:
    return (
        isinstance(value, str) and bool(value) and "/" not in value and "\\" not in value and value not in (".", "..")
    )


def _is_count(value: Any) -> bool:
    return type(value) is int and value >= 0


def _sidecar_problem(data: dict, stem: str) -> str | None:
    """Why a sidecar cannot be trusted (a missing field, a wrong type, a file name that
    leaves its directory), or ``None``. An untrusted sidecar is a cache miss."""
    if data.get("sha256") != stem or not SHA256_RE.match(stem):
        return "sha256 does not match the sidecar's name"
    if not _is_count(data.get("size")) or data.get("format") not in _formats.EXTENSIONS:
        return "size or format missing or of the wrong type"
    if not _is_name(data.get("original")) or not isinstance(data.get("source"), (str, type(None))):
        return "original or source missing or of the wrong type"
    st = data.get("safetensors")
    if st is None:
        return None if data["format"] == _formats.PICKLE else "a safetensors entry without its record"
    fast = st.get("fast") if isinstance(st, dict) else None
    if (
        not _is_name(st.get("file"))
        or not isinstance(st.get("sha256"), str)
        or not SHA256_RE.match(st["sha256"])
        or not _is_count(st.get("size"))
        or type(st.get("converted")) is not bool
        or not isinstance(fast, dict)
        or not _is_count(fast.get("size"))
        or not _is_count(fast.get("mtime_ns"))
        or not isinstance(fast.get("algo"), str)
    ):
        return "the safetensors record is incomplete or of the wrong type"
    if fast["algo"] == FAST_ALGO and not isinstance(fast.get("xxh3"), str):
        return "the fast-check record lacks its digest"
    return None


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


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # removed meanwhile by another process
        return 0


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
            raise ZooFetchError(
                f"cannot lock the weights cache at {self.root}: {exc.strerror or exc}",
                hint="set ZOO_HOME to a directory you can write to",
            ) from None
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
        return data if _sidecar_problem(data, path.stem) is None else None

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
            path=directory / st["file"],
            sha256=data["sha256"],
            size=data["size"],
            format=data["format"],
            converted=bool(st["converted"]),
            original_path=directory / data["original"],
            source=data.get("source"),
            safetensors_sha256=st["sha256"],
            check=dict(st["fast"]),
            cache_root=self.root,
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
        note = {
            "file": target.name,
            "original_path": str(path),
            "reason": reason,
            "quarantined_at": _now(),
            **details,
            "what_to_do": "Never load this file. If it came from a mirror, tell the mirror's "
            "owner; if upstream changed the file on purpose, review it and re-pin "
            "the registry record's sha256. Delete it once inspected.",
        }
        atomic_write_json(target.with_name(target.name + ".note.json"), note)
        self.trim_quarantine(keep=target)
        return target

    def quarantined(self) -> list[tuple[Path, int, float]]:
        """(file, bytes, mtime) of every quarantined file (notes excluded), oldest first."""
        rows = []
        for p in self.quarantine_dir.glob("*") if self.quarantine_dir.is_dir() else ():
            if p.name.endswith(".note.json"):
                continue
            try:
                st = p.stat()
            except FileNotFoundError:
                continue
            rows.append((p, st.st_size, st.st_mtime))
        return sorted(rows, key=lambda r: (r[2], r[0].name))

    def trim_quarantine(
        self, max_files: int | None = None, max_bytes: int | None = None, keep: Path | None = None
    ) -> list[Path]:
        """Delete the oldest quarantined files (and notes) beyond ``max_files`` or
        ``max_bytes`` (default: the module's bounds); ``keep`` (the newest arrival) always
        stays. Returns what went."""
        max_files = QUARANTINE_MAX_FILES if max_files is None else max_files
        max_bytes = QUARANTINE_MAX_BYTES if max_bytes is None else max_bytes
        rows = self.quarantined()
        total = sum(r[1] for r in rows)
        removed = []
        for path, size, _ in rows:
            if len(rows) - len(removed) <= max_files and total <= max_bytes:
                break
            if path == keep:
                continue
            path.unlink(missing_ok=True)
            path.with_name(path.name + ".note.json").unlink(missing_ok=True)
            total -= size
            removed.append(path)
        return removed

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
            moved = self.quarantine(
                part, "sha256 mismatch", expected_sha256=pinned, actual_sha256=actual_sha256, source=source
            )
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
        except ZooFormatError as exc:  # the pinned bytes are no checkpoint: keep them out of reach
            moved = self.quarantine(part, exc.message, expected_sha256=actual_sha256, source=source)
            exc.quarantined = (str(moved),) if moved else ()
            raise
        directory = self.directory(actual_sha256)
        directory.mkdir(parents=True, exist_ok=True)
        final = directory / f"{actual_sha256}{_formats.EXTENSIONS[fmt]}"
        fsync_file(part)
        size = part.stat().st_size
        data = {
            "version": SIDECAR_VERSION,
            "sha256": actual_sha256,
            "size": size,
            "format": fmt,
            "original": final.name,
            "source": source,
            "fetched_at": _now(),
            "safetensors": None,
        }
        if fmt == _formats.SAFETENSORS:
            # rename keeps size and mtime, so the fast record taken now holds for `final`
            data["safetensors"] = {
                "file": final.name,
                "sha256": actual_sha256,
                "size": size,
                "converted": False,
                "fast": stat_record(part),
            }
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
            moved = self.quarantine(
                original, "sha256 mismatch before conversion", expected_sha256=sha, actual_sha256=actual
            )
            self.sidecar_path(sha).unlink(missing_ok=True)
            raise ZooIntegrityError(
                f"cached checkpoint {sha[:16]}… was altered on disk (sha256 {actual}); quarantined at {moved}",
                quarantined=[moved],
                hint="fetch it again (zoo.weights.fetch)",
            )
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
            converted = {
                "file": final.name,
                "sha256": sha256_file(tmp),
                "size": tmp.stat().st_size,
                "converted": True,
                "dropped_keys": dropped,
                "converted_at": _now(),
                "fast": stat_record(tmp),
            }
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
            record = stat_record(path)
            if record != st["fast"]:
                data = {**data, "safetensors": {**st, "fast": record}}
                try:
                    atomic_write_json(self.sidecar_path(sha), data)
                except OSError:
                    pass  # read-only shared cache: still verified for this load
            return self._fetched(data)
        target = self.quarantine(
            path,
            f"cache file failed verification: {problem}",
            expected_sha256=st["sha256"],
            actual_sha256=actual,
            source=data.get("source"),
        )
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
        """Re-hash every byte of the entry ``sha256`` with sha256 (the original and the
        converted file) and re-check the safetensors header. The same for every kind of
        entry: a bad file is quarantined and :class:`ZooIntegrityError` raised; nothing is
        repaired here (the next fetch or load converts again from an intact pickle, or
        downloads again)."""
        sha = check_sha256(sha256)
        with self.acquire(sha):
            data = self.find(sha)
            if data is None:
                raise ZooIntegrityError(
                    f"checkpoint {sha} is not in the cache at {self.root} (or its metadata is damaged)",
                    hint="fetch it (again): zoo.weights.fetch",
                )
            directory = self.directory(sha)
            st = data.get("safetensors")
            checks = [(directory / data["original"], sha, "original")]
            if st is not None and st["file"] != data["original"]:
                checks.append((directory / st["file"], st["sha256"], "converted file"))
            moved: list[str] = []
            problems = []
            for path, expected, what in checks:
                if not path.exists():
                    problems.append(f"the {what} is missing")
                    continue
                actual = sha256_file(path)
                problem = f"sha256 mismatch ({actual})" if actual != expected else None
                if problem is None and path.suffix == ".safetensors":
                    try:
                        _formats.validate_safetensors(path)
                    except ZooFormatError as exc:
                        problem = exc.message
                if problem is not None:
                    target = self.quarantine(
                        path, f"{what} failed verify_full: {problem}", expected_sha256=expected, actual_sha256=actual
                    )
                    moved += [str(target)] if target else []
                    problems.append(f"the {what} failed: {problem}")
            if problems:
                if st is None or not st["converted"] or not (directory / data["original"]).exists():
                    self.sidecar_path(sha).unlink(missing_ok=True)  # nothing left to rebuild from
                raise ZooIntegrityError(
                    f"cached checkpoint {sha[:16]}… failed verification: "
                    + "; ".join(problems)
                    + (f"; quarantined: {', '.join(moved)}" if moved else ""),
                    quarantined=moved,
                    hint="fetch it again (zoo.weights.fetch / zoo.get repairs the entry)",
                )
            if st is None:  # a pickle not converted yet: convert it now (the original verified)
                return self._convert(data)
            record = stat_record(directory / st["file"])
            if record != st["fast"]:  # touched but intact: re-record
                data = {**data, "safetensors": {**st, "fast": record}}
                atomic_write_json(self.sidecar_path(sha), data)
            return self._fetched(data)

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
            return self.install(
                part, actual, expected_sha256=expected, sha256_prefix=prefix, source=src.resolve().as_uri()
            )

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

    # -- seeing and cleaning the cache (`zoo cache ls | verify | prune`) -----------------------

    def inventory(self) -> list[dict[str, Any]]:
        """One row per cached key (and per quarantined file): ``state`` is ``ok``,
        ``changed`` (size or mtime differ from what was verified: the next load re-checks
        it), ``damaged`` (metadata unreadable or incomplete: a cache miss), ``orphan`` (files
        without metadata), ``partial`` (an unfinished download) or ``quarantined``. Stats
        only: no file is read except the sidecars."""
        groups: dict[str, list[Path]] = {}
        for path in sorted((self.root / "sha256").glob("*/*")):
            key = path.name.lstrip(".").split(".", 1)[0]
            groups.setdefault(key, []).append(path)
        rows = []
        for key, files in groups.items():
            data = self._read_sidecar(self.sidecar_path(key)) if SHA256_RE.match(key) else None
            size = sum(_size(p) for p in files)
            row: dict[str, Any] = {"sha256": key, "bytes": size, "files": [p.name for p in files]}
            if data is not None:
                st = data.get("safetensors")
                state = "ok"
                if st is not None and fast_check(self.directory(key) / st["file"], st["fast"]) is not None:
                    state = "changed"
                row.update(
                    state=state,
                    format=data["format"],
                    converted=bool(st and st["converted"]),
                    source=data.get("source"),
                    fetched_at=data.get("fetched_at"),
                )
            elif self.sidecar_path(key).exists():
                row["state"] = "damaged"
            else:
                row["state"] = "partial" if all(p.suffix == ".part" for p in files) else "orphan"
            rows.append(row)
        for path, size, _ in self.quarantined():
            rows.append({"sha256": None, "bytes": size, "files": [path.name], "state": "quarantined"})
        return rows

    def prune(self, *, everything: bool = False, dry_run: bool = False) -> list[dict[str, Any]]:
        """Delete what no load will use: damaged, orphan and partial entries and the
        quarantine (and, with ``everything``, every entry). An entry another process holds
        the lock of is left alone. Returns the rows removed (see :meth:`inventory`)."""
        from filelock import Timeout

        removed = []
        for row in self.inventory():
            if row["state"] in ("ok", "changed") and not everything:
                continue
            if row["state"] == "quarantined":
                if not dry_run:
                    path = self.quarantine_dir / row["files"][0]
                    path.unlink(missing_ok=True)
                    path.with_name(path.name + ".note.json").unlink(missing_ok=True)
                removed.append(row)
                continue
            try:
                lock = self.lock(row["sha256"], timeout=0)
                lock.acquire()
            except Timeout:
                continue  # being fetched or checked right now
            try:
                if not dry_run:
                    for name in row["files"]:
                        (self.directory(row["sha256"]) / name).unlink(missing_ok=True)
                removed.append(row)
            finally:
                lock.release()
        return removed

    def clear_quarantine(self) -> int:
        """Delete the quarantine folder; returns how many files it held."""
        if not self.quarantine_dir.exists():
            return 0
        count = sum(1 for p in self.quarantine_dir.iterdir() if not p.name.endswith(".note.json"))
        shutil.rmtree(self.quarantine_dir)
        return count

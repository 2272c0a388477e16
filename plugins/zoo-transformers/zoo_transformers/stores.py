"""The ``hf://`` weight store: ``hf://<org>/<repo>[@<revision>]/<path in the repo>``.

The records list an ``https://huggingface.co/<repo>/resolve/main/<file>`` URL (served
by zoo's own HTTP fetcher) and this ``hf://`` URI. The store downloads through
``huggingface_hub`` so that the Hugging Face cache, ``HF_TOKEN`` (gated repositories),
``HF_ENDPOINT`` (an internal mirror) and ``HF_HUB_OFFLINE`` apply, then copies the
file to the destination zoo gives it; zoo verifies the sha256 afterwards.
huggingface_hub is imported only when a file is fetched.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from zoo.errors import ZooValidationError

__all__ = ["fetch_hf", "hf_https_url", "parse_hf_uri"]

_REPO_PART = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"
_URI = re.compile(rf"^hf://(?P<org>{_REPO_PART})/(?P<name>{_REPO_PART})(?:@(?P<rev>[^/]+))?/(?P<path>.+)$")


def parse_hf_uri(uri: str) -> tuple[str, str, str]:
    """``(repo_id, revision, filename)`` of an ``hf://`` URI (revision ``main`` when
    none is given)."""
    match = _URI.match(uri or "")
    path = match.group("path") if match else ""
    if not match or path.startswith("/") or ".." in path.split("/"):
        raise ZooValidationError(
            "sources.uri",
            f"{uri!r} is not hf://ORG/REPO[@REVISION]/PATH",
            hint="e.g. hf://sentence-transformers/all-MiniLM-L6-v2/model.safetensors",
        )
    return f"{match.group('org')}/{match.group('name')}", match.group("rev") or "main", path


def hf_https_url(repo_id: str, filename: str, revision: str = "main") -> str:
    """The Hub's download URL of ``filename`` in ``repo_id`` at ``revision``."""
    return f"https://huggingface.co/{repo_id}/resolve/{revision}/{filename}"


def fetch_hf(uri: str, destination: str | os.PathLike, progress: Any = None, **hub_kwargs: Any) -> None:
    """Fetch ``uri`` into ``destination`` (zoo's ``WeightStore`` opener contract).

    ``hub_kwargs`` go to ``huggingface_hub.hf_hub_download`` (``cache_dir``,
    ``local_files_only`` ...)."""
    from huggingface_hub import hf_hub_download

    repo_id, revision, filename = parse_hf_uri(uri)
    cached = Path(hf_hub_download(repo_id, filename, revision=revision, **hub_kwargs))
    destination = Path(destination)
    total = cached.stat().st_size
    done = 0
    with open(cached, "rb") as fin, open(destination, "wb") as fout:
        while chunk := fin.read(1 << 20):
            fout.write(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        fout.flush()
        os.fsync(fout.fileno())

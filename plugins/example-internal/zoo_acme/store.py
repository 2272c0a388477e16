"""ACME's artifact store: ``acme-artifacts://<path>`` names a file under the directory
``$ACME_ARTIFACTS_DIR`` (a mounted share here; at your company, swap ``fetch`` for a
call to your artifact service's client). Imported only when a checkpoint is fetched.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from zoo.errors import ZooError

SCHEME = "acme-artifacts"
CHUNK = 1 << 20


class AcmeArtifactsError(ZooError):
    """The ACME artifact store cannot serve a URI."""


def artifact_path(uri: str, root: str | os.PathLike[str] | None = None) -> Path:
    """The file behind ``acme-artifacts://a/b/c``; refuses paths that escape the root."""
    prefix = f"{SCHEME}://"
    if not isinstance(uri, str) or not uri.startswith(prefix):
        raise AcmeArtifactsError(f"{uri!r} is not an {prefix} URI")
    relative = PurePosixPath(uri[len(prefix) :])
    if not relative.parts or relative.is_absolute() or ".." in relative.parts:
        raise AcmeArtifactsError(
            f"{uri!r} does not name a file inside the store", hint=f"write {prefix}team/model/file.safetensors"
        )
    root = root if root is not None else os.environ.get("ACME_ARTIFACTS_DIR")
    if not root:
        raise AcmeArtifactsError(
            "ACME_ARTIFACTS_DIR is not set, so acme-artifacts:// cannot be fetched",
            hint="export ACME_ARTIFACTS_DIR=/path/to/the/artifact/share",
        )
    path = Path(root, *relative.parts)
    if not path.is_file():
        raise AcmeArtifactsError(
            f"{uri} is not in the artifact store ({path} does not exist)",
            hint="check the URI, or that ACME_ARTIFACTS_DIR points at the right share",
        )
    return path


def fetch(
    uri: str, destination: str | os.PathLike[str], progress: Callable[[int, int | None], None] | None = None
) -> None:
    """The store's opener (``zoo_acme.store:fetch``): write the checkpoint's bytes to
    ``destination``. zoo verifies the sha256 and moves the file into its cache; a
    ``progress(done_bytes, total_bytes)`` callback, when given, sees each chunk."""
    source = artifact_path(uri)
    total = source.stat().st_size
    done = 0
    with open(source, "rb") as src, open(destination, "wb") as dst:
        while chunk := src.read(CHUNK):
            dst.write(chunk)
            done += len(chunk)
            if callable(progress):
                progress(done, total)
    shutil.copystat(source, destination)

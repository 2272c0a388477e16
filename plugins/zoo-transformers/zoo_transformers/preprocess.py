"""The tokenizer that matches a text checkpoint (``zoo.preprocess``).

``preprocessing["tokenizer"]`` names where the tokenizer files are: a
``pkg://DIST/PATH`` directory inside an installed distribution (the offline
checkpoints) or a Hugging Face Hub id. transformers is imported when called.
"""

from __future__ import annotations

import importlib.metadata as md
import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from zoo.errors import ZooFetchError, ZooNotFoundError, ZooValidationError


def _pkg_dir(uri: str) -> Path:
    dist, _, rel = uri.split("://", 1)[1].partition("/")
    if not dist or not rel or ".." in PurePosixPath(rel).parts:
        raise ZooValidationError("preprocessing.tokenizer", f"{uri!r} is not pkg://DISTRIBUTION/DIRECTORY")
    try:
        path = Path(str(md.distribution(dist).locate_file(rel)))
    except md.PackageNotFoundError:
        raise ZooNotFoundError("distribution", dist, hint=f"install it: pip install {dist}") from None
    if not path.is_dir():
        raise ZooNotFoundError("file", uri, hint=f"reinstall {dist}: its tokenizer directory is missing")
    return path


def tokenizer(config: Mapping[str, Any]) -> Any:
    """``AutoTokenizer`` for ``config["tokenizer"]``, truncating at ``max_length``."""
    source = config.get("tokenizer")
    if not isinstance(source, str) or ("/" not in source and "://" not in source):
        raise ZooValidationError(
            "preprocessing.tokenizer",
            f"{source!r} names a tokenizer type, not where its files are",
            hint="ask for a checkpoint (arch.tag) whose record names its tokenizer (a Hub id or pkg:// directory)",
        )
    from transformers import AutoTokenizer

    offline = os.environ.get("ZOO_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    where = str(_pkg_dir(source)) if source.startswith("pkg://") else source
    try:
        tok = AutoTokenizer.from_pretrained(where, local_files_only=offline or source.startswith("pkg://"))
    except OSError as exc:
        raise ZooFetchError(
            f"cannot load the tokenizer {source!r}: {exc}",
            hint="fetch it once on a connected machine (it lands in the Hugging Face cache), "
            "or set HF_ENDPOINT to a mirror",
        ) from None
    if config.get("max_length"):
        tok.model_max_length = int(config["max_length"])
    return tok

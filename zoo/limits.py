"""The one set of limits on what the registry stores, the same on SQLite and PostgreSQL.

Column lengths are defined here and used by :mod:`zoo.registry.schema`, so a record that
passes :mod:`zoo.records` validation fits its columns on every backend (SQLite enforces
no lengths, PostgreSQL does). Plain Python: records import it without SQLAlchemy.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from zoo.errors import ZooValidationError

# String column lengths (characters), by what the column holds.
NAME = 200  # names: arch, arch.tag, namespace/name, datasets, actors, publishers, titles
LABEL = 64  # short labels: task, SPDX id, metric name and split, tag, alias, versions
KIND = 32  # card kind, audit action and entity type
CHOICE = 16  # closed sets: modality, format, status, role, severity, relation, licence use
PLUGIN = 128  # plugin names, head module paths
IMPORT = 256  # import strings 'module:function', audit entity keys
URI = 2048  # a source URI
TEXT = 100_000  # free text (descriptions, card bodies, notes) in TEXT columns: a sane bound

# Integer columns.
INT32_MAX = 2**31 - 1  # INTEGER (num_classes, versions)
INT64_MAX = 2**63 - 1  # BIGINT (size_bytes, num_params)
MAX_CLASSES = 1_000_000  # num_classes: far above any real label set, far below an OOM
MAX_JSON_DEPTH = 16  # preprocessing, builder_kwargs, recipe params
MAX_JSON_BYTES = 64 * 1024


def check_text(value: str, field: str, max_len: int | None) -> str:
    """``value`` if it can be stored as text on every backend: no NUL (PostgreSQL
    refuses it), no lone surrogate (not encodable as UTF-8), at most ``max_len``
    characters."""
    if "\x00" in value:
        raise ZooValidationError(field, "contains a NUL character", hint="remove the \\x00 from the text")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ZooValidationError(
            field,
            f"contains a lone surrogate at position {exc.start} (not valid UTF-8)",
            hint="decode the text properly (errors='replace') before registering it",
        ) from None
    if max_len is not None and len(value) > max_len:
        raise ZooValidationError(field, f"is {len(value):,} characters long, at most {max_len:,} fit")
    return value


def check_int(value: Any, field: str, *, low: int = 0, high: int = INT64_MAX) -> int:
    """``value`` if it is an ``int`` (not a bool) in ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ZooValidationError(field, f"must be an integer, not {type(value).__name__}")
    if not low <= value <= high:
        raise ZooValidationError(field, f"{value} is outside {low}..{high:,}")
    return value


def check_float(value: Any, field: str) -> float:
    """``value`` as a finite float (NaN and infinities are stored differently, or not at
    all, by the backends)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ZooValidationError(field, f"must be a number, not {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        raise ZooValidationError(field, f"{value} does not fit a 64-bit float") from None
    if not math.isfinite(number):
        raise ZooValidationError(field, f"must be a finite number, not {number}")
    return number


def check_json(value: Mapping[str, Any], field: str) -> dict[str, Any]:
    """A plain JSON copy of ``value``: string keys; values None, bool, 64-bit int, finite
    float, text, list or mapping; at most ``MAX_JSON_DEPTH`` levels and ``MAX_JSON_BYTES``."""

    def walk(item: Any, path: str, depth: int) -> Any:
        if depth > MAX_JSON_DEPTH:
            raise ZooValidationError(field, f"is nested deeper than {MAX_JSON_DEPTH} levels (at {path})")
        if item is None or isinstance(item, bool):
            return item
        if isinstance(item, int):
            return check_int(item, f"{field}{path}", low=-INT64_MAX - 1)
        if isinstance(item, float):
            return check_float(item, f"{field}{path}")
        if isinstance(item, str):
            return check_text(item, f"{field}{path}", None)
        if isinstance(item, Mapping):
            out = {}
            for key, sub in item.items():
                if not isinstance(key, str):
                    raise ZooValidationError(
                        field,
                        f"has a key {key!r} of type {type(key).__name__} at {path or 'the top'}; JSON keys are text",
                    )
                out[check_text(key, f"{field}{path}", LABEL)] = walk(sub, f"{path}.{key}", depth + 1)
            return out
        if isinstance(item, (list, tuple)):
            return [walk(sub, f"{path}[{i}]", depth + 1) for i, sub in enumerate(item)]
        raise ZooValidationError(
            field,
            f"holds a {type(item).__name__} at {path or 'the top'}, which JSON cannot store",
            hint="use None, bool, int, float, text, lists and mappings",
        )

    plain: dict[str, Any] = walk(value, "", 0)
    size = len(json.dumps(plain, ensure_ascii=False).encode("utf-8"))
    if size > MAX_JSON_BYTES:
        raise ZooValidationError(field, f"is {size:,} bytes as JSON, at most {MAX_JSON_BYTES:,} fit")
    return plain


_PURPOSE_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,31}$")


def check_purpose(purpose: object) -> str:
    """A purpose is a short lower-case word: ``get`` (``zoo.get``), ``finetune``
    (``zoo.finetune``), or one a team checks itself, e.g. ``production`` or ``export``."""
    if not isinstance(purpose, str) or not _PURPOSE_RE.match(purpose):
        raise ZooValidationError(
            "purpose",
            f"{purpose!r} is not a purpose",
            hint="use 'get', 'finetune' or your own lower-case word, e.g. 'production'",
        )
    return purpose


def check_num_classes(num_classes: Any, *, optional: bool = True) -> None:
    """``num_classes`` of ``zoo.get`` / a build / a head adapter: ``None`` (keep the
    pretrained head; only when ``optional``), ``0`` (no head: pooled features) or a
    positive integer up to :data:`MAX_CLASSES`."""
    if num_classes is None and optional:
        return
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or not 0 <= num_classes <= MAX_CLASSES:
        raise ZooValidationError(
            "num_classes",
            f"must be {'None, ' if optional else ''}0 or a positive integer up to {MAX_CLASSES:,}, not {num_classes!r}",
            hint="None keeps the pretrained head, 0 removes it (pooled features), k gives a fresh head of k outputs",
        )

"""Catalogues as data: the normalised JSON files in which first-party plugins ship their
generated families and weights, read with :mod:`importlib.resources`.

A catalogue file holds plain values only (no code to import): the library versions it
was generated from (``generated_from``), the licences and dataset URLs by key, the
families, and the weights. Preprocessing is the family's: a weights entry holds only the
keys in which its own preprocessing differs (``null`` removes a key), so the file does
not repeat a family's configuration for each of its checkpoints. :func:`load` turns the
file back into the same plain entries the plugin builds its records from.

Nothing here names a model library; the plugins' generators (``tools/``) write these
files, and their freshness tests compare a regeneration only when the installed library
is the version the file was generated from (:func:`freshness_skip`).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

FORMAT = "zoo-catalogue/1"
RESOURCE = "catalogue.json"


@dataclass(frozen=True)
class CatalogueData:
    """A loaded catalogue: entries as the generator produced them (each weights entry
    with its full ``preprocessing``)."""

    generated_from: Mapping[str, str]
    licenses: Mapping[str, Mapping[str, Any]]
    dataset_urls: Mapping[str, str | None]
    families: Sequence[Mapping[str, Any]]
    weights: Sequence[Mapping[str, Any]]


def _diff(base: Mapping[str, Any] | None, own: Mapping[str, Any] | None) -> dict[str, Any] | None:
    base, own = base or {}, own or {}
    changed = {k: v for k, v in own.items() if base.get(k, object()) != v}
    changed.update({k: None for k in base if k not in own})
    return changed or None


def _apply(base: Mapping[str, Any] | None, changes: Mapping[str, Any] | None) -> dict[str, Any] | None:
    merged = dict(copy.deepcopy(base) or {})
    for key, value in (changes or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = copy.deepcopy(value)
    return merged or None


def dumps(
    *,
    generated_from: Mapping[str, str],
    licenses: Mapping[str, Any],
    dataset_urls: Mapping[str, Any],
    families: Sequence[Mapping[str, Any]],
    weights: Sequence[Mapping[str, Any]],
) -> str:
    """The catalogue as normalised, deterministic JSON text (what the generators write)."""
    by_family = {f["name"]: f.get("preprocessing") for f in families}
    normalised = []
    for entry in weights:
        entry = dict(entry)
        own = entry.pop("preprocessing", None)
        changes = _diff(by_family.get(entry["arch"]), own)
        if changes is not None:
            entry["preprocessing"] = changes
        normalised.append(entry)
    doc = {
        "format": FORMAT,
        "generated_from": dict(generated_from),
        "licenses": dict(licenses),
        "dataset_urls": dict(dataset_urls),
        "families": list(families),
        "weights": normalised,
    }
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def loads(text: str) -> CatalogueData:
    doc = json.loads(text)
    if doc.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} catalogue (format {doc.get('format')!r})")
    by_family = {f["name"]: f.get("preprocessing") for f in doc["families"]}
    weights = []
    for entry in doc["weights"]:
        entry = dict(entry)
        entry["preprocessing"] = _apply(by_family.get(entry["arch"]), entry.get("preprocessing"))
        weights.append(entry)
    return CatalogueData(doc["generated_from"], doc["licenses"], doc["dataset_urls"], doc["families"], weights)


def load(package: str, resource: str = RESOURCE) -> CatalogueData:
    """The catalogue shipped in ``package`` (package data, read with importlib.resources)."""
    return loads(resources.files(package).joinpath(resource).read_text(encoding="utf-8"))


def freshness_skip(data: CatalogueData, library: str, installed: str) -> str | None:
    """Why a regeneration cannot be compared with the committed file (``None``: it can):
    the installed ``library`` is not the version the file was generated from, so a new
    upstream release neither fails a fresh ``make test`` nor passes unnoticed."""
    recorded = data.generated_from.get(library)
    base = installed.split("+", 1)[0]
    if recorded != base:
        return (
            f"the catalogue was generated from {library} {recorded}; {library} {installed} is installed: "
            f"regenerate it (tools/generate_catalogue.py) to check it against this version"
        )
    return None

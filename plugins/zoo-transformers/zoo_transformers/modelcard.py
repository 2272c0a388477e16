"""A parser of Hugging Face model cards (``README.md``) into :mod:`zoo.records` pieces.

A model card is Markdown with optional YAML metadata ("front matter") between two
``---`` lines at the very top::

    ---
    license: apache-2.0
    datasets: [s2orc, ms_marco]
    tags: [sentence-transformers]
    pipeline_tag: sentence-similarity
    language: en
    ---
    # all-MiniLM-L6-v2
    ## Intended uses
    ...

:func:`parse_model_card` returns a :class:`ModelCard` holding what a
:class:`zoo.records.Weights` needs: a :class:`~zoo.records.License` (the Hub's licence
identifiers mapped to SPDX and to what they say about commercial use), a tuple of
:class:`~zoo.records.DatasetUse`, a tuple of :class:`~zoo.records.CardSection` (intended
use, out-of-scope use, limitations, bias and risks, recommendations — those the card
has) and normalised tags.

Anything malformed (YAML that does not parse, front matter that is not a mapping or is
never closed, a field of the wrong type) raises :class:`zoo.errors.ZooValidationError`
with ``field == "card"``. Only PyYAML is imported; no torch, no transformers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.errors import ZooValidationError
from zoo.records import (
    CardSection,
    CommercialUse,
    DatasetRole,
    DatasetUse,
    License,
    SectionKind,
)

__all__ = [
    "ModelCard",
    "license_from_hub_id",
    "markdown_sections",
    "parse_model_card",
    "read_model_card",
    "section_kind",
    "split_front_matter",
]

FIELD = "card"


@dataclass(frozen=True)
class ModelCard:
    """What a model card says, as zoo records."""

    metadata: Mapping[str, Any]
    license: License
    datasets: tuple[DatasetUse, ...] = ()
    sections: tuple[CardSection, ...] = ()
    tags: tuple[str, ...] = ()
    language: tuple[str, ...] = ()
    pipeline_tag: str | None = None
    library_name: str | None = None
    base_model: tuple[str, ...] = ()
    title: str | None = None
    source: str | None = field(default=None, compare=False)


# --------------------------------------------------------------------------- front matter


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split ``text`` into its YAML metadata (a dict, empty when there is none) and the
    Markdown body."""
    import yaml  # PyYAML; a dependency of zoo itself

    if not isinstance(text, str):
        raise ZooValidationError(FIELD, f"must be text, not {type(text).__name__}")
    text = text.lstrip("\ufeff")
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return {}, text
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            break
    else:
        raise ZooValidationError(
            FIELD, "the YAML front matter opened by '---' on line 1 is never closed",
            hint="end the metadata block with a line holding only '---'",
        )
    raw = "".join(lines[1:end])
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 2}, column {mark.column + 1}"  # +1 for the '---'
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ZooValidationError(
            FIELD, f"malformed YAML front matter{where}: {problem}",
            hint="fix the metadata between the two '---' lines (it must be a YAML mapping)",
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ZooValidationError(
            FIELD, f"the YAML front matter must be a mapping, not {type(data).__name__}",
            hint="write 'key: value' lines, e.g. 'license: apache-2.0'",
        )
    return {str(k): v for k, v in data.items()}, "".join(lines[end + 1:])


def _text_field(meta: Mapping[str, Any], key: str) -> str | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ZooValidationError(FIELD, f"front matter {key!r} must be text, not {type(value).__name__}")
    return str(value).strip() or None


def _list_field(meta: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = meta.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ZooValidationError(FIELD, f"front matter {key!r} must be a list of text, not {type(value).__name__}")
    items = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise ZooValidationError(FIELD, f"front matter {key!r} holds {item!r}, which is not text")
        text = str(item).strip()
        if text and text not in items:
            items.append(text)
    return tuple(items)


# --------------------------------------------------------------------------- licences

# Hub licence identifier -> (SPDX identifier, commercial use). The Hub's identifiers are
# listed in its docs ("Licenses"); those that are not SPDX get a LicenseRef- identifier.
_PERMISSIVE = {
    "apache-2.0": "Apache-2.0", "mit": "MIT", "bsd-2-clause": "BSD-2-Clause",
    "bsd-3-clause": "BSD-3-Clause", "bsd-3-clause-clear": "BSD-3-Clause-Clear",
    "isc": "ISC", "zlib": "Zlib", "unlicense": "Unlicense", "cc0-1.0": "CC0-1.0",
    "cc-by-2.0": "CC-BY-2.0", "cc-by-2.5": "CC-BY-2.5", "cc-by-3.0": "CC-BY-3.0",
    "cc-by-4.0": "CC-BY-4.0", "cc-by-sa-3.0": "CC-BY-SA-3.0", "cc-by-sa-4.0": "CC-BY-SA-4.0",
    "mpl-2.0": "MPL-2.0", "bsl-1.0": "BSL-1.0", "afl-3.0": "AFL-3.0", "ecl-2.0": "ECL-2.0",
    "artistic-2.0": "Artistic-2.0", "wtfpl": "WTFPL", "postgresql": "PostgreSQL",
    "odc-by": "ODC-By-1.0", "pddl": "PDDL-1.0", "osl-3.0": "OSL-3.0",
}
# Allowed, with conditions a reviewer must read: copyleft, no-derivatives, use-based
# restrictions (RAIL), vendor community licences.
_CONDITIONAL = {
    "gpl": "GPL-3.0-or-later", "gpl-2.0": "GPL-2.0-only", "gpl-3.0": "GPL-3.0-only",
    "lgpl": "LGPL-3.0-or-later", "lgpl-2.1": "LGPL-2.1-only", "lgpl-3.0": "LGPL-3.0-only",
    "agpl-3.0": "AGPL-3.0-only", "lgpl-lr": "LGPLLR", "epl-1.0": "EPL-1.0", "epl-2.0": "EPL-2.0",
    "eupl-1.1": "EUPL-1.1", "eupl-1.2": "EUPL-1.2", "cc-by-nd-4.0": "CC-BY-ND-4.0",
    "odbl": "ODbL-1.0", "openrail": "LicenseRef-OpenRAIL", "openrail++": "LicenseRef-OpenRAIL-plus-plus",
    "bigscience-openrail-m": "LicenseRef-BigScience-OpenRAIL-M",
    "bigscience-bloom-rail-1.0": "LicenseRef-BigScience-BLOOM-RAIL-1.0",
    "creativeml-openrail-m": "LicenseRef-CreativeML-OpenRAIL-M", "bigcode-openrail-m": "LicenseRef-BigCode-OpenRAIL-M",
    "llama2": "LicenseRef-Llama-2", "llama3": "LicenseRef-Llama-3", "llama3.1": "LicenseRef-Llama-3.1",
    "llama3.2": "LicenseRef-Llama-3.2", "llama3.3": "LicenseRef-Llama-3.3", "gemma": "LicenseRef-Gemma",
    "apple-ascl": "LicenseRef-Apple-ASCL", "deepfloyd-if-license": "LicenseRef-DeepFloyd-IF",
}
_NON_COMMERCIAL = {
    "cc-by-nc-2.0": "CC-BY-NC-2.0", "cc-by-nc-3.0": "CC-BY-NC-3.0", "cc-by-nc-4.0": "CC-BY-NC-4.0",
    "cc-by-nc-nd-3.0": "CC-BY-NC-ND-3.0", "cc-by-nc-nd-4.0": "CC-BY-NC-ND-4.0",
    "cc-by-nc-sa-2.0": "CC-BY-NC-SA-2.0", "cc-by-nc-sa-3.0": "CC-BY-NC-SA-3.0",
    "cc-by-nc-sa-4.0": "CC-BY-NC-SA-4.0", "c-uda": "C-UDA-1.0", "fair-noncommercial-research-license": "LicenseRef-FAIR-NC",
}


def license_from_hub_id(value: str | None, *, name: str | None = None, link: str | None = None) -> License:
    """Map a Hub licence identifier (``license:`` of a card) to a :class:`License`.

    ``other`` / ``unknown`` / missing give ``NOASSERTION`` with commercial use
    ``unknown``; the card's ``license_name`` / ``license_link`` are kept in the note/url.
    """
    if value is None:
        return License("NOASSERTION", CommercialUse.UNKNOWN, url=link,
                       note="the model card states no licence")
    key = value.strip().lower()
    if key in _PERMISSIVE:
        return License(_PERMISSIVE[key], CommercialUse.ALLOWED, url=link,
                       note=f"model card: license: {value}")
    if key in _CONDITIONAL:
        return License(_CONDITIONAL[key], CommercialUse.CONDITIONAL, url=link,
                       note=f"model card: license: {value}; commercial use is subject to the licence's conditions")
    if key in _NON_COMMERCIAL:
        return License(_NON_COMMERCIAL[key], CommercialUse.FORBIDDEN, url=link,
                       note=f"model card: license: {value}; non-commercial")
    detail = f" ({name})" if name else ""
    return License("NOASSERTION", CommercialUse.UNKNOWN, url=link,
                   note=f"model card: license: {value}{detail}; not a licence zoo can map, read its terms")


# --------------------------------------------------------------------------- datasets and tags

_DATASET_BAD = re.compile(r"[^a-z0-9_\-./]+")


def _dataset_name(raw: str) -> str:
    name = _DATASET_BAD.sub("-", raw.strip().lower()).strip("-./_")
    if not name:
        raise ZooValidationError(FIELD, f"front matter 'datasets' holds {raw!r}, which names no dataset")
    return name


def _dataset_url(raw: str) -> str | None:
    raw = raw.strip()
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_\-.]*(/[A-Za-z0-9][A-Za-z0-9_\-.]*)?", raw):
        return f"https://huggingface.co/datasets/{raw}"
    return None


_TAG_BAD = re.compile(r"[^a-z0-9_\-]+")


def normalise_tag(raw: str) -> str | None:
    """A card tag as a zoo tag (lower case, letters first, '-' for anything else), or
    ``None`` when nothing usable is left."""
    tag = _TAG_BAD.sub("-", raw.strip().lower()).strip("-_")
    tag = tag.lstrip("0123456789-_")
    return tag or None


# --------------------------------------------------------------------------- Markdown sections

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_PLACEHOLDER = re.compile(r"^\[?\s*more information needed\.?\s*\]?\.?$", re.I)


def markdown_sections(body: str) -> list[tuple[int, str, list[str]]]:
    """ATX headings of ``body`` as ``(level, title, lines under it)``, ignoring lines in
    fenced code blocks (a ``# comment`` in a code sample is not a heading). Text before
    the first heading is returned under level 0 with an empty title."""
    sections: list[tuple[int, str, list[str]]] = [(0, "", [])]
    fence: str | None = None
    for line in body.splitlines():
        match = _FENCE.match(line)
        if fence is not None:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = None
            sections[-1][2].append(line)
            continue
        if match:
            fence = match.group(1)
            sections[-1][2].append(line)
            continue
        heading = _HEADING.match(line)
        if heading and heading.group(2):
            sections.append((len(heading.group(1)), heading.group(2).strip(), []))
        else:
            sections[-1][2].append(line)
    return sections


def section_kind(title: str) -> SectionKind | None:
    """The model-card section kind a heading names, or ``None``.

    "Intended uses & limitations" is an intended-use section (BERT's card nests its
    "Limitations and bias" under it); "Bias, Risks, and Limitations" is bias and risks.
    """
    t = re.sub(r"[^a-z ]+", " ", title.lower().replace("-", " "))
    t = " ".join(t.split())
    if "out of scope" in t or "misuse" in t:
        return SectionKind.OUT_OF_SCOPE_USE
    if "intended use" in t or t in ("uses", "use", "direct use", "downstream use", "use cases"):
        return SectionKind.INTENDED_USE
    if "bias" in t or "risk" in t or "ethical consideration" in t or "fairness" in t:
        return SectionKind.BIAS_RISKS
    if "limitation" in t:
        return SectionKind.LIMITATIONS
    if "recommendation" in t:
        return SectionKind.RECOMMENDATIONS
    return None


def _clean(lines: Iterable[str]) -> str:
    text = _COMMENT.sub("", "\n".join(lines))
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text)]
    paragraphs = [p for p in paragraphs if p and not _PLACEHOLDER.match(p)]
    return "\n\n".join(paragraphs)


def _card_sections(body: str, source: str | None) -> tuple[tuple[CardSection, ...], str | None]:
    parsed = markdown_sections(body)
    title = next((t for level, t, _ in parsed if level == 1), None)
    out: list[CardSection] = []
    i = 1
    while i < len(parsed):
        level, heading, lines = parsed[i]
        kind = section_kind(heading)
        if kind is None:
            i += 1
            continue
        # The section's own text plus that of sub-sections that are not sections of
        # their own kind (those are emitted separately).
        collected = list(lines)
        j = i + 1
        while j < len(parsed) and parsed[j][0] > level and section_kind(parsed[j][1]) is None:
            collected.append("#" * parsed[j][0] + " " + parsed[j][1])
            collected.extend(parsed[j][2])
            j += 1
        text = _clean(collected)
        if text:
            refs = (f"{source} (section '{heading}')",) if source else ()
            out.append(CardSection(kind=kind, body=text, title=heading, references=refs))
        i = j
    return tuple(out), title


# --------------------------------------------------------------------------- the card


def parse_model_card(text: str, *, source: str | None = None,
                     dataset_role: DatasetRole | str = DatasetRole.FINETUNE) -> ModelCard:
    """Parse model-card Markdown.

    ``source`` (a URL or ``pkg://`` path of the card) becomes the reference of every
    imported section. ``dataset_role`` is the role of the card's ``datasets:`` (the
    front matter does not say; for a fine-tuned model such as a sentence-transformers
    checkpoint they are its fine-tuning data).
    """
    meta, body = split_front_matter(text)
    role = DatasetRole.parse(dataset_role, "datasets.role")
    lic = license_from_hub_id(_text_field(meta, "license"), name=_text_field(meta, "license_name"),
                              link=_text_field(meta, "license_link"))
    datasets: list[DatasetUse] = []
    seen: set[str] = set()
    for raw in _list_field(meta, "datasets"):
        name = _dataset_name(raw)
        if name in seen:
            continue
        seen.add(name)
        try:
            datasets.append(DatasetUse(name, role, url=_dataset_url(raw)))
        except ZooValidationError as exc:
            raise ZooValidationError(FIELD, f"front matter 'datasets' holds {raw!r}: {exc.message}") from None
    pipeline_tag = _text_field(meta, "pipeline_tag")
    tags: list[str] = []
    for raw in (*_list_field(meta, "tags"), *((pipeline_tag,) if pipeline_tag else ())):
        tag = normalise_tag(raw)
        if tag and tag not in tags:
            tags.append(tag)
    sections, title = _card_sections(body, source)
    return ModelCard(
        metadata=meta, license=lic, datasets=tuple(datasets), sections=sections,
        tags=tuple(sorted(tags)), language=_list_field(meta, "language"),
        pipeline_tag=pipeline_tag, library_name=_text_field(meta, "library_name"),
        base_model=_list_field(meta, "base_model"), title=title, source=source,
    )


def read_model_card(path: str | Path, *, source: str | None = None,
                    dataset_role: DatasetRole | str = DatasetRole.FINETUNE) -> ModelCard:
    """Read and parse the card at ``path`` (UTF-8)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ZooValidationError(FIELD, f"{path} is not UTF-8 text: {exc.reason}") from None
    return parse_model_card(text, source=source or str(path), dataset_role=dataset_role)

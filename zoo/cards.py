"""Model cards: Hugging Face compatible Markdown with YAML front matter, both ways.

Reading. A model card is Markdown with optional YAML metadata ("front matter") between
two ``---`` lines at the very top::

    ---
    license: apache-2.0
    datasets: [s2orc, ms_marco]
    tags: [sentence-transformers]
    pipeline_tag: sentence-similarity
    ---
    # all-MiniLM-L6-v2
    ## Intended uses
    ...

:func:`parse_model_card` returns a :class:`ModelCard` holding what a
:class:`zoo.records.Weights` needs: a :class:`~zoo.records.License` (the Hub's licence
identifiers mapped to SPDX and to what they say about commercial use), the datasets, the
metrics of a ``model-index``, the card sections (intended use, out-of-scope use,
limitations, bias and risks, recommendations — those the card has) and normalised tags.
:meth:`zoo.registry.Registry.import_card` writes one into the registry.

Writing. :func:`render_model_card` turns a registry record into a card: front matter a
Hub reader understands (``license``, ``datasets``, ``base_model``, ``tags``,
``library_name``, ``pipeline_tag``, ``model-index``) and the sections of Model Cards for
Model Reporting (Mitchell et al. 2019) plus provenance and lineage.

Anything malformed (YAML that does not parse, front matter that is not a mapping or is
never closed, a field of the wrong type) raises :class:`zoo.errors.ZooCardError`
(a ``ZooValidationError`` with ``field == "card"``) naming the card. Only PyYAML is
imported; no torch.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.errors import ZooCardError, ZooValidationError
from zoo.records import (
    CardSection,
    CommercialUse,
    DatasetRole,
    DatasetUse,
    License,
    Metric,
    SectionKind,
    WeightsInfo,
)

__all__ = [
    "CardImport",
    "ModelCard",
    "hub_license",
    "license_from_hub_id",
    "markdown_sections",
    "normalise_tag",
    "parse_model_card",
    "read_model_card",
    "render_model_card",
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
    metrics: tuple[Metric, ...] = ()
    """The ``model-index`` results, one :class:`Metric` per reported value."""

    @property
    def states_license(self) -> bool:
        """Whether the card names a licence at all (``license:`` present)."""
        return self.metadata.get("license") is not None


@dataclass(frozen=True)
class CardImport:
    """What :meth:`Registry.import_card` changed (each change is one audit event) and
    what it left alone, with the reason."""

    name: str
    """``ref@version`` of the record the card was imported into."""
    license: License | None = None
    """The licence set (``None``: unchanged)."""
    datasets_added: tuple[DatasetUse, ...] = ()
    metrics_added: tuple[Metric, ...] = ()
    tags_added: tuple[str, ...] = ()
    sections_added: tuple[CardSection, ...] = ()
    skipped: tuple[str, ...] = ()
    """Human-readable notes on what was not imported and why."""

    @property
    def changed(self) -> bool:
        return bool(self.license or self.datasets_added or self.metrics_added or self.tags_added or self.sections_added)


def _error(message: str, *, hint: str | None = None) -> ZooCardError:
    return ZooCardError(None, message, hint=hint)


# --------------------------------------------------------------------------- front matter


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split ``text`` into its YAML metadata (a dict, empty when there is none) and the
    Markdown body."""
    import yaml  # PyYAML; a dependency of zoo itself

    if not isinstance(text, str):
        raise _error(f"must be text, not {type(text).__name__}")
    text = text.lstrip("\ufeff")
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return {}, text
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            break
    else:
        raise _error(
            "the YAML front matter opened by '---' on line 1 is never closed",
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
        raise _error(
            f"malformed YAML front matter{where}: {problem}",
            hint="fix the metadata between the two '---' lines (it must be a YAML mapping)",
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _error(
            f"the YAML front matter must be a mapping, not {type(data).__name__}",
            hint="write 'key: value' lines, e.g. 'license: apache-2.0'",
        )
    return {str(k): v for k, v in data.items()}, "".join(lines[end + 1 :])


def _text_field(meta: Mapping[str, Any], key: str) -> str | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _error(f"front matter {key!r} must be text, not {type(value).__name__}")
    return str(value).strip() or None


def _list_field(meta: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = meta.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise _error(f"front matter {key!r} must be a list of text, not {type(value).__name__}")
    items = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise _error(f"front matter {key!r} holds {item!r}, which is not text")
        text = str(item).strip()
        if text and text not in items:
            items.append(text)
    return tuple(items)


# --------------------------------------------------------------------------- licences

# Hub licence identifier -> (SPDX identifier, commercial use). The Hub's identifiers are
# listed in its docs ("Licenses"); those that are not SPDX get a LicenseRef- identifier.
_PERMISSIVE = {
    "apache-2.0": "Apache-2.0",
    "mit": "MIT",
    "bsd-2-clause": "BSD-2-Clause",
    "bsd-3-clause": "BSD-3-Clause",
    "bsd-3-clause-clear": "BSD-3-Clause-Clear",
    "isc": "ISC",
    "zlib": "Zlib",
    "unlicense": "Unlicense",
    "cc0-1.0": "CC0-1.0",
    "cc-by-2.0": "CC-BY-2.0",
    "cc-by-2.5": "CC-BY-2.5",
    "cc-by-3.0": "CC-BY-3.0",
    "cc-by-4.0": "CC-BY-4.0",
    "cc-by-sa-3.0": "CC-BY-SA-3.0",
    "cc-by-sa-4.0": "CC-BY-SA-4.0",
    "mpl-2.0": "MPL-2.0",
    "bsl-1.0": "BSL-1.0",
    "afl-3.0": "AFL-3.0",
    "ecl-2.0": "ECL-2.0",
    "artistic-2.0": "Artistic-2.0",
    "wtfpl": "WTFPL",
    "postgresql": "PostgreSQL",
    "odc-by": "ODC-By-1.0",
    "pddl": "PDDL-1.0",
    "osl-3.0": "OSL-3.0",
}
# Allowed, with conditions a reviewer must read: copyleft, no-derivatives, use-based
# restrictions (RAIL), vendor community licences.
_CONDITIONAL = {
    "gpl": "GPL-3.0-or-later",
    "gpl-2.0": "GPL-2.0-only",
    "gpl-3.0": "GPL-3.0-only",
    "lgpl": "LGPL-3.0-or-later",
    "lgpl-2.1": "LGPL-2.1-only",
    "lgpl-3.0": "LGPL-3.0-only",
    "agpl-3.0": "AGPL-3.0-only",
    "lgpl-lr": "LGPLLR",
    "epl-1.0": "EPL-1.0",
    "epl-2.0": "EPL-2.0",
    "eupl-1.1": "EUPL-1.1",
    "eupl-1.2": "EUPL-1.2",
    "cc-by-nd-4.0": "CC-BY-ND-4.0",
    "odbl": "ODbL-1.0",
    "openrail": "LicenseRef-OpenRAIL",
    "openrail++": "LicenseRef-OpenRAIL-plus-plus",
    "bigscience-openrail-m": "LicenseRef-BigScience-OpenRAIL-M",
    "bigscience-bloom-rail-1.0": "LicenseRef-BigScience-BLOOM-RAIL-1.0",
    "creativeml-openrail-m": "LicenseRef-CreativeML-OpenRAIL-M",
    "bigcode-openrail-m": "LicenseRef-BigCode-OpenRAIL-M",
    "llama2": "LicenseRef-Llama-2",
    "llama3": "LicenseRef-Llama-3",
    "llama3.1": "LicenseRef-Llama-3.1",
    "llama3.2": "LicenseRef-Llama-3.2",
    "llama3.3": "LicenseRef-Llama-3.3",
    "gemma": "LicenseRef-Gemma",
    "apple-ascl": "LicenseRef-Apple-ASCL",
    "deepfloyd-if-license": "LicenseRef-DeepFloyd-IF",
}
_NON_COMMERCIAL = {
    "cc-by-nc-2.0": "CC-BY-NC-2.0",
    "cc-by-nc-3.0": "CC-BY-NC-3.0",
    "cc-by-nc-4.0": "CC-BY-NC-4.0",
    "cc-by-nc-nd-3.0": "CC-BY-NC-ND-3.0",
    "cc-by-nc-nd-4.0": "CC-BY-NC-ND-4.0",
    "cc-by-nc-sa-2.0": "CC-BY-NC-SA-2.0",
    "cc-by-nc-sa-3.0": "CC-BY-NC-SA-3.0",
    "cc-by-nc-sa-4.0": "CC-BY-NC-SA-4.0",
    "c-uda": "C-UDA-1.0",
    "fair-noncommercial-research-license": "LicenseRef-FAIR-NC",
}
# SPDX -> the Hub's identifier, for writing cards (the first Hub id of each SPDX id wins).
_TO_HUB: dict[str, str] = {}
for _table in (_PERMISSIVE, _CONDITIONAL, _NON_COMMERCIAL):
    for _hub, _spdx in _table.items():
        _TO_HUB.setdefault(_spdx.lower(), _hub)


def license_from_hub_id(value: str | None, *, name: str | None = None, link: str | None = None) -> License:
    """Map a Hub licence identifier (``license:`` of a card) to a :class:`License`.

    ``other`` / ``unknown`` / missing give ``NOASSERTION`` with commercial use
    ``unknown``; the card's ``license_name`` / ``license_link`` are kept in the note/url.
    """
    if value is None:
        return License("NOASSERTION", CommercialUse.UNKNOWN, url=link, note="the model card states no licence")
    key = value.strip().lower()
    if key in _PERMISSIVE:
        return License(_PERMISSIVE[key], CommercialUse.ALLOWED, url=link, note=f"model card: license: {value}")
    if key in _CONDITIONAL:
        return License(
            _CONDITIONAL[key],
            CommercialUse.CONDITIONAL,
            url=link,
            note=f"model card: license: {value}; commercial use is subject to the licence's conditions",
        )
    if key in _NON_COMMERCIAL:
        return License(
            _NON_COMMERCIAL[key],
            CommercialUse.FORBIDDEN,
            url=link,
            note=f"model card: license: {value}; non-commercial",
        )
    detail = f" ({name})" if name else ""
    return License(
        "NOASSERTION",
        CommercialUse.UNKNOWN,
        url=link,
        note=f"model card: license: {value}{detail}; not a licence zoo can map, read its terms",
    )


def hub_license(lic: License) -> dict[str, str]:
    """The front-matter fields of a licence as the Hub writes them: ``license`` is the
    Hub's (lower-case SPDX) identifier; a licence the Hub does not list is ``other``
    with ``license_name`` / ``license_link``; none stated is ``unknown``."""
    if lic.spdx.upper() == "NOASSERTION":
        return {"license": "unknown"}
    hub = _TO_HUB.get(lic.spdx.lower())
    if hub is not None:
        return {"license": hub}
    out = {"license": "other", "license_name": lic.spdx.lower()}
    if lic.url:
        out["license_link"] = lic.url
    return out


# --------------------------------------------------------------------------- datasets and tags

_DATASET_BAD = re.compile(r"[^a-z0-9_\-./]+")
_HUB_DATASETS = "https://huggingface.co/datasets/"


def _dataset_name(raw: str) -> str:
    name = _DATASET_BAD.sub("-", raw.strip().lower()).strip("-./_")
    if not name:
        raise _error(f"front matter 'datasets' holds {raw!r}, which names no dataset")
    return name


def _dataset_url(raw: str) -> str | None:
    # The Hub's convention: ``datasets:`` lists Hub dataset ids. An import still never
    # writes this into a dataset row that exists (Registry.import_card).
    raw = raw.strip()
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_\-.]*(/[A-Za-z0-9][A-Za-z0-9_\-.]*)?", raw):
        return f"{_HUB_DATASETS}{raw}"
    return None


def _hub_dataset_id(use: DatasetUse) -> str:
    """The Hub id a dataset was imported under (kept in its URL), else its zoo name."""
    if use.url and use.url.startswith(_HUB_DATASETS):
        hub_id = use.url[len(_HUB_DATASETS) :].strip("/")
        if hub_id and _dataset_name(hub_id) == use.name:
            return hub_id
    return use.name


_TAG_BAD = re.compile(r"[^a-z0-9_\-]+")


def normalise_tag(raw: str) -> str | None:
    """A card tag as a zoo tag (lower case, letters first, '-' for anything else), or
    ``None`` when nothing usable is left."""
    tag = _TAG_BAD.sub("-", raw.strip().lower()).strip("-_")
    tag = tag.lstrip("0123456789-_")
    return tag or None


# --------------------------------------------------------------------------- model-index


def _model_index_metrics(meta: Mapping[str, Any]) -> tuple[Metric, ...]:
    """The ``model-index`` results as metrics: ``dataset.type`` (else ``name``) is the
    dataset, ``dataset.split`` the split (default ``val``), a metric's ``name`` (else
    ``type``) its name."""
    index = meta.get("model-index")
    if index is None:
        return ()
    if not isinstance(index, list):
        raise _error(
            f"front matter 'model-index' must be a list, not {type(index).__name__}",
            hint="see the Hub's model-index format: - name: ... results: [...]",
        )
    metrics: dict[tuple[str, str, str], Metric] = {}
    for entry in index:
        if not isinstance(entry, Mapping):
            raise _error("front matter 'model-index' holds an entry that is not a mapping")
        results = entry.get("results") or []
        if not isinstance(results, list):
            raise _error("front matter 'model-index' results must be a list")
        for result in results:
            if not isinstance(result, Mapping) or not isinstance(result.get("dataset") or {}, Mapping):
                raise _error("front matter 'model-index' holds a result that is not a mapping with a 'dataset' mapping")
            dataset = result.get("dataset") or {}
            raw = dataset.get("type") or dataset.get("name")
            if raw is None:
                continue  # a result on no named dataset cannot be recorded
            split = str(dataset.get("split") or "val")
            for item in result.get("metrics") or []:
                if not isinstance(item, Mapping):
                    raise _error("front matter 'model-index' holds a metric that is not a mapping")
                name = item.get("name") or item.get("type")
                value = item.get("value")
                if name is None or value is None:
                    continue
                if isinstance(value, bool):
                    raise _error(f"model-index metric {name!r} has value {value!r}, not a number")
                try:
                    number = float(value)
                except (TypeError, ValueError):
                    raise _error(f"model-index metric {name!r} has value {value!r}, not a number") from None
                try:
                    metric = Metric(_dataset_name(str(raw)), str(name), number, split)
                except ZooValidationError as exc:
                    raise _error(f"model-index metric {name!r}: {exc.message}") from None
                metrics.setdefault((metric.dataset, metric.split, metric.name), metric)
    return tuple(metrics.values())


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


_SEVERITY_LINE = re.compile(r"^\*\*Severity: (low|medium|high)\*\*$", re.I)
_INHERITED_LINE = re.compile(r"^_Inherited from (.+)\._$")
# The headings zoo writes for each kind; a section directly under one has no title of its own.
_KIND_HEADINGS = {
    "Intended use": SectionKind.INTENDED_USE,
    "Out-of-scope use": SectionKind.OUT_OF_SCOPE_USE,
    "Limitations": SectionKind.LIMITATIONS,
    "Bias, risks and limitations": SectionKind.BIAS_RISKS,
    "Recommendations": SectionKind.RECOMMENDATIONS,
}


def _section(
    kind: SectionKind, title: str | None, lines: list[str], source: str | None, heading: str
) -> CardSection | None:
    """One section from its lines: the severity, inheritance and reference lines that
    zoo writes (``_section_text``) are read back into their fields, not into the body."""
    severity = inherited = None
    references: list[str] = []
    body: list[str] = []
    in_refs = False
    for line in lines:
        stripped = line.strip()
        if _SEVERITY_LINE.match(stripped):
            severity = _SEVERITY_LINE.match(stripped).group(1).lower()
        elif _INHERITED_LINE.match(stripped):
            inherited = _INHERITED_LINE.match(stripped).group(1)
        elif stripped == "References:":
            in_refs = True
        elif in_refs and stripped.startswith("- "):
            references.append(stripped[2:].strip())
        elif in_refs and not stripped:
            continue
        else:
            in_refs = False
            body.append(line)
    text = _clean(body)
    if not text:
        return None
    if not references and source:  # a foreign card's section: cite the card it came from
        references = [f"{source} (section '{heading}')"]
    return CardSection(
        kind=kind, body=text, title=title, references=tuple(references), severity=severity, inherited_from=inherited
    )


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
        j = i + 1
        subsections: list[tuple[str, list[str]]] = []
        while j < len(parsed) and parsed[j][0] > level and section_kind(parsed[j][1]) is None:
            subsections.append((parsed[j][1], parsed[j][2]))
            j += 1
        own_title = None if _KIND_HEADINGS.get(heading) is kind else heading
        if own_title is None and subsections and all(sub_level == level + 1 for sub_level, _, _ in parsed[i + 1 : j]):
            # zoo's layout (render_model_card): one section per sub-heading under its own heading
            for found in [_section(kind, None, lines, source, heading)] + [
                _section(kind, sub, sub_lines, source, sub) for sub, sub_lines in subsections
            ]:
                if found is not None:
                    out.append(found)
        else:
            collected = list(lines)
            for sub, sub_lines in subsections:
                collected += ["#" * (level + 1) + " " + sub, *sub_lines]
            found = _section(kind, own_title, collected, source, heading)
            if found is not None:
                out.append(found)
        i = j
    return tuple(out), title


# --------------------------------------------------------------------------- reading a card


def parse_model_card(
    text: str, *, source: str | None = None, dataset_role: DatasetRole | str = DatasetRole.FINETUNE
) -> ModelCard:
    """Parse model-card Markdown.

    ``source`` (a path, URL or ``pkg://`` path of the card) names the card in errors and
    becomes the reference of every imported section. ``dataset_role`` is the role of the
    card's ``datasets:`` (the front matter does not say; for a fine-tuned model such as a
    sentence-transformers checkpoint they are its fine-tuning data).
    """
    try:
        return _parse(text, source, dataset_role)
    except ZooCardError as exc:
        if exc.card is None and source:
            raise ZooCardError(source, exc.detail, hint=exc.hint) from None
        raise


def _parse(text: str, source: str | None, dataset_role: DatasetRole | str) -> ModelCard:
    meta, body = split_front_matter(text)
    role = DatasetRole.parse(dataset_role, "datasets.role")
    lic = license_from_hub_id(
        _text_field(meta, "license"), name=_text_field(meta, "license_name"), link=_text_field(meta, "license_link")
    )
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
            raise _error(f"front matter 'datasets' holds {raw!r}: {exc.message}") from None
    pipeline_tag = _text_field(meta, "pipeline_tag")
    tags: list[str] = []
    for raw in _list_field(meta, "tags"):  # the pipeline tag is the task, not a keyword
        tag = normalise_tag(raw)
        # A tag longer than the registry's tag column (64) is not a keyword anyone filters on.
        if tag and len(tag) <= 64 and tag not in tags:
            tags.append(tag)
    sections, title = _card_sections(body, source)
    return ModelCard(
        metadata=meta,
        license=lic,
        datasets=tuple(datasets),
        sections=sections,
        tags=tuple(sorted(tags)),
        language=_list_field(meta, "language"),
        pipeline_tag=pipeline_tag,
        library_name=_text_field(meta, "library_name"),
        base_model=_list_field(meta, "base_model"),
        title=title,
        source=source,
        metrics=_model_index_metrics(meta),
    )


def read_model_card(
    path: str | Path, *, source: str | None = None, dataset_role: DatasetRole | str = DatasetRole.FINETUNE
) -> ModelCard:
    """Read and parse the card at ``path`` (UTF-8)."""
    path = Path(path)
    name = source or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ZooCardError(name, f"is not UTF-8 text: {exc.reason}", hint="save the card as UTF-8") from None
    except OSError as exc:
        raise ZooCardError(
            name, f"cannot be read: {exc.strerror or exc}", hint="check the path of the model card (README.md)"
        ) from None
    return parse_model_card(text, source=name, dataset_role=dataset_role)


# --------------------------------------------------------------------------- writing a card

# Tasks the Hub knows as pipeline tags (zoo's family tasks use the same names).
_PIPELINE_TAGS = frozenset(
    {
        "image-classification",
        "image-feature-extraction",
        "feature-extraction",
        "text-classification",
        "sentence-similarity",
        "fill-mask",
        "token-classification",
        "object-detection",
        "image-segmentation",
        "zero-shot-image-classification",
        "question-answering",
        "text-generation",
        "summarization",
        "translation",
        "depth-estimation",
        "video-classification",
        "audio-classification",
    }
)
# zoo's lineage relations -> the Hub's base_model_relation (adapter, merge, quantized,
# finetune). A distilled or pruned model is trained (or cut) from its base: the Hub's
# nearest relation is finetune; zoo's own relation is kept in the ``zoo`` metadata.
_HUB_RELATION = {
    "finetune": "finetune",
    "adapter": "adapter",
    "quantize": "quantized",
    "distill": "finetune",
    "prune": "finetune",
}
_LIBRARIES = {
    "timm": "timm",
    "zoo_timm": "timm",
    "transformers": "transformers",
    "zoo_transformers": "transformers",
    "sentence_transformers": "sentence-transformers",
}
_NOT_RECORDED = "[More Information Needed]"  # the Hub's placeholder; the parser skips it
_HUB_REPO = re.compile(r"^(?:hf://|https://huggingface\.co/)(?!datasets/|spaces/)([\w.\-]+/[\w.\-]+)(?:/|$)")


def _library(info: WeightsInfo) -> str:
    top = info.family.builder.split(":", 1)[0].split(".", 1)[0]
    return _LIBRARIES.get(top, "pytorch")


def hub_repo(info: WeightsInfo) -> str | None:
    """The Hugging Face Hub repository ``org/name`` the weights come from, if any."""
    for source in info.weights.sources:
        match = _HUB_REPO.match(source.uri)
        if match:
            return match.group(1)
    return None


def pipeline_tag(info: WeightsInfo) -> str | None:
    """The Hub pipeline tag: a backbone without a classifier (no classes, or an
    embedding) extracts features; a classifier has its family's task."""
    task, w = info.family.task, info.weights
    if task in ("sentence-similarity", "feature-extraction", "image-feature-extraction"):
        return task
    if not w.num_classes or "image-embedding" in w.tags or "features-only" in w.tags:
        return "image-feature-extraction" if info.family.modality.value == "vision" else "feature-extraction"
    if info.family.modality.value == "text" and task == "text-classification" and "classifier" not in w.tags:
        return "feature-extraction"  # a text backbone (BERT ...) loads without a trained head
    return task if task in _PIPELINE_TAGS else None


def front_matter(info: WeightsInfo, parents: Mapping[str, WeightsInfo] | None = None) -> dict[str, Any]:
    """The YAML metadata of ``info``'s card, as the Hub reads it. ``parents`` (the
    parents' records by qualified name) give ``base_model`` as Hub ids where a parent
    came from the Hub; zoo's own names and relations are kept under ``zoo``."""
    w = info.weights
    meta: dict[str, Any] = dict(hub_license(w.license))
    meta["library_name"] = _library(info)
    tag = pipeline_tag(info)
    if tag:
        meta["pipeline_tag"] = tag
    trained = [d for d in w.datasets if d.role is not DatasetRole.EVAL]
    if trained:
        meta["datasets"] = list(dict.fromkeys(_hub_dataset_id(d) for d in trained))
    if w.parents:
        parents = parents or {}
        bases = [repo for p in w.parents if (repo := parents.get(p.parent) and hub_repo(parents[p.parent]))]
        if bases:
            meta["base_model"] = bases[0] if len(bases) == 1 else bases
        relations = {_HUB_RELATION[p.relation.value] for p in w.parents}
        meta["base_model_relation"] = (
            relations.pop()
            if len(relations) == 1 and len(w.parents) == 1
            else ("merge" if len(w.parents) > 1 else relations.pop())
        )
    if w.tags:
        meta["tags"] = list(w.tags)
    if w.metrics:
        urls = {d.name: _hub_dataset_id(d) for d in w.datasets}
        results: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for m in w.metrics:
            results.setdefault((m.dataset, m.split), []).append(
                {
                    "type": re.sub(r"[^a-z0-9_\-]+", "_", m.name.lower()).strip("_") or "metric",
                    "value": m.value,
                    "name": m.name,
                }
            )
        task = {"type": info.family.task}
        meta["model-index"] = [
            {
                "name": info.qualified_name,
                "results": [
                    {"task": task, "dataset": {"type": urls.get(ds, ds), "name": ds, "split": split}, "metrics": items}
                    for (ds, split), items in results.items()
                ],
            }
        ]
    zoo_meta: dict[str, Any] = {"name": info.qualified_name}
    if w.parents:
        zoo_meta["parents"] = [{"name": p.parent, "relation": p.relation.value} for p in w.parents]
    meta["zoo"] = zoo_meta
    return meta


def _section_text(section: CardSection) -> list[str]:
    lines = []
    if section.title:
        lines += [f"### {section.title}", ""]
    if section.severity is not None:
        lines += [f"**Severity: {section.severity.value}**", ""]
    lines += [section.body, ""]
    if section.inherited_from:
        lines += [f"_Inherited from {section.inherited_from}._", ""]
    if section.references:
        lines += ["References:", ""] + [f"- {ref}" for ref in section.references] + [""]
    return lines


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    def cell(value: Any) -> str:
        return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return out + [""]


def render_model_card(
    info: WeightsInfo, *, lineage: Any = None, parents: Mapping[str, WeightsInfo] | None = None
) -> str:
    """A Markdown model card of a registry record, with Hub-compatible YAML front matter.

    ``lineage`` is the ``lineage`` audit query's result for the record (ancestors and
    descendants, transitively); without it the direct parents and children are listed.
    ``parents`` are the parents' records (for ``base_model`` Hub ids). The card shows the
    record's own sections and, marked "Inherited from ...", the notes its lineage carries
    (its datasets' and its ancestors'); an import reads the latter back as computed, not
    as the record's own."""
    import yaml

    w, f = info.weights, info.family
    by_kind: dict[SectionKind, list[CardSection]] = {}
    for section in w.card + info.inherited_notes:
        by_kind.setdefault(section.kind, []).append(section)
    meta = yaml.safe_dump(front_matter(info, parents), sort_keys=False, allow_unicode=True, width=100)
    out = ["---", meta.rstrip("\n"), "---", "", f"# {info.qualified_name}", ""]
    if w.description:
        out += [w.description, ""]
    out += ["## Model details", ""]
    facts = [
        ("Architecture", f"{f.name} ({f.modality.value}, {f.task})"),
        (
            "Licence",
            f"{w.license.spdx} — commercial use: {w.license.commercial_use.value}"
            + (f" ({w.license.note})" if w.license.note else ""),
        ),
        (
            "Effective commercial use",
            f"{info.effective_use.commercial_use.value} — " + "; ".join(info.effective_use.reasons)
            if info.effective_use
            else None,
        ),
        ("Status", w.status.value + (f" — {w.status_reason}" if w.status_reason else "")),
        ("Parameters", f"{w.num_params:,}" if w.num_params else None),
        ("Classes", str(w.num_classes) if w.num_classes else None),
        ("Aliases", ", ".join(info.aliases) or None),
    ]
    out += [f"- **{k}:** {v}" for k, v in facts if v] + [""]

    def kind_section(heading: str, kind: SectionKind) -> None:
        out.extend([f"## {heading}", ""])
        sections = by_kind.get(kind, [])
        if not sections:
            out.extend([_NOT_RECORDED, ""])
        for s in sections:
            out.extend(_section_text(s))

    kind_section("Intended use", SectionKind.INTENDED_USE)
    kind_section("Out-of-scope use", SectionKind.OUT_OF_SCOPE_USE)
    out += ["## Training data", ""]
    trained = [d for d in w.datasets if d.role is not DatasetRole.EVAL]
    out += (
        _table(("dataset", "role", "url"), ((d.name, d.role.value, d.url) for d in trained))
        if trained
        else [_NOT_RECORDED, ""]
    )
    out += ["## Metrics", ""]
    out += (
        _table(
            ("dataset", "split", "metric", "value"), ((m.dataset, m.split, m.name, f"{m.value:g}") for m in w.metrics)
        )
        if w.metrics
        else [_NOT_RECORDED, ""]
    )
    kind_section("Limitations", SectionKind.LIMITATIONS)
    kind_section("Bias, risks and limitations", SectionKind.BIAS_RISKS)
    kind_section("Recommendations", SectionKind.RECOMMENDATIONS)

    out += ["## Provenance", ""]
    sources = [f"`{s.uri}`" + (" (mirror)" if s.mirror else "") for s in w.sources]
    provenance = [
        ("Sources", ", ".join(sources) or None),
        (
            "sha256",
            f"`{w.sha256}`"
            if w.sha256
            else (
                f"prefix `{w.sha256_prefix}` (the full hash is pinned on first fetch)"
                if w.sha256_prefix
                else "not recorded"
            ),
        ),
        ("Format", w.format + (f", {w.size_bytes:,} bytes" if w.size_bytes else "")),
        ("Publisher", w.publisher),
        ("Paper", " — ".join(x for x in (w.paper_title, w.paper_url) if x) or None),
        ("Training recipe", w.recipe),
        ("Declared by", f"{info.plugin} {info.plugin_version or ''}".strip() if info.plugin else None),
        ("Registered", f"{info.created_at:%Y-%m-%d %H:%M} UTC by {info.created_by}"),
        ("Last changed", f"{info.updated_at:%Y-%m-%d %H:%M} UTC by {info.updated_by}"),
    ]
    out += [f"- **{k}:** {v}" for k, v in provenance if v] + [""]

    out += ["## Lineage", ""]
    rows = []
    if lineage is not None and getattr(lineage, "rows", None):
        cols = list(lineage.columns)
        for row in lineage.rows:
            r = dict(zip(cols, row, strict=True))
            rows.append((r["direction"], f"{r['name']}@{r['version']}", r["relation"], r["depth"], r["status"]))
    elif lineage is None:
        rows += [("ancestor", p.parent, p.relation.value, 1, "") for p in w.parents]
        rows += [("descendant", c, rel, 1, "") for c, rel in info.children]
    out += (
        _table(("direction", "weights", "relation", "depth", "status"), rows)
        if rows
        else ["No recorded parents or descendants.", ""]
    )
    out += [
        "_Generated by `zoo card` from the zoo registry; `zoo history "
        f"{info.ref}` shows who changed this record and when._",
        "",
    ]
    return "\n".join(out)

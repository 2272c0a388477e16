"""Typed, frozen records exchanged between plugins, the registry and the user.

Plain Python only (no torch, no SQLAlchemy): plugins build these, the registry stores
them, and ``zoo.registry`` returns them. Every constructor validates its fields and
raises :class:`~zoo.errors.ZooValidationError` naming the field, so a malformed
record never reaches the database.
"""

from __future__ import annotations

import datetime as _dt
import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypeVar, overload

from zoo import limits
from zoo.errors import ZooValidationError

__all__ = [
    "BUILTIN_SCHEMES",
    "AuditEvent",
    "KeyAdapter",
    "PolicyDecision",
    "Compressor",
    "Recipe",
    "TransferMethod",
    "TransferKind",
    "WeightStore",
    "CardSection",
    "CommercialUse",
    "Dataset",
    "DatasetInfo",
    "DatasetRole",
    "DatasetUse",
    "EffectiveUse",
    "Family",
    "License",
    "Metric",
    "Modality",
    "ParentLink",
    "Relation",
    "SectionKind",
    "Severity",
    "Source",
    "Status",
    "Weights",
    "WeightsInfo",
]


_C = TypeVar("_C", bound="_Choice")


class _Choice(str, enum.Enum):
    """A closed set of string values; ``parse`` gives a typed error for anything else."""

    def __str__(self) -> str:  # pragma: no cover - trivial
        return str(self.value)

    @classmethod
    def parse(cls: type[_C], value: Any, field_name: str) -> _C:
        if isinstance(value, cls):
            return value
        try:
            return cls(str(value).strip().lower().replace(" ", "_").replace("-", "_"))
        except ValueError:
            allowed = ", ".join(m.value for m in cls)
            raise ZooValidationError(field_name, f"unknown value {value!r}", hint=f"use one of: {allowed}") from None

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(m.value for m in cls)


class CommercialUse(_Choice):
    ALLOWED = "allowed"
    FORBIDDEN = "forbidden"
    CONDITIONAL = "conditional"
    UNKNOWN = "unknown"


class Status(_Choice):
    ACTIVE = "active"
    DEPRECATED = "deprecated"
    REVOKED = "revoked"


class DatasetRole(_Choice):
    PRETRAIN = "pretrain"
    FINETUNE = "finetune"
    EVAL = "eval"


_ROLE_ORDER = {role: i for i, role in enumerate(DatasetRole)}


class Relation(_Choice):
    FINETUNE = "finetune"
    ADAPTER = "adapter"
    DISTILL = "distill"
    QUANTIZE = "quantize"
    PRUNE = "prune"
    EXPORT = "export"


class SectionKind(_Choice):
    """Model-card sections (Mitchell et al. 2019; Hugging Face model cards)."""

    INTENDED_USE = "intended_use"
    OUT_OF_SCOPE_USE = "out_of_scope_use"
    LIMITATIONS = "limitations"
    BIAS_RISKS = "bias_risks"
    RECOMMENDATIONS = "recommendations"


class Severity(_Choice):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class TransferKind(_Choice):
    SCORE = "score"  # transferability of frozen features to labelled data (zoo.rank)
    DRIFT = "drift"  # two-sample test of new features against a reference (zoo.drift)


class Modality(_Choice):
    VISION = "vision"
    TEXT = "text"
    MULTIMODAL = "multimodal"


# Names are lower case so that resolution is the same on SQLite and PostgreSQL.
# An architecture has no '.', so ``arch.tag`` splits unambiguously at the first dot.
ARCH_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]*(?:\.[a-z0-9][a-z0-9_\-]*)*$")
MODEL_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]*/[a-z0-9][a-z0-9_\-]*(?:\.[a-z0-9][a-z0-9_\-]*)*$")
DATASET_RE = re.compile(r"^[a-z0-9][a-z0-9_\-./]*$")
ALIAS_RE = re.compile(r"^[a-z][a-z0-9_\-]*$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
HEX_RE = re.compile(r"^[0-9a-f]{6,64}$")
SPDX_RE = re.compile(r"^[A-Za-z0-9.+\-]+$")
FORMATS = ("safetensors", "pickle")
MAX_NAME = limits.NAME


@overload
def _text(value: Any, field_name: str, *, required: Literal[True], max_len: int = ...) -> str: ...
@overload
def _text(value: Any, field_name: str, *, required: bool = False, max_len: int = ...) -> str | None: ...
def _text(value: Any, field_name: str, *, required: bool = False, max_len: int = limits.TEXT) -> str | None:
    if value is None:
        if required:
            raise ZooValidationError(field_name, "is required")
        return None
    if not isinstance(value, str):
        raise ZooValidationError(field_name, f"must be text, not {type(value).__name__}")
    value = value.strip()
    if not value:
        if required:
            raise ZooValidationError(field_name, "must not be empty")
        return None
    return limits.check_text(value, field_name, max_len)


def _name(value: Any, field_name: str, pattern: re.Pattern[str], example: str, max_len: int = MAX_NAME) -> str:
    text = _text(value, field_name, required=True, max_len=max_len)
    text = text.lower()
    if not pattern.match(text):
        raise ZooValidationError(
            field_name,
            f"{value!r} is not a valid name",
            hint=f"use lower-case letters, digits, '-', '_' and '.', e.g. {example!r}",
        )
    return text


def _tuple(value: Any, field_name: str, item_type: type) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ZooValidationError(field_name, "must be a sequence")
    items = tuple(value)
    for item in items:
        if not isinstance(item, item_type):
            raise ZooValidationError(field_name, f"items must be {item_type.__name__}, got {type(item).__name__}")
    return items


def _set(obj: Any, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


def _mapping(value: Any, field_name: str) -> Mapping[str, Any] | None:
    """A JSON column's value: plain JSON data within :mod:`zoo.limits`' bounds."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ZooValidationError(field_name, "must be a mapping")
    return limits.check_json(value, field_name)


@dataclass(frozen=True)
class License:
    """A licence: SPDX identifier (``NOASSERTION`` when the publisher states none)
    and what it says about commercial use."""

    spdx: str = "NOASSERTION"
    commercial_use: CommercialUse = CommercialUse.UNKNOWN
    url: str | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        spdx = _text(self.spdx, "license.spdx", required=True, max_len=limits.LABEL)
        if not SPDX_RE.match(spdx):
            raise ZooValidationError(
                "license.spdx",
                f"{spdx!r} is not an SPDX identifier",
                hint="e.g. 'Apache-2.0', 'MIT', 'BSD-3-Clause', 'NOASSERTION'",
            )
        _set(self, "spdx", spdx)
        _set(self, "commercial_use", CommercialUse.parse(self.commercial_use, "license.commercial_use"))
        _set(self, "url", _text(self.url, "license.url"))
        _set(self, "note", _text(self.note, "license.note"))


@dataclass(frozen=True)
class Source:
    """Where a checkpoint can be fetched from; mirrors are tried first."""

    uri: str
    mirror: bool = False

    def __post_init__(self) -> None:
        uri = _text(self.uri, "sources.uri", required=True, max_len=limits.URI)
        if "://" not in uri and not uri.startswith("/"):
            raise ZooValidationError(
                "sources.uri", f"{uri!r} has no scheme", hint="write 'https://…', 'file:///…' or 'pkg://dist/path'"
            )
        _set(self, "uri", uri)
        if not isinstance(self.mirror, bool):
            raise ZooValidationError("sources.mirror", f"must be True or False, not {self.mirror!r}")


@dataclass(frozen=True)
class DatasetUse:
    """A dataset and the role it played: pretrain, finetune or eval."""

    name: str
    role: DatasetRole = DatasetRole.PRETRAIN
    url: str | None = None

    def __post_init__(self) -> None:
        _set(self, "name", _name(self.name, "datasets.name", DATASET_RE, "imagenet-1k"))
        _set(self, "role", DatasetRole.parse(self.role, "datasets.role"))
        _set(self, "url", _text(self.url, "datasets.url"))


@dataclass(frozen=True)
class Metric:
    """One reported number: ``value`` of ``name`` on ``dataset``/``split``."""

    dataset: str
    name: str
    value: float
    split: str = "val"

    def __post_init__(self) -> None:
        _set(self, "dataset", _name(self.dataset, "metrics.dataset", DATASET_RE, "imagenet-1k"))
        _set(self, "name", _text(self.name, "metrics.name", required=True, max_len=limits.LABEL))
        _set(self, "split", _text(self.split, "metrics.split", required=True, max_len=limits.LABEL))
        _set(self, "value", limits.check_float(self.value, "metrics.value"))


@dataclass(frozen=True)
class CardSection:
    """A model-card section. Bias notes are sections of kind ``bias_risks`` or
    ``limitations``, with references and, for bias notes, a severity."""

    kind: SectionKind
    body: str
    title: str | None = None
    references: tuple[str, ...] = ()
    severity: Severity | None = None
    inherited_from: str | None = None

    def __post_init__(self) -> None:
        _set(self, "kind", SectionKind.parse(self.kind, "card.kind"))
        _set(self, "body", _text(self.body, "card.body", required=True))
        _set(self, "title", _text(self.title, "card.title", max_len=limits.NAME))
        refs = _tuple(self.references, "card.references", str)
        _set(self, "references", tuple(r for r in (_text(r, "card.references") for r in refs) if r))
        if self.severity is not None:
            _set(self, "severity", Severity.parse(self.severity, "card.severity"))
        _set(self, "inherited_from", _text(self.inherited_from, "card.inherited_from", max_len=limits.NAME))

    @property
    def is_bias_note(self) -> bool:
        return self.kind in (SectionKind.BIAS_RISKS, SectionKind.LIMITATIONS)


@dataclass(frozen=True)
class Dataset:
    """A dataset as a fact of its own, declared once (hook ``zoo_datasets``) and named by
    weights through :class:`DatasetUse`. ``terms`` are the data's terms of use (their
    licence and what they say about commercial use), kept apart from any weights'
    licence; ``notes`` are its bias and limitation notes, which every weights trained on
    it (directly or through a parent) shows."""

    name: str
    title: str | None = None
    url: str | None = None
    terms: License = field(default_factory=License)
    size: str | None = None
    collection: str | None = None
    description: str | None = None
    notes: tuple[CardSection, ...] = ()

    def __post_init__(self) -> None:
        _set(self, "name", _name(self.name, "dataset.name", DATASET_RE, "imagenet-1k"))
        if not isinstance(self.terms, License):
            raise ZooValidationError("dataset.terms", "must be a zoo.records.License (the data's terms of use)")
        _set(self, "title", _text(self.title, "dataset.title", max_len=200))
        for text_field in ("url", "size", "collection", "description"):
            _set(self, text_field, _text(getattr(self, text_field), f"dataset.{text_field}"))
        notes = _tuple(self.notes, "dataset.notes", CardSection)
        for note in notes:
            if not note.is_bias_note:
                raise ZooValidationError(
                    "dataset.notes",
                    f"a dataset note is a bias or limitation note, not {note.kind.value!r}",
                    hint="use kind 'bias_risks' or 'limitations'",
                )
            if note.inherited_from is not None:
                raise ZooValidationError("dataset.notes", "a dataset's own note has no inherited_from")
        if len({(n.kind, n.body) for n in notes}) != len(notes):
            raise ZooValidationError("dataset.notes", "lists the same note twice")
        _set(self, "notes", notes)


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset as stored: the declared :class:`Dataset` (terms ``NOASSERTION`` /
    ``unknown`` and no notes when no plugin declares it, only weights name it), the
    declaring plugin, and how many weights name it."""

    dataset: Dataset
    plugin: str | None
    plugin_version: str | None
    weights: int = 0

    @property
    def declared(self) -> bool:
        return self.plugin is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            **to_jsonable(self.dataset),
            "declared": self.declared,
            "plugin": self.plugin,
            "plugin_version": self.plugin_version,
            "weights": self.weights,
        }


# Most restrictive last: the effective commercial use is the worst statement in the lineage.
COMMERCIAL_RANK = {"allowed": 0, "conditional": 1, "unknown": 2, "forbidden": 3}


@dataclass(frozen=True)
class EffectiveUse:
    """Whether weights may be used commercially, all things considered: the most
    restrictive of their licence, their parents' licences and the terms of every dataset
    in their training lineage. ``reasons`` name each statement of that strictest kind
    (``"licence MIT"``, ``"data imagenet-1k: ..."``)."""

    commercial_use: CommercialUse
    reasons: tuple[str, ...] = ()

    @classmethod
    def combine(cls, statements: Iterable[tuple[CommercialUse | str, str]]) -> EffectiveUse:
        items = [(CommercialUse.parse(v, "commercial_use"), why) for v, why in statements]
        if not items:
            return cls(CommercialUse.UNKNOWN, ("nothing is stated",))
        worst = max(items, key=lambda i: COMMERCIAL_RANK[i[0].value])[0]
        return cls(worst, tuple(dict.fromkeys(why for v, why in items if v is worst)))

    def to_dict(self) -> dict[str, Any]:
        return {"commercial_use": self.commercial_use.value, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class ParentLink:
    """``parent`` (a resolvable name) is what this weights was derived from."""

    parent: str
    relation: Relation = Relation.FINETUNE

    def __post_init__(self) -> None:
        _set(self, "parent", _text(self.parent, "parents.parent", required=True, max_len=MAX_NAME).lower())
        _set(self, "relation", Relation.parse(self.relation, "parents.relation"))


@dataclass(frozen=True)
class Family:
    """An architecture: how to build it (a lazy ``module:function`` import string, never
    imported when listing), where its head is, and its default preprocessing."""

    name: str
    modality: Modality
    builder: str
    task: str = "image-classification"
    head: str | None = None
    default_tag: str | None = None
    preprocessing: Mapping[str, Any] | None = None
    description: str | None = None
    paper_url: str | None = None
    builder_kwargs: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        _set(self, "name", _name(self.name, "family.name", ARCH_RE, "resnet50"))
        _set(self, "builder_kwargs", _mapping(self.builder_kwargs, "family.builder_kwargs"))
        _set(self, "modality", Modality.parse(self.modality, "family.modality"))
        _set(self, "builder", _import_string(self.builder, "family.builder"))
        _set(self, "task", _text(self.task, "family.task", required=True, max_len=limits.LABEL))
        _set(self, "head", _text(self.head, "family.head", max_len=limits.PLUGIN))
        if self.default_tag is not None:
            _set(self, "default_tag", _name(self.default_tag, "family.default_tag", TAG_RE, "tv_in1k"))
        _set(self, "preprocessing", _mapping(self.preprocessing, "family.preprocessing"))
        _set(self, "description", _text(self.description, "family.description"))
        _set(self, "paper_url", _text(self.paper_url, "family.paper_url"))


@dataclass(frozen=True)
class Weights:
    """A checkpoint and everything known about where it came from.

    Catalogue checkpoints are named ``arch.tag`` (timm style); checkpoints registered
    by a team (fine-tuned results) are named ``namespace/name`` and get a version number
    when registered.
    """

    arch: str
    tag: str | None = None
    name: str | None = None
    sources: tuple[Source, ...] = ()
    sha256: str | None = None
    sha256_prefix: str | None = None
    size_bytes: int | None = None
    format: str = "safetensors"
    license: License = field(default_factory=License)
    publisher: str | None = None
    paper_title: str | None = None
    paper_url: str | None = None
    recipe: str | None = None
    datasets: tuple[DatasetUse, ...] = ()
    metrics: tuple[Metric, ...] = ()
    preprocessing: Mapping[str, Any] | None = None
    num_params: int | None = None
    num_classes: int | None = None
    card: tuple[CardSection, ...] = ()
    parents: tuple[ParentLink, ...] = ()
    tags: tuple[str, ...] = ()
    status: Status = Status.ACTIVE
    status_reason: str | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        _set(self, "arch", _name(self.arch, "arch", ARCH_RE, "resnet50"))
        if self.tag is not None:
            _set(self, "tag", _name(self.tag, "tag", TAG_RE, "tv_in1k"))
        if self.name is not None:
            _set(self, "name", _name(self.name, "name", MODEL_NAME_RE, "team/resnet50-digits"))
        if (self.tag is None) == (self.name is None):
            raise ZooValidationError(
                "name",
                "give exactly one of tag (catalogue weights 'arch.tag') or name (a registered model 'namespace/name')",
            )
        if len(self.ref) > MAX_NAME:  # arch.tag is stored as one name
            raise ZooValidationError(
                "tag", f"{self.ref[:40]!r}… is {len(self.ref)} characters with its architecture, at most {MAX_NAME} fit"
            )
        if self.sha256 is not None:
            sha = _text(self.sha256, "sha256", required=True).lower()
            if not SHA256_RE.match(sha):
                raise ZooValidationError(
                    "sha256", f"{self.sha256!r} is not a full sha256", hint="give all 64 hex digits (`sha256sum FILE`)"
                )
            _set(self, "sha256", sha)
        if self.sha256_prefix is not None:
            prefix = _text(self.sha256_prefix, "sha256_prefix", required=True).lower()
            if not HEX_RE.match(prefix):
                raise ZooValidationError(
                    "sha256_prefix", f"{self.sha256_prefix!r} is not a hex prefix", hint="give at least 6 hex digits"
                )
            if self.sha256 is not None and not self.sha256.startswith(prefix):
                raise ZooValidationError("sha256_prefix", "does not match sha256")
            _set(self, "sha256_prefix", prefix)
        for int_field, high in (
            ("size_bytes", limits.INT64_MAX),
            ("num_params", limits.INT64_MAX),
            ("num_classes", limits.MAX_CLASSES),
        ):
            if getattr(self, int_field) is not None:
                limits.check_int(getattr(self, int_field), int_field, high=high)
        if not isinstance(self.format, str) or self.format not in FORMATS:
            raise ZooValidationError(
                "format", f"unknown format {self.format!r}", hint=f"use one of: {', '.join(FORMATS)}"
            )
        if not isinstance(self.license, License):
            raise ZooValidationError("license", "must be a zoo.records.License")
        _set(self, "sources", _tuple(self.sources, "sources", Source))
        uris = [s.uri for s in self.sources]
        if len(set(uris)) != len(uris):
            raise ZooValidationError("sources", "lists the same URI twice")
        # Datasets and parents have no order of their own: keep them in a canonical one
        # so that a record read back from the registry equals the declared record.
        datasets = _tuple(self.datasets, "datasets", DatasetUse)
        _set(self, "datasets", tuple(sorted(datasets, key=lambda d: (_ROLE_ORDER[d.role], d.name))))
        if len({(d.name, d.role) for d in self.datasets}) != len(self.datasets):
            raise ZooValidationError("datasets", "lists the same dataset and role twice")
        _set(self, "metrics", _tuple(self.metrics, "metrics", Metric))
        if len({(m.dataset, m.split, m.name) for m in self.metrics}) != len(self.metrics):
            raise ZooValidationError("metrics", "lists the same dataset, split and metric twice")
        _set(self, "card", _tuple(self.card, "card", CardSection))
        parents = _tuple(self.parents, "parents", ParentLink)
        _set(self, "parents", tuple(sorted(parents, key=lambda p: (p.parent, p.relation.value))))
        if len({p.parent for p in self.parents}) != len(self.parents):
            raise ZooValidationError("parents", "lists the same parent twice")
        tags = tuple(_name(t, "tags", ALIAS_RE, "imagenet", limits.LABEL) for t in _tuple(self.tags, "tags", str))
        _set(self, "tags", tuple(sorted(set(tags))))
        _set(self, "status", Status.parse(self.status, "status"))
        _set(self, "status_reason", _text(self.status_reason, "status_reason"))
        _set(self, "preprocessing", _mapping(self.preprocessing, "preprocessing"))
        _set(self, "publisher", _text(self.publisher, "publisher", max_len=limits.NAME))
        for text_field in ("paper_title", "paper_url", "recipe", "description"):
            _set(self, text_field, _text(getattr(self, text_field), text_field))

    @property
    def ref(self) -> str:
        """The name this record resolves under (without a version)."""
        return self.name if self.name is not None else f"{self.arch}.{self.tag}"


@dataclass(frozen=True)
class WeightsInfo:
    """A weights record as stored in the registry: the declared :class:`Weights` plus
    what the registry assigned (id, version, aliases, who and when, plugin)."""

    id: int
    ref: str
    version: int
    weights: Weights
    family: Family
    is_default: bool
    aliases: tuple[str, ...]
    children: tuple[tuple[str, str], ...]
    plugin: str | None
    plugin_version: str | None
    created_at: _dt.datetime
    created_by: str
    updated_at: _dt.datetime
    updated_by: str
    pinned_revision: str | None = None
    """The commit the sha256 was pinned at, when zoo pinned it from the Hub's attestation:
    later fetches ask for that commit, not the moving branch the record names."""
    pin_origin: str | None = None
    """Where a sha256 zoo pinned came from (``hub-attestation URL``, ``file PATH``, ``manual``)."""
    # Computed at read time through the lineage (never copied into the record): the bias
    # notes of the ancestors and of every dataset they and this weights were trained on,
    # each with ``inherited_from`` naming where it comes from, and the effective
    # commercial use that follows from the licences and the data's terms.
    inherited_notes: tuple[CardSection, ...] = ()
    effective_use: EffectiveUse | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.ref}@{self.version}"

    @property
    def bias_notes(self) -> tuple[CardSection, ...]:
        """Own bias and limitation notes, then the inherited ones (datasets, parents)."""
        return tuple(s for s in self.weights.card if s.is_bias_note) + self.inherited_notes

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.ref,
            "version": self.version,
            "qualified_name": self.qualified_name,
            "is_default": self.is_default,
            "aliases": list(self.aliases),
            "family": to_jsonable(self.family),
            "weights": to_jsonable(self.weights),
            "children": [{"name": c, "relation": r} for c, r in self.children],
            "plugin": self.plugin,
            "plugin_version": self.plugin_version,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "updated_at": self.updated_at.isoformat(),
            "updated_by": self.updated_by,
            "pinned_revision": self.pinned_revision,
            "pin_origin": self.pin_origin,
            "inherited_notes": to_jsonable(self.inherited_notes),
            "effective_use": self.effective_use.to_dict() if self.effective_use else None,
        }


@dataclass(frozen=True)
class AuditEvent:
    """One entry of the append-only, hash-chained audit trail."""

    seq: int
    at: _dt.datetime
    actor: str
    action: str
    entity_type: str
    entity_key: str
    before: Any
    after: Any
    plugin: str | None
    plugin_version: str | None
    prev_hash: str
    hash: str
    key_id: str | None = None  # the audit key that signed it; None: written before audit keys

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["at"] = self.at.isoformat()
        return data


_IMPORT_STRING = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def _import_string(value: Any, field_name: str) -> str:
    text = _text(value, field_name, required=True, max_len=limits.IMPORT)
    if not _IMPORT_STRING.match(text):
        raise ZooValidationError(
            field_name, f"{text!r} is not an import string", hint="write 'package.module:function'"
        )
    return text


@dataclass(frozen=True)
class KeyAdapter:
    """Renames a checkpoint's state-dict keys to the architecture's names.

    ``function`` is an import string of ``f(state_dict) -> state_dict``; it applies to
    every checkpoint of architecture ``arch``, or only to ``weights`` (an ``arch.tag``)."""

    name: str
    function: str
    arch: str | None = None
    weights: str | None = None

    def __post_init__(self) -> None:
        _set(self, "name", _name(self.name, "key_adapter.name", TAG_RE, "lite0-to-timm"))
        _set(self, "function", _import_string(self.function, "key_adapter.function"))
        if self.arch is not None:
            _set(self, "arch", _name(self.arch, "key_adapter.arch", ARCH_RE, "resnet50"))
        _set(self, "weights", _text(self.weights, "key_adapter.weights", max_len=MAX_NAME))
        if self.arch is None and self.weights is None:
            raise ZooValidationError("key_adapter.arch", "give arch or weights it applies to")


@dataclass(frozen=True)
class Recipe:
    """A fine-tuning recipe: ``runner`` is an import string of the object that prepares
    and trains a model; ``params`` holds the validated hyper-parameters' defaults."""

    name: str
    description: str
    runner: str
    params: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        _set(self, "name", _name(self.name, "recipe.name", TAG_RE, "linear-probe"))
        _set(self, "description", _text(self.description, "recipe.description", required=True))
        _set(self, "runner", _import_string(self.runner, "recipe.runner"))
        _set(self, "params", _mapping(self.params, "recipe.params"))


@dataclass(frozen=True)
class Compressor:
    """A deployment method for ``zoo.compress`` (quantize, prune, distill, export):
    ``runner`` is an import string of the class that compresses a model and rebuilds
    the result when ``zoo.get`` loads it; ``relation`` is the lineage it registers;
    ``params`` holds the options' defaults."""

    name: str
    description: str
    runner: str
    relation: Relation
    params: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        _set(self, "name", _name(self.name, "compressor.name", TAG_RE, "dynamic-int8"))
        _set(self, "description", _text(self.description, "compressor.description", required=True))
        _set(self, "runner", _import_string(self.runner, "compressor.runner"))
        relation = Relation.parse(self.relation, "compressor.relation")
        if relation in (Relation.FINETUNE, Relation.ADAPTER):
            raise ZooValidationError(
                "compressor.relation",
                f"{relation.value!r} is not a deployment relation",
                hint="use quantize, prune, distill or export",
            )
        _set(self, "relation", relation)
        _set(self, "params", _mapping(self.params, "compressor.params"))


BUILTIN_SCHEMES = ("file", "http", "https", "pkg")
"""URI schemes zoo.weights serves itself; no :class:`WeightStore` may claim one."""


@dataclass(frozen=True)
class TransferMethod:
    """A transferability score (``kind="score"``, used by ``zoo.rank`` / ``zoo.advise``)
    or a drift test (``kind="drift"``, used by ``zoo.drift``).

    ``function`` is an import string. A score is ``f(features, labels, *, num_classes,
    source_probs, seed, **params) -> float`` over numpy arrays (``features`` n x d,
    ``labels`` n ints, ``source_probs`` n x C softmax outputs of the source head or
    ``None``); a drift test is ``f(reference, new, *, seed, **params) -> dict`` with
    ``statistic``, ``p_value`` and ``effect_size``. ``higher_is_better`` orders scores;
    ``min_per_class`` is the fewest labelled examples per class the score needs;
    ``needs_source_head``: the score reads the source task's predictions (LEEP, NCE)
    and is skipped for a candidate without a classification head."""

    name: str
    kind: TransferKind
    description: str
    function: str
    higher_is_better: bool = True
    min_per_class: int = 1
    needs_source_head: bool = False
    params: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        _set(self, "name", _name(self.name, "transfer_method.name", TAG_RE, "logme"))
        _set(self, "kind", TransferKind.parse(self.kind, "transfer_method.kind"))
        _set(self, "description", _text(self.description, "transfer_method.description", required=True))
        _set(self, "function", _import_string(self.function, "transfer_method.function"))
        _set(self, "higher_is_better", bool(self.higher_is_better))
        if isinstance(self.min_per_class, bool) or not isinstance(self.min_per_class, int) or self.min_per_class < 1:
            raise ZooValidationError(
                "transfer_method.min_per_class", f"must be an integer >= 1, not {self.min_per_class!r}"
            )
        _set(self, "needs_source_head", bool(self.needs_source_head))
        _set(self, "params", _mapping(self.params, "transfer_method.params"))


@dataclass(frozen=True)
class WeightStore:
    """A weight store for one URI ``scheme`` (e.g. an internal artifact store, ``s3``).

    ``opener`` is an import string of ``fetch(uri, destination, progress) -> None`` that
    writes the checkpoint's bytes to the path ``destination``.

    ``uploader`` (optional) makes the store able to *receive* objects, so that it can be
    the team's default store (``ZOO_STORE``): an import string of
    ``open_uploader(store) -> uploader`` called with the store URL (e.g.
    ``s3://bucket/prefix``); it checks the URL and its own library without touching the
    network (raising a ``ZooError`` that says what to do) and returns an object whose
    ``put(path, *, sha256, size, progress) -> str`` stores the file content-addressed by
    its sha256 and returns the object's URI (one ``opener`` can fetch) only once the
    object is complete under its final key and verified."""

    scheme: str
    opener: str
    description: str | None = None
    uploader: str | None = None

    def __post_init__(self) -> None:
        scheme = _text(self.scheme, "weight_store.scheme", required=True, max_len=limits.KIND).lower()
        if not re.match(r"^[a-z][a-z0-9+.\-]*$", scheme):
            raise ZooValidationError("weight_store.scheme", f"{scheme!r} is not a URI scheme")
        _set(self, "scheme", scheme)
        _set(self, "opener", _import_string(self.opener, "weight_store.opener"))
        _set(self, "description", _text(self.description, "weight_store.description"))
        if self.uploader is not None:
            _set(self, "uploader", _import_string(self.uploader, "weight_store.uploader"))


@dataclass(frozen=True)
class PolicyDecision:
    """A policy hook's answer: ``allowed=False`` refuses, naming ``rule`` and why."""

    rule: str
    allowed: bool
    reason: str | None = None

    def __post_init__(self) -> None:
        _set(self, "rule", _text(self.rule, "policy.rule", required=True, max_len=limits.PLUGIN))
        _set(self, "allowed", bool(self.allowed))
        _set(self, "reason", _text(self.reason, "policy.reason"))


def to_jsonable(value: Any) -> Any:
    """Records -> plain JSON-ready data (enums as their values, tuples as lists)."""
    if isinstance(value, enum.Enum):
        return value.value
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    return value

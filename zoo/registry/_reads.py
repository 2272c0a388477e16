"""The registry's read layer: ONE implementation of every read (resolve, search,
history, families, datasets, settings, named audit queries, audit verification,
read-only SQL) over a connection adapter (:mod:`zoo.registry._conn`: stdlib
``sqlite3``, psycopg, or a SQLAlchemy ``Connection``).

- :class:`RegistryReader` runs the queries on one connection (one read transaction);
- :class:`RegistryReads` is the public read surface. :class:`zoo.registry.Registry`
  is a ``RegistryReads`` over SQLAlchemy sessions with the writes added on top; the
  cold path of the CLI and of ``zoo.get`` (:mod:`zoo.registry._lite`) is a
  ``RegistryReads`` over one ``sqlite3`` or psycopg connection, without SQLAlchemy
  (DESIGN.md: ``zoo list`` / ``zoo info`` / ``zoo audit`` as whole processes well
  under half a second).

SQL is written with ``:name`` placeholders; the adapter owns the driver's parameter
style. Values come back as the driver gives them (SQLite: text for JSON and times, 0/1
for booleans); the ``_json`` / ``_time`` / ``bool`` conversions below make both
dialects agree, and the row -> record converters here are the only ones. No
SQLAlchemy import here.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zoo.errors import ZooAuditError, ZooNotFoundError, ZooValidationError
from zoo.limits import INT32_MAX, LABEL, NAME, check_text
from zoo.records import (
    AuditEvent,
    CardSection,
    CommercialUse,
    Dataset,
    DatasetInfo,
    DatasetUse,
    EffectiveUse,
    Family,
    License,
    Metric,
    Modality,
    ParentLink,
    Source,
    Status,
    Weights,
    WeightsInfo,
    to_jsonable,
)
from zoo.registry._chain import CHAIN_COLUMNS, AuditVerification, check_chain, make_checkpoint
from zoo.registry._conn import ReadConnection, naive_utc, utc_now, wildcard_to_like

if TYPE_CHECKING:  # pragma: no cover
    from zoo.registry._keys import AuditKeyring
    from zoo.registry._store import Registry
    from zoo.registry.queries import QueryResult

Rows = list[tuple[Any, ...]]

_VERSION_RE = re.compile(r"[0-9]+")
_ALIAS_RE = re.compile(r"[a-z][a-z0-9_\-]*")


@dataclass(frozen=True)
class ParsedName:
    """``ref`` plus an optional ``version`` or ``alias`` selector."""

    ref: str
    version: int | None = None
    alias: str | None = None

    @classmethod
    def parse(cls, name: str) -> ParsedName:
        if not isinstance(name, str) or not name.strip():
            raise ZooValidationError(
                "name", "must be a non-empty model name", hint="e.g. 'resnet50', 'resnet50.tv_in1k', 'team/model@2'"
            )
        check_text(name, "name", NAME + 1 + LABEL)  # NUL, lone surrogates, length: typed errors
        ref, _, selector = name.strip().lower().partition("@")
        if not ref:
            raise ZooValidationError("name", f"{name!r} has no model name before '@'")
        if len(ref) > NAME:
            raise ZooValidationError("name", f"{ref[:40]!r}… is longer than {NAME} characters")
        if not selector:
            return cls(ref)
        if _VERSION_RE.fullmatch(selector):  # ASCII digits only: '²' and '⑦' are no versions
            version = int(selector)
            if not 1 <= version <= INT32_MAX:
                raise ZooValidationError("name", f"version {selector} is outside 1..{INT32_MAX:,}")
            return cls(ref, version=version)
        if not _ALIAS_RE.fullmatch(selector) or len(selector) > LABEL:
            raise ZooValidationError(
                "name",
                f"{selector!r} after '@' is neither a version (ASCII digits) nor an alias",
                hint="e.g. 'team/model@2' or 'team/model@prod'",
            )
        return cls(ref, alias=selector)


@dataclass(frozen=True)
class WeightsSummary:
    """One row of a listing: what ``zoo list`` shows."""

    name: str
    version: int
    arch: str
    modality: str
    task: str
    license_spdx: str
    commercial_use: str
    status: str
    num_params: int | None
    is_default: bool
    bias_notes: int
    datasets: tuple[str, ...]
    plugin: str | None

    @property
    def qualified_name(self) -> str:
        return f"{self.name}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = to_jsonable(self)
        data["qualified_name"] = self.qualified_name
        return data


@dataclass(frozen=True)
class SearchResult:
    rows: tuple[WeightsSummary, ...]
    total: int


@dataclass(frozen=True)
class StoredWeights:
    """Weights as stored: the ``weights`` row (column -> value), family and record."""

    row: dict[str, Any]
    family: Family
    weights: Weights
    aliases: tuple[str, ...]
    children: tuple[tuple[str, str], ...]


def _folded(value: str) -> str:
    return value.strip().lower()


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _time(value: Any) -> dt.datetime:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_WEIGHTS_COLUMNS = (
    "id",
    "name",
    "version",
    "family_id",
    "tag",
    "is_default",
    "sha256",
    "sha256_prefix",
    "size_bytes",
    "format",
    "license_spdx",
    "commercial_use",
    "license_url",
    "license_note",
    "publisher",
    "paper_title",
    "paper_url",
    "recipe",
    "num_params",
    "num_classes",
    "preprocessing",
    "description",
    "status",
    "status_reason",
    "plugin",
    "plugin_version",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "pinned_revision",
    "pin_origin",
)
_W = ", ".join("w." + c for c in _WEIGHTS_COLUMNS)
_Q_LINKS = """
SELECT weights_id AS wid, 's' AS kind, uri AS text, CASE WHEN is_mirror THEN 1 ELSE 0 END AS number,
       NULL AS relation, position AS ord
  FROM sources WHERE weights_id IN :ids
UNION ALL SELECT weights_id, 't', tag, NULL, NULL, 0 FROM tags WHERE weights_id IN :ids
UNION ALL SELECT weights_id, 'a', alias, NULL, NULL, 0 FROM aliases WHERE weights_id IN :ids
UNION ALL SELECT l.child_id, 'p', p.name, p.version, l.relation, 0
  FROM lineage l JOIN weights p ON p.id = l.parent_id WHERE l.child_id IN :ids
UNION ALL SELECT l.parent_id, 'c', c.name, c.version, l.relation, 0
  FROM lineage l JOIN weights c ON c.id = l.child_id WHERE l.parent_id IN :ids
ORDER BY wid, kind, ord, text, number
"""
_CARD_COLUMNS = "kind, body, title, citations, severity"
_FAMILY_COLUMNS = (
    "name, modality, builder, builder_kwargs, task, head, default_tag, preprocessing, description, paper_url"
)
_F = ", ".join("f." + c.strip() for c in _FAMILY_COLUMNS.split(","))
_DATASET_COLUMNS = (
    "id",
    "name",
    "title",
    "url",
    "description",
    "size",
    "collection",
    "terms_spdx",
    "commercial_use",
    "terms_url",
    "terms_note",
    "plugin",
    "plugin_version",
)
_D = ", ".join("d." + c for c in _DATASET_COLUMNS)
MAX_DEPTH = 64  # lineage walks stop here (as the audit queries do)


class RegistryReader:
    """The read side of a registry, on one connection (one read transaction)."""

    def __init__(self, conn: ReadConnection) -> None:
        self.conn = conn
        self.dialect = conn.dialect

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> Rows:
        return self.conn.rows(sql, params)

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None

    # -- names ------------------------------------------------------------------------

    def get_setting(self, key: str) -> str | None:
        value = self.scalar("SELECT value FROM zoo_settings WHERE key = :key", {"key": key})
        return None if value is None else str(value)

    def scalar_id(self, sql: str, params: Mapping[str, Any] | None = None) -> int | None:
        """The first column of the first row as an id (an integer), or None without rows."""
        value = self.scalar(sql, params)
        return None if value is None else int(value)

    def find_id(self, parsed: ParsedName) -> int | None:
        """The id ``parsed`` names, or None. A bare architecture without default
        weights raises (its checkpoints are the useful suggestion)."""
        ref = parsed.ref
        if parsed.version is not None:
            return self.scalar_id(
                "SELECT id FROM weights WHERE name = :ref AND version = :version",
                {"ref": ref, "version": parsed.version},
            )
        if parsed.alias is not None and parsed.alias != "latest":
            return self.scalar_id(
                "SELECT weights_id FROM aliases WHERE name = :ref AND alias = :alias",
                {"ref": ref, "alias": parsed.alias},
            )
        wid = self.scalar_id("SELECT id FROM weights WHERE name = :ref ORDER BY version DESC LIMIT 1", {"ref": ref})
        if wid is None and "." not in ref and "/" not in ref:
            wid = self.scalar_id(
                "SELECT w.id FROM weights w JOIN families f ON f.id = w.family_id "
                "WHERE f.name = :ref AND w.is_default = :yes LIMIT 1",
                {"ref": ref, "yes": True},
            )
            if wid is None and self.scalar("SELECT id FROM families WHERE name = :ref", {"ref": ref}) is not None:
                tags = [
                    n
                    for (n,) in self.rows(
                        "SELECT w.name FROM weights w JOIN families f ON f.id = w.family_id "
                        "WHERE f.name = :ref ORDER BY w.name LIMIT 10",
                        {"ref": ref},
                    )
                ]
                raise ZooNotFoundError(
                    "weights",
                    ref,
                    tags,
                    hint=f"architecture {ref!r} has no default weights; name one of its checkpoints",
                )
        return wid

    def not_found(self, name: str, parsed: ParsedName) -> ZooNotFoundError:
        """The error for a name that resolves to nothing, with the closest matches."""
        ref = parsed.ref
        if parsed.version is not None or parsed.alias is not None:
            versions = [
                v for (v,) in self.rows("SELECT version FROM weights WHERE name = :ref ORDER BY version", {"ref": ref})
            ]
            if versions:
                aliases = [
                    a for (a,) in self.rows("SELECT alias FROM aliases WHERE name = :ref ORDER BY alias", {"ref": ref})
                ]
                what = f"version {parsed.version}" if parsed.version is not None else f"alias {parsed.alias!r}"
                return ZooNotFoundError(
                    "version",
                    name,
                    [f"{ref}@{v}" for v in versions[-5:]] + [f"{ref}@{a}" for a in aliases[:5]],
                    hint=f"{ref!r} has no {what}",
                )
        return ZooNotFoundError("model", name, self.suggest(ref))

    def suggest(self, ref: str) -> list[str]:
        # Candidates: all architectures plus the weights sharing the first two characters,
        # so suggestions stay cheap on a registry of 100,000 weights.
        candidates = {n for (n,) in self.rows("SELECT name FROM families")}
        candidates.update(
            n
            for (n,) in self.rows(
                "SELECT DISTINCT name FROM weights WHERE name LIKE :prefix ESCAPE '\\' LIMIT 20000",
                {"prefix": wildcard_to_like(ref[:2]) + "%"},
            )
        )
        return difflib.get_close_matches(ref, sorted(candidates), n=5, cutoff=0.6)

    def resolve_id(self, name: str) -> int:
        parsed = ParsedName.parse(name)
        wid = self.find_id(parsed)
        if wid is None:
            raise self.not_found(name, parsed)
        return wid

    def resolve_ids(self, names: Iterable[str], *, missing_ok: bool = False) -> dict[str, int]:
        """Many names -> ids: ``NAME@VERSION`` and plain ``arch.tag`` / ``namespace/name``
        (newest version) in a few batched queries; any other name (an alias, a bare
        architecture, a miss that needs its error) one by one through :meth:`resolve_id`.
        ``missing_ok``: a name that resolves to nothing is left out instead."""
        wanted = set(names)
        ids: dict[str, int] = {}
        exact: dict[tuple[str, int], str] = {}
        newest: dict[str, str] = {}
        for name in sorted(wanted):
            parsed = ParsedName.parse(name)
            if parsed.version is not None:
                exact[(parsed.ref, parsed.version)] = name
            elif parsed.alias is None and ("." in parsed.ref or "/" in parsed.ref):
                newest[parsed.ref] = name
        for chunk in _chunks(sorted({ref for ref, _ in exact} | set(newest)), 500):
            found: dict[str, tuple[int, int]] = {}
            for wid, ref, version in self.rows(
                "SELECT id, name, version FROM weights WHERE name IN :names", {"names": list(chunk)}
            ):
                if (ref, version) in exact:
                    ids[exact[(ref, version)]] = wid
                if ref in newest and version > found.get(ref, (0, 0))[1]:
                    found[ref] = (wid, version)
            for ref, (wid, _) in found.items():
                ids[newest[ref]] = wid
        for name in sorted(wanted - set(ids)):
            try:
                ids[name] = self.resolve_id(name)
            except ZooNotFoundError:
                if not missing_ok:
                    raise
        return ids

    # -- records ----------------------------------------------------------------------

    def resolve(self, name: str) -> WeightsInfo:
        """``arch`` (its default weights), ``arch.tag``, ``namespace/name`` (newest
        version), ``NAME@VERSION`` or ``NAME@ALIAS`` -> the full record."""
        return self.info(self.resolve_id(name))

    def stored(self, ids: Iterable[int], *, own_cards_of: str | None = None) -> dict[int, StoredWeights]:
        """Weights records by id, in five queries per 500 ids (one per table, whatever the
        number of records): the ``weights`` row, its family, the record as stored, its
        aliases and children. ``own_cards_of``: only the card sections that plugin wrote
        (the record as its plugin declares it; the plugin sync compares that)."""
        ids = sorted(set(ids))
        out: dict[int, StoredWeights] = {}
        for chunk in _chunks(ids, 500):
            p: dict[str, Any] = {"ids": list(chunk)}
            rows = self.rows(
                f"SELECT {_W}, {_F} FROM weights w JOIN families f ON f.id = w.family_id WHERE w.id IN :ids", p
            )
            links: dict[int, dict[str, list[Any]]] = {wid: {k: [] for k in "stapc"} for wid in (r[0] for r in rows)}
            # The one-string collections in one statement (fewer round trips to PostgreSQL).
            for wid, kind, text, number, relation, _ in self.rows(_Q_LINKS, p):
                item = links[wid][kind]
                if kind == "s":
                    item.append(Source(text, bool(number)))
                elif kind in "ta":
                    item.append(text)
                elif kind == "p":
                    item.append(ParentLink(f"{text}@{number}", relation))
                else:
                    item.append((f"{text}@{number}", relation))
            datasets: dict[int, list[DatasetUse]] = {}
            for wid, n, role, url in self.rows(
                "SELECT wd.weights_id, d.name, wd.role, d.url FROM weights_datasets wd "
                "JOIN datasets d ON d.id = wd.dataset_id WHERE wd.weights_id IN :ids "
                "ORDER BY wd.weights_id, wd.role, d.name",
                p,
            ):
                datasets.setdefault(wid, []).append(DatasetUse(n, role, url))
            metrics: dict[int, list[Metric]] = {}
            for wid, d, split, m, v in self.rows(
                "SELECT weights_id, dataset, split, metric, value FROM metrics WHERE weights_id IN :ids "
                "ORDER BY weights_id, id",
                p,
            ):
                metrics.setdefault(wid, []).append(Metric(d, m, v, split))
            cards: dict[int, list[CardSection]] = {}
            mine = ""
            if own_cards_of is not None:
                mine, p = " AND plugin = :plugin", {**p, "plugin": own_cards_of}
            for wid, *section in self.rows(
                f"SELECT weights_id, {_CARD_COLUMNS}, inherited_from FROM card_sections "
                f"WHERE weights_id IN :ids{mine} ORDER BY weights_id, position",
                p,
            ):
                cards.setdefault(wid, []).append(card_section(section))
            for row in rows:
                r = dict(zip(_WEIGHTS_COLUMNS, row, strict=False))
                wid, family, link = r["id"], family_record(row[len(_WEIGHTS_COLUMNS) :]), links[r["id"]]
                weights = Weights(
                    arch=family.name,
                    tag=r["tag"],
                    name=r["name"] if r["tag"] is None else None,
                    sources=tuple(link["s"]),
                    sha256=r["sha256"],
                    sha256_prefix=r["sha256_prefix"],
                    size_bytes=r["size_bytes"],
                    format=r["format"],
                    license=License(r["license_spdx"], r["commercial_use"], r["license_url"], r["license_note"]),
                    publisher=r["publisher"],
                    paper_title=r["paper_title"],
                    paper_url=r["paper_url"],
                    recipe=r["recipe"],
                    datasets=tuple(datasets.get(wid, ())),
                    metrics=tuple(metrics.get(wid, ())),
                    preprocessing=_json(r["preprocessing"]),
                    num_params=r["num_params"],
                    num_classes=r["num_classes"],
                    card=tuple(cards.get(wid, ())),
                    parents=tuple(link["p"]),
                    tags=tuple(link["t"]),
                    status=r["status"],
                    status_reason=r["status_reason"],
                    description=r["description"],
                )
                out[wid] = StoredWeights(r, family, weights, tuple(link["a"]), tuple(link["c"]))
        return out

    def info(self, wid: int) -> WeightsInfo:
        """The full record of weights ``wid``: as stored, with what its lineage adds."""
        (info,) = self.infos([wid])
        return info

    def infos(self, ids: Sequence[int]) -> list[WeightsInfo]:
        """The full records of ``ids``, in that order: a few batched queries per 500 ids
        (``info`` is this for one id), so that reading every record of a registry (the
        browsable catalogue) costs tens of statements, not ten per record."""
        out: dict[int, WeightsInfo] = {}
        for chunk in _chunks(list(dict.fromkeys(ids)), 500):
            stored = self.stored(list(chunk))
            lineage = _LineageData.read(self, list(stored))
            for wid, s in stored.items():
                r = s.row
                inherited, effective = lineage.facts(wid, s.weights)
                out[wid] = WeightsInfo(
                    id=wid,
                    ref=r["name"],
                    version=r["version"],
                    weights=s.weights,
                    family=s.family,
                    is_default=bool(r["is_default"]),
                    aliases=s.aliases,
                    children=s.children,
                    plugin=r["plugin"],
                    plugin_version=r["plugin_version"],
                    created_at=_time(r["created_at"]),
                    created_by=r["created_by"],
                    updated_at=_time(r["updated_at"]),
                    updated_by=r["updated_by"],
                    pinned_revision=r["pinned_revision"],
                    pin_origin=r["pin_origin"],
                    inherited_notes=inherited,
                    effective_use=effective,
                )
        return [out[i] for i in ids if i in out]

    def lineage_facts(self, wid: int, weights: Weights) -> tuple[tuple[CardSection, ...], EffectiveUse]:
        """What ``wid`` inherits through its training lineage, computed now (never copied):
        the bias notes of its ancestors and of every dataset it or an ancestor was
        pretrained or fine-tuned on, each marked with where it comes from, and the
        effective commercial use that follows from all licences and data terms."""
        return _LineageData.read(self, [wid]).facts(wid, weights)

    # -- datasets ---------------------------------------------------------------------

    def datasets(self, names: Iterable[str] | None = None) -> list[DatasetInfo]:
        """Datasets (all, or those named) with their terms, notes and how many weights
        name them; ordered by name."""
        where, params = "", {}
        if names is not None:
            where, params = " WHERE d.name IN :names", {"names": sorted({n.strip().lower() for n in names})}
            if not params["names"]:
                return []
        rows = self.rows(
            f"SELECT {_D}, (SELECT COUNT(DISTINCT wd.weights_id) FROM weights_datasets wd "
            f"WHERE wd.dataset_id = d.id) FROM datasets d{where} ORDER BY d.name",
            params,
        )
        notes: dict[int, list[CardSection]] = {}
        for chunk in _chunks([r[0] for r in rows], 500):
            for did, kind, body, title, citations, severity in self.rows(
                "SELECT dataset_id, kind, body, title, citations, severity FROM dataset_notes "
                "WHERE dataset_id IN :ids ORDER BY dataset_id, position",
                {"ids": list(chunk)},
            ):
                notes.setdefault(did, []).append(card_section((kind, body, title, citations, severity)))
        out = []
        for row in rows:
            r = dict(zip(_DATASET_COLUMNS, row, strict=False))
            dataset = Dataset(
                r["name"],
                title=r["title"],
                url=r["url"],
                terms=License(r["terms_spdx"], r["commercial_use"], r["terms_url"], r["terms_note"]),
                size=r["size"],
                collection=r["collection"],
                description=r["description"],
                notes=tuple(notes.get(r["id"], ())),
            )
            out.append(DatasetInfo(dataset, r["plugin"], r["plugin_version"], row[-1]))
        return out

    def dataset(self, name: str) -> DatasetInfo:
        """One dataset by name; an unknown name is an error with the closest names."""
        found = self.datasets([name])
        if not found:
            raise self.dataset_not_found(name)
        return found[0]

    def dataset_not_found(self, name: str) -> ZooNotFoundError:
        known = [n for (n,) in self.rows("SELECT name FROM datasets ORDER BY name")]
        return ZooNotFoundError(
            "dataset",
            name,
            difflib.get_close_matches(name.strip().lower(), known, 5, 0.5),
            hint="`zoo datasets` lists the datasets the registry knows",
        )

    def family_by_id(self, family_id: int) -> Family:
        (row,) = self.rows(f"SELECT {_FAMILY_COLUMNS} FROM families WHERE id = :id", {"id": family_id})
        return family_record(row)

    def family(self, name: str) -> Family | None:
        rows = self.rows(f"SELECT {_FAMILY_COLUMNS} FROM families WHERE name = :name", {"name": name.strip().lower()})
        return family_record(rows[0]) if rows else None

    def family_rows(self, names: Iterable[str]) -> dict[str, tuple[int, str | None, str | None, Family]]:
        """By name: ``(id, plugin, plugin_version, record)`` of the named families."""
        out = {}
        for chunk in _chunks(sorted(set(names)), 500):
            for fid, plugin, version, *row in self.rows(
                f"SELECT id, plugin, plugin_version, {_FAMILY_COLUMNS} FROM families WHERE name IN :names",
                {"names": list(chunk)},
            ):
                family = family_record(row)
                out[family.name] = (fid, plugin, version, family)
        return out

    def families(self) -> list[Family]:
        return [family_record(r) for r in self.rows(f"SELECT {_FAMILY_COLUMNS} FROM families ORDER BY name")]

    def count(self) -> int:
        return int(self.scalar("SELECT COUNT(*) FROM weights"))

    # -- searching --------------------------------------------------------------------

    def search(
        self,
        pattern: str | None = None,
        *,
        modality: str | None = None,
        task: str | None = None,
        license: str | None = None,
        commercial_use: str | None = None,
        dataset: str | None = None,
        status: str | None = None,
        tag: str | None = None,
        arch: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> SearchResult:
        """Weights matching a shell-wildcard ``pattern`` (on the weights or the
        architecture name) and every given filter, ordered by name and version."""
        where, params = [], {}
        if pattern:
            where.append("(w.name LIKE :like ESCAPE '\\' OR f.name LIKE :like ESCAPE '\\')")
            params["like"] = wildcard_to_like(pattern.strip())
        # Equality filters: (value, column, parameter, how the value is normalised).
        for value, column, key, normalise in (
            (modality, "f.modality", "modality", lambda v: Modality.parse(v, "modality").value),
            (task, "f.task", "task", _folded),
            (license, "LOWER(w.license_spdx)", "license", _folded),
            (
                commercial_use,
                "w.commercial_use",
                "commercial",
                lambda v: CommercialUse.parse(v, "commercial_use").value,
            ),
            (status, "w.status", "status", lambda v: Status.parse(v, "status").value),
            (arch, "f.name", "arch", _folded),
        ):
            if value:
                where.append(f"{column} = :{key}")
                params[key] = normalise(value)
        if dataset:
            where.append(
                "EXISTS (SELECT 1 FROM weights_datasets wd JOIN datasets d ON d.id = wd.dataset_id "
                "WHERE wd.weights_id = w.id AND d.name = :dataset)"
            )
            params["dataset"] = dataset.strip().lower()
        if tag:
            where.append("EXISTS (SELECT 1 FROM tags t WHERE t.weights_id = w.id AND t.tag = :tag)")
            params["tag"] = tag.strip().lower()
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise ZooValidationError("limit", "must be a non-negative integer")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ZooValidationError("offset", "must be a non-negative integer")
        condition = (" WHERE " + " AND ".join(where)) if where else ""
        joined = "FROM weights w JOIN families f ON f.id = w.family_id" + condition
        total = self.scalar(f"SELECT COUNT(*) {joined}", params)
        if limit is not None:  # limit=0: no rows, only the total
            page = " LIMIT :limit OFFSET :offset"
        elif offset:  # SQLite takes OFFSET only after a LIMIT
            page = " LIMIT -1 OFFSET :offset" if self.dialect == "sqlite" else " OFFSET :offset"
        else:
            page = ""
        rows = self.rows(
            "SELECT w.id, w.name, w.version, f.name, f.modality, f.task, w.license_spdx, w.commercial_use, "
            "w.status, w.num_params, w.is_default, "
            "(SELECT COUNT(*) FROM card_sections c WHERE c.weights_id = w.id "
            "AND c.kind IN ('bias_risks', 'limitations')), w.plugin "
            f"{joined} ORDER BY w.name, w.version{page}",
            {**params, "limit": limit, "offset": offset},
        )
        ds: dict[int, list[str]] = {}
        for chunk in _chunks([r[0] for r in rows], 500):
            for wid, name in self.rows(
                "SELECT wd.weights_id, d.name FROM weights_datasets wd JOIN datasets d ON d.id = wd.dataset_id "
                "WHERE wd.weights_id IN :ids AND wd.role IN ('pretrain', 'finetune') ORDER BY d.name",
                {"ids": list(chunk)},
            ):
                if name not in ds.setdefault(wid, []):  # pretrain and finetune on one set
                    ds[wid].append(name)
        inherited = self._inherited_note_counts([r[0] for r in rows])
        summaries = tuple(
            WeightsSummary(
                name=r[1],
                version=r[2],
                arch=r[3],
                modality=r[4],
                task=r[5],
                license_spdx=r[6],
                commercial_use=r[7],
                status=r[8],
                num_params=r[9],
                is_default=bool(r[10]),
                bias_notes=r[11] + inherited.get(r[0], 0),
                datasets=tuple(ds.get(r[0], ())),
                plugin=r[12],
            )
            for r in rows
        )
        return SearchResult(summaries, total)

    def _inherited_note_counts(self, ids: Sequence[int]) -> dict[int, int]:
        """Per weights id: the bias notes its lineage carries (its ancestors' own and those
        of every dataset it or an ancestor was trained on), one batched walk per chunk."""
        counts: dict[int, int] = {}
        for chunk in _chunks(list(ids), 500):
            for root, n in self.rows(
                "WITH RECURSIVE up(root, id, depth) AS ("
                " SELECT w.id, w.id, 0 FROM weights w WHERE w.id IN :ids"
                " UNION SELECT up.root, l.parent_id, up.depth + 1 FROM lineage l JOIN up ON l.child_id = up.id"
                f" WHERE up.depth < {MAX_DEPTH}),"
                " notes(root, note) AS ("
                " SELECT up.root, 'd' || CAST(n.id AS VARCHAR(20)) FROM up"
                " JOIN weights_datasets wd ON wd.weights_id = up.id AND wd.role IN ('pretrain', 'finetune')"
                " JOIN dataset_notes n ON n.dataset_id = wd.dataset_id"
                " UNION SELECT up.root, 'c' || CAST(c.id AS VARCHAR(20)) FROM up"
                " JOIN card_sections c ON c.weights_id = up.id AND up.depth > 0"
                " AND c.kind IN ('bias_risks', 'limitations') AND c.inherited_from IS NULL)"
                " SELECT root, COUNT(*) FROM notes GROUP BY root",
                {"ids": list(chunk)},
            ):
                counts[root] = n
        return counts

    # -- the audit trail --------------------------------------------------------------

    def history(
        self,
        name: str | None = None,
        *,
        actor: str | None = None,
        action: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int | None = None,
    ) -> list[AuditEvent]:
        """Audit events, oldest first: of one model or architecture (``name``), or of the
        whole registry, filtered by actor, action prefix and time."""
        where: list[str] = []
        params: dict[str, Any] = {}
        if name is not None:
            parsed = ParsedName.parse(name)
            keys = {parsed.ref}
            wid = self.find_id(parsed) if "." in parsed.ref or "/" in parsed.ref else None
            if wid is not None:
                keys.add(self.scalar("SELECT name FROM weights WHERE id = :wid", {"wid": wid}))
            elif self.scalar("SELECT id FROM families WHERE name = :ref", {"ref": parsed.ref}) is None:
                if (
                    self.scalar("SELECT seq FROM audit_events WHERE entity_key = :ref LIMIT 1", {"ref": parsed.ref})
                    is None
                ):
                    raise self.not_found(name, parsed)
            where.append("entity_key IN :keys")
            params["keys"] = sorted(keys)
        if actor:
            where.append("actor = :actor")
            params["actor"] = actor
        if action:
            where.append("action LIKE :action ESCAPE '\\'")
            params["action"] = wildcard_to_like(action) + "%"
        if since:
            where.append("at >= :since")
            params["since"] = naive_utc(since)
        if until:
            where.append("at < :until")
            params["until"] = naive_utc(until)
        sql = f"SELECT {CHAIN_COLUMNS} FROM audit_events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq"
        if limit:
            sql += " LIMIT :limit"
            params["limit"] = limit
        return [audit_event(r) for r in self.rows(sql, params)]

    def events(self, hashes: Sequence[str]) -> list[AuditEvent]:
        """The audit events with these hashes (unique), by seq."""
        out: list[AuditEvent] = []
        for chunk in _chunks(list(hashes), 500):
            out += [
                audit_event(r)
                for r in self.rows(
                    f"SELECT {CHAIN_COLUMNS} FROM audit_events WHERE hash IN :hashes ORDER BY seq",
                    {"hashes": list(chunk)},
                )
            ]
        return sorted(out, key=lambda e: e.seq)

    def last_event(self) -> tuple[int, str]:
        """``(seq, hash)`` of the newest event, ``(0, GENESIS)`` for an empty trail."""
        from zoo.registry._chain import GENESIS

        rows = self.rows("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
        return (rows[0][0], rows[0][1]) if rows else (0, GENESIS)

    def verify(self, keyring: AuditKeyring | None, checkpoint: dict[str, Any] | None = None) -> AuditVerification:
        """Recompute the audit trail's chain (:func:`~zoo.registry._chain.check_chain`)."""
        head = self.get_setting("audit_head")
        rows = self.conn.stream(f"SELECT {CHAIN_COLUMNS} FROM audit_events ORDER BY seq")
        return check_chain(rows, head, keyring, checkpoint)

    def audit_query(self, name: str, params: Mapping[str, Any]) -> QueryResult:
        """A named audit query (:mod:`zoo.registry.queries`): its entry binds and checks
        the arguments, and types the bound values."""
        from zoo.registry import queries

        query = queries.get_query(name)
        bound = query.bind(params, self)
        columns, rows = self.conn.query(query.sql, bound, query.types)
        return queries.QueryResult(columns, tuple(rows))


@dataclass(frozen=True)
class _LineageData:
    """What the lineage facts of some records need, read in a few batched statements:
    each root's ancestors with their depth, the ancestors' own bias and limitation notes,
    the data each was pretrained or fine-tuned on, and those datasets' notes."""

    depth: dict[int, dict[int, int]]  # root -> {id: depth} (the root itself at 0)
    names: dict[int, tuple[str, str, str]]  # id -> (name@version, licence, commercial use)
    by_weights: dict[int, list[CardSection]]
    trained: dict[int, list[tuple[int, str, str, str, str | None, str | None]]]
    notes: dict[int, list[CardSection]]

    @classmethod
    def read(cls, reader: RegistryReader, roots: Sequence[int]) -> _LineageData:
        depth: dict[int, dict[int, int]] = {r: {r: 0} for r in roots}
        if roots:
            for root, i, d in reader.rows(
                "WITH RECURSIVE up(root, id, depth) AS ("
                " SELECT w.id, w.id, 0 FROM weights w WHERE w.id IN :ids"
                " UNION SELECT up.root, l.parent_id, up.depth + 1 FROM lineage l JOIN up ON l.child_id = up.id"
                f" WHERE up.depth < {MAX_DEPTH})"
                " SELECT root, id, MIN(depth) FROM up GROUP BY root, id",
                {"ids": list(roots)},
            ):
                depth[root][i] = d
        involved = sorted({i for d in depth.values() for i in d})
        ancestors = sorted({i for root, d in depth.items() for i in d if i != root})
        names: dict[int, tuple[str, str, str]] = {}
        trained: dict[int, list[tuple[int, str, str, str, str | None, str | None]]] = {}
        for chunk in _chunks(involved, 500):
            for i, n, v, spdx, use in reader.rows(
                "SELECT id, name, version, license_spdx, commercial_use FROM weights WHERE id IN :ids",
                {"ids": list(chunk)},
            ):
                names[i] = (f"{n}@{v}", spdx, use)
            for w, did, dname, spdx, use, note, plugin in reader.rows(
                "SELECT wd.weights_id, d.id, d.name, d.terms_spdx, d.commercial_use, d.terms_note, d.plugin "
                "FROM weights_datasets wd JOIN datasets d ON d.id = wd.dataset_id "
                "WHERE wd.weights_id IN :ids AND wd.role IN ('pretrain', 'finetune') ORDER BY wd.weights_id, d.name",
                {"ids": list(chunk)},
            ):
                trained.setdefault(w, []).append((did, dname, spdx, use, note, plugin))
        by_weights: dict[int, list[CardSection]] = {}
        for chunk in _chunks(ancestors, 500):
            for w, kind, body, title, citations, severity in reader.rows(
                "SELECT weights_id, kind, body, title, citations, severity FROM card_sections "
                "WHERE weights_id IN :ids AND kind IN ('bias_risks', 'limitations') "
                "AND inherited_from IS NULL ORDER BY weights_id, position",
                {"ids": list(chunk)},
            ):
                by_weights.setdefault(w, []).append(
                    CardSection(kind, body, title, tuple(_json(citations) or ()), severity)
                )
        notes: dict[int, list[CardSection]] = {}
        for chunk in _chunks(sorted({t[0] for ts in trained.values() for t in ts}), 500):
            for did, kind, body, title, citations, severity in reader.rows(
                "SELECT dataset_id, kind, body, title, citations, severity FROM dataset_notes "
                "WHERE dataset_id IN :ids ORDER BY dataset_id, position",
                {"ids": list(chunk)},
            ):
                notes.setdefault(did, []).append(
                    CardSection(kind, body, title, tuple(_json(citations) or ()), severity)
                )
        return cls(depth, names, by_weights, trained, notes)

    def facts(self, wid: int, weights: Weights) -> tuple[tuple[CardSection, ...], EffectiveUse]:
        """The notes ``wid`` inherits and its effective commercial use (see
        :meth:`RegistryReader.lineage_facts`)."""
        depth = self.depth[wid]
        names = self.names
        order = sorted(depth, key=lambda i: (depth[i], names[i][0]))
        statements: list[tuple[CommercialUse | str, str]] = [
            (weights.license.commercial_use, f"licence {weights.license.spdx}")
        ]
        # a direct parent is named so; anything further up is an ancestor
        kin = {i: ("parent" if depth[i] == 1 else "ancestor") for i in order}
        statements += [(names[i][2], f"{kin[i]} {names[i][0]}: licence {names[i][1]}") for i in order[1:]]
        own = {(c.kind, " ".join(c.body.split())) for c in weights.card}
        found: dict[tuple[Any, str], tuple[CardSection, list[str]]] = {}

        def add(section: CardSection, source: str) -> None:
            key = (section.kind, " ".join(section.body.split()))
            if key not in own:
                found.setdefault(key, (section, []))[1].append(source)

        seen_data: set[int] = set()
        for i in order:
            via = "" if i == wid else f" (via {names[i][0]})"
            if i != wid:
                for section in self.by_weights.get(i, ()):
                    add(section, f"{kin[i]} {names[i][0]}")
            for did, dname, spdx, use, note, plugin in self.trained.get(i, ()):
                if did in seen_data:
                    continue
                seen_data.add(did)
                terms = (
                    (f"terms {spdx}" + (f": {note}" if note else ""))
                    if plugin is not None
                    else "no terms recorded (no plugin declares this dataset)"
                )
                statements.append((use, f"data {dname}{via}: {terms}"))
                for section in self.notes.get(did, ()):
                    add(section, f"dataset {dname}{via}")
        inherited = tuple(
            CardSection(s.kind, s.body, s.title, s.references, s.severity, inherited_from="; ".join(sources))
            for s, sources in found.values()
        )
        return inherited, EffectiveUse.combine(statements)


def audit_event(row: Sequence[Any]) -> AuditEvent:
    """A row of ``SELECT {CHAIN_COLUMNS} FROM audit_events`` -> the record."""
    seq, at, actor, action, entity_type, entity_key, before, after, plugin, plugin_version, prev, digest, kid = row
    return AuditEvent(
        seq=seq,
        at=_time(at),
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_key=entity_key,
        before=json.loads(before) if before is not None else None,
        after=json.loads(after) if after is not None else None,
        plugin=plugin,
        plugin_version=plugin_version,
        prev_hash=prev,
        hash=digest,
        key_id=kid,
    )


def card_section(row: Sequence[Any]) -> CardSection:
    """A row of ``SELECT kind, body, title, citations, severity[, inherited_from]`` -> the record."""
    kind, body, title, citations, severity, *inherited = row
    return CardSection(
        kind=kind,
        body=body,
        title=title,
        references=tuple(_json(citations) or ()),
        severity=severity,
        inherited_from=inherited[0] if inherited else None,
    )


def family_record(row: Sequence[Any]) -> Family:
    """A row of ``SELECT {_FAMILY_COLUMNS}`` -> the record."""
    name, modality, builder, builder_kwargs, task, head, default_tag, preprocessing, description, paper_url = row
    return Family(
        name=name,
        modality=modality,
        builder=builder,
        builder_kwargs=_json(builder_kwargs),
        task=task,
        head=head,
        default_tag=default_tag,
        preprocessing=_json(preprocessing),
        description=description,
        paper_url=paper_url,
    )


class RegistryReads:
    """Every read of a registry. A subclass says how to get a connection for one read
    (:meth:`_connection`): :class:`zoo.registry.Registry` opens a SQLAlchemy connection in
    a transaction of its own per read, :class:`zoo.registry._lite.LiteRegistry` keeps one ``sqlite3`` / psycopg
    connection (one snapshot) for the whole command."""

    dialect: str
    url: str

    @property
    def display_url(self) -> str:
        raise NotImplementedError

    @contextmanager
    def _connection(self) -> Iterator[ReadConnection]:
        raise NotImplementedError
        yield  # pragma: no cover

    @contextmanager
    def _reading(self) -> Iterator[RegistryReader]:
        with self._connection() as conn:
            yield RegistryReader(conn)

    def writer(self) -> Registry | None:
        """This registry as one that also writes, or None: the capability, typed.

        :class:`~zoo.registry.Registry` returns itself (it syncs plugins, pins hashes,
        registers ...); a read-only view (the cold path,
        :class:`~zoo.registry._lite.LiteRegistry`) returns None, and a caller that must
        write behind it opens ``Registry(reads.url)`` for that write."""
        return None

    def _audit_keyring(self, *, create: bool) -> AuditKeyring | None:
        """The audit keys (:mod:`zoo.registry._keys`)."""
        from zoo.registry._keys import load_keyring

        return load_keyring(create=create)

    # -- names and records --------------------------------------------------------------

    def resolve(self, name: str) -> WeightsInfo:
        """``arch`` (its default weights), ``arch.tag``, ``namespace/name`` (newest
        version), ``NAME@VERSION`` or ``NAME@ALIAS`` -> the full record."""
        with self._reading() as reader:
            return reader.resolve(name)

    def exists(self, name: str) -> bool:
        try:
            parsed = ParsedName.parse(name)
            with self._reading() as reader:
                return reader.find_id(parsed) is not None
        except ZooNotFoundError:
            return False

    def family(self, name: str) -> Family:
        """One architecture; an unknown name raises ``ZooNotFoundError`` with the closest names."""
        with self._reading() as reader:
            family = reader.family(name)
            if family is None:
                names = [f.name for f in reader.families()]
                raise ZooNotFoundError("architecture", name, difflib.get_close_matches(name.lower(), names, 5))
            return family

    def families(self) -> list[Family]:
        with self._reading() as reader:
            return reader.families()

    def owners(self) -> dict[str, dict[str, str | None]]:
        """Who owns each family and catalogue weights name: ``{"families": {name:
        plugin}, "weights": {ref: plugin}}`` (``None``: a user registration)."""
        with self._reading() as reader:
            return {
                "families": dict(reader.rows("SELECT name, plugin FROM families")),
                "weights": dict(reader.rows("SELECT name, plugin FROM weights WHERE tag IS NOT NULL")),
            }

    def get_setting(self, key: str) -> str | None:
        """A registry-wide setting from ``zoo_settings`` (``None`` if unset)."""
        with self._reading() as reader:
            return reader.get_setting(key)

    def count(self) -> int:
        with self._reading() as reader:
            return reader.count()

    def search(
        self,
        pattern: str | None = None,
        *,
        modality: str | None = None,
        task: str | None = None,
        license: str | None = None,
        commercial_use: str | None = None,
        dataset: str | None = None,
        status: str | None = None,
        tag: str | None = None,
        arch: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> SearchResult:
        """Weights matching a shell-wildcard ``pattern`` (on the weights or the
        architecture name) and every given filter, ordered by name and version."""
        with self._reading() as reader:
            return reader.search(
                pattern,
                modality=modality,
                task=task,
                license=license,
                commercial_use=commercial_use,
                dataset=dataset,
                status=status,
                tag=tag,
                arch=arch,
                limit=limit,
                offset=offset,
            )

    def datasets(self) -> list[DatasetInfo]:
        """Every dataset the registry knows (declared or only named by weights), by name."""
        with self._reading() as reader:
            return reader.datasets()

    def dataset(self, name: str) -> DatasetInfo:
        """One dataset; an unknown name raises ``ZooNotFoundError`` with the closest names."""
        with self._reading() as reader:
            return reader.dataset(name)

    # -- the audit trail ------------------------------------------------------------------

    def history(
        self,
        name: str | None = None,
        *,
        actor: str | None = None,
        action: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int | None = None,
    ) -> list[AuditEvent]:
        """Audit events, oldest first: of one model or architecture (``name``), or of the
        whole registry, filtered by actor, action prefix and time."""
        with self._reading() as reader:
            return reader.history(name, actor=actor, action=action, since=since, until=until, limit=limit)

    def audit_query(self, name: str, **params: Any) -> QueryResult:
        """Run a named audit query (:mod:`zoo.registry.queries`) -> ``QueryResult``. Its
        entry says which arguments it takes (``zoo audit --help`` lists them)."""
        with self._reading() as reader:
            return reader.audit_query(name, params)

    def verify_audit(
        self, *, raise_on_error: bool = False, checkpoint: dict[str, Any] | None = None
    ) -> AuditVerification:
        """Recompute the audit trail's chain with the audit keys (:mod:`zoo.registry._keys`);
        a broken chain names the events. With ``checkpoint`` (from :meth:`audit_checkpoint`,
        kept elsewhere) also prove that nothing up to it changed."""
        keyring = self._audit_keyring(create=False)
        with self._reading() as reader:
            result = reader.verify(keyring, checkpoint)
        if raise_on_error and not result.ok:
            raise ZooAuditError(
                "the audit trail does not verify: " + "; ".join(result.problems[:5]),
                hint="restore the registry from a backup and investigate who wrote to it",
            )
        return result

    def audit_checkpoint(self) -> dict[str, Any]:
        """The signed head of a trail that verifies: ``{"seq", "hash", "key_id",
        "signature", ...}``, to keep outside the database (``zoo audit checkpoint``)."""
        keyring = self._audit_keyring(create=True)
        if keyring is None:  # pragma: no cover - create=True makes a key file or raises
            raise ZooAuditError(
                "no audit key to sign the checkpoint with",
                hint="set ZOO_AUDIT_KEY or ZOO_AUDIT_KEY_FILE (docs/schema.md, the audit keys)",
            )
        with self._reading() as reader:
            result = reader.verify(keyring)
            seq, head = reader.last_event()
        if not result.ok:
            raise ZooAuditError(
                "the audit trail does not verify, so it cannot be checkpointed: " + "; ".join(result.problems[:5]),
                hint="`zoo audit verify` lists the problems",
            )
        return make_checkpoint(seq, head, keyring, registry=self.display_url, at=utc_now())

    # -- read-only SQL --------------------------------------------------------------------

    def read_only_sql(
        self,
        statement: str,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        max_rows: int | None = None,
    ) -> QueryResult:
        """Run ONE SQL statement read-only -> ``QueryResult`` (``zoo sql``).

        The database session refuses every write (SQLite opened ``mode=ro`` and
        ``query_only``; PostgreSQL ``SET TRANSACTION READ ONLY`` as a role that may only
        read), so nothing is written whatever the statement says. ``params`` bind
        ``:name`` placeholders. ``timeout`` (seconds, default 30) cancels a runaway
        statement; ``max_rows`` keeps the first rows and sets ``truncated``. Raises
        ``ZooReadOnlyError`` for a write attempt, ``ZooQueryTimeoutError`` past the limit,
        ``ZooQueryError`` for anything else the database refuses (syntax, unknown table,
        a second statement)."""
        from zoo.registry import _readonly

        return _readonly.run(self, statement, params, timeout=timeout, max_rows=max_rows)

    @contextmanager
    def _sql_connection(self) -> Iterator[tuple[Any, bool]]:
        """A driver connection of its own for :meth:`read_only_sql`, and whether it is
        shared with the registry (an in-memory SQLite database has only one)."""
        from zoo.registry import _readonly

        with _readonly.connect(self.dialect, self.url, self.display_url) as conn:
            yield conn, False

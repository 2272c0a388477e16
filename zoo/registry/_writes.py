"""The registry's write steps inside one write unit (a session holding the write lock
and its :class:`~zoo.registry._audit.AuditWriter`): record -> columns, inserting
families, weights and their child rows. :class:`~zoo.registry.Registry`, the plugin
sync (:mod:`zoo.registry.sync`) and card import (:mod:`zoo.registry._card_import`)
share them; none of them opens a transaction."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from zoo.errors import ZooConflictError, ZooNotFoundError
from zoo.records import CardSection, Dataset, Family, Weights, to_jsonable
from zoo.registry import _audit
from zoo.registry._conn import SQLAlchemyConnection
from zoo.registry._reads import ParsedName, RegistryReader
from zoo.registry.schema import (
    CardSectionRow,
    DatasetRow,
    FamilyRow,
    LineageRow,
    MetricRow,
    SourceRow,
    TagRow,
    WeightsDatasetRow,
    WeightsRow,
)

# ORM bulk INSERTs: render None as NULL so that rows whose optional fields differ stay in
# one batched executemany (otherwise each run of rows with the same non-None keys is a
# statement of its own, and the RETURNING results are spliced together quadratically).
BULK = {"render_nulls": True}


def session_reader(session: Session) -> RegistryReader:
    """The read layer on this write unit's connection (it sees the unit's own changes)."""
    session.flush()
    conn = session.connection()
    return RegistryReader(SQLAlchemyConnection(conn, conn.engine.url.render_as_string(hide_password=True)))


def weights_row(session: Session, name: str) -> WeightsRow:
    """The ``weights`` row ``name`` resolves to, for a change (a miss names the closest)."""
    parsed = ParsedName.parse(name)
    reader = session_reader(session)
    wid = reader.find_id(parsed)
    if wid is None:
        raise reader.not_found(name, parsed)
    return session.get(WeightsRow, wid)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def family_columns(family: Family) -> dict[str, Any]:
    return {
        "name": family.name,
        "modality": family.modality.value,
        "task": family.task,
        "builder": family.builder,
        "builder_kwargs": family.builder_kwargs,
        "head": family.head,
        "default_tag": family.default_tag,
        "preprocessing": family.preprocessing,
        "description": family.description,
        "paper_url": family.paper_url,
    }


def weights_columns(w: Weights) -> dict[str, Any]:
    return {
        "tag": w.tag,
        "sha256": w.sha256,
        "sha256_prefix": w.sha256_prefix,
        "size_bytes": w.size_bytes,
        "format": w.format,
        "license_spdx": w.license.spdx,
        "commercial_use": w.license.commercial_use.value,
        "license_url": w.license.url,
        "license_note": w.license.note,
        "publisher": w.publisher,
        "paper_title": w.paper_title,
        "paper_url": w.paper_url,
        "recipe": w.recipe,
        "num_params": w.num_params,
        "num_classes": w.num_classes,
        "preprocessing": w.preprocessing,
        "description": w.description,
        "status": w.status.value,
        "status_reason": w.status_reason,
    }


def dataset_columns(d: Dataset) -> dict[str, Any]:
    return {
        "name": d.name,
        "title": d.title,
        "url": d.url,
        "description": d.description,
        "size": d.size,
        "collection": d.collection,
        "terms_spdx": d.terms.spdx,
        "commercial_use": d.terms.commercial_use.value,
        "terms_url": d.terms.url,
        "terms_note": d.terms.note,
    }


def card_columns(c: CardSection) -> dict[str, Any]:
    return {
        "kind": c.kind.value,
        "title": c.title,
        "body": c.body,
        "citations": list(c.references),
        "severity": c.severity.value if c.severity else None,
        "inherited_from": c.inherited_from,
    }


def insert_family(
    session: Session,
    audit: _audit.AuditWriter,
    family: Family,
    plugin: str | None,
    plugin_version: str | None,
) -> int:
    values = family_columns(family)
    family_id = session.execute(
        insert(FamilyRow)
        .values(**values, plugin=plugin, plugin_version=plugin_version, created_at=audit.at, created_by=audit.actor)
        .returning(FamilyRow.id)
    ).scalar_one()
    audit.record("family.register", "family", family.name, None, to_jsonable(family))
    return family_id


def insert_weights(
    session: Session,
    audit: _audit.AuditWriter,
    records: list[Weights],
    plugin: str | None,
    plugin_version: str | None,
) -> list[tuple[str, int]]:
    families = {
        name: (fid, default_tag)
        for fid, name, default_tag in session.execute(
            select(FamilyRow.id, FamilyRow.name, FamilyRow.default_tag).where(
                FamilyRow.name.in_({r.arch for r in records})
            )
        )
    }
    for record in records:
        if record.arch not in families:
            known = session.scalars(select(FamilyRow.name)).all()
            raise ZooNotFoundError(
                "architecture",
                record.arch,
                difflib.get_close_matches(record.arch, known, 5),
                hint="register the family first (Registry.add_family) or install the plugin that provides it",
            )
    # Catalogue tags must be new: one query for the whole batch.
    tagged = [(families[r.arch][0], r.tag) for r in records if r.tag is not None]
    seen: set[tuple[int, str]] = set()
    for key in tagged:
        if key in seen:
            raise ZooConflictError("tag", f"tag {key[1]!r} is given twice in this batch")
        seen.add(key)
    if tagged:
        taken = set()
        for chunk in chunks(tagged, 500):
            taken.update(
                session.execute(
                    select(WeightsRow.family_id, WeightsRow.tag).where(
                        or_(*(and_(WeightsRow.family_id == f, WeightsRow.tag == t) for f, t in chunk))
                    )
                ).all()
            )
        if taken:
            fid, tag = next(iter(taken))
            arch = next(a for a, (i, _) in families.items() if i == fid)
            raise ZooConflictError(
                "tag",
                f"{arch}.{tag} is already registered for architecture {arch!r}",
                hint="choose another tag, or let the owning plugin's sync update it",
            )
    # Versions are assigned under the write lock: max + 1 per name.
    names = sorted({r.name for r in records if r.name is not None})
    next_version: dict[str, int] = {}
    for chunk in chunks(names, 500):
        next_version.update(
            session.execute(
                select(WeightsRow.name, func.max(WeightsRow.version))
                .where(WeightsRow.name.in_(chunk))
                .group_by(WeightsRow.name)
            ).all()
        )
    assigned: list[tuple[str, int]] = []
    rows = []
    for record in records:
        if record.name is not None:
            version = next_version.get(record.name, 0) + 1
            next_version[record.name] = version
        else:
            version = 1
        fid, default_tag = families[record.arch]
        assigned.append((record.ref, version))
        rows.append(
            weights_columns(record)
            | {
                "name": record.ref,
                "version": version,
                "family_id": fid,
                "is_default": record.tag is not None and record.tag == default_tag,
                "plugin": plugin,
                "plugin_version": plugin_version,
                "created_at": audit.at,
                "created_by": audit.actor,
                "updated_at": audit.at,
                "updated_by": audit.actor,
            }
        )
    ids = [
        row[0]
        for row in session.execute(
            insert(WeightsRow).returning(WeightsRow.id, sort_by_parameter_order=True), rows, execution_options=BULK
        )
    ]
    insert_children(session, audit, list(zip(ids, records, assigned, strict=False)), plugin)
    for record, (ref, version) in zip(records, assigned, strict=False):
        audit.record("weights.register", "weights", ref, None, {"version": version, **to_jsonable(record)})
    return assigned


def insert_children(
    session: Session,
    audit: _audit.AuditWriter,
    items: list[tuple[int, Weights, tuple[str, int]]],
    plugin: str | None,
) -> None:
    ids_of = dataset_ids(session, {d.name: d.url for _, w, _ in items for d in w.datasets})
    sources, datasets, metrics, cards, tags, lineage = [], [], [], [], [], []
    parents_needed = {p.parent for _, w, _ in items for p in w.parents}
    parent_ids = session_reader(session).resolve_ids(parents_needed)
    for wid, w, _ in items:
        sources += [
            {"weights_id": wid, "uri": s.uri, "is_mirror": s.mirror, "position": i} for i, s in enumerate(w.sources)
        ]
        datasets += [{"weights_id": wid, "dataset_id": ids_of[d.name], "role": d.role.value} for d in w.datasets]
        metrics += [
            {"weights_id": wid, "dataset": m.dataset, "split": m.split, "metric": m.name, "value": m.value}
            for m in w.metrics
        ]
        cards += [
            card_columns(c)
            | {
                "weights_id": wid,
                "position": i,
                "plugin": plugin,
                "created_at": audit.at,
                "created_by": audit.actor,
            }
            for i, c in enumerate(w.card)
        ]
        tags += [{"weights_id": wid, "tag": t} for t in w.tags]
        lineage += [
            {"child_id": wid, "parent_id": parent_ids[p.parent], "relation": p.relation.value} for p in w.parents
        ]
    for table, payload in (
        (SourceRow, sources),
        (WeightsDatasetRow, datasets),
        (MetricRow, metrics),
        (CardSectionRow, cards),
        (TagRow, tags),
        (LineageRow, lineage),
    ):
        if payload:
            session.execute(insert(table), payload, execution_options=BULK)


def dataset_ids(session: Session, wanted: dict[str, str | None]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for chunk in chunks(sorted(wanted), 500):
        for name, did, url, owner in session.execute(
            select(DatasetRow.name, DatasetRow.id, DatasetRow.url, DatasetRow.plugin).where(DatasetRow.name.in_(chunk))
        ):
            ids[name] = did
            # A URL is the dataset's own: the first record that states one fills it in,
            # unless a plugin declares the dataset (then its declaration says).
            if url is None and owner is None and wanted[name] is not None:
                session.execute(update(DatasetRow).where(DatasetRow.id == did).values(url=wanted[name]))
    missing = [{"name": n, "url": wanted[n]} for n in sorted(wanted) if n not in ids]
    if missing:
        for name, did in session.execute(
            insert(DatasetRow).returning(DatasetRow.name, DatasetRow.id, sort_by_parameter_order=True),
            missing,
        ):
            ids[name] = did
    return ids


# -- resolving --------------------------------------------------------------------

"""Card import: what a parsed Hugging Face model card (:mod:`zoo.cards`) says, merged
into a weights record inside one write unit (``Registry.import_card``). Only what the
record lacks is added; every change is an audit event; importing the same card again
changes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from zoo.records import to_jsonable
from zoo.registry import _audit
from zoo.registry._writes import card_columns, dataset_ids, session_reader, weights_row
from zoo.registry.schema import CardSectionRow, DatasetRow, MetricRow, TagRow, WeightsDatasetRow, WeightsRow

if TYPE_CHECKING:  # pragma: no cover
    from zoo.cards import CardImport, ModelCard


def import_card(session: Session, audit: _audit.AuditWriter, name: str, card: ModelCard) -> CardImport:
    """Write what ``card`` says into ``name``'s record: the licence (only when the record
    states none), the datasets, metrics and tags it lacks, and the card sections it does
    not hold yet. On a record a plugin declares, the plugin's sync owns licence,
    datasets, metrics and tags, so only sections are imported."""
    from zoo.cards import CardImport

    source = card.source
    skipped: list[str] = []
    row = weights_row(session, name)
    info = session_reader(session).info(row.id)
    w = info.weights
    entity, version = row.name, row.version
    new_license, datasets, metrics, tags = None, [], [], []
    # The same licence is no conflict: compare what it is, not how it is worded.
    same_license = card.license.spdx.lower() == w.license.spdx.lower()
    states_license = card.states_license and card.license.spdx != "NOASSERTION" and not same_license
    trained = {d.name for d in w.datasets if d.role.value != "eval"}
    have = {(d.name, d.role) for d in w.datasets}
    datasets = [
        d for d in card.datasets if (d.name, d.role) not in have and not (d.role.value != "eval" and d.name in trained)
    ]
    have_metrics = {(m.dataset, m.split, m.name) for m in w.metrics}
    metrics = [m for m in card.metrics if (m.dataset, m.split, m.name) not in have_metrics]
    tags = [t for t in card.tags if t not in w.tags]
    if row.plugin is not None:
        if states_license or datasets or metrics or tags:
            skipped.append(
                f"licence, datasets, metrics and tags: {entity} is declared by plugin "
                f"{row.plugin}, whose sync owns them (change the plugin's record)"
            )
        datasets, metrics, tags = [], [], []
    elif states_license:
        if w.license.spdx == "NOASSERTION":
            new_license = card.license
        else:
            skipped.append(
                f"licence: the record states {w.license.spdx}, the card says "
                f"{card.license.spdx}; the record's licence was kept"
            )
    # Sections marked "Inherited from ..." are the lineage's (computed on reading),
    # not facts of this record: they are never imported as its own.
    seen = {(c.kind, " ".join(c.body.split())) for c in w.card + info.inherited_notes}
    sections = [c for c in card.sections if c.inherited_from is None and (c.kind, " ".join(c.body.split())) not in seen]
    stamp = {"updated_at": audit.at, "updated_by": audit.actor}
    if new_license is not None:
        session.execute(
            update(WeightsRow)
            .where(WeightsRow.id == row.id)
            .values(
                license_spdx=new_license.spdx,
                commercial_use=new_license.commercial_use.value,
                license_url=new_license.url,
                license_note=new_license.note,
                **stamp,
            )
        )
        audit.record(
            "weights.license",
            "weights",
            entity,
            {"version": version, "license": to_jsonable(w.license)},
            {"version": version, "license": to_jsonable(new_license), "source": source},
        )
    if datasets:
        # Shared dataset rows are never changed by an import; a new one is an event.
        known = set(session.scalars(select(DatasetRow.name).where(DatasetRow.name.in_([d.name for d in datasets]))))
        ids = dataset_ids(session, {d.name: None if d.name in known else d.url for d in datasets})
        for d in datasets:
            if d.name not in known:
                audit.record(
                    "dataset.register",
                    "dataset",
                    d.name,
                    None,
                    {"name": d.name, "url": d.url, "source": source},
                )
        session.execute(
            insert(WeightsDatasetRow),
            [{"weights_id": row.id, "dataset_id": ids[d.name], "role": d.role.value} for d in datasets],
        )
        audit.record(
            "weights.datasets",
            "weights",
            entity,
            {"version": version, "datasets": to_jsonable(w.datasets)},
            {"version": version, "datasets": to_jsonable(w.datasets + tuple(datasets)), "source": source},
        )
    if metrics:
        session.execute(
            insert(MetricRow),
            [
                {
                    "weights_id": row.id,
                    "dataset": m.dataset,
                    "split": m.split,
                    "metric": m.name,
                    "value": m.value,
                }
                for m in metrics
            ],
        )
        audit.record(
            "weights.metrics",
            "weights",
            entity,
            {"version": version, "metrics": to_jsonable(w.metrics)},
            {"version": version, "metrics": to_jsonable(w.metrics + tuple(metrics)), "source": source},
        )
    if tags:
        session.execute(insert(TagRow), [{"weights_id": row.id, "tag": t} for t in tags])
        audit.record(
            "weights.tags",
            "weights",
            entity,
            {"version": version, "tags": list(w.tags)},
            {"version": version, "tags": sorted(set(w.tags) | set(tags)), "source": source},
        )
    if sections:
        position = (
            session.scalar(
                select(func.coalesce(func.max(CardSectionRow.position), -1)).where(CardSectionRow.weights_id == row.id)
            )
            + 1
        )
        for i, section in enumerate(sections):
            session.execute(
                insert(CardSectionRow).values(
                    **card_columns(section),
                    weights_id=row.id,
                    position=position + i,
                    plugin=None,
                    created_at=audit.at,
                    created_by=audit.actor,
                )
            )
            audit.record(
                "card.add",
                "weights",
                entity,
                None,
                {"version": version, "section": to_jsonable(section), "source": source},
            )
    if (datasets or metrics or tags or sections) and new_license is None:
        session.execute(update(WeightsRow).where(WeightsRow.id == row.id).values(**stamp))
    return CardImport(
        f"{entity}@{version}",
        new_license,
        tuple(datasets),
        tuple(metrics),
        tuple(tags),
        tuple(sections),
        tuple(skipped),
    )

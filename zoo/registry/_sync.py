"""The plugin -> registry sync: make the registry hold what the installed plugins
declare (families, catalogue weights, datasets), idempotently, each plugin in one
audited transaction.

:func:`sync_registry` syncs every plugin of a host; :func:`ensure_synced` only when the
installed plugins changed since the last complete sync (a fingerprint of package
metadata and one setting). Per plugin, :func:`sync_plugin` diffs the declarations
against the stored records with a fixed number of queries per table (the read layer's
bulk :meth:`~zoo.registry._reads.RegistryReader.stored`), whatever the number of
records, and writes only what changed; records registered by users are never touched.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from zoo.errors import ZooConflictError, ZooError, ZooPluginError, ZooValidationError
from zoo.records import Dataset, Family, ParentLink, Status, Weights, to_jsonable
from zoo.registry import _audit
from zoo.registry._reads import StoredWeights
from zoo.registry._writes import (
    BULK,
    chunks,
    dataset_columns,
    family_columns,
    insert_children,
    insert_family,
    insert_weights,
    session_reader,
    weights_columns,
)
from zoo.registry.schema import (
    CardSectionRow,
    DatasetNoteRow,
    DatasetRow,
    FamilyRow,
    LineageRow,
    MetricRow,
    SourceRow,
    TagRow,
    WeightsDatasetRow,
    WeightsRow,
)

if TYPE_CHECKING:  # pragma: no cover
    from zoo.plugins import PluginHost, PluginInfo
    from zoo.registry._store import Registry

_log = logging.getLogger("zoo.plugins")
_STATUS_RANK = {Status.ACTIVE: 0, Status.DEPRECATED: 1, Status.REVOKED: 2}


@dataclass(frozen=True)
class SyncReport:
    """What a plugin sync changed."""

    plugin: str
    families_added: tuple[str, ...] = ()
    families_changed: tuple[str, ...] = ()
    weights_added: tuple[str, ...] = ()
    weights_changed: tuple[str, ...] = ()
    unchanged: int = 0
    plugin_version: str | None = None
    error: str | None = None  # set by the plugin host when this plugin's sync failed (nothing written)
    datasets_added: tuple[str, ...] = ()
    datasets_changed: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(
            self.families_added
            or self.families_changed
            or self.weights_added
            or self.weights_changed
            or self.datasets_added
            or self.datasets_changed
        )

    @property
    def ok(self) -> bool:
        return self.error is None


# -- every plugin of a host ------------------------------------------------------------


def sync_registry(
    registry: Registry, host: PluginHost | None = None, *, strict: bool | None = None
) -> list[SyncReport]:
    """Write every loaded plugin's families and weights into ``registry`` (one audited,
    idempotent :meth:`Registry.sync` per plugin). A plugin whose sync fails (e.g. it
    claims a record another plugin owns) gets a report with ``error`` set and nothing
    written; the others still sync. Strict mode raises after trying all."""
    from zoo.plugins import CORE_PLUGIN, default_host

    host = host or default_host()
    strict = host.selection.strict if strict is None else strict
    host.use_registry_owners(registry.owners())
    todo = [i for i in host.plugins if i.loaded and not i.core and (i.families or i.weights)]
    reports: list[SyncReport] = []
    with registry.observed_by(host):  # this host's observers hear the sync, each event once
        # Datasets first (the core declares the common ones): weights name them. What a
        # plugin's dataset sync did goes into that plugin's report; the core's is audited only.
        dataset_reports: dict[str, SyncReport] = {}
        for info in [i for i in host.plugins if i.loaded and i.datasets]:
            try:
                dataset_reports[info.name] = registry.sync_datasets(info.name, info.version, info.datasets)
            except ZooError as exc:
                _log.warning("plugin %r: dataset sync failed, nothing written: %s", info.name, exc.message)
                reports.append(
                    SyncReport(info.name, plugin_version=info.version, error=f"{type(exc).__name__}: {exc.message}")
                )
        done = {r.plugin for r in reports}
        for name, report in dataset_reports.items():
            if name not in done and report.changed and not any(i.name == name for i in todo) and name != CORE_PLUGIN:
                reports.append(report)
        for info in _dependency_order(todo):
            if info.name in done:  # its datasets failed: nothing of it is written
                continue
            try:
                report = registry.sync(info.name, info.version, info.families, info.weights)
                if info.name in dataset_reports:
                    ds = dataset_reports[info.name]
                    report = dataclasses.replace(
                        report, datasets_added=ds.datasets_added, datasets_changed=ds.datasets_changed
                    )
                reports.append(report)
            except ZooError as exc:
                _log.warning("plugin %r: sync failed, nothing written: %s", info.name, exc.message)
                reports.append(
                    SyncReport(info.name, plugin_version=info.version, error=f"{type(exc).__name__}: {exc.message}")
                )
    failed = [r for r in reports if r.error]
    if strict and failed:
        raise ZooPluginError(
            "plugin sync failed: " + "; ".join(f"{r.plugin}: {r.error}" for r in failed),
            hint="nothing of those plugins was written; fix the plugin or disable it",
        )
    return reports


def _dependency_order(infos: list[PluginInfo]) -> list[PluginInfo]:
    # A plugin may add weights to another plugin's family: sync the family's owner first.
    owner = {f.name: i.name for i in infos for f in i.families}
    needs = {i.name: {owner[w.arch] for w in i.weights if w.arch in owner} - {i.name} for i in infos}
    ordered: list[PluginInfo] = []
    pending = list(infos)
    while pending:
        done = {i.name for i in ordered}
        ready = [i for i in pending if needs[i.name] <= done] or pending[:1]  # a cycle: go on anyway
        ordered.append(ready[0])
        pending.remove(ready[0])
    return ordered


def ensure_synced(registry: Registry, host: PluginHost | None = None, *, force: bool = False) -> list[SyncReport]:
    """Sync the plugins into ``registry`` only if the installed plugins changed since the
    last complete sync. The check reads package metadata and one registry setting; no
    plugin is imported unless a sync is needed. Returns the sync's reports (empty when
    nothing had to be done). An editable plugin whose records changed without a version
    bump needs ``force=True`` (``zoo sync``)."""
    from zoo._selection import FINGERPRINT_SETTING, PluginSelection, installed_fingerprint

    selection = host.selection if host is not None else PluginSelection.resolve()
    fingerprint = installed_fingerprint(selection)
    if not force and registry.get_setting(FINGERPRINT_SETTING) == fingerprint:
        return []
    if host is None or not host.records:  # a host without records has nothing to sync
        from zoo.plugins import default_host

        host = default_host()
    reports = sync_registry(registry, host)
    # Remember only a complete sync: a broken plugin is retried (and reported) next time.
    if not host.failures and all(r.ok for r in reports):
        registry.set_setting(FINGERPRINT_SETTING, fingerprint)
    return reports


# -- one plugin, inside one write unit ----------------------------------------------------


def sync_plugin(
    session: Session,
    audit: _audit.AuditWriter,
    plugin: str,
    plugin_version: str | None,
    families: Sequence[Family],
    weights: Sequence[Weights],
) -> SyncReport:
    """Make the database hold what ``plugin`` declares: new records are added, changed
    ones updated (before/after in the audit trail), unchanged ones left alone."""
    families, weights = list(families), list(weights)
    for record in weights:
        if record.tag is None:
            raise ZooValidationError(
                "name",
                f"plugin {plugin} declared {record.ref!r}: plugins "
                "declare catalogue weights (arch.tag), not registered models",
            )
    reader = session_reader(session)
    fam_added, fam_changed = [], []
    stored_families = reader.family_rows([f.name for f in families])
    for family in families:
        if family.name not in stored_families:
            insert_family(session, audit, family, plugin, plugin_version)
            fam_added.append(family.name)
            continue
        fid, owner, owner_version, stored = stored_families[family.name]
        if owner != plugin:
            raise ZooConflictError(
                "family.name",
                f"architecture {family.name!r} belongs to {owner or 'a user registration'}, not {plugin}",
            )
        before, after = family_columns(stored), family_columns(family)
        if before == after and owner_version == plugin_version:
            continue
        session.execute(update(FamilyRow).where(FamilyRow.id == fid).values(**after, plugin_version=plugin_version))
        if before["default_tag"] != after["default_tag"]:
            # The default weights follow the family's default tag.
            session.execute(update(WeightsRow).where(WeightsRow.family_id == fid).values(is_default=False))
            if after["default_tag"] is not None:
                session.execute(
                    update(WeightsRow)
                    .where(WeightsRow.family_id == fid, WeightsRow.tag == after["default_tag"])
                    .values(is_default=True)
                )
        if before != after:
            changed = sorted(k for k in after if after[k] != before[k])
            audit.record(
                "family.update",
                "family",
                family.name,
                {k: before[k] for k in changed},
                {k: after[k] for k in changed},
            )
            fam_changed.append(family.name)
    # The weights: who owns each declared name (one query per 500 names), then every
    # owned record as stored in one bulk read.
    owners: dict[str, tuple[int, str | None]] = {}
    refs = sorted({w.ref for w in weights})
    for chunk in chunks(refs, 500):
        for wid, name, owner in reader.rows(
            "SELECT id, name, plugin FROM weights WHERE name IN :names ORDER BY version", {"names": list(chunk)}
        ):
            owners[name] = (wid, owner)
    for record in weights:
        if record.ref in owners and owners[record.ref][1] != plugin:
            raise ZooConflictError(
                "tag", f"{record.ref} belongs to {owners[record.ref][1] or 'a user registration'}, not {plugin}"
            )
    stored = reader.stored([wid for wid, _ in owners.values()], own_cards_of=plugin)
    declared = _as_stored(reader, [(w, stored[owners[w.ref][0]]) for w in weights if w.ref in owners])
    new = [w for w in weights if w.ref not in owners]
    changed_refs, unchanged, restamp = [], 0, []
    for record in weights:
        if record.ref not in owners:
            continue
        current = stored[owners[record.ref][0]]
        record = declared[record.ref]
        if current.weights == record:
            unchanged += 1
            if current.row["plugin_version"] != plugin_version:
                restamp.append(current.row["id"])
            continue
        _replace_declared(session, audit, current, record, plugin, plugin_version)
        changed_refs.append(record.ref)
    for chunk in chunks(restamp, 500):
        session.execute(update(WeightsRow).where(WeightsRow.id.in_(chunk)).values(plugin_version=plugin_version))
    if new:
        insert_weights(session, audit, new, plugin, plugin_version)
    return SyncReport(
        plugin,
        tuple(fam_added),
        tuple(fam_changed),
        tuple(w.ref for w in new),
        tuple(changed_refs),
        unchanged,
        plugin_version=plugin_version,
    )


def _as_stored(reader: Any, pairs: list[tuple[Weights, StoredWeights]]) -> dict[str, Weights]:
    """Each declared record as the registry would hand it back, so that an unchanged one
    compares equal: parents pinned to the version they resolve to, dataset URLs the
    datasets' own, and what the registry decided kept (a status at least as strict as
    the declared one, so a revocation is not undone by the next sync; a full sha256
    pinned for the declared hash prefix). Two queries for all records."""
    parents = reader.resolve_ids({p.parent for w, _ in pairs for p in w.parents}, missing_ok=True)
    pinned = {}
    if parents:
        pinned = {
            wid: f"{n}@{v}"
            for wid, n, v in reader.rows(
                "SELECT id, name, version FROM weights WHERE id IN :ids", {"ids": sorted(set(parents.values()))}
            )
        }
    names = sorted({d.name for w, _ in pairs for d in w.datasets})
    urls: dict[str, str | None] = {}
    for chunk in chunks(names, 500):
        urls.update(reader.rows("SELECT name, url FROM datasets WHERE name IN :names", {"names": list(chunk)}))
    out = {}
    for record, current in pairs:
        row = current.row
        if _STATUS_RANK[record.status] <= _STATUS_RANK[Status(row["status"])]:
            record = replace(record, status=row["status"], status_reason=row["status_reason"])
        if (
            record.sha256 is None
            and row["sha256"] is not None
            and row["sha256_prefix"] == record.sha256_prefix
            and (record.sha256_prefix is None or row["sha256"].startswith(record.sha256_prefix))
        ):
            record = replace(record, sha256=row["sha256"])
        links = tuple(
            ParentLink(pinned[parents[p.parent]], p.relation) if p.parent in parents else p for p in record.parents
        )
        datasets = tuple(replace(d, url=urls.get(d.name) or d.url) for d in record.datasets)
        out[record.ref] = replace(record, parents=links, datasets=datasets)
    return out


def _replace_declared(
    session: Session,
    audit: _audit.AuditWriter,
    current: StoredWeights,
    after: Weights,
    plugin: str,
    plugin_version: str | None,
) -> None:
    row, before = current.row, current.weights
    b, a = to_jsonable(before), to_jsonable(after)
    changed = sorted(k for k in a if a[k] != b[k])
    family_default = session.scalar(select(FamilyRow.default_tag).where(FamilyRow.id == row["family_id"]))
    values = weights_columns(after) | {
        "is_default": after.tag == family_default,
        "plugin_version": plugin_version,
        "updated_at": audit.at,
        "updated_by": audit.actor,
    }
    wid = row["id"]
    session.execute(update(WeightsRow).where(WeightsRow.id == wid).values(**values))
    for table in (SourceRow, WeightsDatasetRow, MetricRow, TagRow):
        session.execute(delete(table).where(table.weights_id == wid))
    session.execute(delete(CardSectionRow).where(CardSectionRow.weights_id == wid, CardSectionRow.plugin == plugin))
    session.execute(delete(LineageRow).where(LineageRow.child_id == wid))
    # Sections others added keep their place after the plugin's own.
    offset = len(after.card)
    others = session.scalars(
        select(CardSectionRow).where(CardSectionRow.weights_id == wid).order_by(CardSectionRow.position)
    ).all()
    for i, other in enumerate(others):
        other.position = offset + i
    session.flush()
    insert_children(session, audit, [(wid, after, (row["name"], row["version"]))], plugin)
    audit.record(
        "weights.update",
        "weights",
        row["name"],
        {"version": row["version"], **{k: b[k] for k in changed}},
        {"version": row["version"], **{k: a[k] for k in changed}},
    )


# -- datasets ----------------------------------------------------------------------------


def sync_datasets(
    session: Session,
    audit: _audit.AuditWriter,
    plugin: str,
    plugin_version: str | None,
    datasets: Sequence[Dataset],
) -> SyncReport:
    """Make the registry hold the datasets ``plugin`` declares (idempotent, audited):
    a new one is added (``dataset.register``), a row that weights created by naming
    it is adopted (``dataset.declare``), a changed one updated (``dataset.update``,
    before and after). A dataset another plugin declares is a conflict."""
    added, changed, unchanged = [], [], 0
    rows = {
        r.name: r for r in session.scalars(select(DatasetRow).where(DatasetRow.name.in_([d.name for d in datasets])))
    }
    stored = {i.dataset.name: i for i in session_reader(session).datasets(list(rows))}
    for dataset in datasets:
        row, values = rows.get(dataset.name), dataset_columns(dataset)
        if row is not None and row.plugin is not None and row.plugin != plugin:
            raise ZooConflictError(
                "dataset.name", f"dataset {dataset.name!r} is declared by plugin {row.plugin}, not {plugin}"
            )
        before = stored[dataset.name].dataset if row is not None else None
        if before == dataset and row.plugin == plugin:
            unchanged += 1
            if row.plugin_version != plugin_version:
                row.plugin_version = plugin_version
            continue
        if row is None:
            did = session.execute(
                insert(DatasetRow)
                .values(**values, plugin=plugin, plugin_version=plugin_version)
                .returning(DatasetRow.id)
            ).scalar_one()
            audit.record("dataset.register", "dataset", dataset.name, None, to_jsonable(dataset))
            added.append(dataset.name)
        else:
            did, owner = row.id, row.plugin
            session.execute(
                update(DatasetRow)
                .where(DatasetRow.id == did)
                .values(**values, plugin=plugin, plugin_version=plugin_version)
            )
            session.execute(delete(DatasetNoteRow).where(DatasetNoteRow.dataset_id == did))
            b, a = to_jsonable(before), to_jsonable(dataset)
            keys = sorted(k for k in a if a[k] != b[k])
            audit.record(
                "dataset.update" if owner == plugin else "dataset.declare",
                "dataset",
                dataset.name,
                {k: b[k] for k in keys},
                {k: a[k] for k in keys},
            )
            changed.append(dataset.name)
        if dataset.notes:
            session.execute(
                insert(DatasetNoteRow),
                [
                    {
                        "dataset_id": did,
                        "position": i,
                        "kind": n.kind.value,
                        "title": n.title,
                        "body": n.body,
                        "citations": list(n.references),
                        "severity": n.severity.value if n.severity else None,
                    }
                    for i, n in enumerate(dataset.notes)
                ],
                execution_options=BULK,
            )
    return SyncReport(
        plugin,
        unchanged=unchanged,
        plugin_version=plugin_version,
        datasets_added=tuple(added),
        datasets_changed=tuple(changed),
    )

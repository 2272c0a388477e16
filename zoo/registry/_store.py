"""The registry: one SQLAlchemy session per unit of work, explicit transactions, and
an audit event for every change written in the same transaction.

Write units serialise on the registry's write lock (``BEGIN IMMEDIATE`` on SQLite, a
transaction-scoped advisory lock on PostgreSQL), so version numbers and the audit
chain never fork under concurrent writers; the UNIQUE constraints back that up.
"""

from __future__ import annotations

import datetime as dt
import difflib
import getpass
import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from zoo.errors import (
    ZooAuditError,
    ZooConflictError,
    ZooError,
    ZooNotFoundError,
    ZooPolicyError,
    ZooRegistryError,
    ZooValidationError,
)
from zoo.limits import LABEL, NAME, TEXT, check_text
from zoo.records import (
    ALIAS_RE,
    AuditEvent,
    CardSection,
    Dataset,
    DatasetInfo,
    Family,
    ParentLink,
    Relation,
    Status,
    SyncReport,  # re-exported: zoo.registry.SyncReport (it moved to zoo.records, see there)
    Weights,
    WeightsInfo,
    to_jsonable,
)
from zoo.registry import _audit, _engine, _keys
from zoo.registry._reads import (  # noqa: F401  (re-exported)
    ParsedName,
    RegistryReader,
    SearchResult,
    WeightsSummary,
    wildcard_to_like,
)
from zoo.registry.schema import (
    AliasRow,
    AuditEventRow,
    CardSectionRow,
    DatasetNoteRow,
    DatasetRow,
    FamilyRow,
    LineageRow,
    MetricRow,
    SettingRow,
    SourceRow,
    TagRow,
    WeightsDatasetRow,
    WeightsRow,
)

MAX_LINEAGE_DEPTH = 64
_STATUS_RANK = {Status.ACTIVE: 0, Status.DEPRECATED: 1, Status.REVOKED: 2}
# ORM bulk INSERTs: render None as NULL so that rows whose optional fields differ stay in
# one batched executemany (otherwise each run of rows with the same non-None keys is a
# statement of its own, and the RETURNING results are spliced together quadratically).
_BULK = {"render_nulls": True}
_RESERVED_SETTINGS = frozenset({"application", "audit_head"})
_log = logging.getLogger("zoo.registry")
RESERVED_ALIASES = frozenset({"latest"})


def default_actor() -> str:
    """``$ZOO_ACTOR``, else ``user@host``."""
    if actor := os.environ.get("ZOO_ACTOR"):
        return actor
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Registry:
    """A zoo registry database (SQLite file, in-memory SQLite, or PostgreSQL).

    ``Registry()`` opens ``$ZOO_REGISTRY_URL`` or ``$ZOO_HOME/registry.db``; a new,
    empty database gets the current schema. ``clock`` and ``actor`` exist so that a
    deterministic catalogue dump can be produced. ``observers`` are called with the
    audit events of each write after it committed; so is every ``zoo_audit_event``
    hook of the process's plugin host (:func:`zoo.plugins.default_host`) unless
    ``plugin_observers=False``. Each observer gets each event once; one that raises is
    logged and ignored (the write stays).

    ``sync``: bring the installed plugins' records in when the plugin selection changed
    since the last sync, as the CLI and ``zoo.get`` do (a fingerprint of package metadata
    and one setting when nothing changed). ``None`` (the default) syncs the configured
    registry (``url`` not given) and leaves a database named by ``url`` as it is.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        actor: str | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        create: bool = True,
        observers: Sequence[Callable[[Sequence[AuditEvent]], None]] = (),
        sync: bool | None = None,
        plugin_observers: bool = True,
    ) -> None:
        self.observers = list(observers)
        self.plugin_observers = bool(plugin_observers)
        self._observer_host: Any = None  # set by observed_by (a plugin sync)
        self.url = _engine.normalize_url(url or _engine.default_url())
        self.actor = _audit.check_field("actor", actor) if actor is not None else default_actor()
        self._clock = clock or utc_now
        self.engine = _engine.make_engine(self.url)
        self.dialect = self.engine.dialect.name
        self._write_engine = self.engine.execution_options(zoo_write=True)
        with _engine.translate_db_errors(self.display_url):
            with self.engine.connect() as conn:
                revision = _engine.schema_state(conn)
                triggers = revision is None or _engine.audit_triggers_present(conn)
                conn.rollback()
            _engine.enable_wal(self.engine)
        if _engine.needs_upgrade(revision) or not triggers:
            if not create and revision is None:
                raise ZooRegistryError(
                    f"{self.display_url} is empty, not a zoo registry", hint="run `zoo db upgrade` to create the schema"
                )
            self.upgrade()
        if url is None if sync is None else sync:
            from zoo.plugins import ensure_synced  # imports plugins only when a sync is due

            ensure_synced(self)

    # -- plumbing ---------------------------------------------------------------------

    @property
    def display_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()
        if getattr(self, "_ro_engine", None) is not None:
            self._ro_engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Registry({self.display_url!r})"

    def upgrade(self) -> str:
        """Bring the schema to the newest revision (Alembic); returns the revision."""
        from alembic import command
        from alembic.config import Config

        with _engine.translate_db_errors(self.display_url):
            with self._write_engine.begin() as conn:
                _engine.schema_state(conn)  # refuses foreign or newer databases
                if self.dialect == "postgresql":  # the tables may not exist yet
                    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(current_schema()))"))
                config = Config()
                config.set_main_option("script_location", "zoo.registry:migrations")
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
                # A registry loaded from registry.db.sql has the schema but not the
                # dialect's append-only triggers (not portable SQL): add them here.
                if not _engine.audit_triggers_present(conn):
                    _engine.install_audit_triggers(conn)
                    _audit.seal_legacy_events(conn)  # its portable trail is unkeyed: key it from here on
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
                if self.dialect == "postgresql":  # `zoo sql` runs as a role that can only read
                    from zoo.registry._readonly import ensure_reader_role

                    try:
                        with conn.begin_nested():  # a user who may not create roles still upgrades
                            ensure_reader_role(conn)
                    except DBAPIError as exc:
                        _log.warning(
                            "registry %s: no reader role for `zoo sql` (%s); run `zoo db upgrade` as "
                            "a user that may create roles",
                            self.display_url,
                            _first_line(exc),
                        )
        return revision

    def _lock(self, conn_or_session: Any) -> None:
        if self.dialect == "postgresql":
            # One writer per schema at a time: version numbers and the audit chain stay linear.
            # A table lock, not an advisory lock: `zoo sql`'s reader role may take any
            # advisory lock, but not this (it needs write privileges on the table).
            conn_or_session.execute(text("LOCK TABLE zoo_settings IN EXCLUSIVE MODE"))

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with _engine.translate_db_errors(self.display_url):
            with Session(self.engine) as session, session.begin():
                yield session

    @contextmanager
    def _write(
        self, *, plugin: str | None = None, plugin_version: str | None = None, actor: str | None = None
    ) -> Iterator[tuple[Session, _audit.AuditWriter]]:
        committed: list[AuditEvent] = []
        actor = self.actor if actor is None else actor
        if not isinstance(actor, str) or not actor.strip():
            raise ZooValidationError("actor", f"must be a non-empty name, not {actor!r}")
        check_text(actor, "actor", NAME)
        try:
            with Session(self._write_engine, autoflush=False) as session, session.begin():
                self._lock(session)
                writer = _audit.AuditWriter(
                    session,
                    actor,
                    _naive_utc(self._clock()),
                    plugin,
                    plugin_version,
                    keyring=self._keyring(create=True),
                )
                yield session, writer
                hashes = writer.pending_hashes
                writer.flush()
                if (self.observers or self.plugin_observers or self._observer_host is not None) and hashes:
                    # read back with their seq numbers
                    committed = [
                        _audit.row_to_event(r)
                        for r in session.scalars(
                            select(AuditEventRow).where(AuditEventRow.hash.in_(hashes)).order_by(AuditEventRow.seq)
                        )
                    ]
        except IntegrityError as exc:
            raise ZooConflictError(
                "record",
                f"the database refused the change: {_first_line(exc)}",
                hint="nothing was written; check for duplicates",
            ) from None
        except ZooError:
            raise
        except (DataError, StatementError) as exc:  # a value records.py should have refused: still typed
            if isinstance(exc, DBAPIError) and not isinstance(exc, DataError):
                raise ZooRegistryError(
                    f"cannot write to registry {self.display_url}: {_first_line(exc)}",
                    hint="nothing was written; check that the database is writable",
                ) from None
            raise ZooValidationError(
                "record",
                f"the database refused a value: {_first_line(exc)}",
                hint="nothing was written; zoo.limits lists what each column takes",
            ) from None
        except DBAPIError as exc:
            raise ZooRegistryError(
                f"cannot write to registry {self.display_url}: {_first_line(exc)}",
                hint="nothing was written; check that the database is writable",
            ) from None
        if committed:
            self._notify(committed)

    def _keyring(self, *, create: bool) -> _keys.AuditKeyring | None:
        """The audit keys (:mod:`zoo.registry._keys`). An in-memory registry that has
        none configured signs with a key of its own that dies with it, rather than
        leaving a key file behind."""
        memory = self.dialect == "sqlite" and (self.engine.url.database or ":memory:") == ":memory:"
        try:
            keyring = _keys.load_keyring(create=create and not memory)
        except ZooAuditError:
            if not memory:
                raise
            keyring = None  # a named key file that does not exist yet: not made for a throwaway
        if keyring is None and memory:
            if getattr(self, "_ephemeral_keyring", None) is None:
                import secrets

                self._ephemeral_keyring = _keys.AuditKeyring((secrets.token_bytes(32),), "in-memory registry")
            keyring = self._ephemeral_keyring
        return keyring

    @contextmanager
    def observed_by(self, host: Any) -> Iterator[None]:
        """Within the block, ``host``'s ``zoo_audit_event`` observers get the committed
        events instead of the default host's (``sync_registry`` uses it: the plugins being
        synced are the ones loaded, and each observer hears each event once)."""
        previous, self._observer_host = self._observer_host, host
        try:
            yield
        finally:
            self._observer_host = previous

    def _observers(self) -> list[Callable[[Sequence[AuditEvent]], None]]:
        targets = list(self.observers)
        if self._observer_host is not None:
            if self._observer_host.notify_audit not in targets:
                targets.append(self._observer_host.notify_audit)
        elif self.plugin_observers:
            try:  # the plugin host is loaded only once something was committed
                from zoo.plugins import default_host

                hook = default_host().notify_audit
            except Exception as exc:  # noqa: BLE001 - a broken plugin set must not break a write
                _log.warning("audit observers not called: the plugin host failed: %s: %s", type(exc).__name__, exc)
            else:
                if hook not in targets:  # each observer once (sync_registry may have attached it)
                    targets.append(hook)
        return targets

    def _notify(self, events: list[AuditEvent]) -> None:
        # After the commit: an observer can neither block nor undo the change.
        for observer in self._observers():
            try:
                observer(events)
            except Exception as exc:  # noqa: BLE001 - an observer must not break a write
                _log.warning("audit observer %r failed and was ignored: %s: %s", observer, type(exc).__name__, exc)

    # -- settings ---------------------------------------------------------------------

    def get_setting(self, key: str) -> str | None:
        """A registry-wide setting from ``zoo_settings`` (``None`` if unset)."""
        with self._read() as session:
            return session.scalar(select(SettingRow.value).where(SettingRow.key == key))

    def set_setting(self, key: str, value: str) -> None:
        """Write a setting that is a cache of derived state (e.g. the installed plugins'
        fingerprint); not audited. The keys the registry itself keeps are refused."""
        if key in _RESERVED_SETTINGS:
            raise ZooValidationError(
                "key", f"setting {key!r} is kept by the registry itself", hint="choose another key"
            )
        if not isinstance(key, str) or not key or len(key) > LABEL or not isinstance(value, str):
            raise ZooValidationError("key", "a setting is a key of 1-64 characters and a text value")
        check_text(key, "key", LABEL)
        check_text(value, "value", TEXT)
        try:
            with Session(self._write_engine, autoflush=False) as session, session.begin():
                self._lock(session)
                row = session.get(SettingRow, key)
                if row is None:
                    session.add(SettingRow(key=key, value=value))
                else:
                    row.value = value
        except DBAPIError as exc:
            raise ZooRegistryError(
                f"cannot write to registry {self.display_url}: {_first_line(exc)}",
                hint="check that the database is writable",
            ) from None

    # -- families ---------------------------------------------------------------------

    def add_family(self, family: Family, *, plugin: str | None = None, plugin_version: str | None = None) -> None:
        """Register an architecture. A name already taken is a conflict."""
        if not isinstance(family, Family):
            raise ZooValidationError("family", "must be a zoo.records.Family")
        with self._write(plugin=plugin, plugin_version=plugin_version) as (session, audit):
            if session.scalar(select(FamilyRow.id).where(FamilyRow.name == family.name)) is not None:
                raise ZooConflictError("family.name", f"architecture {family.name!r} is already registered")
            self._insert_family(session, audit, family, plugin, plugin_version)

    def _insert_family(
        self,
        session: Session,
        audit: _audit.AuditWriter,
        family: Family,
        plugin: str | None,
        plugin_version: str | None,
    ) -> int:
        values = _family_columns(family)
        family_id = session.execute(
            insert(FamilyRow)
            .values(**values, plugin=plugin, plugin_version=plugin_version, created_at=audit.at, created_by=audit.actor)
            .returning(FamilyRow.id)
        ).scalar_one()
        audit.record("family.register", "family", family.name, None, to_jsonable(family))
        return family_id

    def family(self, name: str) -> Family:
        with self._read() as session:
            row = session.scalar(select(FamilyRow).where(FamilyRow.name == name.strip().lower()))
            if row is None:
                names = session.scalars(select(FamilyRow.name)).all()
                raise ZooNotFoundError("architecture", name, difflib.get_close_matches(name.lower(), names, 5))
            return _row_to_family(row)

    def families(self) -> list[Family]:
        with self._read() as session:
            return [_row_to_family(r) for r in session.scalars(select(FamilyRow).order_by(FamilyRow.name))]

    # -- registering weights ----------------------------------------------------------

    def register(
        self,
        weights: Weights,
        *,
        actor: str | None = None,
        plugin: str | None = None,
        plugin_version: str | None = None,
    ) -> WeightsInfo:
        """Register one checkpoint. Catalogue weights (``arch.tag``) must have a new tag;
        a registered model (``namespace/name``) gets the next version number."""
        (ref_version,) = self.register_many([weights], actor=actor, plugin=plugin, plugin_version=plugin_version)
        return self.resolve(f"{ref_version[0]}@{ref_version[1]}")

    def register_many(
        self,
        records: Iterable[Weights],
        *,
        actor: str | None = None,
        plugin: str | None = None,
        plugin_version: str | None = None,
    ) -> list[tuple[str, int]]:
        """Register many checkpoints in ONE transaction (all or nothing); returns
        ``(name, version)`` pairs in input order."""
        records = list(records)
        for index, record in enumerate(records):
            if not isinstance(record, Weights):
                raise ZooValidationError(f"records[{index}]", "must be a zoo.records.Weights")
        if not records:
            return []
        with self._write(plugin=plugin, plugin_version=plugin_version, actor=actor) as (session, audit):
            return self._insert_weights(session, audit, records, plugin, plugin_version)

    def _insert_weights(
        self,
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
            for chunk in _chunks(tagged, 500):
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
        for chunk in _chunks(names, 500):
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
                _weights_columns(record)
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
                insert(WeightsRow).returning(WeightsRow.id, sort_by_parameter_order=True), rows, execution_options=_BULK
            )
        ]
        self._insert_children(session, audit, list(zip(ids, records, assigned, strict=True)), plugin)
        for record, (ref, version) in zip(records, assigned, strict=True):
            audit.record("weights.register", "weights", ref, None, {"version": version, **to_jsonable(record)})
        return assigned

    def _insert_children(
        self,
        session: Session,
        audit: _audit.AuditWriter,
        items: list[tuple[int, Weights, tuple[str, int]]],
        plugin: str | None,
    ) -> None:
        dataset_ids = self._dataset_ids(session, {d.name: d.url for _, w, _ in items for d in w.datasets})
        sources, datasets, metrics, cards, tags, lineage = [], [], [], [], [], []
        parents_needed = {p.parent for _, w, _ in items for p in w.parents}
        parent_ids = self._resolve_ids(session, parents_needed)
        for wid, w, _ in items:
            sources += [
                {"weights_id": wid, "uri": s.uri, "is_mirror": s.mirror, "position": i} for i, s in enumerate(w.sources)
            ]
            datasets += [
                {"weights_id": wid, "dataset_id": dataset_ids[d.name], "role": d.role.value} for d in w.datasets
            ]
            metrics += [
                {"weights_id": wid, "dataset": m.dataset, "split": m.split, "metric": m.name, "value": m.value}
                for m in w.metrics
            ]
            cards += [
                _card_columns(c)
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
                session.execute(insert(table), payload, execution_options=_BULK)

    def _dataset_ids(self, session: Session, wanted: dict[str, str | None]) -> dict[str, int]:
        ids: dict[str, int] = {}
        for chunk in _chunks(sorted(wanted), 500):
            for name, did, url, owner in session.execute(
                select(DatasetRow.name, DatasetRow.id, DatasetRow.url, DatasetRow.plugin).where(
                    DatasetRow.name.in_(chunk)
                )
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

    def _reader(self, session: Session) -> RegistryReader:
        """The read queries (:mod:`zoo.registry._reads`) on this session's connection."""
        conn = session.connection()
        return RegistryReader(lambda sql, params: conn.exec_driver_sql(sql, params).all(), self.dialect)

    def _find_row(self, session: Session, parsed: ParsedName) -> WeightsRow | None:
        wid = self._reader(session).find_id(parsed)
        return None if wid is None else session.get(WeightsRow, wid)

    def _not_found(self, session: Session, name: str, parsed: ParsedName) -> ZooNotFoundError:
        return self._reader(session).not_found(name, parsed)

    def _resolve_id(self, session: Session, name: str) -> int:
        return self._reader(session).resolve_id(name)

    def _resolve_ids(self, session: Session, names: Iterable[str]) -> dict[str, int]:
        return self._reader(session).resolve_ids(names)

    def resolve(self, name: str) -> WeightsInfo:
        """``arch`` (its default weights), ``arch.tag``, ``namespace/name`` (newest
        version), ``NAME@VERSION`` or ``NAME@ALIAS`` -> the full record."""
        with self._read() as session:
            return self._reader(session).resolve(name)

    def exists(self, name: str) -> bool:
        try:
            parsed = ParsedName.parse(name)
            with self._read() as session:
                return self._reader(session).find_id(parsed) is not None
        except ZooNotFoundError:
            return False

    def _info(self, session: Session, row: WeightsRow) -> WeightsInfo:
        session.flush()
        return self._reader(session).info(row.id)

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
        with self._read() as session:
            return self._reader(session).search(
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

    # -- changing records -------------------------------------------------------------

    def _locked_row(self, session: Session, name: str) -> WeightsRow:
        parsed = ParsedName.parse(name)
        row = self._find_row(session, parsed)
        if row is None:
            raise self._not_found(session, name, parsed)
        return row

    def set_alias(self, name: str, alias: str, version: int | None = None, *, actor: str | None = None) -> None:
        """Point ``name@alias`` at ``version`` (``name`` may carry ``@VERSION``);
        an existing alias moves, and the move is audited with before and after."""
        alias_text = alias.strip().lower() if isinstance(alias, str) else ""
        if not ALIAS_RE.match(alias_text) or alias_text in RESERVED_ALIASES or len(alias_text) > LABEL:
            raise ZooValidationError(
                "alias",
                f"{alias!r} is not a valid alias",
                hint="start with a letter; 'latest' and numbers are reserved",
            )
        parsed = ParsedName.parse(name)
        if version is not None:
            if isinstance(version, bool) or not isinstance(version, int) or version < 1:
                raise ZooValidationError("version", "must be a positive integer")
            parsed = ParsedName(parsed.ref, version=version)
        with self._write(actor=actor) as (session, audit):
            row = self._find_row(session, parsed)
            if row is None:
                raise self._not_found(session, f"{parsed.ref}@{parsed.version}" if parsed.version else name, parsed)
            current = session.execute(
                select(AliasRow.id, WeightsRow.version)
                .join(WeightsRow, WeightsRow.id == AliasRow.weights_id)
                .where(AliasRow.name == row.name, AliasRow.alias == alias_text)
            ).first()
            if current is None:
                session.execute(insert(AliasRow).values(name=row.name, alias=alias_text, weights_id=row.id))
                audit.record("alias.set", "alias", row.name, None, {"alias": alias_text, "version": row.version})
            elif current[1] != row.version:
                session.execute(update(AliasRow).where(AliasRow.id == current[0]).values(weights_id=row.id))
                audit.record(
                    "alias.move",
                    "alias",
                    row.name,
                    {"alias": alias_text, "version": current[1]},
                    {"alias": alias_text, "version": row.version},
                )

    def remove_alias(self, name: str, alias: str, *, actor: str | None = None) -> None:
        ref = ParsedName.parse(name).ref
        with self._write(actor=actor) as (session, audit):
            current = session.execute(
                select(AliasRow.id, WeightsRow.version)
                .join(WeightsRow, WeightsRow.id == AliasRow.weights_id)
                .where(AliasRow.name == ref, AliasRow.alias == alias.strip().lower())
            ).first()
            if current is None:
                raise ZooNotFoundError("alias", f"{ref}@{alias}")
            session.execute(delete(AliasRow).where(AliasRow.id == current[0]))
            audit.record("alias.remove", "alias", ref, {"alias": alias.strip().lower(), "version": current[1]}, None)

    def set_status(
        self, name: str, status: Status | str, reason: str | None = None, *, actor: str | None = None
    ) -> WeightsInfo:
        new = Status.parse(status, "status")
        if reason is not None and not isinstance(reason, str):
            raise ZooValidationError("reason", f"must be text, not {type(reason).__name__}")
        if reason is not None:
            check_text(reason, "reason", TEXT)
        if new is not Status.ACTIVE and not (reason and reason.strip()):
            raise ZooValidationError(
                "reason",
                f"say why the weights are {new.value}",
                hint="e.g. --reason 'superseded by v2' or 'licence withdrawn'",
            )
        with self._write(actor=actor) as (session, audit):
            row = self._locked_row(session, name)
            before = {"status": row.status, "status_reason": row.status_reason}
            after = {"status": new.value, "status_reason": reason.strip() if reason else None}
            if before != after:
                session.execute(
                    update(WeightsRow)
                    .where(WeightsRow.id == row.id)
                    .values(**after, updated_at=audit.at, updated_by=audit.actor)
                )
                audit.record(
                    f"weights.{new.value if new is not Status.ACTIVE else 'reactivate'}",
                    "weights",
                    row.name,
                    {"version": row.version, **before},
                    {"version": row.version, **after},
                )
            ref = f"{row.name}@{row.version}"
        return self.resolve(ref)

    def deprecate(self, name: str, reason: str, *, actor: str | None = None) -> WeightsInfo:
        return self.set_status(name, Status.DEPRECATED, reason, actor=actor)

    def revoke(self, name: str, reason: str, *, actor: str | None = None) -> WeightsInfo:
        return self.set_status(name, Status.REVOKED, reason, actor=actor)

    def add_card_section(
        self, name: str, section: CardSection, *, actor: str | None = None, plugin: str | None = None
    ) -> None:
        """Append a model-card section (a bias note is kind ``bias_risks`` or ``limitations``)."""
        if not isinstance(section, CardSection):
            raise ZooValidationError("section", "must be a zoo.records.CardSection")
        with self._write(actor=actor, plugin=plugin) as (session, audit):
            row = self._locked_row(session, name)
            position = (
                session.scalar(
                    select(func.coalesce(func.max(CardSectionRow.position), -1)).where(
                        CardSectionRow.weights_id == row.id
                    )
                )
                + 1
            )
            session.execute(
                insert(CardSectionRow).values(
                    **_card_columns(section),
                    weights_id=row.id,
                    position=position,
                    plugin=plugin,
                    created_at=audit.at,
                    created_by=audit.actor,
                )
            )
            audit.record(
                "card.add", "weights", row.name, None, {"version": row.version, "section": to_jsonable(section)}
            )

    def add_bias_note(
        self,
        name: str,
        body: str,
        *,
        references: Sequence[str] = (),
        severity: str | None = None,
        title: str | None = None,
        actor: str | None = None,
    ) -> None:
        self.add_card_section(
            name,
            CardSection("bias_risks", body, title=title, references=tuple(references), severity=severity),
            actor=actor,
        )

    def import_card(self, name: str, card: Any, *, actor: str | None = None):
        """Write what a parsed model card (:func:`zoo.cards.read_model_card`) says into
        ``name``'s record, in ONE transaction (all or nothing): the licence (only when
        the record states none), the datasets, metrics and tags it lacks, and the card
        sections it does not hold yet. Each change is an audit event; importing the same
        card again changes nothing. On a record a plugin declares, the plugin's sync owns
        licence, datasets, metrics and tags, so only sections are imported. Returns a
        :class:`zoo.cards.CardImport` naming what changed and what was left alone."""
        from zoo.cards import CardImport, ModelCard

        if not isinstance(card, ModelCard):
            raise ZooValidationError(
                "card", "must be a zoo.cards.ModelCard", hint="parse it with zoo.cards.read_model_card(path)"
            )
        source = card.source
        skipped: list[str] = []
        with self._write(actor=actor) as (session, audit):
            row = self._locked_row(session, name)
            info = self._info(session, row)
            w = info.weights
            entity, version = row.name, row.version
            new_license, datasets, metrics, tags = None, [], [], []
            # The same licence is no conflict: compare what it is, not how it is worded.
            same_license = card.license.spdx.lower() == w.license.spdx.lower()
            states_license = card.states_license and card.license.spdx != "NOASSERTION" and not same_license
            trained = {d.name for d in w.datasets if d.role.value != "eval"}
            have = {(d.name, d.role) for d in w.datasets}
            datasets = [
                d
                for d in card.datasets
                if (d.name, d.role) not in have and not (d.role.value != "eval" and d.name in trained)
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
            sections = [
                c for c in card.sections if c.inherited_from is None and (c.kind, " ".join(c.body.split())) not in seen
            ]
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
                known = set(
                    session.scalars(select(DatasetRow.name).where(DatasetRow.name.in_([d.name for d in datasets])))
                )
                ids = self._dataset_ids(session, {d.name: None if d.name in known else d.url for d in datasets})
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
                        select(func.coalesce(func.max(CardSectionRow.position), -1)).where(
                            CardSectionRow.weights_id == row.id
                        )
                    )
                    + 1
                )
                for i, section in enumerate(sections):
                    session.execute(
                        insert(CardSectionRow).values(
                            **_card_columns(section),
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

    def set_audited_setting(self, key: str, value: str, *, actor: str | None = None) -> bool:
        """Write a registry-wide setting that governs behaviour (e.g. ``policy.commercial``),
        with an audit event (``setting.set``, before and after) in the same transaction;
        :meth:`get_setting` reads it. Returns whether the value changed."""
        if key in _RESERVED_SETTINGS:
            raise ZooValidationError(
                "key", f"setting {key!r} is kept by the registry itself", hint="choose another key"
            )
        if not isinstance(key, str) or not key or len(key) > LABEL or not isinstance(value, str):
            raise ZooValidationError("key", "a setting is a key of 1-64 characters and a text value")
        check_text(key, "key", LABEL)
        check_text(value, "value", TEXT)
        with self._write(actor=actor) as (session, audit):
            row = session.get(SettingRow, key)
            before = row.value if row is not None else None
            if before == value:
                return False
            if row is None:
                session.add(SettingRow(key=key, value=value))
            else:
                row.value = value
            audit.record("setting.set", "setting", key, None if before is None else {"value": before}, {"value": value})
        return True

    def link_parent(
        self, child: str, parent: str, relation: Relation | str = Relation.FINETUNE, *, actor: str | None = None
    ) -> None:
        """Record that ``child`` derives from ``parent``; a link that would make a cycle
        in the lineage graph is refused."""
        rel = Relation.parse(relation, "relation")
        with self._write(actor=actor) as (session, audit):
            child_row = self._locked_row(session, child)
            parent_row = self._locked_row(session, parent)
            if child_row.id == parent_row.id:
                raise ZooConflictError("parents", f"{child} cannot be its own parent")
            ancestors = _ancestor_ids(session, parent_row.id)
            if child_row.id in ancestors:
                raise ZooConflictError(
                    "parents",
                    f"linking {child_row.name}@{child_row.version} to parent "
                    f"{parent_row.name}@{parent_row.version} would make a cycle "
                    f"({parent_row.name} already derives from {child_row.name})",
                )
            if session.get(LineageRow, (child_row.id, parent_row.id)) is not None:
                raise ZooConflictError("parents", "this parent link exists already")
            session.execute(
                insert(LineageRow).values(child_id=child_row.id, parent_id=parent_row.id, relation=rel.value)
            )
            audit.record(
                "lineage.link",
                "weights",
                child_row.name,
                None,
                {
                    "version": child_row.version,
                    "parent": f"{parent_row.name}@{parent_row.version}",
                    "relation": rel.value,
                },
            )

    def pin_sha256(self, name: str, sha256: str, *, actor: str | None = None) -> None:
        """Record the full sha256 of a checkpoint whose record only had a hash prefix."""
        self.pin(name, sha256, actor=actor)

    def pin(
        self, name: str, sha256: str, *, revision: str | None = None, origin: str = "manual", actor: str | None = None
    ) -> WeightsInfo:
        """Pin the full sha256 of weights that have none (and, for a Hub file, the commit
        it was fetched at): one ``weights.pin_sha256`` audit event naming ``origin``.
        Pinning the same hash again is a no-op; another hash, a hash that contradicts the
        recorded prefix, or revoked weights are refused and nothing is written."""
        probe = Weights(arch="x", tag="x", sha256=sha256)
        if revision is not None and not (isinstance(revision, str) and 7 <= len(revision) <= 64 and revision.isalnum()):
            raise ZooValidationError(
                "revision", f"{revision!r} is not a commit id", hint="give the commit's hex id (X-Repo-Commit)"
            )
        if not isinstance(origin, str) or not origin.strip():
            raise ZooValidationError("origin", "say where the pin comes from (a URL, a file, 'manual')")
        with self._write(actor=actor) as (session, audit):
            row = self._locked_row(session, name)
            if row.status == Status.REVOKED.value:
                raise ZooPolicyError(
                    f"{row.name}@{row.version} is revoked ({row.status_reason or 'no reason'}); "
                    "pinning it would not make it usable, and nothing was pinned",
                    hint=f"pick other weights of {self._family_name(session, row)} (`zoo list` shows them)",
                )
            if row.sha256 == probe.sha256:
                return self._info(session, row)
            if row.sha256 is not None:
                raise ZooConflictError(
                    "sha256",
                    f"{row.name}@{row.version} already pins sha256 {row.sha256}; {probe.sha256} was not pinned",
                    hint="a pin is never replaced in place: if the publisher changed the file, "
                    "register the new file as new weights (or revoke the old ones)",
                )
            if row.sha256_prefix and not probe.sha256.startswith(row.sha256_prefix):
                raise ZooConflictError(
                    "sha256",
                    f"{probe.sha256} does not start with the recorded prefix {row.sha256_prefix}; nothing was pinned",
                    hint="these are not the publisher's bytes: check the file's origin",
                )
            session.execute(
                update(WeightsRow)
                .where(WeightsRow.id == row.id)
                .values(
                    sha256=probe.sha256,
                    pinned_revision=revision,
                    pin_origin=origin.strip(),
                    updated_at=audit.at,
                    updated_by=audit.actor,
                )
            )
            after = {"version": row.version, "sha256": probe.sha256, "origin": origin.strip()}
            if revision is not None:
                after["revision"] = revision
            audit.record("weights.pin_sha256", "weights", row.name, {"version": row.version, "sha256": None}, after)
            session.expire(row)
            return self._info(session, row)

    def _family_name(self, session: Session, row: WeightsRow) -> str:
        return session.scalar(select(FamilyRow.name).where(FamilyRow.id == row.family_id)) or "this architecture"

    # -- datasets ---------------------------------------------------------------------

    def datasets(self) -> list[DatasetInfo]:
        """Every dataset the registry knows (declared or only named by weights), by name."""
        with self._read() as session:
            return self._reader(session).datasets()

    def dataset(self, name: str) -> DatasetInfo:
        """One dataset; an unknown name raises ``ZooNotFoundError`` with the closest names."""
        with self._read() as session:
            return self._reader(session).dataset(name)

    def sync_datasets(self, plugin: str, plugin_version: str | None, datasets: Sequence[Dataset]) -> SyncReport:
        """Make the registry hold the datasets ``plugin`` declares (idempotent, audited):
        a new one is added (``dataset.register``), a row that weights created by naming
        it is adopted (``dataset.declare``), a changed one updated (``dataset.update``,
        before and after). A dataset another plugin declares is a conflict."""
        datasets = list(datasets)
        for index, dataset in enumerate(datasets):
            if not isinstance(dataset, Dataset):
                raise ZooValidationError(f"datasets[{index}]", "must be a zoo.records.Dataset")
        added, changed, unchanged = [], [], 0
        with self._write(plugin=plugin, plugin_version=plugin_version) as (session, audit):
            rows = {
                r.name: r
                for r in session.scalars(select(DatasetRow).where(DatasetRow.name.in_([d.name for d in datasets])))
            }
            stored = {i.dataset.name: i for i in self._reader(session).datasets(list(rows))}
            for dataset in datasets:
                row, values = rows.get(dataset.name), _dataset_columns(dataset)
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
                        execution_options=_BULK,
                    )
        return SyncReport(
            plugin,
            unchanged=unchanged,
            plugin_version=plugin_version,
            datasets_added=tuple(added),
            datasets_changed=tuple(changed),
        )

    # -- plugin sync ------------------------------------------------------------------

    def owners(self) -> dict[str, dict[str, str | None]]:
        """Who owns each family and catalogue weights name: ``{"families": {name:
        plugin}, "weights": {ref: plugin}}`` (``None``: a user registration)."""
        with self._read() as session:
            return {
                "families": dict(session.execute(select(FamilyRow.name, FamilyRow.plugin)).all()),
                "weights": dict(
                    session.execute(select(WeightsRow.name, WeightsRow.plugin).where(WeightsRow.tag.is_not(None))).all()
                ),
            }

    def hand_over(self, plugin: str, to: str | None, *, reason: str, actor: str | None = None) -> dict[str, int]:
        """Hand every family, catalogue weights record and card section that ``plugin``
        owns to plugin ``to`` (its next sync updates them to its own declarations), or,
        with ``to=None``, retire them: they become the registry's own (no sync changes
        them) and active weights are deprecated. For a plugin that is gone: its names no
        longer block the plugin that should own them. One audited transaction; returns
        how many families and weights changed hands."""
        plugin = _audit.check_field("plugin", plugin)
        to = _audit.check_field("plugin", to, optional=True)
        if to == plugin:
            raise ZooValidationError("to", f"plugin {plugin!r} already owns its records")
        if not isinstance(reason, str) or not reason.strip():
            raise ZooValidationError(
                "reason", "say why the records change hands", hint="e.g. --reason 'acme-vision was uninstalled'"
            )
        verb = "transfer" if to else "retire"
        with self._write(actor=actor) as (session, audit):
            families = session.scalars(
                select(FamilyRow).where(FamilyRow.plugin == plugin).order_by(FamilyRow.name)
            ).all()
            weights = session.scalars(
                select(WeightsRow).where(WeightsRow.plugin == plugin).order_by(WeightsRow.name, WeightsRow.version)
            ).all()
            if not families and not weights:
                raise ZooNotFoundError(
                    "plugin", plugin, hint="`zoo list` and `zoo info NAME` show who owns what; nothing was changed"
                )
            stamp = {"updated_at": audit.at, "updated_by": audit.actor}
            for row in families:
                audit.record(
                    f"family.{verb}", "family", row.name, {"plugin": plugin}, {"plugin": to, "reason": reason.strip()}
                )
            session.execute(update(FamilyRow).where(FamilyRow.plugin == plugin).values(plugin=to, plugin_version=None))
            for row in weights:
                before = {"version": row.version, "plugin": plugin, "status": row.status}
                after = {"version": row.version, "plugin": to, "status": row.status, "reason": reason.strip()}
                values = {"plugin": to, "plugin_version": None, **stamp}
                if to is None and row.status == Status.ACTIVE.value:
                    after["status"] = values["status"] = Status.DEPRECATED.value
                    values["status_reason"] = f"plugin {plugin} retired: {reason.strip()}"
                session.execute(update(WeightsRow).where(WeightsRow.id == row.id).values(**values))
                audit.record(f"weights.{verb}", "weights", row.name, before, after)
            session.execute(update(CardSectionRow).where(CardSectionRow.plugin == plugin).values(plugin=to))
            # The next command syncs again, so that the new owner's declarations take effect.
            session.execute(delete(SettingRow).where(SettingRow.key == "plugins_fingerprint"))
        return {"families": len(families), "weights": len(weights)}

    def sync(
        self, plugin: str, plugin_version: str | None, families: Sequence[Family], weights: Sequence[Weights]
    ) -> SyncReport:
        """Make the database hold what a plugin declares, idempotently: new records are
        added, changed ones updated (before/after in the audit trail), unchanged ones
        left alone. Records registered by users are never touched."""
        families, weights = list(families), list(weights)
        with self._write(plugin=plugin, plugin_version=plugin_version) as (session, audit):
            fam_added, fam_changed = [], []
            for family in families:
                row = session.scalar(select(FamilyRow).where(FamilyRow.name == family.name))
                if row is None:
                    self._insert_family(session, audit, family, plugin, plugin_version)
                    fam_added.append(family.name)
                    continue
                if row.plugin != plugin:
                    raise ZooConflictError(
                        "family.name",
                        f"architecture {family.name!r} belongs to {row.plugin or 'a user registration'}, not {plugin}",
                    )
                before, after = _family_columns(_row_to_family(row)), _family_columns(family)
                if before != after or row.plugin_version != plugin_version:
                    session.execute(
                        update(FamilyRow).where(FamilyRow.id == row.id).values(**after, plugin_version=plugin_version)
                    )
                    if before["default_tag"] != after["default_tag"]:
                        # The default weights follow the family's default tag.
                        session.execute(
                            update(WeightsRow).where(WeightsRow.family_id == row.id).values(is_default=False)
                        )
                        if after["default_tag"] is not None:
                            session.execute(
                                update(WeightsRow)
                                .where(WeightsRow.family_id == row.id, WeightsRow.tag == after["default_tag"])
                                .values(is_default=True)
                            )
                    if before != after:
                        changed = {k for k in after if after[k] != before[k]}
                        audit.record(
                            "family.update",
                            "family",
                            family.name,
                            {k: before[k] for k in sorted(changed)},
                            {k: after[k] for k in sorted(changed)},
                        )
                        fam_changed.append(family.name)
            if fam_added:  # default flags depend on the families' default tags
                session.flush()
            new, changed_refs, unchanged = [], [], 0
            existing = {}
            refs = [w.ref for w in weights if w.tag is not None]
            for chunk in _chunks(refs, 500):
                for row in session.scalars(select(WeightsRow).where(WeightsRow.name.in_(chunk))):
                    existing[row.name] = row
            for record in weights:
                if record.tag is None:
                    raise ZooValidationError(
                        "name",
                        f"plugin {plugin} declared {record.ref!r}: plugins "
                        "declare catalogue weights (arch.tag), not registered models",
                    )
                row = existing.get(record.ref)
                if row is None:
                    new.append(record)
                    continue
                if row.plugin != plugin:
                    raise ZooConflictError(
                        "tag", f"{record.ref} belongs to {row.plugin or 'a user registration'}, not {plugin}"
                    )
                declared = _declared_view(session, self._info(session, row), plugin)
                record = self._as_stored(session, record, row)
                if declared == record:
                    unchanged += 1
                    if row.plugin_version != plugin_version:
                        session.execute(
                            update(WeightsRow).where(WeightsRow.id == row.id).values(plugin_version=plugin_version)
                        )
                    continue
                self._replace_declared(session, audit, row, declared, record, plugin, plugin_version)
                changed_refs.append(record.ref)
            if new:
                self._insert_weights(session, audit, new, plugin, plugin_version)
            return SyncReport(
                plugin,
                tuple(fam_added),
                tuple(fam_changed),
                tuple(w.ref for w in new),
                tuple(changed_refs),
                unchanged,
                plugin_version=plugin_version,
            )

    def _as_stored(self, session: Session, record: Weights, row: WeightsRow) -> Weights:
        """``record`` as the registry hands it back: parents pinned to the version they
        resolve to, dataset URLs the datasets' own (so an unchanged record compares equal),
        and what the registry decided kept: a status at least as strict as the declared
        one (a revocation is not undone by the next sync) and a full sha256 pinned for
        the declared hash prefix."""
        if _STATUS_RANK[record.status] <= _STATUS_RANK[Status(row.status)]:
            record = replace(record, status=row.status, status_reason=row.status_reason)
        if (
            record.sha256 is None
            and row.sha256 is not None
            and row.sha256_prefix == record.sha256_prefix
            and (record.sha256_prefix is None or row.sha256.startswith(record.sha256_prefix))
        ):
            record = replace(record, sha256=row.sha256)
        parents = []
        for link in record.parents:
            try:
                row = self._find_row(session, ParsedName.parse(link.parent))
            except ZooNotFoundError:
                row = None
            parents.append(link if row is None else ParentLink(f"{row.name}@{row.version}", link.relation))
        urls: dict[str, str | None] = {}
        if record.datasets:
            urls = dict(
                session.execute(
                    select(DatasetRow.name, DatasetRow.url).where(
                        DatasetRow.name.in_(sorted({d.name for d in record.datasets}))
                    )
                ).all()
            )
        datasets = tuple(replace(d, url=urls.get(d.name) or d.url) for d in record.datasets)
        return replace(record, parents=tuple(parents), datasets=datasets)

    def _replace_declared(
        self,
        session: Session,
        audit: _audit.AuditWriter,
        row: WeightsRow,
        before: Weights,
        after: Weights,
        plugin: str,
        plugin_version: str | None,
    ) -> None:
        b, a = to_jsonable(before), to_jsonable(after)
        changed = sorted(k for k in a if a[k] != b[k])
        family_default = session.scalar(select(FamilyRow.default_tag).where(FamilyRow.id == row.family_id))
        values = _weights_columns(after) | {
            "is_default": after.tag == family_default,
            "plugin_version": plugin_version,
            "updated_at": audit.at,
            "updated_by": audit.actor,
        }
        session.execute(update(WeightsRow).where(WeightsRow.id == row.id).values(**values))
        wid = row.id
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
        self._insert_children(session, audit, [(wid, after, (row.name, row.version))], plugin)
        audit.record(
            "weights.update",
            "weights",
            row.name,
            {"version": row.version, **{k: b[k] for k in changed}},
            {"version": row.version, **{k: a[k] for k in changed}},
        )

    # -- history and audit ------------------------------------------------------------

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
        with self._read() as session:
            return self._reader(session).history(
                name, actor=actor, action=action, since=since, until=until, limit=limit
            )

    def verify_audit(
        self, *, raise_on_error: bool = False, checkpoint: dict[str, Any] | None = None
    ) -> _audit.AuditVerification:
        """Recompute the audit trail's chain with the audit keys (:mod:`zoo.registry._keys`);
        a broken chain names the events. With ``checkpoint`` (from :meth:`audit_checkpoint`,
        kept elsewhere) also prove that nothing up to it changed."""
        with self._read() as session:
            result = _audit.verify_chain(session, self._keyring(create=False), checkpoint)
        if raise_on_error and not result.ok:
            raise ZooAuditError(
                "the audit trail does not verify: " + "; ".join(result.problems[:5]),
                hint="restore the registry from a backup and investigate who wrote to it",
            )
        return result

    def audit_checkpoint(self) -> dict[str, Any]:
        """The signed head of a trail that verifies: ``{"seq", "hash", "key_id",
        "signature", ...}``, to keep outside the database (``zoo audit checkpoint``)."""
        keyring = self._keyring(create=True)
        with self._read() as session:
            result = _audit.verify_chain(session, keyring)
            seq, head = _audit.last_event(session)
        if not result.ok:
            raise ZooAuditError(
                "the audit trail does not verify, so it cannot be checkpointed: " + "; ".join(result.problems[:5]),
                hint="`zoo audit verify` lists the problems",
            )
        return _audit.make_checkpoint(seq, head, keyring, registry=self.display_url, at=utc_now())

    def count(self) -> int:
        with self._read() as session:
            return session.scalar(select(func.count()).select_from(WeightsRow))

    def read_only_sql(
        self,
        statement: str,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        max_rows: int | None = None,
    ):
        """Run ONE SQL statement read-only -> ``QueryResult`` (``zoo sql``).

        The database session refuses every write (SQLite opened ``mode=ro`` and
        ``query_only``; PostgreSQL ``SET TRANSACTION READ ONLY``), so nothing is written
        whatever the statement says. ``params`` bind ``:name`` placeholders. ``timeout``
        (seconds, default 30) cancels a runaway statement; ``max_rows`` keeps the first
        rows and sets ``truncated``. Raises ``ZooReadOnlyError`` for a write attempt,
        ``ZooQueryTimeoutError`` past the limit, ``ZooQueryError`` for anything else the
        database refuses (syntax, unknown table, a second statement)."""
        from zoo.registry import _readonly

        return _readonly.run(self, statement, params, timeout=timeout, max_rows=max_rows)

    def _read_only_engine(self):
        # PostgreSQL: connections of their own, never pooled, so that session state a
        # statement leaves behind (a SET, an advisory lock) dies with the connection.
        if getattr(self, "_ro_engine", None) is None:
            from sqlalchemy import create_engine
            from sqlalchemy.pool import NullPool

            self._ro_engine = create_engine(self.engine.url, poolclass=NullPool)
        return self._ro_engine

    def audit_query(self, name: str, **params: Any):
        """Run a named audit query (:mod:`zoo.registry.queries`) -> ``QueryResult``.

        ``trained-on`` takes ``dataset``; ``licences`` takes ``commercial`` (a list);
        ``lineage`` takes ``model`` (any resolvable name); ``history`` takes ``actor``,
        ``action`` (prefix), ``since`` and ``until``."""
        from zoo.registry import queries

        query = queries.get_query(name)
        with self._read() as session:
            bound = queries.bind(name, params, self._reader(session).resolve_id)
            if name == "trained-on":  # an unknown dataset (a typo) is an error, not 0 rows
                self._reader(session).dataset(bound["dataset"])
            stmt = query.statement()
            if name == "history":
                # Typed, so that PostgreSQL can infer a NULL-tested parameter's type and
                # SQLite compares times in the format SQLAlchemy stored them in.
                from sqlalchemy import DateTime, String

                stmt = stmt.bindparams(
                    bindparam("actor", type_=String),
                    bindparam("action", type_=String),
                    bindparam("since", type_=DateTime),
                    bindparam("until", type_=DateTime),
                )
            result = session.execute(stmt, bound)
            columns = tuple(result.keys())
            rows = tuple(tuple(r) for r in result)
        from zoo.registry.queries import QueryResult

        return QueryResult(columns, rows)


# -- helpers ---------------------------------------------------------------------------


def _first_line(exc: Exception) -> str:
    orig = getattr(exc, "orig", exc)
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _naive_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def _ancestor_ids(session: Session, start_id: int) -> set[int]:
    rows = session.execute(
        text(
            "WITH RECURSIVE up(id, depth) AS ("
            " SELECT CAST(:start AS INTEGER), 0"  # psycopg binds small ints as smallint
            " UNION SELECT l.parent_id, up.depth + 1 FROM lineage l JOIN up ON l.child_id = up.id"
            f" WHERE up.depth < {MAX_LINEAGE_DEPTH})"
            " SELECT DISTINCT id FROM up"
        ),
        {"start": start_id},
    )
    return {r[0] for r in rows}


def _family_columns(family: Family) -> dict[str, Any]:
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


def _row_to_family(row: FamilyRow) -> Family:
    return Family(
        name=row.name,
        modality=row.modality,
        builder=row.builder,
        builder_kwargs=row.builder_kwargs,
        task=row.task,
        head=row.head,
        default_tag=row.default_tag,
        preprocessing=row.preprocessing,
        description=row.description,
        paper_url=row.paper_url,
    )


def _weights_columns(w: Weights) -> dict[str, Any]:
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


def _dataset_columns(d: Dataset) -> dict[str, Any]:
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


def _card_columns(c: CardSection) -> dict[str, Any]:
    return {
        "kind": c.kind.value,
        "title": c.title,
        "body": c.body,
        "citations": list(c.references),
        "severity": c.severity.value if c.severity else None,
        "inherited_from": c.inherited_from,
    }


def _row_to_card(row: CardSectionRow) -> CardSection:
    return CardSection(
        kind=row.kind,
        body=row.body,
        title=row.title,
        references=tuple(row.citations or ()),
        severity=row.severity,
        inherited_from=row.inherited_from,
    )


def _declared_view(session: Session, info: WeightsInfo, plugin: str) -> Weights:
    """The stored record as its plugin would declare it: only the plugin's own card
    sections (parents stay pinned; ``Registry._as_stored`` pins the declared ones)."""
    own_cards = tuple(
        _row_to_card(c)
        for c in session.scalars(
            select(CardSectionRow)
            .where(CardSectionRow.weights_id == info.id, CardSectionRow.plugin == plugin)
            .order_by(CardSectionRow.position)
        )
    )
    return replace(info.weights, card=own_cards)

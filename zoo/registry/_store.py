"""The registry: the read layer (:class:`~zoo.registry._reads.RegistryReads`) over
SQLAlchemy, and the writes: one SQLAlchemy session per unit of work, explicit
transactions, and an audit event for every change written in the same transaction.
The plugin sync (:mod:`zoo.registry._sync`), card import
(:mod:`zoo.registry._card_import`) and the shared write steps
(:mod:`zoo.registry._writes`) run inside these units.

Write units serialise on the registry's write lock (``BEGIN IMMEDIATE`` on SQLite, a
transaction-scoped advisory lock on PostgreSQL), so version numbers and the audit
chain never fork under concurrent writers; the UNIQUE constraints back that up.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
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
    Family,
    Relation,
    Status,
    Weights,
    WeightsInfo,
    to_jsonable,
)
from zoo.registry import _audit, _engine, _keys, _sync, _writes
from zoo.registry._audit import default_actor  # re-exported
from zoo.registry._conn import ReadConnection, SQLAlchemyConnection, naive_utc, utc_now
from zoo.registry._reads import (  # noqa: F401  (re-exported)
    ParsedName,
    RegistryReader,
    RegistryReads,
    SearchResult,
    WeightsSummary,
    wildcard_to_like,
)
from zoo.registry._sync import SyncReport  # re-exported
from zoo.registry.schema import (
    AliasRow,
    CardSectionRow,
    FamilyRow,
    LineageRow,
    SettingRow,
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


class Registry(RegistryReads):
    """A zoo registry database (SQLite file, in-memory SQLite, or PostgreSQL): every
    read of :class:`~zoo.registry._reads.RegistryReads` (over a SQLAlchemy connection
    per read) and the writes.

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
            _sync.ensure_synced(self)  # imports plugins only when a sync is due

    # -- plumbing ---------------------------------------------------------------------

    @property
    def display_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def writer(self) -> Registry:
        """This registry: it writes (:meth:`RegistryReads.writer`)."""
        return self

    def close(self) -> None:
        self.engine.dispose()

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
    def _connection(self) -> Iterator[ReadConnection]:
        """One read (:class:`~zoo.registry._reads.RegistryReads`): a connection in a
        transaction of its own."""
        with _engine.translate_db_errors(self.display_url):
            with self.engine.connect() as conn, conn.begin():
                yield SQLAlchemyConnection(conn, self.display_url)

    @contextmanager
    def _sql_connection(self) -> Iterator[tuple[Any, bool]]:
        if self.dialect == "sqlite" and (self.engine.url.database or ":memory:") == ":memory:":
            # An in-memory registry exists only on its one connection: `zoo sql` shares it.
            shared = self.engine.raw_connection()
            try:
                yield shared.driver_connection, True
            finally:
                shared.close()
            return
        from zoo.registry import _readonly

        url = f"sqlite:///{self.engine.url.database}" if self.dialect == "sqlite" else self.url
        with _readonly.connect(self.dialect, url, self.display_url) as conn:
            yield conn, False

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
                    naive_utc(self._clock()),
                    plugin,
                    plugin_version,
                    keyring=self._audit_keyring(create=True),
                )
                yield session, writer
                hashes = writer.pending_hashes
                writer.flush()
                if (self.observers or self.plugin_observers or self._observer_host is not None) and hashes:
                    # read back with their seq numbers
                    committed = self._reader(session).events(hashes)
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

    def _audit_keyring(self, *, create: bool) -> _keys.AuditKeyring | None:
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
            _writes.insert_family(session, audit, family, plugin, plugin_version)

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
            return _writes.insert_weights(session, audit, records, plugin, plugin_version)

    # -- resolving --------------------------------------------------------------------

    def _reader(self, session: Session) -> RegistryReader:
        """The read layer on this session's connection (it sees the unit's own changes)."""
        return _writes.session_reader(session)

    def _find_row(self, session: Session, parsed: ParsedName) -> WeightsRow | None:
        wid = self._reader(session).find_id(parsed)
        return None if wid is None else session.get(WeightsRow, wid)

    def _info(self, session: Session, row: WeightsRow) -> WeightsInfo:
        return self._reader(session).info(row.id)

    def _family_name(self, session: Session, row: WeightsRow) -> str:
        return session.scalar(select(FamilyRow.name).where(FamilyRow.id == row.family_id)) or "this architecture"

    # -- changing records -------------------------------------------------------------

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
                raise self._reader(session).not_found(
                    f"{parsed.ref}@{parsed.version}" if parsed.version else name, parsed
                )
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
            row = _writes.weights_row(session, name)
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
            row = _writes.weights_row(session, name)
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
                    **_writes.card_columns(section),
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
            child_row = _writes.weights_row(session, child)
            parent_row = _writes.weights_row(session, parent)
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
            row = _writes.weights_row(session, name)
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

    # -- card import, datasets and the plugin sync ---------------------------------------

    def import_card(self, name: str, card: Any, *, actor: str | None = None) -> Any:
        """Write what a parsed model card (:func:`zoo.cards.read_model_card`) says into
        ``name``'s record, in ONE transaction (all or nothing): the licence (only when
        the record states none), the datasets, metrics and tags it lacks, and the card
        sections it does not hold yet. Each change is an audit event; importing the same
        card again changes nothing. On a record a plugin declares, the plugin's sync owns
        licence, datasets, metrics and tags, so only sections are imported. Returns a
        :class:`zoo.cards.CardImport` naming what changed and what was left alone
        (:mod:`zoo.registry._card_import`)."""
        from zoo.cards import ModelCard
        from zoo.registry._card_import import import_card

        if not isinstance(card, ModelCard):
            raise ZooValidationError(
                "card", "must be a zoo.cards.ModelCard", hint="parse it with zoo.cards.read_model_card(path)"
            )
        with self._write(actor=actor) as (session, audit):
            return import_card(session, audit, name, card)

    def sync_datasets(self, plugin: str, plugin_version: str | None, datasets: Sequence[Dataset]) -> SyncReport:
        """Make the registry hold the datasets ``plugin`` declares (idempotent, audited):
        a new one is added (``dataset.register``), a row that weights created by naming
        it is adopted (``dataset.declare``), a changed one updated (``dataset.update``,
        before and after). A dataset another plugin declares is a conflict
        (:func:`zoo.registry._sync.sync_datasets`)."""
        datasets = list(datasets)
        for index, dataset in enumerate(datasets):
            if not isinstance(dataset, Dataset):
                raise ZooValidationError(f"datasets[{index}]", "must be a zoo.records.Dataset")
        with self._write(plugin=plugin, plugin_version=plugin_version) as (session, audit):
            return _sync.sync_datasets(session, audit, plugin, plugin_version, datasets)

    def sync(
        self, plugin: str, plugin_version: str | None, families: Sequence[Family], weights: Sequence[Weights]
    ) -> SyncReport:
        """Make the database hold what a plugin declares, idempotently: new records are
        added, changed ones updated (before/after in the audit trail), unchanged ones
        left alone. Records registered by users are never touched
        (:func:`zoo.registry._sync.sync_plugin`)."""
        with self._write(plugin=plugin, plugin_version=plugin_version) as (session, audit):
            return _sync.sync_plugin(session, audit, plugin, plugin_version, families, weights)

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


# -- helpers ---------------------------------------------------------------------------


def _first_line(exc: Exception) -> str:
    orig = getattr(exc, "orig", exc)
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


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

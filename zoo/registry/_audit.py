"""The hash-chained audit trail.

Each event's hash is an HMAC (the audit key, :mod:`zoo.registry._keys`) over its
sequence number, canonical fields and the previous event's hash, so editing, removing
or inserting an event breaks the chain (:mod:`zoo.registry._chain`). The chain head is
also kept in ``zoo_settings.audit_head`` so that removing the newest event is detected.
Events are written by :class:`AuditWriter` inside the same transaction as the change
they record, while the writer holds the registry's write lock (one chain, no forks).
Every hashed field is checked and typed before it is hashed: what is stored is exactly
what was hashed.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import socket
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from zoo.errors import ZooAuditError, ZooValidationError
from zoo.registry._chain import (  # noqa: F401  (re-exported)
    GENESIS,
    AuditVerification,
    canonical_json,
    event_hash,
    format_time,
    make_checkpoint,
)
from zoo.registry._keys import AuditKeyring
from zoo.registry.schema import AuditEventRow, SettingRow

# The column widths of audit_events (schema.py): a longer value would be cut or refused
# by the database after it was hashed.
FIELD_LIMITS = {"actor": 200, "action": 32, "entity_type": 32, "entity_key": 256, "plugin": 128, "plugin_version": 64}
_VERIFY_HINT = "run `zoo audit verify`; restore the registry from a backup and investigate who wrote to it"


def default_actor() -> str:
    """``$ZOO_ACTOR``, else ``user@host``."""
    if actor := os.environ.get("ZOO_ACTOR"):
        return actor
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def check_field(field: str, value: Any, *, optional: bool = False) -> str | None:
    """``value`` as the audit trail stores and hashes it, or a ``ZooValidationError``."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ZooValidationError(
            field,
            f"must be a string{' or None' if optional else ''}, not {type(value).__name__} {value!r}",
            hint=f"pass {field} as text, e.g. {field}='alice@example.org'" if field == "actor" else None,
        )
    limit = FIELD_LIMITS[field]
    if not value.strip() or len(value) > limit or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ZooValidationError(field, f"must be 1-{limit} printable characters, not {value[:80]!r}")
    return value


def last_event(session: Session) -> tuple[int, str]:
    """``(seq, hash)`` of the newest event, ``(0, GENESIS)`` for an empty trail."""
    row = session.execute(
        select(AuditEventRow.seq, AuditEventRow.hash).order_by(AuditEventRow.seq.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row is not None else (0, GENESIS)


class AuditWriter:
    """Appends events to the chain within one write transaction, signed with the
    keyring's current key. A missing or stale chain head refuses the write
    (``ZooAuditError``): appending would hide that events were removed."""

    def __init__(
        self,
        session: Session,
        actor: str,
        at: dt.datetime,
        plugin: str | None = None,
        plugin_version: str | None = None,
        *,
        keyring: AuditKeyring,
    ) -> None:
        self.session = session
        self.actor = check_field("actor", actor)
        if not isinstance(at, dt.datetime):
            raise ZooValidationError("clock", f"must return a datetime, not {type(at).__name__}")
        self.at = at
        self.plugin = check_field("plugin", plugin, optional=True)
        self.plugin_version = check_field("plugin_version", plugin_version, optional=True)
        self.keyring = keyring
        self._pending: list[dict[str, Any]] = []
        head = session.execute(select(SettingRow.value).where(SettingRow.key == "audit_head")).scalar_one_or_none()
        self._seq, self._head = last_event(session)
        if head is None:
            raise ZooAuditError(
                "the audit trail's chain head (zoo_settings.audit_head) is missing; nothing was written",
                hint=_VERIFY_HINT,
            )
        if head != self._head:
            raise ZooAuditError(
                "the audit trail's recorded chain head is not its newest event (events were "
                "removed, or added outside zoo); nothing was written",
                hint=_VERIFY_HINT,
            )

    def record(self, action: str, entity_type: str, entity_key: str, before: Any = None, after: Any = None) -> None:
        action = check_field("action", action)
        entity_type = check_field("entity_type", entity_type)
        entity_key = check_field("entity_key", entity_key)
        before_json, after_json = canonical_json(before), canonical_json(after)
        self._seq += 1
        digest = event_hash(
            self._head,
            self.at,
            self.actor,
            action,
            entity_type,
            entity_key,
            before_json,
            after_json,
            self.plugin,
            self.plugin_version,
            seq=self._seq,
            key=self.keyring.current,
        )
        self._pending.append(
            {
                "seq": self._seq,
                "at": self.at,
                "actor": self.actor,
                "action": action,
                "entity_type": entity_type,
                "entity_key": entity_key,
                "before_json": before_json,
                "after_json": after_json,
                "plugin": self.plugin,
                "plugin_version": self.plugin_version,
                "prev_hash": self._head,
                "hash": digest,
                "key_id": self.keyring.current_id,
            }
        )
        self._head = digest

    @property
    def count(self) -> int:
        return len(self._pending)

    @property
    def pending_hashes(self) -> list[str]:
        """The hashes of the events not yet flushed (unique: they identify the rows)."""
        return [event["hash"] for event in self._pending]

    def flush(self) -> None:
        if not self._pending:
            return
        self.session.execute(insert(AuditEventRow), self._pending)
        self.session.execute(update(SettingRow).where(SettingRow.key == "audit_head").values(value=self._head))
        self._pending.clear()


def seal_legacy_events(conn: Any) -> None:
    """Append one keyed ``audit.keyed`` event after a trail whose newest event is unkeyed
    (written before audit keys: an upgraded registry, or one loaded from registry.db.sql,
    whose portable trail cannot carry a machine's key). From then on the trail is keyed."""
    import sqlalchemy as sa

    from zoo.registry._conn import utc_now
    from zoo.registry._keys import load_keyring

    last = conn.execute(sa.text("SELECT seq, hash, key_id FROM audit_events ORDER BY seq DESC LIMIT 1")).first()
    if last is None or last[2] is not None:  # empty, or already keyed
        return
    keyring = load_keyring(create=True)
    count = conn.execute(sa.text("SELECT count(*) FROM audit_events")).scalar_one()
    seq, at, actor = last[0] + 1, utc_now(), default_actor()[:200]
    after = f'{{"legacy_events":{count},"sealed_head":"{last[1]}"}}'
    fields = dict(
        seq=seq,
        at=at,
        actor=actor,
        action="audit.keyed",
        entity_type="audit",
        entity_key="audit_events",
        before_json=None,
        after_json=after,
        plugin=None,
        plugin_version=None,
        prev_hash=last[1],
        key_id=keyring.current_id,
    )
    fields["hash"] = event_hash(
        last[1],
        at,
        actor,
        "audit.keyed",
        "audit",
        "audit_events",
        None,
        after,
        None,
        None,
        seq=seq,
        key=keyring.current,
    )
    conn.execute(
        sa.text(
            "INSERT INTO audit_events (seq, at, actor, action, entity_type, entity_key, before_json, "
            "after_json, plugin, plugin_version, prev_hash, hash, key_id) VALUES (:seq, :at, :actor, "
            ":action, :entity_type, :entity_key, :before_json, :after_json, :plugin, "
            ":plugin_version, :prev_hash, :hash, :key_id)"
        ).bindparams(sa.bindparam("at", type_=sa.DateTime())),
        fields,
    )
    conn.execute(sa.text("UPDATE zoo_settings SET value = :h WHERE key = 'audit_head'"), {"h": fields["hash"]})

"""The hash-chained audit trail.

Each event's hash is sha256 over its canonical fields and the previous event's hash,
so editing, removing or inserting an event breaks the chain. The chain head is also
kept in ``zoo_settings.audit_head`` so that removing the newest event is detected.
Events are written by :class:`AuditWriter` inside the same transaction as the change
they record, while the writer holds the registry's write lock (one chain, no forks).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from zoo.records import AuditEvent
from zoo.registry._chain import (  # noqa: F401  (re-exported)
    CHAIN_COLUMNS,
    GENESIS,
    AuditVerification,
    canonical_json,
    check_chain,
    event_hash,
    format_time,
)
from zoo.registry.schema import AuditEventRow, SettingRow

class AuditWriter:
    """Appends events to the chain within one write transaction."""

    def __init__(self, session: Session, actor: str, at: dt.datetime,
                 plugin: str | None = None, plugin_version: str | None = None) -> None:
        self.session = session
        self.actor = actor
        self.at = at
        self.plugin = plugin
        self.plugin_version = plugin_version
        self._pending: list[dict[str, Any]] = []
        self._head = session.execute(
            select(SettingRow.value).where(SettingRow.key == "audit_head")
        ).scalar_one()

    def record(self, action: str, entity_type: str, entity_key: str,
               before: Any = None, after: Any = None) -> None:
        before_json, after_json = canonical_json(before), canonical_json(after)
        digest = event_hash(self._head, self.at, self.actor, action, entity_type, entity_key,
                            before_json, after_json, self.plugin, self.plugin_version)
        self._pending.append({
            "at": self.at, "actor": self.actor, "action": action, "entity_type": entity_type,
            "entity_key": entity_key, "before_json": before_json, "after_json": after_json,
            "plugin": self.plugin, "plugin_version": self.plugin_version,
            "prev_hash": self._head, "hash": digest,
        })
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
        self.session.execute(
            update(SettingRow).where(SettingRow.key == "audit_head").values(value=self._head)
        )
        self._pending.clear()


def row_to_event(row: AuditEventRow) -> AuditEvent:
    return AuditEvent(
        seq=row.seq, at=row.at, actor=row.actor, action=row.action,
        entity_type=row.entity_type, entity_key=row.entity_key,
        before=json.loads(row.before_json) if row.before_json is not None else None,
        after=json.loads(row.after_json) if row.after_json is not None else None,
        plugin=row.plugin, plugin_version=row.plugin_version,
        prev_hash=row.prev_hash, hash=row.hash,
    )


def verify_chain(session: Session, batch: int = 5000) -> AuditVerification:
    rows: Iterator[Any] = session.execute(
        text(f"SELECT {CHAIN_COLUMNS} FROM audit_events ORDER BY seq").execution_options(yield_per=batch))
    head = session.execute(select(SettingRow.value).where(SettingRow.key == "audit_head")).scalar_one_or_none()
    return check_chain(rows, head)

"""The hash-chained audit trail.

Each event's hash is sha256 over its canonical fields and the previous event's hash,
so editing, removing or inserting an event breaks the chain. The chain head is also
kept in ``zoo_settings.audit_head`` so that removing the newest event is detected.
Events are written by :class:`AuditWriter` inside the same transaction as the change
they record, while the writer holds the registry's write lock (one chain, no forks).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from zoo.records import AuditEvent
from zoo.registry.schema import AuditEventRow, SettingRow

GENESIS = "0" * 64


def canonical_json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def format_time(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(prev_hash: str, at: dt.datetime, actor: str, action: str, entity_type: str,
               entity_key: str, before_json: str | None, after_json: str | None,
               plugin: str | None, plugin_version: str | None) -> str:
    payload = json.dumps(
        [prev_hash, format_time(at), actor, action, entity_type, entity_key,
         before_json, after_json, plugin, plugin_version],
        separators=(",", ":"), ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


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


@dataclass(frozen=True)
class AuditVerification:
    """The result of checking the whole chain."""

    ok: bool
    events: int
    head: str
    problems: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "head": self.head, "problems": list(self.problems)}


def verify_chain(session: Session, batch: int = 5000) -> AuditVerification:
    problems: list[str] = []
    prev = GENESIS
    count = 0
    rows: Iterator[Any] = session.execute(
        text("SELECT seq, at, actor, action, entity_type, entity_key, before_json, after_json, "
             "plugin, plugin_version, prev_hash, hash FROM audit_events ORDER BY seq")
        .execution_options(yield_per=batch)
    )
    for row in rows:
        count += 1
        at = row.at if isinstance(row.at, dt.datetime) else dt.datetime.fromisoformat(str(row.at))
        if row.prev_hash != prev:
            problems.append(f"event {row.seq}: does not follow the previous event "
                            "(an event before it was removed, inserted or reordered)")
        expected = event_hash(row.prev_hash, at, row.actor, row.action, row.entity_type,
                              row.entity_key, row.before_json, row.after_json, row.plugin,
                              row.plugin_version)
        if expected != row.hash:
            problems.append(f"event {row.seq}: content does not match its hash (edited)")
        prev = row.hash
        if len(problems) > 100:
            problems.append("... stopped after 100 problems")
            break
    recorded_head = session.execute(
        select(SettingRow.value).where(SettingRow.key == "audit_head")
    ).scalar_one_or_none()
    if recorded_head is not None and recorded_head != prev and len(problems) <= 100:
        problems.append("the newest events are missing: the chain ends before the recorded head")
    return AuditVerification(ok=not problems, events=count, head=prev, problems=tuple(problems))

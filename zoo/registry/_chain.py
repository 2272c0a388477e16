"""The audit trail's hash chain, computed and checked without a database library:
:mod:`zoo.registry._audit` writes and verifies through SQLAlchemy, the CLI's fast path
(:mod:`zoo.registry._lite`) verifies on a bare ``sqlite3`` connection.

Each event's hash is sha256 over its canonical fields and the previous event's hash,
so editing, removing or inserting an event breaks the chain."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

CHAIN_COLUMNS = ("seq, at, actor, action, entity_type, entity_key, before_json, after_json, plugin, "
                 "plugin_version, prev_hash, hash")

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


@dataclass(frozen=True)
class AuditVerification:
    """The result of checking the whole chain."""

    ok: bool
    events: int
    head: str
    problems: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "head": self.head, "problems": list(self.problems)}


def check_chain(rows: Iterable[Any], recorded_head: str | None) -> AuditVerification:
    """Recompute the chain over ``rows`` (``SELECT CHAIN_COLUMNS ... ORDER BY seq``)
    and compare its end with the head recorded in ``zoo_settings``."""
    problems: list[str] = []
    prev = GENESIS
    count = 0
    for seq, at, actor, action, entity_type, entity_key, before, after, plugin, plugin_version, prev_hash, digest \
            in rows:
        count += 1
        at = at if isinstance(at, dt.datetime) else dt.datetime.fromisoformat(str(at))
        if prev_hash != prev:
            problems.append(f"event {seq}: does not follow the previous event "
                            "(an event before it was removed, inserted or reordered)")
        expected = event_hash(prev_hash, at, actor, action, entity_type, entity_key, before, after, plugin,
                              plugin_version)
        if expected != digest:
            problems.append(f"event {seq}: content does not match its hash (edited)")
        prev = digest
        if len(problems) > 100:
            problems.append("... stopped after 100 problems")
            break
    if recorded_head is not None and recorded_head != prev and len(problems) <= 100:
        problems.append("the newest events are missing: the chain ends before the recorded head")
    return AuditVerification(ok=not problems, events=count, head=prev, problems=tuple(problems))

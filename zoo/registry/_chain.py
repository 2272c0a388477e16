"""The audit trail's hash chain, computed and checked without a database library:
:mod:`zoo.registry._audit` writes and verifies through SQLAlchemy, the CLI's fast path
(:mod:`zoo.registry._lite`) verifies on a bare ``sqlite3`` connection; both call
:func:`check_chain`, the one implementation of what ``verify`` proves.

Each event links to the previous one (``prev_hash``). A keyed event (``key_id`` set) has
``hash`` = HMAC-SHA256 with the audit key (:mod:`zoo.registry._keys`) over its sequence
number, fields, ``prev_hash`` and ``key_id``: forging or recomputing it needs the key.
Events written before keys existed (``key_id`` NULL) keep their plain sha256; they may
only come before the first keyed event, and the newest event is always keyed (schema
0003 seals an older trail with a keyed ``audit.keyed`` event). A checkpoint is the signed head (seq, hash) kept
elsewhere; checking the trail against it proves that nothing up to it changed."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from zoo.registry._keys import AuditKeyring, key_id, sign

CHAIN_COLUMNS = (
    "seq, at, actor, action, entity_type, entity_key, before_json, after_json, plugin, "
    "plugin_version, prev_hash, hash, key_id"
)

GENESIS = "0" * 64
CHECKPOINT_FORMAT = "zoo-audit-checkpoint/1"


def canonical_json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def format_time(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    prev_hash: str,
    at: dt.datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_key: str,
    before_json: str | None,
    after_json: str | None,
    plugin: str | None,
    plugin_version: str | None,
    *,
    seq: int | None = None,
    key: bytes | None = None,
) -> str:
    """The event's hash: HMAC-SHA256 with ``key`` over ``seq`` and the fields, or (no
    key: an event written before audit keys) sha256 over the fields."""
    fields = [
        prev_hash,
        format_time(at),
        actor,
        action,
        entity_type,
        entity_key,
        before_json,
        after_json,
        plugin,
        plugin_version,
    ]
    if key is None:
        payload = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()
    payload = json.dumps(["zoo-audit/2", seq, *fields, key_id(key)], separators=(",", ":"), ensure_ascii=False)
    return sign(key, payload)


def _checkpoint_message(seq: int, digest: str, kid: str) -> str:
    return f"{CHECKPOINT_FORMAT}\n{seq}\n{digest}\n{kid}"


def make_checkpoint(seq: int, digest: str, keyring: AuditKeyring, *, registry: str, at: dt.datetime) -> dict[str, Any]:
    """The signed head, as written to a checkpoint file."""
    return {
        "format": CHECKPOINT_FORMAT,
        "registry": registry,
        "created_at": format_time(at),
        "seq": seq,
        "hash": digest,
        "key_id": keyring.current_id,
        "signature": sign(keyring.current, _checkpoint_message(seq, digest, keyring.current_id)),
    }


@dataclass(frozen=True)
class AuditVerification:
    """The result of checking the whole chain. ``keyed`` / ``legacy`` count the events
    signed with an audit key and those from before keys; ``checkpoint`` is the seq of
    the checkpoint the trail was checked against, if any."""

    ok: bool
    events: int
    head: str
    problems: tuple[str, ...]
    keyed: int = 0
    legacy: int = 0
    key_ids: tuple[str, ...] = ()
    checkpoint: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "head": self.head,
            "problems": list(self.problems),
            "keyed": self.keyed,
            "legacy": self.legacy,
            "key_ids": list(self.key_ids),
            "checkpoint": self.checkpoint,
        }


def _checkpoint_problems(checkpoint: Any, keyring: AuditKeyring | None) -> tuple[int | None, str | None, list[str]]:
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        return None, None, ["the checkpoint is not a zoo audit checkpoint"]
    seq, digest, kid, signature = (checkpoint.get(k) for k in ("seq", "hash", "key_id", "signature"))
    if (
        isinstance(seq, bool)
        or not isinstance(seq, int)
        or seq < 0
        or not isinstance(digest, str)
        or not isinstance(kid, str)
        or not isinstance(signature, str)
    ):
        return None, None, ["the checkpoint lacks seq, hash, key_id or signature"]
    key = keyring.get(kid) if keyring is not None else None
    if key is None:
        return seq, digest, [f"the checkpoint is signed with audit key {kid}, which is not available here"]
    if not hmac.compare_digest(sign(key, _checkpoint_message(seq, digest, kid)), signature):
        return seq, digest, ["the checkpoint's signature does not match: the file was altered or forged"]
    return seq, digest, []


def check_chain(
    rows: Iterable[Any],
    recorded_head: str | None,
    keyring: AuditKeyring | None = None,
    checkpoint: dict[str, Any] | None = None,
) -> AuditVerification:
    """Recompute the chain over ``rows`` (``SELECT CHAIN_COLUMNS ... ORDER BY seq``),
    compare its end with the head recorded in ``zoo_settings`` and, if given, check the
    checkpoint (its signature, and that its event is still in the chain unchanged)."""
    problems: list[str] = []
    cp_seq, cp_hash = None, None
    if checkpoint is not None:
        cp_seq, cp_hash, found = _checkpoint_problems(checkpoint, keyring)
        problems += found
    prev = GENESIS
    count = keyed = legacy = 0
    missing_keys: set[str] = set()
    used: set[str] = set()
    cp_found = cp_seq == 0 and cp_hash == GENESIS
    kid = None
    for (
        seq,
        at,
        actor,
        action,
        entity_type,
        entity_key,
        before,
        after,
        plugin,
        plugin_version,
        prev_hash,
        digest,
        kid,
    ) in rows:
        count += 1
        at = at if isinstance(at, dt.datetime) else dt.datetime.fromisoformat(str(at))
        if prev_hash != prev:
            problems.append(
                f"event {seq}: does not follow the previous event "
                "(an event before it was removed, inserted or reordered)"
            )
        fields = (prev_hash, at, actor, action, entity_type, entity_key, before, after, plugin, plugin_version)
        if kid is None:
            legacy += 1
            if keyed:
                problems.append(
                    f"event {seq}: has no audit key although earlier events have one (written without the key: forged)"
                )
            elif event_hash(*fields) != digest:
                problems.append(f"event {seq}: content does not match its hash (edited)")
        else:
            keyed += 1
            used.add(kid)
            key = keyring.get(kid) if keyring is not None else None
            if key is None:
                missing_keys.add(kid)
            elif not hmac.compare_digest(event_hash(*fields, seq=seq, key=key), str(digest)):
                problems.append(
                    f"event {seq}: content does not match its signature (edited, or written without the audit key)"
                )
        if cp_seq is not None and seq == cp_seq:
            cp_found = True
            if digest != cp_hash:
                problems.append(f"event {seq}: differs from the checkpoint (the trail was rewritten)")
        prev = digest
        if len(problems) > 100:
            problems.append("... stopped after 100 problems")
            break
    for kid in sorted(missing_keys):
        problems.append(
            f"events signed with audit key {kid} cannot be checked: the key is not available "
            "(set ZOO_AUDIT_KEY_FILE or ZOO_AUDIT_KEY to the registry's key file or keys)"
        )
    if cp_seq is not None and not cp_found and len(problems) <= 100:
        problems.append(f"the checkpoint's event {cp_seq} is not in the trail (events were removed)")
    if kid is None and count and len(problems) <= 100:
        problems.append(
            "the newest event has no audit key: the trail was rewritten without the key "
            "(events written before audit keys are followed by a keyed one since schema 0003)"
        )
    if recorded_head is None:
        problems.append("the chain head (zoo_settings.audit_head) is missing")
    elif recorded_head != prev and len(problems) <= 100:
        problems.append("the recorded chain head is not the newest event: events were removed, or added outside zoo")
    return AuditVerification(
        ok=not problems,
        events=count,
        head=prev,
        problems=tuple(problems),
        keyed=keyed,
        legacy=legacy,
        key_ids=tuple(sorted(used)),
        checkpoint=cp_seq if checkpoint is not None else None,
    )

"""The advisor's rows in the registry (tables ``transfer_scores`` and
``drift_references``, migration 0007_transfer): written in one audited transaction
each, through the registry's own write path, so a failure leaves nothing behind."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from zoo.errors import ZooIntegrityError, ZooTransferError
from zoo.registry.schema import DriftReferenceRow, TransferScoreRow, WeightsRow

__all__ = ["BEST_ON_DATA_SQL", "drift_reference", "save_drift_reference", "save_scores", "scores_for"]

# docs/schema.md carries this statement verbatim (tests/test_transfer.py runs it).
BEST_ON_DATA_SQL = """SELECT candidate, value
FROM transfer_scores
WHERE data_fingerprint = :fingerprint AND method = :method
ORDER BY CASE WHEN higher_is_better THEN value ELSE -value END DESC
LIMIT 1"""


@contextmanager
def _read_session(registry: Any) -> Iterator[Session]:
    """A read-only ORM session on the registry's engine (one transaction, rolled back)."""
    with Session(registry.engine) as session:  # closing rolls the read transaction back
        yield session


def save_scores(registry: Any, rows: Sequence[dict[str, Any]], *, actor: str | None = None) -> int:
    """Insert rank results (one dict per candidate x method, see ``TransferScoreRow``);
    ``weights`` names the candidate's registered weights (``None`` for a control). One
    transaction, one audit event per candidate."""
    with registry._write(actor=actor) as (session, audit):
        ids: dict[str, int | None] = {}
        for row in rows:
            name = row.get("weights")
            if name not in ids:
                ids[name] = registry._reader(session).resolve_id(name) if name else None
        values = []
        for row in rows:
            values.append(
                {
                    "weights_id": ids[row.get("weights")],
                    "candidate": row["candidate"],
                    "data_fingerprint": row["data_fingerprint"],
                    "data_name": row.get("data_name"),
                    "num_examples": int(row["num_examples"]),
                    "num_classes": int(row["num_classes"]),
                    "method": row["method"],
                    "value": float(row["value"]),
                    "higher_is_better": bool(row["higher_is_better"]),
                    "plugin": row.get("plugin"),
                    "created_at": audit.at,
                    "created_by": audit.actor,
                }
            )
        if values:
            session.execute(insert(TransferScoreRow), values)
        by_candidate: dict[str, dict[str, float]] = {}
        for v in values:
            by_candidate.setdefault(v["candidate"], {})[v["method"]] = v["value"]
        for candidate, scores in by_candidate.items():
            audit.record(
                "transfer.rank",
                "weights",
                candidate[:256],
                None,
                {"data_fingerprint": values[0]["data_fingerprint"], "scores": scores},
            )
    return len(values)


def scores_for(registry: Any, data_fingerprint: str | None = None) -> list[dict[str, Any]]:
    """The stored rank results, newest first (all, or those on one data fingerprint)."""
    with _read_session(registry) as session:
        query = select(TransferScoreRow).order_by(TransferScoreRow.id.desc())
        if data_fingerprint is not None:
            query = query.where(TransferScoreRow.data_fingerprint == data_fingerprint)
        return [
            {
                c: getattr(r, c)
                for c in (
                    "candidate",
                    "weights_id",
                    "data_fingerprint",
                    "data_name",
                    "num_examples",
                    "num_classes",
                    "method",
                    "value",
                    "higher_is_better",
                    "created_at",
                    "created_by",
                )
            }
            for r in session.scalars(query)
        ]


def save_drift_reference(
    registry: Any,
    name: str,
    blob: bytes,
    *,
    data_fingerprint: str | None,
    num_samples: int,
    feature_dim: int,
    projection_dim: int,
    projection_seed: int,
    actor: str | None = None,
) -> str:
    """Store (or replace) the drift reference of registered weights ``name``; returns its sha256."""
    digest = hashlib.sha256(blob).hexdigest()
    with registry._write(actor=actor) as (session, audit):
        weights_id = registry._reader(session).resolve_id(name)
        row = session.get(WeightsRow, weights_id)
        before = session.scalar(select(DriftReferenceRow.sha256).where(DriftReferenceRow.weights_id == weights_id))
        session.execute(delete(DriftReferenceRow).where(DriftReferenceRow.weights_id == weights_id))
        session.execute(
            insert(DriftReferenceRow).values(
                weights_id=weights_id,
                data_fingerprint=data_fingerprint,
                num_samples=num_samples,
                feature_dim=feature_dim,
                projection_dim=projection_dim,
                projection_seed=projection_seed,
                sha256=digest,
                payload=base64.b64encode(blob).decode("ascii"),
                created_at=audit.at,
                created_by=audit.actor,
            )
        )
        audit.record(
            "drift.reference",
            "weights",
            f"{row.name}@{row.version}",
            {"sha256": before} if before else None,
            {"sha256": digest, "num_samples": num_samples, "data_fingerprint": data_fingerprint},
        )
    return digest


def drift_reference(registry: Any, name: str) -> tuple[dict[str, Any], bytes]:
    """``(metadata, blob)`` of the drift reference of ``name``; the blob's sha256 is
    checked. A model registered without one is a ``ZooTransferError``."""
    with _read_session(registry) as session:
        weights_id = registry._reader(session).resolve_id(name)
        row = session.get(DriftReferenceRow, weights_id)
        if row is None:
            raise ZooTransferError(
                "name",
                f"{name} has no drift reference (it was not registered by zoo.finetune(register_as=...), "
                "or was registered before drift references existed)",
                hint="fine-tune and register it again, or call zoo.transfer.reference(name, train_data) to store one",
            )
        blob = base64.b64decode(row.payload)
        if hashlib.sha256(blob).hexdigest() != row.sha256:
            raise ZooIntegrityError(
                f"the drift reference of {name} does not match its sha256 (the row was edited)",
                hint="store a new reference with zoo.transfer.reference(name, train_data)",
            )
        meta = {
            "weights_id": weights_id,
            "data_fingerprint": row.data_fingerprint,
            "num_samples": row.num_samples,
            "feature_dim": row.feature_dim,
            "projection_dim": row.projection_dim,
            "projection_seed": row.projection_seed,
            "sha256": row.sha256,
            "created_at": row.created_at,
        }
    return meta, blob

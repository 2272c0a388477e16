"""Named audit queries. Each is ONE SQL statement over the documented schema
(docs/schema.md), portable between SQLite and PostgreSQL, with bound parameters only
(filter values never become SQL text). ``zoo audit NAME`` runs them; auditors can copy
the SQL and adapt it.

An entry carries everything about its query: the SQL, its parameters (what
``Registry.audit_query(NAME, **params)`` takes, and the ``zoo audit`` argument and help
each becomes), the binder that turns them into the bound values, and the SQL types of
the bound values the database cannot infer. A new query is one entry here plus its
section in docs/schema.md; the read layer and the CLI derive the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from zoo.errors import ZooNotFoundError, ZooValidationError
from zoo.records import CommercialUse
from zoo.registry._conn import naive_utc, wildcard_to_like

if TYPE_CHECKING:  # pragma: no cover
    from zoo.records import DatasetInfo


class Lookups(Protocol):
    """What a binder may ask the registry (:class:`zoo.registry._reads.RegistryReader`)."""

    def resolve_id(self, name: str) -> int: ...

    def dataset(self, name: str) -> DatasetInfo: ...


@dataclass(frozen=True)
class QueryParam:
    """One argument of a named query: ``Registry.audit_query(NAME, name=...)`` and, on the
    command line, ``zoo audit NAME TARGET`` (``positional``) or ``--name VALUE``
    (``many``: repeatable, a list)."""

    name: str
    help: str
    positional: bool = False
    required: bool = False
    many: bool = False


Binder = Callable[[Mapping[str, Any], Lookups], dict[str, Any]]


def _no_params(_args: Mapping[str, Any], _lookups: Lookups) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    sql: str
    params: tuple[QueryParam, ...] = ()
    binder: Binder = field(default=_no_params, repr=False, compare=False)
    types: Mapping[str, str] = field(default_factory=dict)
    """SQL types (:data:`zoo.registry._conn.PARAM_TYPES`) of bound values, so that the
    database knows the type of a NULL and SQLite compares times as they are stored."""

    def bind(self, args: Mapping[str, Any], lookups: Lookups) -> dict[str, Any]:
        """The caller's arguments -> the bound values, validated by the entry's binder."""
        known = {p.name for p in self.params}
        unknown = sorted(set(args) - known)
        if unknown:
            raise ZooValidationError(
                unknown[0],
                f"audit query {self.name!r} takes no parameter {unknown[0]!r}",
                hint=f"it takes: {', '.join(sorted(known)) or 'none'}",
            )
        for param in self.params:
            if param.required and not args.get(param.name):
                raise ZooValidationError(param.name, f"audit query {self.name!r} needs {param.name}: {param.help}")
        return self.binder(args, lookups)


@dataclass(frozen=True)
class QueryResult:
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    truncated: bool = False
    """True when more rows matched than were asked for (``max_rows``)."""

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=False)) for row in self.rows]


# trained-on aggregates the recursive walk on ids first and looks the names up afterwards,
# for the distinct rows only. revoked-in-lineage instead carries the names through its
# (short) walk: each step is then a few index lookups, and PostgreSQL, which cannot
# estimate a recursive CTE's size, no longer joins the whole weights table at the end.
TRAINED_ON = NamedQuery(
    "trained-on",
    "Weights pretrained or fine-tuned on DATASET, directly or through an ancestor "
    "(`via` names the ancestor that was trained on it).",
    """
WITH RECURSIVE carried(weights_id, via_id, depth) AS (
    SELECT wd.weights_id, wd.weights_id, 0
      FROM weights_datasets wd JOIN datasets d ON d.id = wd.dataset_id
     WHERE d.name = :dataset AND wd.role IN ('pretrain', 'finetune')
    UNION
    SELECT l.child_id, c.via_id, c.depth + 1
      FROM lineage l JOIN carried c ON l.parent_id = c.weights_id
     WHERE c.depth < 64
),
shortest(weights_id, via_id, depth) AS (
    SELECT weights_id, via_id, MIN(depth) FROM carried GROUP BY weights_id, via_id
)
SELECT w.name, w.version, w.status, w.license_spdx,
       v.name || '@' || CAST(v.version AS VARCHAR(12)) AS via, s.depth
  FROM shortest s
  JOIN weights w ON w.id = s.weights_id
  JOIN weights v ON v.id = s.via_id
 ORDER BY w.name, w.version, via
""",
    params=(QueryParam("dataset", "the dataset name, e.g. imagenet-1k", positional=True, required=True),),
    binder=lambda args, lookups: _bind_trained_on(args, lookups),
)

# The effective commercial use is the most restrictive statement in a weights' lineage:
# its licence, each ancestor's licence, and the terms of every dataset it or an ancestor
# was pretrained or fine-tuned on (ranked forbidden > unknown > conditional > allowed).
LICENCES = NamedQuery(
    "licences",
    "Weights whose effective commercial use (licence, parents' licences and the training "
    "data's terms together) is forbidden or not stated (or any chosen values), with a reason.",
    """
WITH RECURSIVE up(root, id, depth) AS (
    SELECT w.id, w.id, 0 FROM weights w
    UNION
    SELECT up.root, l.parent_id, up.depth + 1 FROM lineage l JOIN up ON l.child_id = up.id
     WHERE up.depth < 64
),
statements(root, commercial_use, reason) AS (
    SELECT up.root, w.commercial_use,
           CASE WHEN up.depth = 0 THEN 'licence ' || w.license_spdx
                ELSE CASE WHEN up.depth = 1 THEN 'parent ' ELSE 'ancestor ' END
                     || w.name || '@' || CAST(w.version AS VARCHAR(12)) || ': licence ' || w.license_spdx END
      FROM up JOIN weights w ON w.id = up.id
    UNION
    SELECT up.root, d.commercial_use, 'data ' || d.name || ': terms ' || d.terms_spdx
      FROM up
      JOIN weights_datasets wd ON wd.weights_id = up.id AND wd.role IN ('pretrain', 'finetune')
      JOIN datasets d ON d.id = wd.dataset_id
),
ranked(root, commercial_use, reason, rank) AS (
    SELECT root, commercial_use, reason,
           CASE commercial_use WHEN 'forbidden' THEN 3 WHEN 'unknown' THEN 2
                               WHEN 'conditional' THEN 1 ELSE 0 END
      FROM statements
),
worst(root, rank) AS (SELECT root, MAX(rank) FROM ranked GROUP BY root)
SELECT w.name, w.version, w.license_spdx, w.commercial_use AS licence_commercial_use,
       r.commercial_use AS effective_commercial_use, MIN(r.reason) AS reason, w.publisher
  FROM worst
  JOIN ranked r ON r.root = worst.root AND r.rank = worst.rank
  JOIN weights w ON w.id = worst.root
 WHERE r.commercial_use IN :commercial
 GROUP BY w.name, w.version, w.license_spdx, w.commercial_use, r.commercial_use, w.publisher
 ORDER BY effective_commercial_use, w.name, w.version
""",
    params=(
        QueryParam(
            "commercial",
            "the effective commercial-use values to list (default: forbidden and unknown)",
            many=True,
        ),
    ),
    binder=lambda args, _lookups: {"commercial": commercial_values(args.get("commercial"))},
)

MISSING_BIAS_NOTES = NamedQuery(
    "missing-bias-notes",
    "Weights with no bias or limitation note: none of their own, none of an ancestor's, "
    "and none on a dataset that they or an ancestor were trained on.",
    """
WITH RECURSIVE up(root, id, depth) AS (
    SELECT w.id, w.id, 0 FROM weights w
    UNION
    SELECT up.root, l.parent_id, up.depth + 1 FROM lineage l JOIN up ON l.child_id = up.id
     WHERE up.depth < 64
),
noted(root) AS (
    SELECT up.root FROM up JOIN card_sections c ON c.weights_id = up.id
     WHERE c.kind IN ('bias_risks', 'limitations')
    UNION
    SELECT up.root FROM up
      JOIN weights_datasets wd ON wd.weights_id = up.id AND wd.role IN ('pretrain', 'finetune')
      JOIN dataset_notes n ON n.dataset_id = wd.dataset_id
)
SELECT w.name, w.version, w.status, w.publisher
  FROM weights w
 WHERE w.id NOT IN (SELECT root FROM noted)
 ORDER BY w.name, w.version
""",
)

DATASETS_WITHOUT_NOTES = NamedQuery(
    "datasets-without-notes",
    "Datasets that weights were pretrained or fine-tuned on that have no bias or limitation "
    "note, with how many weights name them.",
    """
SELECT d.name, d.plugin, d.terms_spdx, d.commercial_use, COUNT(DISTINCT wd.weights_id) AS weights
  FROM datasets d
  JOIN weights_datasets wd ON wd.dataset_id = d.id AND wd.role IN ('pretrain', 'finetune')
 WHERE NOT EXISTS (SELECT 1 FROM dataset_notes n WHERE n.dataset_id = d.id)
 GROUP BY d.name, d.plugin, d.terms_spdx, d.commercial_use
 ORDER BY weights DESC, d.name
""",
)

LINEAGE = NamedQuery(
    "lineage",
    "Ancestors (what NAME was fine-tuned / distilled / quantized ... from) and "
    "descendants (what derives from it), transitively.",
    """
WITH RECURSIVE
up(id, relation, depth) AS (
    SELECT l.parent_id, l.relation, 1 FROM lineage l WHERE l.child_id = :weights_id
    UNION
    SELECT l.parent_id, l.relation, up.depth + 1 FROM lineage l JOIN up ON l.child_id = up.id
     WHERE up.depth < 64
),
down(id, relation, depth) AS (
    SELECT l.child_id, l.relation, 1 FROM lineage l WHERE l.parent_id = :weights_id
    UNION
    SELECT l.child_id, l.relation, down.depth + 1 FROM lineage l JOIN down ON l.parent_id = down.id
     WHERE down.depth < 64
)
SELECT 'ancestor' AS direction, w.name, w.version, up.relation, up.depth, w.status
  FROM up JOIN weights w ON w.id = up.id
UNION ALL
SELECT 'descendant', w.name, w.version, down.relation, down.depth, w.status
  FROM down JOIN weights w ON w.id = down.id
 ORDER BY 1, 5, 2, 3
""",
    params=(QueryParam("model", "the model whose lineage to show", positional=True, required=True),),
    binder=lambda args, lookups: {"weights_id": lookups.resolve_id(args["model"])},
    types={"weights_id": "int"},
)

# The filters run in the subquery, which needs only seq, actor, action and at: SQLite
# answers it from the covering index ix_audit_events_actor (actor, action, at) instead of
# reading the whole trail with its before/after JSON, and PostgreSQL plans each call with
# the NULL tests folded away. Only the matching events are then read by seq.
HISTORY = NamedQuery(
    "history",
    "Who registered or changed what, and when (the audit trail), filtered by actor, action prefix and time range.",
    """
SELECT e.seq, e.at, e.actor, e.action, e.entity_type, e.entity_key, e.plugin, e.plugin_version,
       e.before_json, e.after_json, e.prev_hash, e.hash, e.key_id
  FROM audit_events e
 WHERE e.seq IN (SELECT f.seq FROM audit_events f
                  WHERE (:actor IS NULL OR f.actor = :actor)
                    AND (:action IS NULL OR f.action LIKE :action)
                    AND (:since IS NULL OR f.at >= :since)
                    AND (:until IS NULL OR f.at < :until))
 ORDER BY e.seq
""",
    params=(
        QueryParam("actor", "who wrote the events (exact)"),
        QueryParam("action", "an action prefix, e.g. weights. or alias.move"),
        QueryParam("since", "an ISO date or date-time (UTC)"),
        QueryParam("until", "an ISO date or date-time (UTC), exclusive"),
    ),
    binder=lambda args, _lookups: _bind_history(args),
    types={"actor": "text", "action": "text", "since": "timestamp", "until": "timestamp"},
)

REVOKED_IN_LINEAGE = NamedQuery(
    "revoked-in-lineage",
    "Weights whose ancestry contains revoked weights.",
    """
WITH RECURSIVE tainted(id, name, version, status, revoked_ancestor, depth) AS (
    SELECT c.id, c.name, c.version, c.status, p.name || '@' || CAST(p.version AS VARCHAR(12)), 1
      FROM weights p
      JOIN lineage l ON l.parent_id = p.id
      JOIN weights c ON c.id = l.child_id
     WHERE p.status = 'revoked'
    UNION
    SELECT c.id, c.name, c.version, c.status, t.revoked_ancestor, t.depth + 1
      FROM tainted t
      JOIN lineage l ON l.parent_id = t.id
      JOIN weights c ON c.id = l.child_id
     WHERE t.depth < 64
)
SELECT name, version, status, revoked_ancestor, MIN(depth) AS depth
  FROM tainted
 GROUP BY name, version, status, revoked_ancestor
 ORDER BY name, version, revoked_ancestor
""",
)

QUERIES: Mapping[str, NamedQuery] = {
    q.name: q
    for q in (TRAINED_ON, LICENCES, MISSING_BIAS_NOTES, DATASETS_WITHOUT_NOTES, LINEAGE, HISTORY, REVOKED_IN_LINEAGE)
}


def get_query(name: str) -> NamedQuery:
    try:
        return QUERIES[name]
    except KeyError:
        import difflib

        raise ZooNotFoundError(
            "audit query",
            name,
            difflib.get_close_matches(name, list(QUERIES), 3),
            hint="known queries: " + ", ".join(QUERIES),
        ) from None


def commercial_values(values: Sequence[str] | None) -> list[str]:
    """Default: what an auditor worries about (forbidden or not stated)."""
    if not values:
        return [CommercialUse.FORBIDDEN.value, CommercialUse.UNKNOWN.value]
    return [CommercialUse.parse(v, "commercial").value for v in values]


def parse_time(value: str | dt.datetime | None, field: str) -> dt.datetime | None:
    """ISO dates or date-times; aware values are converted to naive UTC as stored."""
    if value is None or isinstance(value, dt.datetime):
        parsed = value
    else:
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ZooValidationError(
                field, f"{value!r} is not a date", hint="use ISO 8601, e.g. 2026-11-27 or 2026-11-27T13:00:00Z"
            ) from None
    return naive_utc(parsed) if parsed is not None else None


def _bind_trained_on(args: Mapping[str, Any], lookups: Lookups) -> dict[str, Any]:
    dataset = (args.get("dataset") or "").strip().lower()
    if not dataset:
        raise ZooValidationError("dataset", "name the dataset, e.g. imagenet-1k")
    lookups.dataset(dataset)  # an unknown dataset (a typo) is an error, not 0 rows
    return {"dataset": dataset}


def _bind_history(args: Mapping[str, Any]) -> dict[str, Any]:
    action = args.get("action")
    return {
        "actor": args.get("actor") or None,
        "action": wildcard_to_like(action) + "%" if action else None,
        "since": parse_time(args.get("since"), "since"),
        "until": parse_time(args.get("until"), "until"),
    }

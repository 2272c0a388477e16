"""The registry schema: SQLAlchemy 2.0 typed models.

Every audited field has its own typed column (no key/value bag) so that each audit
question is one SQL statement; closed vocabularies are CHECK constraints, so the
database refuses a bad value even from raw SQL. docs/schema.md documents every
table and column; Alembic migrations under ``migrations/`` create them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from zoo.limits import CHOICE, IMPORT, KIND, LABEL, NAME, PLUGIN  # one place for the lengths records check
from zoo.records import CommercialUse, DatasetRole, Modality, Relation, SectionKind, Severity, Status

# Bumped together with a new Alembic revision; the registry refuses a database whose
# revision it does not know (a newer zoo wrote it).
from zoo.registry._location import SCHEMA_REVISION  # noqa: F401  (re-exported)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON}


class FamilyRow(Base):
    """An architecture a plugin can build."""

    __tablename__ = "families"
    __table_args__ = (CheckConstraint(_in("modality", Modality.values()), name="ck_families_modality"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME), unique=True)
    modality: Mapped[str] = mapped_column(String(CHOICE))
    task: Mapped[str] = mapped_column(String(LABEL))
    builder: Mapped[str] = mapped_column(String(IMPORT))
    builder_kwargs: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    head: Mapped[str | None] = mapped_column(String(PLUGIN))
    default_tag: Mapped[str | None] = mapped_column(String(NAME))
    preprocessing: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text)
    paper_url: Mapped[str | None] = mapped_column(Text)
    plugin: Mapped[str | None] = mapped_column(String(PLUGIN))
    plugin_version: Mapped[str | None] = mapped_column(String(LABEL))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(NAME))


class WeightsRow(Base):
    """One checkpoint. Catalogue weights are ``name = arch.tag`` (version 1);
    registered models are ``name = namespace/name`` with versions 1, 2, ..."""

    __tablename__ = "weights"
    __table_args__ = (
        UniqueConstraint("name", "version", name="uq_weights_name_version"),
        UniqueConstraint("family_id", "tag", name="uq_weights_family_tag"),
        CheckConstraint(_in("status", Status.values()), name="ck_weights_status"),
        CheckConstraint(_in("commercial_use", CommercialUse.values()), name="ck_weights_commercial_use"),
        CheckConstraint(_in("format", ("safetensors", "pickle")), name="ck_weights_format"),
        CheckConstraint("version >= 1", name="ck_weights_version"),
        CheckConstraint("sha256 IS NULL OR length(sha256) = 64", name="ck_weights_sha256"),
        Index("ix_weights_family", "family_id"),
        Index("ix_weights_license", "license_spdx", "commercial_use"),
        Index("ix_weights_status", "status"),
        Index("ix_weights_sha256", "sha256"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME))
    version: Mapped[int] = mapped_column(Integer)
    family_id: Mapped[int] = mapped_column(ForeignKey("families.id"))
    tag: Mapped[str | None] = mapped_column(String(NAME))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    sha256: Mapped[str | None] = mapped_column(String(64))
    sha256_prefix: Mapped[str | None] = mapped_column(String(64))
    # Set when zoo pinned the sha256 itself (not declared): the commit the bytes were
    # fetched at (later fetches ask for that commit) and where the pin came from.
    pinned_revision: Mapped[str | None] = mapped_column(String(64))
    pin_origin: Mapped[str | None] = mapped_column(Text)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    format: Mapped[str] = mapped_column(String(CHOICE))
    license_spdx: Mapped[str] = mapped_column(String(LABEL))
    commercial_use: Mapped[str] = mapped_column(String(CHOICE))
    license_url: Mapped[str | None] = mapped_column(Text)
    license_note: Mapped[str | None] = mapped_column(Text)
    publisher: Mapped[str | None] = mapped_column(String(NAME))
    paper_title: Mapped[str | None] = mapped_column(Text)
    paper_url: Mapped[str | None] = mapped_column(Text)
    recipe: Mapped[str | None] = mapped_column(Text)
    num_params: Mapped[int | None] = mapped_column(BigInteger)
    num_classes: Mapped[int | None] = mapped_column(Integer)
    preprocessing: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(CHOICE))
    status_reason: Mapped[str | None] = mapped_column(Text)
    plugin: Mapped[str | None] = mapped_column(String(PLUGIN))
    plugin_version: Mapped[str | None] = mapped_column(String(LABEL))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(NAME))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_by: Mapped[str] = mapped_column(String(NAME))


class SourceRow(Base):
    """Where a checkpoint is fetched from; mirrors first, then by position."""

    __tablename__ = "sources"
    __table_args__ = (UniqueConstraint("weights_id", "uri", name="uq_sources_weights_uri"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    weights_id: Mapped[int] = mapped_column(ForeignKey("weights.id"))
    uri: Mapped[str] = mapped_column(Text)
    is_mirror: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer)


class DatasetRow(Base):
    """A dataset: declared by a plugin (``zoo_datasets``, with its terms and notes) or
    only named by a weights record (``plugin`` NULL, terms unknown)."""

    __tablename__ = "datasets"
    __table_args__ = (
        CheckConstraint(_in("commercial_use", CommercialUse.values()), name="ck_datasets_commercial_use"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME), unique=True)
    url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    size: Mapped[str | None] = mapped_column(Text)
    collection: Mapped[str | None] = mapped_column(Text)
    # The data's terms of use, apart from any weights' licence.
    terms_spdx: Mapped[str] = mapped_column(String(64), default="NOASSERTION", server_default="NOASSERTION")
    commercial_use: Mapped[str] = mapped_column(String(16), default="unknown", server_default="unknown")
    terms_url: Mapped[str | None] = mapped_column(Text)
    terms_note: Mapped[str | None] = mapped_column(Text)
    plugin: Mapped[str | None] = mapped_column(String(128))
    plugin_version: Mapped[str | None] = mapped_column(String(64))


class DatasetNoteRow(Base):
    """A dataset's bias or limitation note; every weights trained on the dataset
    (directly or through a parent) shows it."""

    __tablename__ = "dataset_notes"
    __table_args__ = (
        CheckConstraint(_in("kind", ("bias_risks", "limitations")), name="ck_dataset_notes_kind"),
        CheckConstraint("severity IS NULL OR " + _in("severity", Severity.values()), name="ck_dataset_notes_severity"),
        Index("ix_dataset_notes_dataset", "dataset_id", "position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    citations: Mapped[list[str]] = mapped_column(JSON)
    severity: Mapped[str | None] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer)


class WeightsDatasetRow(Base):
    """Which dataset a checkpoint was trained or evaluated on, and in which role."""

    __tablename__ = "weights_datasets"
    __table_args__ = (
        CheckConstraint(_in("role", DatasetRole.values()), name="ck_weights_datasets_role"),
        Index("ix_weights_datasets_dataset", "dataset_id", "role"),
    )

    weights_id: Mapped[int] = mapped_column(ForeignKey("weights.id"), primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(CHOICE), primary_key=True)


class MetricRow(Base):
    """A reported number: value of metric on dataset/split."""

    __tablename__ = "metrics"
    __table_args__ = (UniqueConstraint("weights_id", "dataset", "split", "metric", name="uq_metrics"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    weights_id: Mapped[int] = mapped_column(ForeignKey("weights.id"))
    dataset: Mapped[str] = mapped_column(String(NAME))
    split: Mapped[str] = mapped_column(String(LABEL))
    metric: Mapped[str] = mapped_column(String(LABEL))
    value: Mapped[float] = mapped_column(Float)


class CardSectionRow(Base):
    """A model-card section; bias notes are kinds ``bias_risks`` and ``limitations``."""

    __tablename__ = "card_sections"
    __table_args__ = (
        CheckConstraint(_in("kind", SectionKind.values()), name="ck_card_sections_kind"),
        CheckConstraint("severity IS NULL OR " + _in("severity", Severity.values()), name="ck_card_sections_severity"),
        Index("ix_card_sections_weights", "weights_id", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    weights_id: Mapped[int] = mapped_column(ForeignKey("weights.id"))
    kind: Mapped[str] = mapped_column(String(KIND))
    title: Mapped[str | None] = mapped_column(String(NAME))
    body: Mapped[str] = mapped_column(Text)
    citations: Mapped[list[str]] = mapped_column(JSON)
    severity: Mapped[str | None] = mapped_column(String(CHOICE))
    inherited_from: Mapped[str | None] = mapped_column(String(NAME))
    position: Mapped[int] = mapped_column(Integer)
    # The plugin that declared the section (a sync may replace only its own sections).
    plugin: Mapped[str | None] = mapped_column(String(PLUGIN))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(NAME))


class LineageRow(Base):
    """``child`` was derived from ``parent`` by ``relation``."""

    __tablename__ = "lineage"
    __table_args__ = (
        CheckConstraint(_in("relation", Relation.values()), name="ck_lineage_relation"),
        CheckConstraint("child_id <> parent_id", name="ck_lineage_not_self"),
        Index("ix_lineage_parent", "parent_id"),
    )

    child_id: Mapped[int] = mapped_column(ForeignKey("weights.id"), primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("weights.id"), primary_key=True)
    relation: Mapped[str] = mapped_column(String(CHOICE))


class TagRow(Base):
    """Free keywords for search (``imagenet``, ``mobile`` ...)."""

    __tablename__ = "tags"
    __table_args__ = (Index("ix_tags_tag", "tag"),)

    weights_id: Mapped[int] = mapped_column(ForeignKey("weights.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(LABEL), primary_key=True)


class AliasRow(Base):
    """``name@alias`` points at one version of ``name``; moving it is audited."""

    __tablename__ = "aliases"
    __table_args__ = (UniqueConstraint("name", "alias", name="uq_aliases_name_alias"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME))
    alias: Mapped[str] = mapped_column(String(LABEL))
    weights_id: Mapped[int] = mapped_column(ForeignKey("weights.id"))


class TransferScoreRow(Base):
    """One transferability score of one candidate backbone on one labelled data set
    (``zoo.rank``): the data is named by its content fingerprint, so "which backbone
    ranked best on this data" is one query (docs/schema.md). ``weights_id`` is NULL for a
    control without weights (the architecture with random weights)."""

    __tablename__ = "transfer_scores"
    __table_args__ = (Index("ix_transfer_scores_data", "data_fingerprint", "method"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    weights_id: Mapped[int | None] = mapped_column(ForeignKey("weights.id"))
    candidate: Mapped[str] = mapped_column(String(NAME))
    data_fingerprint: Mapped[str] = mapped_column(String(64))
    data_name: Mapped[str | None] = mapped_column(String(NAME))
    num_examples: Mapped[int] = mapped_column(Integer)
    num_classes: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(LABEL))
    value: Mapped[float] = mapped_column(Float)
    higher_is_better: Mapped[bool] = mapped_column(Boolean)
    plugin: Mapped[str | None] = mapped_column(String(PLUGIN))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(NAME))


class DriftReferenceRow(Base):
    """The compact reference of a registered (fine-tuned) model's training features that
    ``zoo drift`` tests new data against: a seeded random projection of a sample of the
    pooled features, stored as base64 safetensors (``payload``, sha256 ``sha256``)."""

    __tablename__ = "drift_references"

    weights_id: Mapped[int] = mapped_column(ForeignKey("weights.id"), primary_key=True)
    data_fingerprint: Mapped[str | None] = mapped_column(String(64))
    num_samples: Mapped[int] = mapped_column(Integer)
    feature_dim: Mapped[int] = mapped_column(Integer)
    projection_dim: Mapped[int] = mapped_column(Integer)
    projection_seed: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(NAME))


class AuditEventRow(Base):
    """The append-only audit trail. Triggers refuse UPDATE and DELETE; each event's
    ``hash`` covers its fields and ``prev_hash``, so an edit or removal is detected."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_entity", "entity_key"),
        Index("ix_audit_events_at", "at"),
        # Covers the history query's filters (actor, action prefix, time range).
        Index("ix_audit_events_actor", "actor", "action", "at"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(NAME))
    action: Mapped[str] = mapped_column(String(KIND))
    entity_type: Mapped[str] = mapped_column(String(KIND))
    entity_key: Mapped[str] = mapped_column(String(IMPORT))
    # Canonical JSON text, hashed exactly as stored (cast to json/jsonb to query into it).
    before_json: Mapped[str | None] = mapped_column(Text)
    after_json: Mapped[str | None] = mapped_column(Text)
    plugin: Mapped[str | None] = mapped_column(String(PLUGIN))
    plugin_version: Mapped[str | None] = mapped_column(String(LABEL))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The audit key that signed the event (a digest of the key, never the key itself);
    # NULL for events written before audit keys, which keep their plain sha256.
    key_id: Mapped[str | None] = mapped_column(String(16))


class SettingRow(Base):
    """Registry-wide settings (``application = zoo`` marks a zoo database)."""

    __tablename__ = "zoo_settings"

    key: Mapped[str] = mapped_column(String(LABEL), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# Append-only enforcement, per dialect. Used by the migration and by the tests.
SQLITE_AUDIT_TRIGGERS = (
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END""",
)

# A new event may not reuse the seq or hash of an existing one: SQLite's INSERT OR
# REPLACE deletes the old row without firing DELETE triggers (unless recursive_triggers
# is on), so the refusal must come before the insert. An upsert (ON CONFLICT DO UPDATE)
# is refused here too, and by the UPDATE trigger.
SQLITE_AUDIT_INSERT_TRIGGERS = (
    """CREATE TRIGGER audit_events_no_overwrite BEFORE INSERT ON audit_events
WHEN EXISTS (SELECT 1 FROM audit_events WHERE seq = NEW.seq)
  OR EXISTS (SELECT 1 FROM audit_events WHERE hash = NEW.hash)
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: an event with this seq or hash exists'); END""",
)

POSTGRESQL_AUDIT_INSERT_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION zoo_audit_no_overwrite() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- Two lookups, each on its own unique index: one "seq = ... OR hash = ..." made the
  -- planner scan the whole trail for every inserted event (quadratic bulk writes).
  IF EXISTS (SELECT 1 FROM audit_events WHERE seq = NEW.seq)
     OR EXISTS (SELECT 1 FROM audit_events WHERE hash = NEW.hash) THEN
    RAISE EXCEPTION 'audit_events is append-only: an event with this seq or hash exists'
      USING ERRCODE = 'unique_violation';
  END IF;
  RETURN NEW;
END $$""",
    """CREATE TRIGGER audit_events_no_overwrite BEFORE INSERT ON audit_events
FOR EACH ROW EXECUTE FUNCTION zoo_audit_no_overwrite()""",
)

POSTGRESQL_AUDIT_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION zoo_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$""",
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION zoo_audit_append_only()""",
    """CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
FOR EACH STATEMENT EXECUTE FUNCTION zoo_audit_append_only()""",
)

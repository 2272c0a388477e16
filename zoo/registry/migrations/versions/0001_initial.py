"""The initial registry schema: catalogue tables, the audit trail and its
append-only triggers.

Revision ID: 0001_initial
Revises:
"""

import sqlalchemy as sa
from alembic import op

from zoo.registry.schema import POSTGRESQL_AUDIT_TRIGGERS, SQLITE_AUDIT_TRIGGERS

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_key", sa.String(length=256), nullable=False),
        sa.Column("before_json", sa.Text(), nullable=True),
        sa.Column("after_json", sa.Text(), nullable=True),
        sa.Column("plugin", sa.String(length=128), nullable=True),
        sa.Column("plugin_version", sa.String(length=64), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("hash"),
    )
    op.create_index("ix_audit_events_actor", "audit_events", ["actor", "action", "at"], unique=False)
    op.create_index("ix_audit_events_at", "audit_events", ["at"], unique=False)
    op.create_index("ix_audit_events_entity", "audit_events", ["entity_key"], unique=False)
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "families",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("modality", sa.String(length=16), nullable=False),
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.Column("builder", sa.String(length=256), nullable=False),
        sa.Column("builder_kwargs", sa.JSON(), nullable=True),
        sa.Column("head", sa.String(length=128), nullable=True),
        sa.Column("default_tag", sa.String(length=200), nullable=True),
        sa.Column("preprocessing", sa.JSON(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("paper_url", sa.Text(), nullable=True),
        sa.Column("plugin", sa.String(length=128), nullable=True),
        sa.Column("plugin_version", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint("modality IN ('vision', 'text', 'multimodal')", name="ck_families_modality"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "zoo_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "weights",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("family_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=200), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("sha256_prefix", sa.String(length=64), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("license_spdx", sa.String(length=64), nullable=False),
        sa.Column("commercial_use", sa.String(length=16), nullable=False),
        sa.Column("license_url", sa.Text(), nullable=True),
        sa.Column("license_note", sa.Text(), nullable=True),
        sa.Column("publisher", sa.String(length=200), nullable=True),
        sa.Column("paper_title", sa.Text(), nullable=True),
        sa.Column("paper_url", sa.Text(), nullable=True),
        sa.Column("recipe", sa.Text(), nullable=True),
        sa.Column("num_params", sa.BigInteger(), nullable=True),
        sa.Column("num_classes", sa.Integer(), nullable=True),
        sa.Column("preprocessing", sa.JSON(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("plugin", sa.String(length=128), nullable=True),
        sa.Column("plugin_version", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "commercial_use IN ('allowed', 'forbidden', 'conditional', 'unknown')", name="ck_weights_commercial_use"
        ),
        sa.CheckConstraint("format IN ('safetensors', 'pickle')", name="ck_weights_format"),
        sa.CheckConstraint("status IN ('active', 'deprecated', 'revoked')", name="ck_weights_status"),
        sa.CheckConstraint("sha256 IS NULL OR length(sha256) = 64", name="ck_weights_sha256"),
        sa.CheckConstraint("version >= 1", name="ck_weights_version"),
        sa.ForeignKeyConstraint(
            ["family_id"],
            ["families.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("family_id", "tag", name="uq_weights_family_tag"),
        sa.UniqueConstraint("name", "version", name="uq_weights_name_version"),
    )
    op.create_index("ix_weights_family", "weights", ["family_id"], unique=False)
    op.create_index("ix_weights_license", "weights", ["license_spdx", "commercial_use"], unique=False)
    op.create_index("ix_weights_sha256", "weights", ["sha256"], unique=False)
    op.create_index("ix_weights_status", "weights", ["status"], unique=False)
    op.create_table(
        "aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("alias", sa.String(length=64), nullable=False),
        sa.Column("weights_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["weights_id"],
            ["weights.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "alias", name="uq_aliases_name_alias"),
    )
    op.create_table(
        "card_sections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("weights_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("citations", sa.JSON(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("inherited_from", sa.String(length=200), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("plugin", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "kind IN ('intended_use', 'out_of_scope_use', 'limitations', 'bias_risks', 'recommendations')",
            name="ck_card_sections_kind",
        ),
        sa.CheckConstraint(
            "severity IS NULL OR severity IN ('low', 'medium', 'high')", name="ck_card_sections_severity"
        ),
        sa.ForeignKeyConstraint(
            ["weights_id"],
            ["weights.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_card_sections_weights", "card_sections", ["weights_id", "kind"], unique=False)
    op.create_table(
        "lineage",
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "relation IN ('finetune', 'adapter', 'distill', 'quantize', 'prune')", name="ck_lineage_relation"
        ),
        sa.CheckConstraint("child_id <> parent_id", name="ck_lineage_not_self"),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["weights.id"],
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["weights.id"],
        ),
        sa.PrimaryKeyConstraint("child_id", "parent_id"),
    )
    op.create_index("ix_lineage_parent", "lineage", ["parent_id"], unique=False)
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("weights_id", sa.Integer(), nullable=False),
        sa.Column("dataset", sa.String(length=200), nullable=False),
        sa.Column("split", sa.String(length=64), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["weights_id"],
            ["weights.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("weights_id", "dataset", "split", "metric", name="uq_metrics"),
    )
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("weights_id", sa.Integer(), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("is_mirror", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["weights_id"],
            ["weights.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("weights_id", "uri", name="uq_sources_weights_uri"),
    )
    op.create_table(
        "tags",
        sa.Column("weights_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["weights_id"],
            ["weights.id"],
        ),
        sa.PrimaryKeyConstraint("weights_id", "tag"),
    )
    op.create_index("ix_tags_tag", "tags", ["tag"], unique=False)
    op.create_table(
        "weights_datasets",
        sa.Column("weights_id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.CheckConstraint("role IN ('pretrain', 'finetune', 'eval')", name="ck_weights_datasets_role"),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
        ),
        sa.ForeignKeyConstraint(
            ["weights_id"],
            ["weights.id"],
        ),
        sa.PrimaryKeyConstraint("weights_id", "dataset_id", "role"),
    )
    op.create_index("ix_weights_datasets_dataset", "weights_datasets", ["dataset_id", "role"], unique=False)
    dialect = op.get_bind().dialect.name
    triggers = POSTGRESQL_AUDIT_TRIGGERS if dialect == "postgresql" else SQLITE_AUDIT_TRIGGERS
    for statement in triggers:
        op.execute(statement)
    settings = sa.table("zoo_settings", sa.column("key", sa.String), sa.column("value", sa.Text))
    op.bulk_insert(settings, [{"key": "application", "value": "zoo"}, {"key": "audit_head", "value": "0" * 64}])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS zoo_audit_append_only() CASCADE")
    op.drop_index("ix_weights_datasets_dataset", table_name="weights_datasets")
    op.drop_table("weights_datasets")
    op.drop_index("ix_tags_tag", table_name="tags")
    op.drop_table("tags")
    op.drop_table("sources")
    op.drop_table("metrics")
    op.drop_index("ix_lineage_parent", table_name="lineage")
    op.drop_table("lineage")
    op.drop_index("ix_card_sections_weights", table_name="card_sections")
    op.drop_table("card_sections")
    op.drop_table("aliases")
    op.drop_index("ix_weights_status", table_name="weights")
    op.drop_index("ix_weights_sha256", table_name="weights")
    op.drop_index("ix_weights_license", table_name="weights")
    op.drop_index("ix_weights_family", table_name="weights")
    op.drop_table("weights")
    op.drop_table("zoo_settings")
    op.drop_table("families")
    op.drop_table("datasets")
    op.drop_index("ix_audit_events_entity", table_name="audit_events")
    op.drop_index("ix_audit_events_at", table_name="audit_events")
    op.drop_index("ix_audit_events_actor", table_name="audit_events")
    op.drop_table("audit_events")

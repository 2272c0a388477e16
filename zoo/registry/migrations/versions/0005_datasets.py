"""Datasets as facts of their own: terms of use, size, collection, declaring plugin, and
their bias and limitation notes (table ``dataset_notes``). Existing dataset rows are kept
(terms NOASSERTION / commercial use unknown until a plugin declares them).

Revision ID: 0005_datasets
Revises: 0003_audit_key
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_datasets"
down_revision = "0003_audit_key"
branch_labels = None
depends_on = None

_NEW_COLUMNS = (
    ("title", sa.String(length=200)),
    ("description", sa.Text()),
    ("size", sa.Text()),
    ("collection", sa.Text()),
    ("terms_url", sa.Text()),
    ("terms_note", sa.Text()),
    ("plugin", sa.String(length=128)),
    ("plugin_version", sa.String(length=64)),
)


_COMMERCIAL_CHECK = "commercial_use IN ('allowed', 'forbidden', 'conditional', 'unknown')"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # In place: a batch rebuild would drop `datasets`, which weights_datasets references,
        # and SQLite refuses that with foreign keys on (an existing registry always has them on).
        # SQLite's ADD COLUMN takes a NOT NULL default and a CHECK on the new column itself.
        for name, type_ in _NEW_COLUMNS:
            op.add_column("datasets", sa.Column(name, type_, nullable=True))
        op.execute("ALTER TABLE datasets ADD COLUMN terms_spdx VARCHAR(64) NOT NULL DEFAULT 'NOASSERTION'")
        op.execute(
            "ALTER TABLE datasets ADD COLUMN commercial_use VARCHAR(16) NOT NULL DEFAULT 'unknown' "
            f"CONSTRAINT ck_datasets_commercial_use CHECK ({_COMMERCIAL_CHECK})"
        )
        _create_notes()
        return
    with op.batch_alter_table("datasets") as batch:
        for name, type_ in _NEW_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
        batch.add_column(sa.Column("terms_spdx", sa.String(length=64), nullable=False, server_default="NOASSERTION"))
        batch.add_column(sa.Column("commercial_use", sa.String(length=16), nullable=False, server_default="unknown"))
        batch.create_check_constraint("ck_datasets_commercial_use", _COMMERCIAL_CHECK)
    _create_notes()


def _create_notes() -> None:
    op.create_table(
        "dataset_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("citations", sa.JSON(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('bias_risks', 'limitations')", name="ck_dataset_notes_kind"),
        sa.CheckConstraint(
            "severity IS NULL OR severity IN ('low', 'medium', 'high')", name="ck_dataset_notes_severity"
        ),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dataset_notes_dataset", "dataset_notes", ["dataset_id", "position"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_dataset_notes_dataset", table_name="dataset_notes")
    op.drop_table("dataset_notes")
    if op.get_bind().dialect.name == "sqlite":  # in place, as upgrade()
        for name in ("commercial_use", "terms_spdx", *(n for n, _ in _NEW_COLUMNS)):
            op.execute(f"ALTER TABLE datasets DROP COLUMN {name}")
        return
    with op.batch_alter_table("datasets") as batch:
        batch.drop_constraint("ck_datasets_commercial_use", type_="check")
        for name in ("commercial_use", "terms_spdx", *(n for n, _ in _NEW_COLUMNS)):
            batch.drop_column(name)

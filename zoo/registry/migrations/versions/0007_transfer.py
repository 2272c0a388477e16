"""The transfer advisor: ``transfer_scores`` (one row per candidate, data fingerprint
and score from ``zoo.rank``) and ``drift_references`` (a registered model's compact
feature reference for ``zoo drift``). Two new tables; nothing existing changes.

Revision ID: 0007_transfer
Revises: 0006_compress
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_transfer"
down_revision = "0006_compress"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transfer_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("weights_id", sa.Integer(), nullable=True),
        sa.Column("candidate", sa.String(length=200), nullable=False),
        sa.Column("data_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("data_name", sa.String(length=200), nullable=True),
        sa.Column("num_examples", sa.Integer(), nullable=False),
        sa.Column("num_classes", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("higher_is_better", sa.Boolean(), nullable=False),
        sa.Column("plugin", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["weights_id"], ["weights.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_transfer_scores_data", "transfer_scores", ["data_fingerprint", "method"], unique=False)
    op.create_table(
        "drift_references",
        sa.Column("weights_id", sa.Integer(), nullable=False),
        sa.Column("data_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("num_samples", sa.Integer(), nullable=False),
        sa.Column("feature_dim", sa.Integer(), nullable=False),
        sa.Column("projection_dim", sa.Integer(), nullable=False),
        sa.Column("projection_seed", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["weights_id"], ["weights.id"]),
        sa.PrimaryKeyConstraint("weights_id"),
    )


def downgrade() -> None:
    op.drop_table("drift_references")
    op.drop_index("ix_transfer_scores_data", table_name="transfer_scores")
    op.drop_table("transfer_scores")

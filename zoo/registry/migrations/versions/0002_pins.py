"""Pins: the revision (commit) a checkpoint's sha256 was pinned at, and where the pin
came from (the Hub's attestation on first fetch, a local file, a hash given by hand).

Revision ID: 0002_pins
Revises: 0001_initial
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_pins"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both databases (SQLite >= 3.35 drops columns in place): a batch
# rebuild of `weights` would trip the foreign keys that point at it.
def upgrade() -> None:
    op.add_column("weights", sa.Column("pinned_revision", sa.String(length=64), nullable=True))
    op.add_column("weights", sa.Column("pin_origin", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("weights", "pin_origin")
    op.drop_column("weights", "pinned_revision")

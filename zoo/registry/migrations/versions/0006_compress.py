"""Relation ``export``: a compressed or exported model (ONNX, ``torch.export``) is a
registered child of the weights it was made from (``zoo.compress``).

Revision ID: 0006_compress
Revises: 0005_datasets
"""

from alembic import op

revision = "0006_compress"
down_revision = "0005_datasets"
branch_labels = None
depends_on = None

_BEFORE = ("finetune", "adapter", "distill", "quantize", "prune")
_AFTER = _BEFORE + ("export",)


def _relations(values: tuple[str, ...]) -> str:
    return "relation IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    # batch mode: SQLite cannot change a CHECK constraint in place (the table is copied).
    with op.batch_alter_table("lineage") as batch:
        batch.drop_constraint("ck_lineage_relation", type_="check")
        batch.create_check_constraint("ck_lineage_relation", _relations(_AFTER))


def downgrade() -> None:
    op.execute("DELETE FROM lineage WHERE relation = 'export'")
    with op.batch_alter_table("lineage") as batch:
        batch.drop_constraint("ck_lineage_relation", type_="check")
        batch.create_check_constraint("ck_lineage_relation", _relations(_BEFORE))

"""Keyed audit trail: each event names the audit key that signed it (``key_id``; NULL
for the events written before, which keep their plain sha256), and the database refuses
an insert that would overwrite an event (SQLite's INSERT OR REPLACE).

A trail that already holds events gets a first keyed event, ``audit.keyed``, signed
with the audit key over the last unkeyed event's hash: from then on the newest event is
always keyed, so rewriting the whole trail without the key does not verify.

Revision ID: 0003_audit_key
Revises: 0002_pins
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_audit_key"
down_revision = "0002_pins"
branch_labels = None
depends_on = None

# The triggers as this revision made them (0008_audit_trigger replaces their lookup).
POSTGRESQL_AUDIT_INSERT_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION zoo_audit_no_overwrite() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM audit_events WHERE seq = NEW.seq OR hash = NEW.hash) THEN
    RAISE EXCEPTION 'audit_events is append-only: an event with this seq or hash exists'
      USING ERRCODE = 'unique_violation';
  END IF;
  RETURN NEW;
END $$""",
    """CREATE TRIGGER audit_events_no_overwrite BEFORE INSERT ON audit_events
FOR EACH ROW EXECUTE FUNCTION zoo_audit_no_overwrite()""",
)
SQLITE_AUDIT_INSERT_TRIGGERS = (
    """CREATE TRIGGER audit_events_no_overwrite BEFORE INSERT ON audit_events
WHEN EXISTS (SELECT 1 FROM audit_events WHERE seq = NEW.seq OR hash = NEW.hash)
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: an event with this seq or hash exists'); END""",
)


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("key_id", sa.String(length=16), nullable=True))
    dialect = op.get_bind().dialect.name
    for statement in POSTGRESQL_AUDIT_INSERT_TRIGGERS if dialect == "postgresql" else SQLITE_AUDIT_INSERT_TRIGGERS:
        op.execute(statement)
    _seal_legacy_events(op.get_bind())


def _seal_legacy_events(conn) -> None:
    from zoo.registry._audit import seal_legacy_events

    seal_legacy_events(conn)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_overwrite ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS zoo_audit_no_overwrite()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_overwrite")
    op.drop_column("audit_events", "key_id")

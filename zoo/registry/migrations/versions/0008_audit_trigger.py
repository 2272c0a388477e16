"""The audit trail's no-overwrite insert trigger looks an event up by ``seq`` and by
``hash`` in two index lookups. The trigger of 0003_audit_key asked for ``seq = NEW.seq
OR hash = NEW.hash`` in one statement, which PostgreSQL planned as a scan of the whole
trail for every inserted event: bulk registrations slowed down as the trail grew
(measured: 2,000 records took 1.4 s on an empty registry and 4.4 s at 16,000 events;
with the two lookups, 1.4-1.7 s throughout). What the trigger refuses is unchanged.

Revision ID: 0008_audit_trigger
Revises: 0007_transfer
"""

from alembic import op

from zoo.registry.schema import POSTGRESQL_AUDIT_INSERT_TRIGGERS, SQLITE_AUDIT_INSERT_TRIGGERS

revision = "0008_audit_trigger"
down_revision = "0007_transfer"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_AUDIT_INSERT_TRIGGERS[0])  # CREATE OR REPLACE FUNCTION: the trigger calls it
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_overwrite")
        for statement in SQLITE_AUDIT_INSERT_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_previous("POSTGRESQL_AUDIT_INSERT_TRIGGERS")[0])
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_overwrite")
        for statement in _previous("SQLITE_AUDIT_INSERT_TRIGGERS"):
            op.execute(statement)


def _previous(name: str) -> tuple[str, ...]:
    """The triggers as 0003_audit_key made them (a migration file is not a module path)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).with_name("0003_audit_key.py")
    spec = importlib.util.spec_from_file_location("zoo_migration_0003", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(getattr(module, name))

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

from zoo.registry.schema import POSTGRESQL_AUDIT_INSERT_TRIGGERS, SQLITE_AUDIT_INSERT_TRIGGERS

revision = "0003_audit_key"
down_revision = "0002_pins"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("key_id", sa.String(length=16), nullable=True))
    dialect = op.get_bind().dialect.name
    for statement in POSTGRESQL_AUDIT_INSERT_TRIGGERS if dialect == "postgresql" else SQLITE_AUDIT_INSERT_TRIGGERS:
        op.execute(statement)
    _seal_legacy_events(op.get_bind())


def _seal_legacy_events(conn) -> None:
    from zoo.registry._chain import event_hash
    from zoo.registry._keys import load_keyring
    from zoo.registry._store import default_actor, utc_now

    last = conn.execute(sa.text("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")).first()
    if last is None:
        return
    keyring = load_keyring(create=True)
    count = conn.execute(sa.text("SELECT count(*) FROM audit_events")).scalar_one()
    seq, at, actor = last[0] + 1, utc_now(), default_actor()[:200]
    after = '{"legacy_events":%d,"sealed_head":"%s"}' % (count, last[1])
    fields = dict(seq=seq, at=at, actor=actor, action="audit.keyed", entity_type="audit",
                  entity_key="audit_events", before_json=None, after_json=after, plugin=None,
                  plugin_version=None, prev_hash=last[1], key_id=keyring.current_id)
    fields["hash"] = event_hash(last[1], at, actor, "audit.keyed", "audit", "audit_events", None, after,
                                None, None, seq=seq, key=keyring.current)
    conn.execute(sa.text("INSERT INTO audit_events (seq, at, actor, action, entity_type, entity_key, before_json, "
                         "after_json, plugin, plugin_version, prev_hash, hash, key_id) VALUES (:seq, :at, :actor, "
                         ":action, :entity_type, :entity_key, :before_json, :after_json, :plugin, "
                         ":plugin_version, :prev_hash, :hash, :key_id)").bindparams(sa.bindparam("at", type_=sa.DateTime())),
                 fields)
    conn.execute(sa.text("UPDATE zoo_settings SET value = :h WHERE key = 'audit_head'"), {"h": fields["hash"]})


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_overwrite ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS zoo_audit_no_overwrite()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_overwrite")
    op.drop_column("audit_events", "key_id")

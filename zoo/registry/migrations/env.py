"""Alembic environment: zoo runs migrations in-process on a connection it opened
(``zoo db upgrade`` or the first use of a new registry), never from an ini file."""

from alembic import context

from zoo.registry.schema import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

"""Alembic's environment for the state store, run by :mod:`segmentry.store.migrate` with the
connection to migrate, already in the transaction that holds the store's migration lock."""

from __future__ import annotations

from alembic import context

from segmentry.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    # NOTE: SQLite alters most columns only by copying the table: autogenerate writes batches.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

"""Alembic environment of the cell database; offpath passes the connection in."""

from __future__ import annotations

from alembic import context

from offpath.db.cell_schema import CellBase

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=CellBase.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

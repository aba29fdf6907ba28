"""Alembic environment of the api database; offpath passes the connection in."""

from __future__ import annotations

from alembic import context

# Their tables join ApiBase's metadata.
from offpath.db import identity_schema, network_schema  # noqa: F401
from offpath.db.api_schema import ApiBase

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=ApiBase.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

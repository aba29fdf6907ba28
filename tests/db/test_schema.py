"""Migrations build exactly the models' schema; sync is idempotent; an old schema is refused."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

# Their tables join ApiBase's metadata.
from offpath.db import identity_schema, network_schema  # noqa: F401
from offpath.db.api_schema import ApiBase
from offpath.db.cell_schema import CellBase
from offpath.db.engine import open_engine
from offpath.db.schema_version import SchemaKind, current, head, require, sync
from offpath.errors import DatabaseSchemaOutdated, DatabaseUnavailable, DatabaseUrlInvalid

METADATA = {SchemaKind.API: ApiBase.metadata, SchemaKind.CELL: CellBase.metadata}


@pytest.mark.parametrize("kind", list(SchemaKind))
def test_migrations_build_the_models_schema(engine: Engine, kind: SchemaKind) -> None:
    sync(engine, kind)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, METADATA[kind]) == []


@pytest.mark.parametrize("kind", list(SchemaKind))
def test_sync_is_idempotent(engine: Engine, kind: SchemaKind) -> None:
    assert sync(engine, kind) == (None, head(kind))
    assert sync(engine, kind) == (head(kind), head(kind))
    assert current(engine) == head(kind)


def test_a_database_never_synced_is_refused_with_the_command_to_run(engine: Engine) -> None:
    with pytest.raises(DatabaseSchemaOutdated) as caught:
        require(engine, SchemaKind.CELL)
    assert "never synced" in caught.value.message
    assert "offpath db sync" in caught.value.hint


def test_a_database_behind_is_refused(engine: Engine) -> None:
    sync(engine, SchemaKind.CELL)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    with pytest.raises(DatabaseSchemaOutdated, match="revision 0000"):
        require(engine, SchemaKind.CELL)


def test_an_unreachable_database_is_one_clear_error() -> None:
    engine = open_engine("postgresql+psycopg://nobody@127.0.0.1:1/nothing?connect_timeout=2")
    with pytest.raises(DatabaseUnavailable) as caught:
        current(engine)
    assert "127.0.0.1:1" in caught.value.message
    assert "\n" not in caught.value.message


@pytest.mark.parametrize(
    "url", ["not a url", "nosuchdriver://x/y", "postgresql+nosuchdbapi://h/db"]
)
def test_a_bad_url_is_invalid_input(url: str) -> None:
    with pytest.raises(DatabaseUrlInvalid):
        open_engine(url)

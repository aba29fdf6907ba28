"""Bringing a database to the current schema, and refusing one that is behind.

Each database kind has its own Alembic tree. `sync` is idempotent; `require`
is what every process calls before using a database, so an old schema is
one clear line naming the command to run instead of a failed query later.
"""

from __future__ import annotations

from enum import StrEnum
from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError as SqlOperationalError

from offpath.db.engine import describe, redacted
from offpath.errors import DatabaseSchemaOutdated, DatabaseUnavailable


class SchemaKind(StrEnum):
    """Which schema a database holds."""

    API = "api"
    CELL = "cell"


def _config(kind: SchemaKind) -> Config:
    config = Config()
    location = Path(str(files("offpath.db.migrations").joinpath(kind.value)))
    config.set_main_option("script_location", str(location))
    return config


def head(kind: SchemaKind) -> str:
    """The newest revision of `kind`'s schema."""
    found = ScriptDirectory.from_config(_config(kind)).get_current_head()
    assert found is not None, f"no migrations for {kind}"
    return found


def current(engine: Engine) -> str | None:
    """The revision the database is at; None for a database never synced."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except SqlOperationalError as exc:
        raise DatabaseUnavailable(redacted(str(engine.url)), describe(exc)) from None


def sync(engine: Engine, kind: SchemaKind) -> tuple[str | None, str]:
    """Upgrade the database to the newest schema; (revision before, revision after)."""
    before = current(engine)
    config = _config(kind)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SqlOperationalError as exc:
        raise DatabaseUnavailable(redacted(str(engine.url)), describe(exc)) from None
    return before, head(kind)


def require(engine: Engine, kind: SchemaKind) -> None:
    """Refuse a database whose schema is not the newest; DatabaseSchemaOutdated says what to run."""
    found = current(engine)
    wanted = head(kind)
    if found != wanted:
        raise DatabaseSchemaOutdated(redacted(str(engine.url)), kind.value, found, wanted)

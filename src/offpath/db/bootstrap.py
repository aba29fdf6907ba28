"""`offpath db sync`: the API database, cell0 and the default cell, brought to the current schema.

Idempotent, like `nova-manage api_db sync` + `cell_v2 simple_cell_setup` +
`db sync` in one: the first run registers cell0 and cell1, every run
upgrades the API database and every registered cell's database.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from offpath.db.api_schema import CellRow
from offpath.db.cells import CELL0_NAME, Cell, list_cells, register_cell
from offpath.db.engine import open_engine, reading, redacted
from offpath.db.schema_version import SchemaKind, sync
from offpath.service_config import ServiceConfig

DEFAULT_CELL_NAME = "cell1"


@dataclass(frozen=True, slots=True)
class SyncedDatabase:
    """One database `db sync` looked at: which, and the revisions before and after."""

    name: str
    url: str
    before: str | None
    after: str

    def line(self) -> str:
        """One line for the CLI."""
        if self.before == self.after:
            return f"{self.name}: {self.url} already at revision {self.after}"
        start = self.before or "empty"
        return f"{self.name}: {self.url} upgraded {start} -> {self.after}"


def sync_all(config: ServiceConfig) -> list[SyncedDatabase]:
    """Bring every database of the deployment to the current schema; register missing cells."""
    api = open_engine(config.api_database_url)
    done: list[SyncedDatabase] = []
    try:
        before, after = sync(api, SchemaKind.API)
        done.append(SyncedDatabase("api", redacted(config.api_database_url), before, after))
        with reading(api) as session:
            names = set(session.scalars(select(CellRow.name)))
        wanted: list[tuple[str, str, str | None]] = [(CELL0_NAME, config.cell0_database_url, None)]
        wanted.append((DEFAULT_CELL_NAME, config.cell_database_url, config.transport_url))
        created: set[str] = set()
        for name, url, transport in wanted:
            if name not in names:
                register_cell(api, name=name, database_url=url, transport_url=transport)
                created.add(name)
        with reading(api) as session:
            cells: list[Cell] = list_cells(session)
        for cell in cells:
            engine = open_engine(cell.database_url)
            try:
                before, after = sync(engine, SchemaKind.CELL)
            finally:
                engine.dispose()
            # A cell registered just now was synced from empty by its registration.
            before = None if cell.name in created else before
            done.append(SyncedDatabase(cell.name, redacted(cell.database_url), before, after))
    finally:
        api.dispose()
    return done

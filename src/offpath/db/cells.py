"""The cells of a deployment: registered in the API database, each with its own database.

`CellDatabases` opens each cell's engine once and keeps it; every process
that spans cells (API, conductor, scheduler) holds one.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from offpath.db.api_schema import CellRow
from offpath.db.engine import open_engine, reading, redacted, writing
from offpath.db.schema_version import SchemaKind, require, sync
from offpath.errors import CellExists, CellNotFound

# Nova's name for the cell that holds instances no host would take.
CELL0_NAME = "cell0"


@dataclass(frozen=True, slots=True)
class Cell:
    """A registered cell: where its database and its message queue are."""

    uuid: str
    name: str
    database_url: str
    transport_url: str | None

    @classmethod
    def of_row(cls, row: CellRow) -> Cell:
        """The cell an API database row records."""
        return cls(row.uuid, row.name, row.database_url, row.transport_url)

    @property
    def is_cell0(self) -> bool:
        """True for the cell of instances that never got a host."""
        return self.name == CELL0_NAME

    def to_json(self) -> dict[str, str | None]:
        """The cell as `offpath cell list --json` shows it, passwords hidden."""
        return {
            "uuid": self.uuid,
            "name": self.name,
            "database_url": redacted(self.database_url),
            "transport_url": redacted(self.transport_url) if self.transport_url else None,
        }


def list_cells(session: Session) -> list[Cell]:
    """Every cell, cell0 first, then by name."""
    rows = session.scalars(select(CellRow)).all()
    return sorted((Cell.of_row(row) for row in rows), key=lambda c: (not c.is_cell0, c.name))


def find_cell(session: Session, name_or_uuid: str) -> Cell:
    """The cell with that name or uuid; CellNotFound otherwise."""
    row = session.scalars(
        select(CellRow).where((CellRow.name == name_or_uuid) | (CellRow.uuid == name_or_uuid))
    ).first()
    if row is None:
        raise CellNotFound(name_or_uuid)
    return Cell.of_row(row)


def register_cell(
    api: Engine, *, name: str, database_url: str, transport_url: str | None = None
) -> Cell:
    """Register a cell and bring its database to the current schema; CellExists if taken."""
    with writing(api) as session:
        if session.scalars(select(CellRow).where(CellRow.name == name)).first() is not None:
            raise CellExists(name)
    # Sync before registering: a cell whose database cannot be reached is not recorded.
    engine = open_engine(database_url)
    try:
        sync(engine, SchemaKind.CELL)
    finally:
        engine.dispose()
    with writing(api) as session:
        if session.scalars(select(CellRow).where(CellRow.name == name)).first() is not None:
            raise CellExists(name)
        row = CellRow(
            uuid=str(uuid.uuid4()),
            name=name,
            database_url=database_url,
            transport_url=transport_url,
        )
        session.add(row)
        session.flush()
        return Cell.of_row(row)


class CellDatabases:
    """The API database and one engine per cell, opened on first use."""

    def __init__(self, api: Engine) -> None:
        self.api = api
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()
        self._listed: tuple[float, list[Cell]] | None = None

    def cells(self, *, max_age: float = 0.0) -> list[Cell]:
        """Every registered cell; a list read less than `max_age` seconds ago is reused."""
        listed = self._listed
        if max_age > 0 and listed is not None and time.monotonic() - listed[0] < max_age:
            return list(listed[1])
        read_at = time.monotonic()
        with reading(self.api) as session:
            found = list_cells(session)
        self._listed = (read_at, found)
        return list(found)

    def engine(self, cell: Cell) -> Engine:
        """The engine of `cell`'s database (opened once, schema checked once)."""
        with self._lock:
            engine = self._engines.get(cell.uuid)
            if engine is None:
                engine = open_engine(cell.database_url)
                require(engine, SchemaKind.CELL)
                self._engines[cell.uuid] = engine
            return engine

    def host_cells(self) -> Iterator[tuple[Cell, Engine]]:
        """Each cell that can hold hosts (all but cell0) with its engine."""
        for cell in self.cells():
            if not cell.is_cell0:
                yield cell, self.engine(cell)

    def dispose(self) -> None:
        """Close every connection pool."""
        with self._lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()
        self.api.dispose()

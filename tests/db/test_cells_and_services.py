"""Cells in the API database, services and their versions in each cell."""

from __future__ import annotations

import socket
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from offpath.db.api_schema import CellRow
from offpath.db.bootstrap import sync_all
from offpath.db.cells import CellDatabases, list_cells, register_cell
from offpath.db.columns import utcnow
from offpath.db.engine import open_engine, reading, writing
from offpath.db.schema_version import SchemaKind, sync
from offpath.db.services import (
    global_minimum,
    heartbeat,
    list_services,
    minimum_version,
    minimum_version_all_cells,
    register_service,
)
from offpath.errors import CellExists
from offpath.service_config import load_service_config
from offpath.version import COMPUTE_BINARY


def test_db_sync_creates_cell0_and_cell1_once(tmp_path: Path) -> None:
    config = load_service_config([], state_dir=tmp_path)
    first = sync_all(config)
    assert [d.name for d in first] == ["api", "cell0", "cell1"]
    assert all(d.before is None for d in first)
    again = sync_all(config)
    assert [d.before for d in again] == [d.after for d in again]
    with reading(open_engine(config.api_database_url)) as session:
        assert [c.name for c in list_cells(session)] == ["cell0", "cell1"]


def test_a_cell_name_is_registered_once(engine: Engine, tmp_path: Path) -> None:
    sync(engine, SchemaKind.API)
    url = f"sqlite:///{tmp_path / 'c2.sqlite'}"
    cell = register_cell(engine, name="c2", database_url=url, transport_url="rabbit://h//")
    assert cell.name == "c2"
    with pytest.raises(CellExists):
        register_cell(engine, name="c2", database_url=url)


def test_a_password_never_shows_in_a_cell_listing(tmp_path: Path) -> None:
    config = load_service_config([], state_dir=tmp_path)
    sync_all(config)
    api = open_engine(config.api_database_url)
    url = f"sqlite:///{tmp_path / 'c3.sqlite'}"
    cell = register_cell(api, name="c3", database_url=url, transport_url="rabbit://u:s3cret@h//")
    assert "s3cret" not in str(cell.to_json())


def test_services_register_once_and_heartbeat(engine: Engine) -> None:
    sync(engine, SchemaKind.CELL)
    with writing(engine) as session:
        register_service(session, host="h1", binary=COMPUTE_BINARY, topic="compute", version=1)
        register_service(session, host="h1", binary=COMPUTE_BINARY, topic="compute", version=2)
        assert heartbeat(session, host="h1", binary=COMPUTE_BINARY)
        assert not heartbeat(session, host="nope", binary=COMPUTE_BINARY)
    with reading(engine) as session:
        (service,) = list_services(session)
    assert service.version == 2
    assert service.is_up(service_down_time=60)
    later = utcnow() + timedelta(seconds=61)
    assert not service.is_up(service_down_time=60, now=later)


def test_minimum_version_ignores_zero(engine: Engine) -> None:
    sync(engine, SchemaKind.CELL)
    with writing(engine) as session:
        assert minimum_version(session, COMPUTE_BINARY) == 0
        register_service(session, host="a", binary=COMPUTE_BINARY, topic="compute", version=0)
        register_service(session, host="b", binary=COMPUTE_BINARY, topic="compute", version=2)
        register_service(session, host="c", binary=COMPUTE_BINARY, topic="compute", version=1)
        register_service(session, host="c", binary="other", topic=None, version=1)
        assert minimum_version(session, COMPUTE_BINARY) == 1


def _two_cells(tmp_path: Path) -> CellDatabases:
    config = load_service_config([], state_dir=tmp_path)
    sync_all(config)
    api = open_engine(config.api_database_url)
    register_cell(api, name="cell2", database_url=f"sqlite:///{tmp_path / 'cell2.sqlite'}")
    return CellDatabases(api)


def _add(cells: CellDatabases, name: str, host: str, version: int) -> None:
    cell = next(c for c in cells.cells() if c.name == name)
    with writing(cells.engine(cell)) as session:
        register_service(
            session, host=host, binary=COMPUTE_BINARY, topic="compute", version=version
        )


def test_minimum_across_cells(tmp_path: Path) -> None:
    cells = _two_cells(tmp_path)
    _add(cells, "cell1", "a", 2)
    _add(cells, "cell2", "b", 1)
    answers = minimum_version_all_cells(cells, COMPUTE_BINARY, timeout=5)
    assert {a.cell.name: a.value for a in answers} == {"cell1": 2, "cell2": 1}
    assert global_minimum(answers) == 1


def test_a_cell_whose_database_is_down_is_skipped(tmp_path: Path) -> None:
    cells = _two_cells(tmp_path)
    _add(cells, "cell1", "a", 2)
    api = cells.api
    register_cell(api, name="dead", database_url=f"sqlite:///{tmp_path / 'dead.sqlite'}")
    (tmp_path / "dead.sqlite").unlink()
    (tmp_path / "dead.sqlite").mkdir()  # now nothing can open it
    answers = minimum_version_all_cells(CellDatabases(api), COMPUTE_BINARY, timeout=5)
    by_name = {a.cell.name: a for a in answers}
    assert by_name["dead"].value is None
    assert by_name["dead"].problem
    assert global_minimum(answers) == 2


def test_a_cell_that_hangs_is_skipped_after_the_timeout(tmp_path: Path) -> None:
    cells = _two_cells(tmp_path)
    _add(cells, "cell1", "a", 2)
    # A server that accepts connections and never answers: the cell's
    # database connection hangs as behind a dead network path.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    url = f"postgresql+psycopg://nobody@127.0.0.1:{port}/db?connect_timeout=30"
    register_cell_row(cells, "hung", url)
    try:
        started = time.monotonic()
        answers = minimum_version_all_cells(cells, COMPUTE_BINARY, timeout=0.5)
        waited = time.monotonic() - started
    finally:
        silent.close()
    by_name = {a.cell.name: a for a in answers}
    assert by_name["cell1"].value == 2
    assert by_name["hung"].value is None
    assert "no answer within 0.5 s" in (by_name["hung"].problem or "")
    assert global_minimum(answers) == 2
    assert waited < 5


def register_cell_row(cells: CellDatabases, name: str, url: str) -> None:
    """Record a cell without syncing its database (one that cannot be reached)."""
    with writing(cells.api) as session:
        session.add(CellRow(uuid=str(uuid.uuid4()), name=name, database_url=url))

"""A synced deployment (API database, cell0, cell1) per test, on each backend when asked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from offpath.db.bootstrap import sync_all
from offpath.db.cells import CellDatabases
from offpath.db.engine import open_engine
from offpath.service_config import load_service_config
from tests.control.cluster import Cluster


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """An embedded deployment on SQLite under tmp_path."""
    config = load_service_config([], state_dir=tmp_path)
    sync_all(config)
    cells = CellDatabases(open_engine(config.api_database_url))
    yield Cluster(cells)
    cells.dispose()

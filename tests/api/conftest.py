"""An API worker over an embedded deployment on SQLite, per test.

Syncing three databases costs about half a second, so the deployment is
synced once per session and each test gets copies of its files, with the
cells re-pointed at the copies.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from offpath.db.api_schema import CellRow
from offpath.db.bootstrap import sync_all
from offpath.db.cells import CellDatabases
from offpath.db.engine import open_engine, writing
from offpath.service_config import load_service_config
from tests.api.world import World, world_of
from tests.control.cluster import Cluster


@pytest.fixture(scope="session")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding a synced embedded deployment (api, cell0, cell1)."""
    root = tmp_path_factory.mktemp("synced")
    sync_all(load_service_config([], state_dir=root))
    return root


def copied_cluster(synced: Path, root: Path) -> Cluster:
    """A copy of the synced deployment under `root`, its cells re-pointed at the copies."""
    for path in synced.iterdir():
        shutil.copy(path, root / path.name)
    config = load_service_config([], state_dir=root)
    api = open_engine(config.api_database_url)
    here = str(root.resolve())
    with writing(api) as session:
        for row in session.scalars(select(CellRow)):
            row.database_url = row.database_url.replace(str(synced.resolve()), here)
            assert here in row.database_url, row.database_url
    return Cluster(CellDatabases(api))


@pytest.fixture
def cluster(synced: Path, tmp_path: Path) -> Iterator[Cluster]:
    """A fresh copy of the synced deployment under tmp_path, with a conductor over it."""
    cluster = copied_cluster(synced, tmp_path)
    yield cluster
    cluster.cells.dispose()


@pytest.fixture(scope="module")
def module_cluster(synced: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """`cluster`, shared by a module's tests (for those that leave it as they found it)."""
    cluster = copied_cluster(synced, tmp_path_factory.mktemp("cluster"))
    yield cluster
    cluster.cells.dispose()


@pytest.fixture
def world(cluster: Cluster) -> Iterator[World]:
    """The API over `cluster`."""
    yield world_of(cluster)

"""A synced deployment (API database, cell0, cell1) per test, on each backend when asked."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from offpath.db.bootstrap import sync_all
from offpath.db.cells import CellDatabases
from offpath.db.engine import open_engine
from offpath.service_config import ServiceConfig, load_service_config
from tests.backends import BACKENDS, scratch_database
from tests.control.cluster import Cluster
from tests.control.operations_rig import OperationsRig, make_rig


def deployment_config(backend: str, tmp_path: Path, stack: ExitStack) -> ServiceConfig:
    """A config whose API, cell0 and cell1 databases are fresh ones on `backend`."""
    if backend == "sqlite":
        return load_service_config([], state_dir=tmp_path)
    base = f"offpath_t_{uuid.uuid4().hex[:10]}"
    api = stack.enter_context(scratch_database(backend, tmp_path, name=f"{base}_api"))
    cell = stack.enter_context(scratch_database(backend, tmp_path, name=base))
    # cell0's database is the cell's with a _cell0 suffix, as in Nova.
    stack.enter_context(scratch_database(backend, tmp_path, name=f"{base}_cell0"))
    conf = tmp_path / "offpath.conf"
    conf.write_text(f"[api_database]\nconnection = {api}\n[database]\nconnection = {cell}\n")
    return load_service_config([conf], state_dir=tmp_path)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """An embedded deployment on SQLite under tmp_path."""
    config = load_service_config([], state_dir=tmp_path)
    sync_all(config)
    cells = CellDatabases(open_engine(config.api_database_url))
    yield Cluster(cells)
    cells.dispose()


@contextmanager
def deployment(backend: str, tmp_path: Path) -> Iterator[tuple[ServiceConfig, Cluster]]:
    """A synced deployment on `backend`: its config and a cluster over it; dropped after."""
    with ExitStack() as stack:
        config = deployment_config(backend, tmp_path, stack)
        sync_all(config)
        cells = CellDatabases(open_engine(config.api_database_url))
        try:
            yield config, Cluster(cells)
        finally:
            cells.dispose()


@pytest.fixture(params=BACKENDS)
def any_cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    """A deployment on each backend in turn."""
    with deployment(str(request.param), tmp_path) as (_, cluster):
        yield cluster


@pytest.fixture
def ops(cluster: Cluster) -> Iterator[OperationsRig]:
    """The conductor's server operations over `cluster`, against scripted hosts."""
    rig = make_rig(cluster)
    yield rig
    rig.steps.release_all()
    rig.base.close()

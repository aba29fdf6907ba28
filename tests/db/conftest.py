"""Fixtures of the database tests: one scratch database per backend and test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from offpath.db.engine import open_engine
from tests.backends import BACKENDS, scratch_database


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each supported database backend in turn."""
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database on the backend, dropped after the test."""
    with scratch_database(backend, tmp_path) as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the scratch database."""
    engine = open_engine(database_url)
    yield engine
    engine.dispose()

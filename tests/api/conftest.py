"""An API worker over an embedded deployment on SQLite, per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.world import World, world_of
from tests.control.cluster import Cluster
from tests.control.conftest import cluster

__all__ = ["cluster"]


@pytest.fixture
def world(cluster: Cluster) -> Iterator[World]:
    """The API over `cluster`."""
    yield world_of(cluster)

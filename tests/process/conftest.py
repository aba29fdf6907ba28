"""Fixtures of the process tests: real offpath processes over RabbitMQ, or on a real OVN."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.network.ovn.conftest import central  # noqa: F401 - the OVN tests' fixture
from tests.process.cluster import Cluster
from tests.rabbit import scratch_vhost


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """Synced SQLite databases and a RabbitMQ virtual host of its own; processes stopped after."""
    with scratch_vhost() as url:
        cluster = Cluster(tmp_path, url)
        cluster.sync()
        try:
            yield cluster
        finally:
            cluster.stop_all()

"""Fixtures of the RPC tests: each test on the in-process transport and on RabbitMQ."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from offpath.rpc.transport import Rpc
from tests.rabbit import scratch_vhost


@pytest.fixture(scope="session")
def rabbit_url() -> Iterator[str]:
    """One RabbitMQ virtual host for this test process."""
    with scratch_vhost() as url:
        yield url


@pytest.fixture(params=["fake", "rabbit"])
def transport_url(request: pytest.FixtureRequest) -> str:
    """The in-process transport, then RabbitMQ."""
    if request.param == "fake":
        return "fake://"
    return str(request.getfixturevalue("rabbit_url"))


@pytest.fixture
def rpc(transport_url: str) -> Iterator[Rpc]:
    """An open transport with a short call timeout and its own exchange."""
    opened = Rpc(transport_url, exchange=f"offpath_t_{uuid.uuid4().hex[:8]}", call_timeout=5)
    yield opened
    opened.close()


@pytest.fixture
def topic() -> str:
    """A topic no other test uses."""
    return f"t_{uuid.uuid4().hex[:8]}"

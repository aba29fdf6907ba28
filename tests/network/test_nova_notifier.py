"""Server events reach the compute API over HTTP; a failure is logged, never breaks a bind."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from offpath.network.embedded import embedded_network_service
from offpath.network.nova_notifier import NovaNotifier, ServerEvent
from tests.network.conftest import ADMIN_HEADERS, TOKEN, full_profile, network_app
from tests.network.server import free_port, serving
from tests.network.test_dpu_sim_binding import SERVER, bind, make_network, make_port, register_dpu


class ComputeApi:
    """A stand-in compute API that records the events posted to it; fails the first `failures`."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received: list[tuple[str | None, Any]] = []
        self.app = FastAPI()
        self.app.post("/compute/v2.1/os-server-external-events")(self.events)

    async def events(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.received.append((request.headers.get("x-auth-token"), body))
        if self.failures:
            self.failures -= 1
            return JSONResponse({"computeFault": {"code": 500}}, status_code=500)
        return JSONResponse({"events": [{**e, "code": 200} for e in body["events"]]})


@pytest.fixture
def compute() -> Iterator[tuple[ComputeApi, str]]:
    api = ComputeApi()
    with serving(api.app) as url:
        yield api, f"{url}/compute/v2.1"


EVENT = ServerEvent("network-vif-plugged", SERVER, "port-1")


def test_an_event_is_posted_in_neutrons_shape_with_the_token(
    compute: tuple[ComputeApi, str],
) -> None:
    api, endpoint = compute
    notifier = NovaNotifier(endpoint, token="service-token")
    try:
        notifier.notify([EVENT])
    finally:
        notifier.close()
    assert api.received == [
        (
            "service-token",
            {
                "events": [
                    {
                        "name": "network-vif-plugged",
                        "server_uuid": SERVER,
                        "tag": "port-1",
                        "status": "completed",
                    }
                ]
            },
        )
    ]


def test_a_5xx_is_retried(compute: tuple[ComputeApi, str]) -> None:
    api, endpoint = compute
    api.failures = 1
    notifier = NovaNotifier(endpoint, token="t", backoff=0.01)
    try:
        notifier.notify([EVENT])
    finally:
        notifier.close()
    assert len(api.received) == 2


def test_an_unreachable_compute_api_is_logged_within_the_bounded_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    notifier = NovaNotifier(
        f"http://127.0.0.1:{free_port()}/compute/v2.1", token="t", timeout=0.5, backoff=0.01
    )
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="offpath.network.nova_notifier"):
        notifier.notify([EVENT])
    notifier.close()
    assert time.monotonic() - started < 5
    assert "not delivered" in caplog.text
    assert "after 3 attempts" in caplog.text


def test_a_bind_posts_vif_plugged_to_the_compute_api(
    api_engine: Engine, compute: tuple[ComputeApi, str]
) -> None:
    api, endpoint = compute
    notifier = NovaNotifier(endpoint, token=TOKEN)
    service = embedded_network_service(api_engine, events=notifier)
    http = TestClient(network_app(service), headers=ADMIN_HEADERS)
    register_dpu(http)
    port_id = make_port(http, make_network(http))
    bind(http, port_id, full_profile())
    notifier.close()
    assert [body["events"][0]["tag"] for _, body in api.received] == [port_id]


def test_a_bind_succeeds_when_the_compute_api_is_down(api_engine: Engine) -> None:
    notifier = NovaNotifier(f"http://127.0.0.1:{free_port()}", token=TOKEN, timeout=0.5)
    service = embedded_network_service(api_engine, events=notifier)
    http = TestClient(network_app(service), headers=ADMIN_HEADERS)
    register_dpu(http)
    assert bind(http, make_port(http, make_network(http)), full_profile())["status"] == "ACTIVE"
    notifier.close()

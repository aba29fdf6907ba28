"""Fixtures of the OVN tests: a real NB/SB ovsdb-server and ovn-northd per test, on loopback.

Each test gets its own databases (about 0.1 s to start) and stops them by
PID. Without the OVN packages the tests fail under CI and skip elsewhere,
saying how to install them.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from offpath.network.ovn.backend import OvnBackend
from offpath.network.ovn.central import OvnCentral
from offpath.network.ovn.config import OvnConfig
from offpath.network.ovn.sim_controller import SimOvnController
from offpath.network.service import NetworkService
from offpath.sim.dpu import SimDpu
from tests.network.conftest import ADMIN_HEADERS, PF_MACS, SERIAL, RecordingSink, network_app

# Short enough that a silent chassis is seen dead within a test.
DOWN_TIME = timedelta(seconds=2)
WAIT = 10.0


def wait_for(check: Callable[[], Any], *, timeout: float = WAIT, what: str = "") -> Any:
    """Poll `check` until it returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or check}")
        time.sleep(0.01)


def require_ovn() -> None:
    """Fail under CI, skip elsewhere, when OVN's packages are not installed."""
    if shutil.which("ovn-northd") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("ovn-northd is missing: scripts/install-system-packages installs it")
        pytest.skip("OVN is not installed: run scripts/install-system-packages")


@pytest.fixture
def central(tmp_path: Path) -> Iterator[OvnCentral]:
    """NB and SB ovsdb-servers with ovn-northd, on free 127.0.0.1 ports."""
    require_ovn()
    with OvnCentral(tmp_path / "ovn") as started:
        yield started


@pytest.fixture
def ovn_config(central: OvnCentral) -> OvnConfig:
    """The backend's config for this test's OVN."""
    return OvnConfig(central.nb_connection, central.sb_connection, timeout=10)


@pytest.fixture
def backend(ovn_config: OvnConfig) -> Iterator[OvnBackend]:
    """The OVN backend, connected, pinging chassis every second."""
    with OvnBackend(ovn_config, down_time=DOWN_TIME) as started:
        started.keep_up()
        yield started


@pytest.fixture
def ovn_service(backend: OvnBackend, api_engine: Engine, events: RecordingSink) -> NetworkService:
    """A network service that binds remote-managed ports through OVN."""
    return backend.network_service(api_engine, events=events)


@pytest.fixture
def ovn_http(ovn_service: NetworkService) -> TestClient:
    """The network API of the OVN-backed service, with the admin token."""
    return TestClient(network_app(ovn_service), headers=ADMIN_HEADERS)


DpuFactory = Callable[..., SimOvnController]


@pytest.fixture
def dpus(central: OvnCentral, backend: OvnBackend) -> Iterator[DpuFactory]:
    """Start simulated DPUs on this test's Southbound, seen by the backend; stopped at the end."""
    started: list[SimOvnController] = []

    def start(
        hostname: str = "dpu-1", *, serial: str = SERIAL, vfs: int = 8, **kwargs: Any
    ) -> SimOvnController:
        dpu = SimOvnController(
            central.sb_connection, SimDpu(hostname, PF_MACS, vfs, serial), **kwargs
        )
        dpu.start()
        started.append(dpu)
        # Its rows went in on its own connection: wait until the backend's replica has them.
        wait_for(
            lambda: any(c.name == dpu.name and c.up for c in backend.chassis.all()),
            what=f"the backend to see chassis {dpu.name}",
        )
        return dpu

    yield start
    for dpu in started:
        dpu.stop()

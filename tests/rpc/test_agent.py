"""The agent loop against a conductor on the in-process transport and a simulated host."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from offpath.compute.agent import Agent, AgentTiming, host_report
from offpath.conductor.agent_endpoints import AgentEndpoints
from offpath.conductor.rpcapi import TOPIC, ConductorAPI
from offpath.db.cell_schema import PciDeviceRow
from offpath.db.engine import open_engine, reading
from offpath.db.schema_version import SchemaKind, sync
from offpath.db.services import list_services
from offpath.pci.discovery.sysfs_reader import discover_sysfs
from offpath.pci.spec_list import DeviceSpecList
from offpath.rpc.server import RpcServer
from offpath.rpc.transport import Rpc
from offpath.sim.host import write_host
from offpath.sim.profile import load_profile

VF_SPEC = '{"vendor_id": "15b3", "product_id": "101e", "remote_managed": "true"}'
FAST = AgentTiming(
    report_interval=0.2, update_resources_interval=0.5, register_timeout=0.5, backoff_max=0.2
)


@pytest.fixture
def sysfs(tmp_path: Path) -> Path:
    root = tmp_path / "dpu1"
    write_host(load_profile("bluefield2"), root, hostname="dpu1", vfs=2)
    return root


@pytest.fixture
def cell_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_engine(f"sqlite:///{tmp_path / 'cell1.sqlite'}")
    sync(engine, SchemaKind.CELL)
    yield engine
    engine.dispose()


def specs(sysfs: Path) -> DeviceSpecList:
    return DeviceSpecList.from_values([VF_SPEC], sysfs_root=sysfs)


def wait_for(check: object, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return True
        time.sleep(0.05)
    return False


def test_the_report_carries_only_what_a_spec_selected(sysfs: Path) -> None:
    report = host_report("dpu1", discover_sysfs(sysfs), specs(sysfs), driver_supports=True)
    assert {s.device.product_id for s in report.devices} == {"101e"}
    assert len(report.devices) == 4
    assert all(s.tags.get("remote_managed") == "true" for s in report.devices)


def test_an_agent_waits_for_its_conductor_then_registers_and_reports(
    sysfs: Path, cell_engine: Engine
) -> None:
    rpc = Rpc("fake://", call_timeout=2)
    agent = Agent(
        host="dpu1",
        conductor=ConductorAPI(rpc),
        discover=partial(discover_sysfs, sysfs),
        specs=specs(sysfs),
        timing=FAST,
    )
    stop = threading.Event()
    loop = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    loop.start()
    server = RpcServer(rpc, TOPIC, [AgentEndpoints(cell_engine, cell="cell1")], server="c1")
    try:
        time.sleep(0.7)  # the conductor comes up late: the agent retries meanwhile
        server.start()

        def reported() -> bool:
            with reading(cell_engine) as session:
                return len(session.scalars(select(PciDeviceRow)).all()) == 4

        assert wait_for(reported)
        with reading(cell_engine) as session:
            (service,) = list_services(session)
        assert service.host == "dpu1"
    finally:
        stop.set()
        loop.join(timeout=5)
        server.stop()
        rpc.close()
    assert not loop.is_alive()

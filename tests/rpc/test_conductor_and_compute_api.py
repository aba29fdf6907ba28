"""ConductorAPI against the conductor's endpoints on a real cell database; ComputeAPI's casts."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from pathlib import Path

import oslo_messaging
import pytest
from sqlalchemy import Engine, select

from offpath.compute.rpcapi import TOPIC as COMPUTE_TOPIC
from offpath.compute.rpcapi import ComputeAPI
from offpath.conductor.agent_endpoints import AgentEndpoints
from offpath.conductor.rpcapi import TOPIC as CONDUCTOR_TOPIC
from offpath.conductor.rpcapi import ConductorAPI
from offpath.db.cell_schema import PciDeviceRow
from offpath.db.engine import open_engine, reading
from offpath.db.schema_version import SchemaKind, sync
from offpath.db.services import list_services
from offpath.errors import RpcRemoteError
from offpath.pci.device import DevType, PciDevice
from offpath.pci.host_report import HostReport
from offpath.pci.selection import SelectedDevice
from offpath.rpc.client import RpcClient
from offpath.rpc.context import RequestContext
from offpath.rpc.server import RpcServer
from offpath.rpc.transport import Rpc
from offpath.version import COMPUTE_BINARY


@pytest.fixture
def cell_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_engine(f"sqlite:///{tmp_path / 'cell1.sqlite'}")
    sync(engine, SchemaKind.CELL)
    yield engine
    engine.dispose()


@pytest.fixture
def conductor(rpc: Rpc, cell_engine: Engine) -> Iterator[ConductorAPI]:
    server = RpcServer(
        rpc, CONDUCTOR_TOPIC, [AgentEndpoints(cell_engine, cell="cell1")], server="c1"
    )
    server.start()
    yield ConductorAPI(rpc)
    server.stop()


def vf(function: int) -> SelectedDevice:
    device = PciDevice(
        address=f"0000:03:00.{function}",
        vendor_id="15b3",
        product_id="101e",
        dev_type=DevType.VF,
        parent_addr="0000:03:00.0",
        numa_node=0,
        card_serial_number="MT2113X00000",
    )
    return SelectedDevice(device, 0, {"remote_managed": "true"})


def rows(engine: Engine) -> list[str]:
    with reading(engine) as session:
        return sorted(session.scalars(select(PciDeviceRow.address)))


def test_register_returns_the_cell_and_records_the_service(
    conductor: ConductorAPI, cell_engine: Engine
) -> None:
    cell = conductor.register_service(
        RequestContext.admin(), host="dpu1", binary=COMPUTE_BINARY, version=2
    )
    with reading(cell_engine) as session:
        (service,) = list_services(session)
    assert cell == "cell1"
    assert (service.host, service.binary, service.version) == ("dpu1", COMPUTE_BINARY, 2)


def test_a_heartbeat_moves_last_seen_up(conductor: ConductorAPI, cell_engine: Engine) -> None:
    ctx = RequestContext.admin()
    conductor.register_service(ctx, host="dpu1", binary=COMPUTE_BINARY, version=2)
    with reading(cell_engine) as session:
        (before,) = list_services(session)
    conductor.heartbeat(ctx, host="dpu1", binary=COMPUTE_BINARY)
    # A cast: the answer is the row changing, within a bounded wait.
    for _ in range(200):
        with reading(cell_engine) as session:
            (after,) = list_services(session)
        if after.last_seen_up != before.last_seen_up:
            break
        time.sleep(0.05)
    assert after.last_seen_up is not None
    assert before.last_seen_up is not None
    assert after.last_seen_up > before.last_seen_up


def test_a_report_writes_the_devices_and_returns_a_new_generation(
    conductor: ConductorAPI, cell_engine: Engine
) -> None:
    ctx = RequestContext.admin()
    first = conductor.report_inventory(ctx, HostReport("dpu1", (vf(2), vf(3))))
    second = conductor.report_inventory(ctx, HostReport("dpu1", (vf(2),)))
    assert second > first
    assert rows(cell_engine) == ["0000:03:00.2"]


def test_a_malformed_report_is_refused_with_its_code(conductor: ConductorAPI, rpc: Rpc) -> None:
    raw = RpcClient(rpc, CONDUCTOR_TOPIC, version=ConductorAPI.VERSION)
    with pytest.raises(RpcRemoteError) as raised:
        raw.call(RequestContext.admin(), "report_inventory", {"report": {"host": 3}})
    assert raised.value.remote_code == "record.primitive.invalid"


class Builds:
    """A stand-in agent of the compute topic that only remembers what it was sent."""

    target = oslo_messaging.Target(version="1.1")

    def __init__(self) -> None:
        self.got: queue.Queue[tuple[str, object, str]] = queue.Queue()

    def build_instance(self, ctx: RequestContext, build: dict[str, object]) -> None:
        self.got.put(("build_instance", build, ctx.request_id))

    def terminate_instance(self, ctx: RequestContext, instance_uuid: str) -> None:
        self.got.put(("terminate_instance", instance_uuid, ctx.request_id))


@pytest.fixture
def builds(rpc: Rpc) -> Iterator[Builds]:
    endpoint = Builds()
    server = RpcServer(rpc, COMPUTE_TOPIC, [endpoint], server="dpu1")
    server.start()
    yield endpoint
    server.stop()


def test_compute_casts_reach_the_named_host(rpc: Rpc, builds: Builds) -> None:
    api = ComputeAPI(rpc, minimum_service_version=2)
    ctx = RequestContext()
    api.build_instance(ctx, "dpu1", {"instance_uuid": "u1"}, remote_managed=True)
    api.terminate_instance(ctx, "dpu1", "u1")
    got = [builds.got.get(timeout=10), builds.got.get(timeout=10)]
    assert got == [
        ("build_instance", {"instance_uuid": "u1"}, ctx.request_id),
        ("terminate_instance", "u1", ctx.request_id),
    ]


@pytest.mark.parametrize(
    ("minimum", "cap"),
    [(0, "1.0"), (1, "1.0"), (2, "1.1"), (3, "1.2"), (4, "1.3"), (99, "1.3")],
)
def test_the_compute_cap_follows_the_oldest_compute_service(minimum: int, cap: str) -> None:
    rpc = Rpc("fake://")
    try:
        assert ComputeAPI(rpc, minimum_service_version=minimum).version_cap == cap
    finally:
        rpc.close()


def test_an_old_deployment_cannot_be_sent_a_remote_managed_build() -> None:
    rpc = Rpc("fake://")
    try:
        api = ComputeAPI(rpc, minimum_service_version=1)
        with pytest.raises(oslo_messaging.rpc.client.RPCVersionCapError):
            api.build_instance(RequestContext(), "dpu1", {}, remote_managed=True)
    finally:
        rpc.close()

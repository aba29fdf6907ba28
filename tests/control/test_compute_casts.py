"""The conductor tells the chosen host's agent to build and to terminate, over oslo.messaging."""

from __future__ import annotations

import queue
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import oslo_messaging
import pytest
from sqlalchemy import select

from offpath.compute.rpcapi import TOPIC, ComputeAPI
from offpath.db.bootstrap import sync_all
from offpath.db.cell_schema import InstanceActionRow
from offpath.db.cells import CellDatabases
from offpath.db.engine import open_engine, reading
from offpath.errors import RpcUnavailable
from offpath.pci.claims import DeviceStatus
from offpath.rpc.context import RequestContext
from offpath.rpc.server import RpcServer
from offpath.rpc.transport import Rpc
from offpath.service_config import load_service_config
from offpath.sim.fleet import fleet_reports
from offpath.version import SERVICE_VERSION
from tests.control.cluster import Cluster

HOST = "compute-00001"


class Agent:
    """A stand-in agent on the compute topic that records what reaches it."""

    target = oslo_messaging.Target(version="1.1")

    def __init__(self) -> None:
        self.got: queue.Queue[tuple[str, RequestContext, object]] = queue.Queue()

    def build_instance(self, ctx: RequestContext, build: dict[str, object]) -> None:
        self.got.put(("build_instance", ctx, build))

    def terminate_instance(self, ctx: RequestContext, instance_uuid: str) -> None:
        self.got.put(("terminate_instance", ctx, instance_uuid))


class Unreachable:
    """Casts that fail as when the message queue is down."""

    def build_instance(
        self,
        ctx: RequestContext,
        host: str,
        build: Mapping[str, object],
        *,
        remote_managed: bool = False,
    ) -> None:
        raise RpcUnavailable("rabbit://127.0.0.1:5672/", "connection refused")

    def terminate_instance(self, ctx: RequestContext, host: str, instance_uuid: str) -> None:
        raise RpcUnavailable("rabbit://127.0.0.1:5672/", "connection refused")

    def external_instance_event(
        self,
        ctx: RequestContext,
        host: str,
        instance_uuid: str,
        events: Sequence[Mapping[str, object]],
    ) -> None:
        raise RpcUnavailable("rabbit://127.0.0.1:5672/", "connection refused")


def _cells(tmp_path: Path) -> CellDatabases:
    config = load_service_config([], state_dir=tmp_path)
    sync_all(config)
    return CellDatabases(open_engine(config.api_database_url))


@pytest.fixture
def agent() -> Iterator[tuple[Rpc, Agent]]:
    rpc = Rpc("fake://", call_timeout=5)
    endpoint = Agent()
    server = RpcServer(rpc, TOPIC, [endpoint], server=HOST)
    server.start()
    yield rpc, endpoint
    server.stop()
    rpc.close()


def test_a_boot_casts_the_build_with_the_claimed_vf_and_a_delete_casts_terminate(
    tmp_path: Path, agent: tuple[Rpc, Agent]
) -> None:
    rpc, endpoint = agent
    cells = _cells(tmp_path)
    cluster = Cluster(cells, compute=ComputeAPI(rpc, minimum_service_version=SERVICE_VERSION))
    cluster.report(fleet_reports(1, pfs=1, vfs=2))
    view = cluster.boot(cluster.port())
    method, ctx, build = endpoint.got.get(timeout=10)
    assert method == "build_instance"
    assert isinstance(build, dict)
    assert build["instance_uuid"] == view.uuid
    (device,) = build["devices"]
    assert device["selected"]["device"]["address"] == view.devices[0]
    assert device["selected"]["device"]["card_serial_number"] == "MT0000000001"
    with reading(cells.engine(cluster.cell())) as session:
        action = session.scalars(select(InstanceActionRow)).one()
    # The message carries the request id the instance action records.
    assert ctx.request_id == action.request_id
    assert ctx.project_id == "demo"
    cluster.conductor.delete(view.uuid)
    assert endpoint.got.get(timeout=10)[::2] == ("terminate_instance", view.uuid)
    cells.dispose()


def test_a_build_that_cannot_be_sent_releases_its_claim(tmp_path: Path) -> None:
    cells = _cells(tmp_path)
    cluster = Cluster(cells, compute=Unreachable())
    cluster.report(fleet_reports(1, pfs=1, vfs=2))
    view = cluster.boot(cluster.port())
    assert view.vm_state == "error"
    assert view.devices == ()
    assert view.fault is not None
    assert "cannot be reached" in view.fault
    assert {row.status for row in cluster.devices()} == {DeviceStatus.AVAILABLE}
    cells.dispose()

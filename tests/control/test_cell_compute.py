"""Casts reach a host's agent through its own cell's queue, capped by that cell's oldest agent."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from pathlib import Path

import oslo_messaging
import pytest

from offpath.compute.rpcapi import TOPIC, ComputeAPI
from offpath.conductor.cell_compute import CellCompute, CellTransports
from offpath.db.cells import register_cell
from offpath.errors import ComputeHostNotFound
from offpath.rpc.context import RequestContext
from offpath.rpc.server import RpcServer
from offpath.rpc.transport import Rpc
from offpath.sim.fleet import fleet_reports
from tests.control.cluster import Cluster


class Heard:
    """An agent of the compute topic that remembers which cell heard what."""

    target = oslo_messaging.Target(version="1.1")

    def __init__(self, cell: str, got: queue.Queue[tuple[str, str, str]]) -> None:
        self.cell = cell
        self.got = got

    def build_instance(self, ctx: RequestContext, build: dict[str, object]) -> None:
        self.got.put((self.cell, "build", str(build["instance_uuid"])))

    def terminate_instance(self, ctx: RequestContext, instance_uuid: str) -> None:
        self.got.put((self.cell, "terminate", instance_uuid))


@pytest.fixture
def two_cells(cluster: Cluster, tmp_path: Path) -> Iterator[tuple[Cluster, CellCompute]]:
    register_cell(
        cluster.cells.api, name="cell2", database_url=f"sqlite:///{tmp_path / 'cell2.sqlite'}"
    )
    cluster.report(fleet_reports(1, prefix="one"), cell="cell1")
    cluster.report(fleet_reports(1, prefix="two"), cell="cell2", version=1)
    transports = CellTransports("fake://", lambda url, exchange: Rpc(url, exchange=exchange))
    yield cluster, CellCompute(cluster.cells, transports)
    transports.close()


def test_each_cast_goes_to_the_hosts_own_cell(two_cells: tuple[Cluster, CellCompute]) -> None:
    cluster, compute = two_cells
    got: queue.Queue[tuple[str, str, str]] = queue.Queue()
    servers = []
    for name, host in (("cell1", "one-00001"), ("cell2", "two-00001")):
        rpc = compute.transports.rpc(cluster.cell(name))
        # Both cells' agents listen on the same topic and server name: only
        # the transport keeps them apart.
        for server_name in ("one-00001", "two-00001"):
            server = RpcServer(rpc, TOPIC, [Heard(name, got)], server=server_name)
            server.start()
            servers.append(server)
        assert compute.cell_of(host).name == name
    try:
        ctx = RequestContext()
        compute.build_instance(ctx, "two-00001", {"instance_uuid": "u2"})
        compute.terminate_instance(ctx, "one-00001", "u1")
        heard = {got.get(timeout=10), got.get(timeout=10)}
        assert heard == {("cell2", "build", "u2"), ("cell1", "terminate", "u1")}
        assert got.empty()
    finally:
        for server in servers:
            server.stop()


def test_the_cap_is_the_cells_oldest_agent(two_cells: tuple[Cluster, CellCompute]) -> None:
    _, compute = two_cells
    assert compute.for_host("one-00001").version_cap == ComputeAPI.VERSION
    assert compute.for_host("two-00001").version_cap == "1.0"


def test_an_unknown_host_is_named(two_cells: tuple[Cluster, CellCompute]) -> None:
    _, compute = two_cells
    with pytest.raises(ComputeHostNotFound, match="Compute host ghost could not be found"):
        compute.cell_of("ghost")

"""A deployment in one process: SQLite, the in-process transport, a conductor and real agents.

Each agent is a real ComputeManager on libvirt's test driver with real
os-vif, served on the compute topic; the conductor's agent endpoints serve
the conductor topic; the network service is the in-memory double, whose
events go back through the conductor's external-events path.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from offpath.compute.endpoints import ComputeEndpoints
from offpath.compute.libvirt_guest import LibvirtGuests
from offpath.compute.manager import ComputeManager
from offpath.compute.rpcapi import TOPIC as COMPUTE_TOPIC
from offpath.compute.rpcapi import ComputeAPI
from offpath.conductor.agent_endpoints import AgentEndpoints
from offpath.conductor.instances import InstanceConductor, InstanceView
from offpath.conductor.rpcapi import TOPIC as CONDUCTOR_TOPIC
from offpath.conductor.rpcapi import ConductorAPI
from offpath.db.bootstrap import sync_all
from offpath.db.cell_schema import InstanceActionEventRow
from offpath.db.cells import CellDatabases
from offpath.db.engine import open_engine, reading
from offpath.pci.spec_list import DeviceSpecList
from offpath.ports.events import EventSettings
from offpath.ports.network import Network, Segment
from offpath.rpc.server import RpcServer
from offpath.rpc.transport import Rpc
from offpath.service_config import load_service_config
from offpath.sim.fleet import fleet_reports
from offpath.version import SERVICE_VERSION
from tests.agent.network_double import InMemoryNetworkDouble
from tests.control.cluster import Cluster
from tests.rabbit import scratch_vhost

OVERLAY = Network(
    "6f1c4a52-5b0e-4c59-9d0e-0a5c2b1d0001", network_type="geneve", name="overlay", mtu=1442
)
VLAN = Network(
    "6f1c4a52-5b0e-4c59-9d0e-0a5c2b1d0002",
    physical_network="physnet1",
    network_type="vlan",
    segments=(Segment("physnet1", "vlan", 100),),
    name="vlan100",
)
# One host, one card: PF 0's VFs serve remote-managed ports (overlay), PF 1's direct ports.
HOST = "compute-00001"
DEVICE_SPEC = (
    '{"vendor_id": "15b3", "product_id": "101e", "address": "0000:43:*.*", '
    '"physical_network": null, "remote_managed": "true"}',
    '{"vendor_id": "15b3", "product_id": "101e", "address": "0000:44:*.*", '
    '"physical_network": "physnet1"}',
)
LIBVIRT_URI = "test:///default"


def specs() -> DeviceSpecList:
    """The host's `[pci] device_spec`, as its agent reads it."""
    return DeviceSpecList.from_values(DEVICE_SPEC, sysfs_root=Path("/nonexistent"))


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll `check` until true, at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


@dataclass
class Rig:
    """The deployment: cluster (databases, conductor), network double, agents by host."""

    cluster: Cluster
    rpc: Rpc
    double: InMemoryNetworkDouble
    guests: LibvirtGuests
    managers: dict[str, ComputeManager] = field(default_factory=dict)
    servers: list[RpcServer] = field(default_factory=list)

    @property
    def conductor(self) -> InstanceConductor:
        return self.cluster.conductor

    def add_agent(self, host: str = HOST, **settings: object) -> ComputeManager:
        """A real agent for `host` on the compute topic (settings override EventSettings)."""
        event_settings = EventSettings(
            **{"vif_plugging_timeout": 2, **settings}  # type: ignore[arg-type]
        )
        manager = ComputeManager(
            host=host,
            network=self.double,
            hypervisor=self.guests,
            specs=specs(),
            settings=event_settings,
            reporter=ConductorAPI(self.rpc),
            confirm_poll_interval=0.02,
            report_pause=0.05,
        )
        server = RpcServer(self.rpc, COMPUTE_TOPIC, [ComputeEndpoints(manager)], server=host)
        server.start()
        self.managers[host] = manager
        self.servers.append(server)
        return manager

    def boot(self, *port_ids: str) -> InstanceView:
        return self.cluster.boot(*port_ids)

    def settled(self, uuid_: str, timeout: float = 10.0) -> InstanceView:
        """The instance once its build has ended (no longer building)."""
        wait_until(lambda: self.conductor.show(uuid_).vm_state != "building", timeout)
        return self.conductor.show(uuid_)

    def build_details(self, uuid_: str) -> str | None:
        """The JSON details of the instance's `compute_build_and_run_instance` event."""
        with reading(self.cluster.cells.engine(self.cluster.cell())) as session:
            return session.scalars(
                select(InstanceActionEventRow.details).where(
                    InstanceActionEventRow.event == "compute_build_and_run_instance"
                )
            ).first()


@contextmanager
def deployment(tmp_path: Path, transport_url: str) -> Iterator[Rig]:
    """One host reported with 2 PFs x 4 VFs, its agent running, ports on the double."""
    config = load_service_config([], state_dir=tmp_path)
    sync_all(config)
    cells = CellDatabases(open_engine(config.api_database_url))
    rpc = Rpc(transport_url, exchange=f"offpath_t_{uuid.uuid4().hex[:8]}", call_timeout=5)
    double = InMemoryNetworkDouble([OVERLAY, VLAN])
    compute = ComputeAPI(rpc, minimum_service_version=SERVICE_VERSION)
    cluster = Cluster(cells, ports=double, compute=compute)
    cluster.conductor = InstanceConductor(
        cells, cluster.scheduler, double, compute=compute, binding=double
    )
    conductor_engine = cells.engine(cluster.cell())
    conductor_server = RpcServer(
        rpc, CONDUCTOR_TOPIC, [AgentEndpoints(conductor_engine, cell="cell1")], server="conductor"
    )
    conductor_server.start()
    double.post_events = cluster.conductor.external_instance_events
    cluster.report(fleet_reports(1, pfs=2, vfs=4, device_spec=DEVICE_SPEC))
    guests = LibvirtGuests(LIBVIRT_URI)
    rig = Rig(cluster, rpc, double, guests, servers=[conductor_server])
    try:
        rig.add_agent()
        yield rig
    finally:
        for manager in rig.managers.values():
            manager.close(timeout=2)
        # Each stop waits about a second for its listener: all at once.
        stopping = [
            threading.Thread(target=server.stop, kwargs={"timeout": 2}) for server in rig.servers
        ]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join(5)
        guests.close()
        rpc.close()
        cells.dispose()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    """The deployment on the in-process transport."""
    with deployment(tmp_path, "fake://") as made:
        yield made


@pytest.fixture
def rabbit_rig(tmp_path: Path) -> Iterator[Rig]:
    """The deployment on RabbitMQ (a scratch virtual host)."""
    with scratch_vhost() as url, deployment(tmp_path, url) as made:
        yield made

"""A control plane in one test process: API and cell databases, reported hosts, a conductor."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from offpath.conductor.instances import (
    BootRequest,
    ComputeCasts,
    InstanceConductor,
    InstanceView,
)
from offpath.conductor.port_directory import PortRecords
from offpath.db.cell_schema import PciDeviceRow
from offpath.db.cells import Cell, CellDatabases
from offpath.db.engine import reading, writing
from offpath.db.inventory import apply_report
from offpath.db.services import register_service
from offpath.pci.flavor import Flavor
from offpath.pci.host_report import HostReport
from offpath.ports.network import Network
from offpath.ports.port import Port
from offpath.ports.vnic import VnicType
from offpath.scheduler.host_state import HostStateCache
from offpath.scheduler.scheduler import Scheduler
from offpath.version import COMPUTE_BINARY, SERVICE_VERSION

NETWORK = Network("net-dpu", network_type="geneve")
FLAVOR = Flavor("m1.small")


@dataclass
class Cluster:
    """Databases, hosts and a conductor; ports are records held here."""

    cells: CellDatabases
    ports: PortRecords = field(default_factory=lambda: PortRecords(networks=[NETWORK]))
    service_down_time: int = 60
    compute: ComputeCasts | None = None
    # Processes sharing a fleet need different seeds, or they all chase the same hosts.
    seed: int = 1

    def __post_init__(self) -> None:
        self.cache = HostStateCache(self.cells, service_down_time=self.service_down_time)
        self.scheduler = Scheduler(self.cache, seed=self.seed)
        self.conductor = InstanceConductor(
            self.cells, self.scheduler, self.ports, compute=self.compute
        )

    def cell(self, name: str = "cell1") -> Cell:
        return next(cell for cell in self.cells.cells() if cell.name == name)

    def report(
        self, reports: Iterable[HostReport], *, cell: str = "cell1", version: int = SERVICE_VERSION
    ) -> None:
        engine = self.cells.engine(self.cell(cell))
        for report in reports:
            with writing(engine) as session:
                apply_report(session, report)
                register_service(
                    session,
                    host=report.host,
                    binary=COMPUTE_BINARY,
                    topic="compute",
                    version=version,
                )

    def port(
        self, vnic_type: VnicType = VnicType.REMOTE_MANAGED, *, port_id: str | None = None
    ) -> str:
        """A port on the test network, known to this cluster's conductor; its id."""
        port_id = port_id or str(uuid.uuid4())
        self.ports.ports[port_id] = Port(port_id, NETWORK.id, vnic_type=vnic_type)
        return port_id

    def boot(
        self, *port_ids: str, flavor: Flavor = FLAVOR, uuid_: str | None = None
    ) -> InstanceView:
        return self.conductor.boot(
            BootRequest(
                instance_uuid=uuid_ or str(uuid.uuid4()),
                name="vm",
                project_id="demo",
                flavor=flavor,
                port_ids=port_ids,
            )
        )

    def devices(self, cell: str = "cell1") -> list[PciDeviceRow]:
        with reading(self.cells.engine(self.cell(cell))) as session:
            return list(session.scalars(select(PciDeviceRow).order_by(PciDeviceRow.address)))

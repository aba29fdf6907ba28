"""The scheduler's picture of every host, kept in memory and refreshed by generation.

Rebuilding host state from the database on every request is what makes
Nova's scheduler slow at scale. Here each host's pools live as a compact
summary; a refresh reads only the compute nodes changed since the last one
(by `updated_at`, with a safety margin for late commits) and rebuilds only
those whose generation moved. Service liveness is re-read at most once per
`service_refresh` seconds. A stale picture is never unsafe: claims are
checked in the database, and a lost race refreshes the host at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from offpath.db.cell_schema import ComputeNodeRow, PciDeviceRow, ServiceRow
from offpath.db.cells import Cell, CellDatabases
from offpath.db.columns import utcnow
from offpath.db.engine import reading
from offpath.db.host_devices import numa_cells_of
from offpath.errors import OffpathError
from offpath.pci.claims import IN_USE
from offpath.pci.device import DevType, PciDevice
from offpath.pci.numa import NumaCell
from offpath.pci.pools import PciPools
from offpath.pci.selection import SelectedDevice
from offpath.pci.summary import HostSummary, SummaryCatalog
from offpath.version import COMPUTE_BINARY

LOG = logging.getLogger(__name__)

# A transaction that stamped `updated_at` before our last read may commit
# after it; re-reading this far back catches it.
COMMIT_MARGIN = timedelta(seconds=5)


@dataclass(slots=True)
class HostState:
    """One host as the scheduler sees it."""

    host: str
    cell: Cell
    node_id: int
    generation: int
    supports_remote_managed: bool
    numa_cells: tuple[NumaCell, ...]
    summary: HostSummary


@dataclass(frozen=True, slots=True)
class ServiceState:
    """A compute service's liveness and version, as last read."""

    version: int
    up: bool
    disabled: bool


@dataclass(slots=True)
class _CellMark:
    nodes_read_at: datetime | None = None
    services_read_at: float = field(default=-1e9)


class HostStateCache:
    """Every host's summary, service state and capability, across all cells."""

    def __init__(
        self,
        cells: CellDatabases,
        *,
        service_down_time: int,
        service_refresh: float = 1.0,
        catalog: SummaryCatalog | None = None,
    ) -> None:
        self.cells = cells
        self.catalog = catalog or SummaryCatalog()
        self.service_down_time = service_down_time
        self.service_refresh = service_refresh
        self.hosts: dict[str, HostState] = {}
        self.services: dict[str, ServiceState] = {}
        self._marks: dict[str, _CellMark] = defaultdict(_CellMark)
        self._lock = threading.Lock()
        self.unreachable: dict[str, str] = {}

    def refresh(self, *, force_hosts: tuple[str, ...] = ()) -> None:
        """Read what changed since the last refresh, in every cell that answers."""
        with self._lock:
            for cell in self.cells.cells():
                if cell.is_cell0:
                    continue
                try:
                    with reading(self.cells.engine(cell)) as session:
                        self._refresh_cell(session, cell, force_hosts)
                    self.unreachable.pop(cell.name, None)
                except OffpathError as exc:
                    # A cell that does not answer keeps its last picture; its
                    # hosts fail the service check once their heartbeat ages.
                    LOG.warning("cell %s not refreshed: %s", cell.name, exc.message)
                    self.unreachable[cell.name] = exc.message

    def _refresh_cell(self, session: Session, cell: Cell, force_hosts: tuple[str, ...]) -> None:
        mark = self._marks[cell.uuid]
        started = utcnow()
        query = select(ComputeNodeRow)
        if mark.nodes_read_at is not None:
            since = mark.nodes_read_at - COMMIT_MARGIN
            query = query.where(
                (ComputeNodeRow.updated_at >= since) | ComputeNodeRow.host.in_(force_hosts)
            )
        changed = [
            node
            for node in session.scalars(query)
            if node.host in force_hosts
            or (known := self.hosts.get(node.host)) is None
            or known.generation != node.generation
        ]
        for chunk_start in range(0, len(changed), 500):
            chunk = changed[chunk_start : chunk_start + 500]
            tracked = _tracked_devices(session, [node.id for node in chunk])
            for node in chunk:
                self._store(cell, node, *tracked.get(node.id, ([], [])))
        mark.nodes_read_at = started
        now = time.monotonic()
        if now - mark.services_read_at >= self.service_refresh:
            self._read_services(session)
            mark.services_read_at = now

    def _store(
        self,
        cell: Cell,
        node: ComputeNodeRow,
        devices: list[SelectedDevice],
        taken: list[SelectedDevice],
    ) -> None:
        cells = numa_cells_of(node)
        pools = PciPools.build(devices, taken=taken, host=node.host, host_cells=cells)
        known = self.hosts.get(node.host)
        if known is not None:
            self.catalog.refresh(known.summary, pools)
            known.generation = node.generation
            known.supports_remote_managed = node.supports_remote_managed
            known.numa_cells = cells
            known.node_id = node.id
            known.cell = cell
            return
        self.hosts[node.host] = HostState(
            node.host,
            cell,
            node.id,
            node.generation,
            node.supports_remote_managed,
            cells,
            self.catalog.summarize(pools),
        )

    def _read_services(self, session: Session) -> None:
        now = utcnow()
        limit = timedelta(seconds=self.service_down_time)
        rows = session.execute(
            select(
                ServiceRow.host,
                ServiceRow.version,
                ServiceRow.last_seen_up,
                ServiceRow.disabled,
                ServiceRow.forced_down,
            ).where(ServiceRow.binary == COMPUTE_BINARY)
        )
        for host, version, seen, disabled, forced_down in rows:
            up = seen is not None and not forced_down and now - seen <= limit
            self.services[host] = ServiceState(version, up, disabled)


def _tracked_devices(
    session: Session, node_ids: list[int]
) -> dict[int, tuple[list[SelectedDevice], list[SelectedDevice]]]:
    """Some nodes' devices and those of them in use, from columns (no JSON parsing: this is hot)."""
    rows = session.execute(
        select(
            PciDeviceRow.compute_node_id,
            PciDeviceRow.address,
            PciDeviceRow.vendor_id,
            PciDeviceRow.product_id,
            PciDeviceRow.dev_type,
            PciDeviceRow.parent_addr,
            PciDeviceRow.parent_ifname,
            PciDeviceRow.numa_node,
            PciDeviceRow.spec_index,
            PciDeviceRow.tags,
            PciDeviceRow.status,
        )
        .where(PciDeviceRow.compute_node_id.in_(node_ids))
        .order_by(PciDeviceRow.compute_node_id, PciDeviceRow.address)
    )
    found: dict[int, tuple[list[SelectedDevice], list[SelectedDevice]]] = defaultdict(
        lambda: ([], [])
    )
    for row in rows:
        node_id, address, vendor, product, dev_type, parent, ifname, numa, index, tags, status = row
        device = PciDevice(
            address=address,
            vendor_id=vendor,
            product_id=product,
            dev_type=DevType(dev_type),
            parent_addr=parent,
            parent_ifname=ifname,
            numa_node=numa,
        )
        selected = SelectedDevice(device, index, tags)
        devices, taken = found[node_id]
        devices.append(selected)
        if status in _IN_USE:
            taken.append(selected)
    return found


_IN_USE = frozenset(status.value for status in IN_USE)

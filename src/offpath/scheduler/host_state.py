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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from offpath.db.cell_schema import ComputeNodeRow, PciDeviceRow, ServiceRow
from offpath.db.cells import Cell, CellDatabases
from offpath.db.columns import utcnow
from offpath.db.engine import reading
from offpath.db.host_devices import DEVICE_COLUMNS, column_device, numa_cells_of
from offpath.errors import OffpathError
from offpath.pci.claims import IN_USE
from offpath.pci.numa import NumaCell
from offpath.pci.pools import PciPools
from offpath.pci.selection import SelectedDevice
from offpath.pci.summary import HostSummary, SummaryCatalog
from offpath.version import COMPUTE_BINARY

LOG = logging.getLogger(__name__)

# A transaction that stamped `updated_at` before our last read may commit
# after it; re-reading this far back catches it.
COMMIT_MARGIN = timedelta(seconds=5)

# Cells are rarely added: the list is re-read from the API database this often.
CELL_LIST_MAX_AGE = 10.0


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


@dataclass(frozen=True, slots=True)
class _Node:
    """The columns of a compute node the scheduler keeps."""

    id: int
    host: str
    generation: int
    supports_remote_managed: bool
    numa_cells: tuple[NumaCell, ...]


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
        self._listeners: list[Callable[[str], None]] = []
        self.unreachable: dict[str, str] = {}

    def watch(self, listener: Callable[[str], None]) -> None:
        """Call `listener(host)` whenever a host's summary, capability or service changes."""
        self._listeners.append(listener)

    def refresh(self, *, force_hosts: tuple[str, ...] = ()) -> None:
        """Read what changed since the last refresh, in every cell that answers."""
        with self._lock:
            for cell in self.cells.cells(max_age=CELL_LIST_MAX_AGE):
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

    def claimed(self, host: str, generation: int, pools: PciPools) -> None:
        """Take a claim's result as the host's picture, unless a newer one is already held.

        `pools` are the host's pools after the claim, as read in its
        transaction: the next refresh then has nothing to rebuild for it.
        """
        with self._lock:
            known = self.hosts.get(host)
            if known is None or known.generation >= generation:
                return
            self.catalog.refresh(known.summary, pools)
            known.generation = generation
            self._changed(host)

    def _refresh_cell(self, session: Session, cell: Cell, force_hosts: tuple[str, ...]) -> None:
        mark = self._marks[cell.uuid]
        started = utcnow()
        # Columns, not ORM rows: after a busy minute this reads hundreds of nodes.
        query = select(
            ComputeNodeRow.id,
            ComputeNodeRow.host,
            ComputeNodeRow.generation,
            ComputeNodeRow.supports_remote_managed,
            ComputeNodeRow.numa_cells,
        )
        if mark.nodes_read_at is not None:
            since = mark.nodes_read_at - COMMIT_MARGIN
            query = query.where(
                (ComputeNodeRow.updated_at >= since) | ComputeNodeRow.host.in_(force_hosts)
            )
        changed = [
            _Node(node_id, host, generation, supports, numa_cells_of(numa))
            for node_id, host, generation, supports, numa in session.execute(query)
            if host in force_hosts
            or (known := self.hosts.get(host)) is None
            or known.generation != generation
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
        node: _Node,
        devices: list[SelectedDevice],
        taken: list[SelectedDevice],
    ) -> None:
        cells = node.numa_cells
        pools = PciPools.build(devices, taken=taken, host=node.host, host_cells=cells)
        known = self.hosts.get(node.host)
        if known is not None:
            self.catalog.refresh(known.summary, pools)
            known.generation = node.generation
            known.supports_remote_managed = node.supports_remote_managed
            known.numa_cells = cells
            known.node_id = node.id
            known.cell = cell
        else:
            self.hosts[node.host] = HostState(
                node.host,
                cell,
                node.id,
                node.generation,
                node.supports_remote_managed,
                cells,
                self.catalog.summarize(pools),
            )
        self._changed(node.host)

    def _changed(self, host: str) -> None:
        for listener in self._listeners:
            listener(host)

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
            state = ServiceState(version, up, disabled)
            if self.services.get(host) != state:
                self.services[host] = state
                self._changed(host)


def _tracked_devices(
    session: Session, node_ids: list[int]
) -> dict[int, tuple[list[SelectedDevice], list[SelectedDevice]]]:
    """Some nodes' devices and those of them in use, from columns (no JSON parsing: this is hot)."""
    rows = session.execute(
        select(
            PciDeviceRow.compute_node_id,
            PciDeviceRow.spec_index,
            PciDeviceRow.tags,
            PciDeviceRow.status,
            *DEVICE_COLUMNS,
        )
        .where(PciDeviceRow.compute_node_id.in_(node_ids))
        .order_by(PciDeviceRow.compute_node_id, PciDeviceRow.address)
    )
    found: dict[int, tuple[list[SelectedDevice], list[SelectedDevice]]] = defaultdict(
        lambda: ([], [])
    )
    for node_id, index, tags, status, *columns in rows:
        selected = SelectedDevice(column_device(tuple(columns)), index, tags)
        devices, taken = found[node_id]
        devices.append(selected)
        if status in _IN_USE:
            taken.append(selected)
    return found


_IN_USE = frozenset(status.value for status in IN_USE)

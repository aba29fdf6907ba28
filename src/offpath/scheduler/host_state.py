"""The scheduler's picture of every host, kept in memory and refreshed by generation.

Rebuilding host state from the database on every request is what makes
Nova's scheduler slow at scale. Here each host's pools live as a compact
summary; a refresh reads only the compute nodes changed since the last one
(by `updated_at`, with a safety margin for late commits) and rebuilds only
those whose generation moved: the recent nodes are read as (host,
generation) first, the rest of a node only when it moved. Service liveness
is re-read at most once per `service_refresh` seconds, incrementally
(`service_liveness`). A stale picture is never unsafe: claims are checked
in the database, and a lost race refreshes the host at once.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from offpath.db.cell_schema import ComputeNodeRow, PciDeviceRow
from offpath.db.cells import Cell, CellDatabases
from offpath.db.columns import utcnow
from offpath.db.engine import reading
from offpath.db.host_devices import DEVICE_COLUMNS, column_device, numa_cells_of
from offpath.errors import OffpathError
from offpath.jsonvalue import JsonValue
from offpath.pci.claims import IN_USE
from offpath.pci.numa import NumaCell
from offpath.pci.pools import PciPools
from offpath.pci.selection import SelectedDevice
from offpath.pci.summary import HostSummary, SummaryCatalog
from offpath.scheduler.service_liveness import (
    COMMIT_MARGIN,
    FULL_READ_EVERY,
    ServiceLiveness,
    ServiceState,
)

LOG = logging.getLogger(__name__)

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
class _Node:
    """The columns of a compute node the scheduler keeps."""

    id: int
    host: str
    generation: int
    supports_remote_managed: bool
    numa_cells: tuple[NumaCell, ...]


@dataclass(slots=True)
class _CellMark:
    services: ServiceLiveness
    nodes_read_at: datetime | None = None
    services_read_at: float = -1e9


class HostStateCache:
    """Every host's summary, service state and capability, across all cells."""

    def __init__(
        self,
        cells: CellDatabases,
        *,
        service_down_time: int,
        service_refresh: float = 1.0,
        service_full_read: float = FULL_READ_EVERY,
        catalog: SummaryCatalog | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.cells = cells
        self.catalog = catalog or SummaryCatalog()
        self.service_down_time = service_down_time
        self.service_refresh = service_refresh
        self.service_full_read = service_full_read
        self.hosts: dict[str, HostState] = {}
        self.services: dict[str, ServiceState] = {}
        self._clock = clock
        self._marks: dict[str, _CellMark] = {}
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
        mark = self._marks.get(cell.uuid)
        if mark is None:
            liveness = ServiceLiveness(service_down_time=self.service_down_time, clock=self._clock)
            mark = self._marks[cell.uuid] = _CellMark(liveness)
        started = utcnow()
        # (host, generation) first: after a busy minute hundreds of nodes are
        # recent, and most of them moved only by this scheduler's own claims.
        query = select(ComputeNodeRow.id, ComputeNodeRow.host, ComputeNodeRow.generation)
        if mark.nodes_read_at is not None:
            since = mark.nodes_read_at - COMMIT_MARGIN
            query = query.where(
                (ComputeNodeRow.updated_at >= since) | ComputeNodeRow.host.in_(force_hosts)
            )
        moved = [
            node_id
            for node_id, host, generation in session.connection().execute(query)
            if host in force_hosts
            or (known := self.hosts.get(host)) is None
            or known.generation != generation
        ]
        nodes: dict[int, _Node] = {}
        for chunk_start in range(0, len(moved), _CHUNK):
            nodes.update(
                (node.id, node)
                for node in _nodes(session, moved[chunk_start : chunk_start + _CHUNK])
            )
        # Hosts with the same devices in the same states have the same pools:
        # each distinct set is built once per refresh, not once per host.
        built: dict[_PoolsKey, HostSummary] = {}
        for node_id, rows in _device_groups(session, set(nodes)):
            node = nodes.pop(node_id)
            self._store(cell, node, self._summary(node, rows, built))
        for node in nodes.values():
            self._store(cell, node, self._summary(node, (), built))
        mark.nodes_read_at = started
        now = time.monotonic()
        if now - mark.services_read_at >= self.service_refresh:
            read = mark.services.read(session, full_read_every=self.service_full_read)
            for host, state in read.items():
                if self.services.get(host) != state:
                    self.services[host] = state
                    self._changed(host)
            mark.services_read_at = now

    def _summary(
        self, node: _Node, rows: tuple[_DeviceRow, ...], built: dict[_PoolsKey, HostSummary]
    ) -> HostSummary:
        summary = built.get((rows, node.numa_cells))
        if summary is None:
            pools = _pools(node, rows)
            summary = built[rows, node.numa_cells] = self.catalog.summarize(pools)
        return summary

    def _store(self, cell: Cell, node: _Node, summary: HostSummary) -> None:
        """Take `summary` (shared by the hosts with the same pools) as `node`'s."""
        known = self.hosts.get(node.host)
        if known is not None:
            _copy_summary(summary, known.summary)
            known.generation = node.generation
            known.supports_remote_managed = node.supports_remote_managed
            known.numa_cells = known.summary.host_cells
            known.node_id = node.id
            known.cell = cell
        else:
            mine = HostSummary(summary.shape, summary.counts, summary.rp_uuids, summary.host_cells)
            _copy_summary(summary, mine)
            self.hosts[node.host] = HostState(
                node.host,
                cell,
                node.id,
                node.generation,
                node.supports_remote_managed,
                mine.host_cells,
                mine,
            )
        self._changed(node.host)

    def _changed(self, host: str) -> None:
        for listener in self._listeners:
            listener(host)


def _nodes(session: Session, node_ids: list[int]) -> list[_Node]:
    """The columns the scheduler keeps of some compute nodes."""
    rows = session.connection().execute(
        select(
            ComputeNodeRow.id,
            ComputeNodeRow.host,
            ComputeNodeRow.generation,
            ComputeNodeRow.supports_remote_managed,
            ComputeNodeRow.numa_cells,
        ).where(ComputeNodeRow.id.in_(node_ids))
    )
    return [
        _Node(node_id, host, generation, supports, numa_cells_of(numa))
        for node_id, host, generation, supports, numa in rows
    ]


# A device as the scheduler reads it: spec index, tags (JSON text), status, `DEVICE_COLUMNS`.
_DeviceRow = tuple[int, str, str, str, str, str, str, str | None, str | None, int | None]
_PoolsKey = tuple[tuple[_DeviceRow, ...], tuple[NumaCell, ...]]

# Nodes read per query, and the most whose devices are read by node id.
_CHUNK = 200


def _device_groups(
    session: Session, node_ids: set[int]
) -> Iterator[tuple[int, tuple[_DeviceRow, ...]]]:
    """Each node's device rows as plain tuples in address order, one node at a time.

    Tags stay JSON text, so that equal rows are equal tuples (the key of
    `built`). Beyond `_CHUNK` nodes every device of the cell is streamed in
    node order: the refresh holds one node's rows at a time, and the
    database walks the table once instead of once per chunk.
    """
    query = select(
        PciDeviceRow.compute_node_id,
        PciDeviceRow.spec_index,
        cast(PciDeviceRow.tags, Text),
        PciDeviceRow.status,
        *DEVICE_COLUMNS,
    ).order_by(PciDeviceRow.compute_node_id)
    if len(node_ids) <= _CHUNK:
        query = query.where(PciDeviceRow.compute_node_id.in_(sorted(node_ids)))
    connection = session.connection().execution_options(yield_per=_STREAM_ROWS)
    current: int | None = None
    group: list[_DeviceRow] = []
    for node_id, *columns in connection.execute(query):
        if node_id != current:
            if group and current is not None:
                yield current, _in_address_order(group)
            current, group = node_id, []
        if node_id in node_ids:
            group.append(tuple(columns))
    if group and current is not None:
        yield current, _in_address_order(group)


_STREAM_ROWS = 4096


def _in_address_order(rows: list[_DeviceRow]) -> tuple[_DeviceRow, ...]:
    # Sorted here, not by the database, as a claim sorts them: a collation
    # must not change the pools' order.
    return tuple(sorted(rows, key=_address))


def _address(row: _DeviceRow) -> str:
    return row[3]


def _pools(node: _Node, rows: tuple[_DeviceRow, ...]) -> PciPools:
    tags_of: dict[str, dict[str, JsonValue]] = {}
    devices: list[SelectedDevice] = []
    taken: list[SelectedDevice] = []
    for spec_index, tags, status, *columns in rows:
        parsed = tags_of.get(tags)
        if parsed is None:
            parsed = tags_of[tags] = json.loads(tags) if tags else {}
        selected = SelectedDevice(column_device(tuple(columns)), spec_index, parsed)  # type: ignore[arg-type]
        devices.append(selected)
        if status in _IN_USE:
            taken.append(selected)
    return PciPools.build(devices, taken=taken, host=node.host, host_cells=node.numa_cells)


def _copy_summary(source: HostSummary, target: HostSummary) -> None:
    """Make `target` (a host's own summary, whose counts change in place) equal to `source`."""
    target.shape = source.shape
    target.counts = array(source.counts.typecode, source.counts)
    target.rp_uuids = source.rp_uuids
    target.host_cells = source.host_cells


_IN_USE = frozenset(status.value for status in IN_USE)

"""Hosts as operators read them, across every cell: services, compute nodes, devices, pools.

What `os-services`, `os-hypervisors` and offpath's own `/offpath/v1` show.
A cell that fails is left out with a warning, as Nova's lists do. Each
device that cannot serve a request says why not, in the words of the
rule that excludes it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from offpath.db.cell_schema import ComputeNodeRow, PciDeviceRow
from offpath.db.cells import Cell, CellDatabases
from offpath.db.engine import reading
from offpath.db.host_devices import HostDevices, find_node, load_host, selected_of
from offpath.db.services import ServiceRecord, list_services
from offpath.errors import ComputeHostNotFound, OffpathError, ServiceNotFound
from offpath.jsonvalue import JsonValue
from offpath.pci.booleans import lenient_bool
from offpath.pci.claims import IN_USE, DeviceStatus
from offpath.pci.exclusion import remote_managed_exclusion
from offpath.pci.pools import PciPools
from offpath.pci.selection import SelectedDevice
from offpath.version import COMPUTE_BINARY

LOG = logging.getLogger(__name__)

# Service and node ids are derived, not stored: the same in every API worker.
_ID_NAMESPACE: Final = uuid.UUID("5b0e6c4e-8a53-4c86-9e1d-0ff9a7b0c001")


@dataclass(frozen=True, slots=True)
class ServiceEntry:
    """A service of some cell, with the stable id the compute API shows."""

    id: str
    cell: Cell
    record: ServiceRecord


@dataclass(frozen=True, slots=True)
class NodeEntry:
    """A compute node of some cell, its compute service, and its device counts."""

    uuid: str
    host: str
    cell: Cell
    generation: int
    supports_remote_managed: bool
    numa_cells: int
    devices: int
    free_devices: int
    service: ServiceEntry | None


@dataclass(frozen=True, slots=True)
class DeviceEntry:
    """One tracked device of a host and, when it cannot be claimed now, why not."""

    selected: SelectedDevice
    status: str
    instance_uuid: str | None
    missing: bool
    why_not: str | None


@dataclass(frozen=True, slots=True)
class PoolEntry:
    """One pool of a host: what its devices share, and how many are free."""

    props: dict[str, JsonValue]
    free: int
    free_addresses: tuple[str, ...]


def service_id(cell: Cell, host: str, binary: str) -> str:
    """The id the compute API shows for a service: stable across workers and restarts."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{cell.uuid}/{host}/{binary}"))


def list_service_entries(cells: CellDatabases) -> list[ServiceEntry]:
    """Every service of every cell that answers, by host then binary."""
    found: list[ServiceEntry] = []
    for cell, session in _each_cell(cells):
        found.extend(
            ServiceEntry(service_id(cell, s.host, s.binary), cell, s)
            for s in list_services(session, cell=cell.name)
        )
    found.sort(key=lambda entry: (entry.record.host, entry.record.binary))
    return found


def find_service_entry(cells: CellDatabases, id_: str) -> ServiceEntry:
    """The service the compute API shows with id `id_`; ServiceNotFound when none has it."""
    for entry in list_service_entries(cells):
        if entry.id == id_:
            return entry
    raise ServiceNotFound(id_)


def list_nodes(cells: CellDatabases) -> list[NodeEntry]:
    """Every compute node of every cell that answers, by host."""
    found: list[NodeEntry] = []
    for cell, session in _each_cell(cells):
        services = {
            s.host: ServiceEntry(service_id(cell, s.host, s.binary), cell, s)
            for s in list_services(session, binary=COMPUTE_BINARY, cell=cell.name)
        }
        counts = _device_counts(session)
        for node in session.scalars(select(ComputeNodeRow).order_by(ComputeNodeRow.host)):
            found.append(
                _node_entry(node, cell, counts.get(node.id, (0, 0)), services.get(node.host))
            )
    found.sort(key=lambda entry: entry.host)
    return found


def find_node_entry(cells: CellDatabases, host: str) -> NodeEntry:
    """The compute node of `host`; ComputeHostNotFound when no cell has it."""
    for entry in list_nodes(cells):
        if entry.host == host:
            return entry
    raise ComputeHostNotFound(host)


def host_devices(cells: CellDatabases, host: str) -> list[DeviceEntry]:
    """The host's tracked devices in address order, each with why it cannot be claimed now."""
    with _host_session(cells, host) as (_, devices):
        entries = []
        for _address, row in sorted(devices.rows.items()):
            selected = selected_of(row)
            entries.append(
                DeviceEntry(
                    selected,
                    row.status,
                    row.instance_uuid,
                    row.missing,
                    _why_not(selected, DeviceStatus(row.status), row.instance_uuid, row.missing),
                )
            )
        return entries


def host_pools(cells: CellDatabases, host: str) -> list[PoolEntry]:
    """The host's pools as its claims see them, in taking order."""
    with _host_session(cells, host) as (_, devices):
        every = [selected_of(row) for _, row in sorted(devices.rows.items())]
        in_use = {state.address for state in devices.states if state.status in IN_USE}
        pools = PciPools.build(
            every,
            taken=[s for s in every if s.device.address in in_use],
            host=host,
            host_cells=devices.numa_cells,
        )
        return [
            PoolEntry(
                dict(pool.key.props),
                pool.count,
                tuple(device.address for device in pool.devices),
            )
            for pool in pools
        ]


def _why_not(
    selected: SelectedDevice, status: DeviceStatus, owner: str | None, missing: bool
) -> str | None:
    if missing:
        return "its host no longer reports it; kept until its instance frees it"
    if status in IN_USE:
        return f"{status.value} by instance {owner}"
    if status is DeviceStatus.UNAVAILABLE:
        return "its PF, or a VF of it, is in use"
    if status is DeviceStatus.UNCLAIMABLE:
        return "a VF of it is in use"
    if status is not DeviceStatus.AVAILABLE:
        return status.value
    if _tagged_remote_managed(selected):
        excluded = remote_managed_exclusion(selected.device)
        if excluded is not None:
            return excluded.reason
    return None


def _tagged_remote_managed(selected: SelectedDevice) -> bool:
    # Tags are normalised when specs are parsed, so the lenient reading is exact.
    return lenient_bool(selected.tags.get("remote_managed"))


def _device_counts(session: Session) -> dict[int, tuple[int, int]]:
    """Per compute node id: (tracked devices, available ones), counted by the database."""
    available = func.sum(case((PciDeviceRow.status == DeviceStatus.AVAILABLE.value, 1), else_=0))
    rows = session.execute(
        select(PciDeviceRow.compute_node_id, func.count(), available).group_by(
            PciDeviceRow.compute_node_id
        )
    )
    return {node_id: (int(total), int(free or 0)) for node_id, total, free in rows}


def _node_entry(
    node: ComputeNodeRow, cell: Cell, counts: tuple[int, int], service: ServiceEntry | None
) -> NodeEntry:
    return NodeEntry(
        uuid=node.uuid,
        host=node.host,
        cell=cell,
        generation=node.generation,
        supports_remote_managed=node.supports_remote_managed,
        numa_cells=len(node.numa_cells),
        devices=counts[0],
        free_devices=counts[1],
        service=service,
    )


def _each_cell(cells: CellDatabases) -> Iterator[tuple[Cell, Session]]:
    """Each host cell that answers, with a reading session; one that fails is skipped."""
    for cell in cells.cells():
        if cell.is_cell0:
            continue
        try:
            with reading(cells.engine(cell)) as session:
                yield cell, session
        except OffpathError as exc:
            LOG.warning("cell %s left out: %s", cell.name, exc.message)


@contextmanager
def _host_session(cells: CellDatabases, host: str) -> Iterator[tuple[Session, HostDevices]]:
    """The host's devices, read in a session of the cell that holds it."""
    for cell in cells.cells():
        if cell.is_cell0:
            continue
        with reading(cells.engine(cell)) as session:
            node = find_node(session, host)
            if node is not None:
                yield session, load_host(session, node)
                return
    raise ComputeHostNotFound(host)

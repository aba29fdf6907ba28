"""A host's tracked PCI devices in its cell database, read back as the core's records.

Reports, claims and frees all start here: the rows of one compute node
become `SelectedDevice`s (to build pools) and `DeviceStates` (the claim
model), and changes go back as conditional UPDATEs guarded by the node's
generation. Claims read columns, not ORM rows, and run their statements on
the session's connection: the ORM's per-row machinery doubled a claim's read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, case, or_, select, update
from sqlalchemy.orm import Session

from offpath.db.cell_schema import ComputeNodeRow, PciDeviceRow
from offpath.db.columns import utcnow
from offpath.errors import HostChangedConcurrently
from offpath.pci.claims import DeviceState, DeviceStates, DeviceStatus
from offpath.pci.device import DevType, PciDevice
from offpath.pci.numa import NumaCell
from offpath.pci.selection import SelectedDevice


@dataclass(frozen=True, slots=True)
class HostDevices:
    """One compute node as read in a transaction: its generation, devices and their states.

    `ids` are the device rows' ids by address (what conditional UPDATEs
    target); `rows` are the ORM rows, only when read as such (`load_host`).
    """

    node_id: int
    host: str
    generation: int
    numa_cells: tuple[NumaCell, ...]
    ids: Mapping[str, int]
    states: DeviceStates
    rows: Mapping[str, PciDeviceRow] = field(default_factory=dict)


def selected_of(row: PciDeviceRow) -> SelectedDevice:
    """The selection a device row stores."""
    return SelectedDevice(PciDevice.from_primitive(row.device), row.spec_index, dict(row.tags))


def state_of(row: PciDeviceRow) -> DeviceState:
    """The claim state a device row stores."""
    return DeviceState(
        address=row.address,
        dev_type=DevType(row.dev_type),
        parent_addr=row.parent_addr,
        status=DeviceStatus(row.status),
        instance_uuid=row.instance_uuid,
        request_id=row.request_id,
    )


def numa_cells_of(stored: Sequence[Sequence[int | None]]) -> tuple[NumaCell, ...]:
    """The host's NUMA cells as a node row's `numa_cells` stores them."""
    return tuple(NumaCell(int(cell_id or 0), socket) for cell_id, socket in stored)


# The columns a device's pools are built from: `column_device` reads them back.
DEVICE_COLUMNS = (
    PciDeviceRow.address,
    PciDeviceRow.vendor_id,
    PciDeviceRow.product_id,
    PciDeviceRow.dev_type,
    PciDeviceRow.parent_addr,
    PciDeviceRow.parent_ifname,
    PciDeviceRow.numa_node,
)

DeviceColumns = tuple[str, str, str, str, str | None, str | None, int | None]


def column_device(columns: DeviceColumns) -> PciDevice:
    """A device from `DEVICE_COLUMNS`: what pools are built from, without decoding `device`."""
    address, vendor_id, product_id, dev_type, parent_addr, parent_ifname, numa_node = columns
    return PciDevice(
        address=address,
        vendor_id=vendor_id,
        product_id=product_id,
        dev_type=DevType(dev_type),
        parent_addr=parent_addr,
        parent_ifname=parent_ifname,
        numa_node=numa_node,
    )


def load_host(session: Session, node: ComputeNodeRow) -> HostDevices:
    """Every device of `node` still tracked (removed ones are deleted rows)."""
    query = select(PciDeviceRow).where(PciDeviceRow.compute_node_id == node.id)
    rows = {row.address: row for row in session.scalars(query)}
    states = DeviceStates.of(node.host, (state_of(row) for row in rows.values()))
    cells = numa_cells_of(node.numa_cells)
    ids = {address: row.id for address, row in rows.items()}
    return HostDevices(node.id, node.host, node.generation, cells, ids, states, rows)


@dataclass(frozen=True, slots=True)
class HostColumns:
    """A host as a claim reads it: its states, and its devices as selections built from columns."""

    devices: HostDevices
    # In address order; each device from `DEVICE_COLUMNS` alone (its `device`
    # document is read only for the devices a claim hands out: `selections`).
    selected: tuple[SelectedDevice, ...]


def read_host(session: Session, host: str) -> HostColumns | None:
    """`host`'s node and every device still tracked, from columns (no ORM rows); None if unknown.

    A claim is on every boot's path: building ORM objects and decoding each
    row's `device` document was most of its cost.
    """
    node = (
        session.connection()
        .execute(
            select(ComputeNodeRow.id, ComputeNodeRow.generation, ComputeNodeRow.numa_cells).where(
                ComputeNodeRow.host == host
            )
        )
        .first()
    )
    if node is None:
        return None
    node_id, generation, numa = node
    rows = session.connection().execute(
        select(
            PciDeviceRow.id,
            PciDeviceRow.status,
            PciDeviceRow.instance_uuid,
            PciDeviceRow.request_id,
            PciDeviceRow.spec_index,
            PciDeviceRow.tags,
            *DEVICE_COLUMNS,
        ).where(PciDeviceRow.compute_node_id == node_id)
    )
    ids: dict[str, int] = {}
    states: list[DeviceState] = []
    selected: list[SelectedDevice] = []
    # Sorted here, not by the database: a collation must not change the pools' order.
    for row_id, status, owner, request_id, spec_index, tags, *columns in sorted(
        rows, key=lambda row: str(row.address)
    ):
        device = column_device(tuple(columns))
        ids[device.address] = row_id
        states.append(
            DeviceState(
                device.address,
                device.dev_type,
                device.parent_addr,
                DeviceStatus(status),
                owner,
                request_id,
            )
        )
        selected.append(SelectedDevice(device, spec_index, dict(tags)))
    devices = HostDevices(
        node_id, host, generation, numa_cells_of(numa), ids, DeviceStates.of(host, states)
    )
    return HostColumns(devices, tuple(selected))


def selections(
    session: Session, node_id: int, addresses: Iterable[str]
) -> dict[str, SelectedDevice]:
    """The stored selections (`device` documents decoded) of some devices of a node, by address."""
    wanted = sorted(set(addresses))
    if not wanted:
        return {}
    rows = session.connection().execute(
        select(
            PciDeviceRow.address, PciDeviceRow.device, PciDeviceRow.spec_index, PciDeviceRow.tags
        ).where(PciDeviceRow.compute_node_id == node_id, PciDeviceRow.address.in_(wanted))
    )
    return {
        address: SelectedDevice(PciDevice.from_primitive(device), spec_index, dict(tags))
        for address, device, spec_index, tags in rows
    }


def find_node(session: Session, host: str) -> ComputeNodeRow | None:
    """The compute node of `host`, or None when it never reported."""
    return session.scalars(select(ComputeNodeRow).where(ComputeNodeRow.host == host)).first()


def write_states(session: Session, host: HostDevices, after: DeviceStates) -> int:
    """Write the states that differ from `host.states`, each only if its row is unchanged.

    One UPDATE for all of them: each row matches only while it still has
    the status and owner read, and the count of rows matched must be the
    count of changes. Returns how many rows changed; HostChangedConcurrently
    when another transaction changed one of them first.
    """
    changes = [
        (host.ids[state.address], before, state)
        for state in after
        if (before := host.states.devices.get(state.address)) is not None and before != state
    ]
    if not changes:
        return 0
    row_id = PciDeviceRow.id
    result = session.connection().execute(
        update(PciDeviceRow)
        .where(
            or_(
                *(
                    and_(
                        row_id == changed,
                        PciDeviceRow.status == before.status.value,
                        _same_owner(before.instance_uuid),
                    )
                    for changed, before, _ in changes
                )
            )
        )
        .values(
            status=case({i: a.status.value for i, _, a in changes}, value=row_id),
            instance_uuid=case({i: a.instance_uuid for i, _, a in changes}, value=row_id),
            request_id=case({i: a.request_id for i, _, a in changes}, value=row_id),
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != len(changes):
        addresses = ", ".join(sorted(state.address for _, _, state in changes))
        raise HostChangedConcurrently(host.host, f"one of devices {addresses} changed")
    return len(changes)


def _same_owner(owner: str | None) -> ColumnElement[bool]:
    if owner is None:
        return PciDeviceRow.instance_uuid.is_(None)
    return PciDeviceRow.instance_uuid == owner


def bump_generation(session: Session, host: HostDevices) -> int:
    """Move the node to its next generation, only if it is still at the one read; the new one."""
    result = session.connection().execute(
        update(ComputeNodeRow)
        .where(ComputeNodeRow.id == host.node_id, ComputeNodeRow.generation == host.generation)
        .values(generation=host.generation + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise HostChangedConcurrently(host.host, f"generation {host.generation} is stale")
    return host.generation + 1

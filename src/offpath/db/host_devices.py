"""A host's tracked PCI devices in its cell database, read back as the core's records.

Reports, claims and frees all start here: the rows of one compute node
become `SelectedDevice`s (to build pools) and `DeviceStates` (the claim
model), and changes go back as conditional UPDATEs guarded by the node's
generation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select, update
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
    """One compute node as read in a transaction: its generation, devices and their states."""

    node_id: int
    host: str
    generation: int
    numa_cells: tuple[NumaCell, ...]
    rows: dict[str, PciDeviceRow]
    states: DeviceStates

    def selected(self, *, statuses: Iterable[DeviceStatus] | None = None) -> list[SelectedDevice]:
        """The devices as selections, in address order; only those in `statuses` if given."""
        wanted = None if statuses is None else frozenset(statuses)
        return [
            selected_of(row)
            for address, row in sorted(self.rows.items())
            if wanted is None or DeviceStatus(row.status) in wanted
        ]


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


def numa_cells_of(node: ComputeNodeRow) -> tuple[NumaCell, ...]:
    """The host's NUMA cells as the node row stores them."""
    return tuple(NumaCell(int(cell_id or 0), socket) for cell_id, socket in node.numa_cells)


def load_host(session: Session, node: ComputeNodeRow) -> HostDevices:
    """Every device of `node` still tracked (removed ones are deleted rows)."""
    rows = {
        row.address: row
        for row in session.scalars(
            select(PciDeviceRow).where(PciDeviceRow.compute_node_id == node.id)
        )
    }
    states = DeviceStates.of(node.host, (state_of(row) for row in rows.values()))
    return HostDevices(node.id, node.host, node.generation, numa_cells_of(node), rows, states)


def find_node(session: Session, host: str) -> ComputeNodeRow | None:
    """The compute node of `host`, or None when it never reported."""
    return session.scalars(select(ComputeNodeRow).where(ComputeNodeRow.host == host)).first()


def write_states(session: Session, host: HostDevices, after: DeviceStates) -> int:
    """Write the states that differ from `host.states`, each only if its row is unchanged.

    Returns how many rows changed; HostChangedConcurrently when another
    transaction changed one of them first.
    """
    changed = 0
    # One order for every writer, so two transactions never wait on each other in a cycle.
    for state in sorted(after, key=lambda s: s.address):
        before = host.states.devices.get(state.address)
        if before == state or before is None:
            continue
        row = host.rows[state.address]
        result = session.execute(
            update(PciDeviceRow)
            .where(
                PciDeviceRow.id == row.id,
                PciDeviceRow.status == before.status.value,
                _same_owner(before.instance_uuid),
            )
            .values(
                status=state.status.value,
                instance_uuid=state.instance_uuid,
                request_id=state.request_id,
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            raise HostChangedConcurrently(host.host, f"device {state.address} changed")
        changed += 1
    return changed


def _same_owner(owner: str | None) -> ColumnElement[bool]:
    if owner is None:
        return PciDeviceRow.instance_uuid.is_(None)
    return PciDeviceRow.instance_uuid == owner


def bump_generation(session: Session, host: HostDevices) -> int:
    """Move the node to its next generation, only if it is still at the one read; the new one."""
    result = session.execute(
        update(ComputeNodeRow)
        .where(ComputeNodeRow.id == host.node_id, ComputeNodeRow.generation == host.generation)
        .values(generation=host.generation + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise HostChangedConcurrently(host.host, f"generation {host.generation} is stale")
    return host.generation + 1

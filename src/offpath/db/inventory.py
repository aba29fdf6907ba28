"""Applying an agent's inventory report to its host's rows in the cell database.

As Nova's PCI tracker does: new devices are added, changed ones updated,
vanished free ones removed, and vanished ones still in use kept (flagged
`missing`) until they are freed. Every applied report moves the host to a
new generation, so the scheduler's in-memory copy knows to refresh.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, delete, insert
from sqlalchemy.orm import Session

from offpath.db.cell_schema import ComputeNodeRow, PciDeviceRow
from offpath.db.columns import utcnow
from offpath.db.engine import write_retrying
from offpath.db.host_devices import bump_generation, find_node, load_host, selected_of
from offpath.errors import HostChangedConcurrently
from offpath.pci.claims import IN_USE, DeviceStatus
from offpath.pci.host_report import HostReport
from offpath.pci.pools import PciPools
from offpath.pci.selection import SelectedDevice

LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    """What a report changed on its host."""

    host: str
    generation: int
    added: int
    updated: int
    removed: int
    missing: tuple[str, ...]
    supports_remote_managed: bool


def _device_columns(selected: SelectedDevice) -> dict[str, object]:
    device = selected.device
    return {
        "vendor_id": device.vendor_id,
        "product_id": device.product_id,
        "dev_type": device.dev_type.value,
        "parent_addr": device.parent_addr,
        "parent_ifname": device.parent_ifname,
        "numa_node": device.numa_node,
        "spec_index": selected.spec_index,
        "tags": dict(selected.tags),
        "device": selected.to_primitive()["device"],
    }


def apply_report(session: Session, report: HostReport) -> ReportOutcome:
    """Bring the host's rows in line with `report`; the generation moves only if something changed.

    Agents report their whole inventory every period; an unchanged one must
    not make every scheduler rebuild the host.
    """
    node = find_node(session, report.host)
    if node is None:
        node = ComputeNodeRow(uuid=str(uuid.uuid4()), host=report.host, generation=0)
        session.add(node)
        session.flush()
    host = load_host(session, node)
    reported = {selected.device.address: selected for selected in report.devices}
    updated = removed = newly_missing = 0
    missing: list[str] = []
    new_rows: list[dict[str, object]] = []
    for address, selected in reported.items():
        columns = _device_columns(selected)
        row = host.rows.get(address)
        if row is None:
            new_rows.append(
                {
                    "compute_node_id": node.id,
                    "address": address,
                    "status": DeviceStatus.AVAILABLE.value,
                    "missing": False,
                    **columns,
                }
            )
            continue
        if row.missing or any(getattr(row, key) != value for key, value in columns.items()):
            for key, value in columns.items():
                setattr(row, key, value)
            row.missing = False
            updated += 1
    gone = [row for address, row in host.rows.items() if address not in reported]
    for row in gone:
        if DeviceStatus(row.status) in IN_USE or row.instance_uuid is not None:
            # Still held by an instance: kept until freed, as Nova keeps it.
            if not row.missing:
                newly_missing += 1
                LOG.warning(
                    "%s: PCI device %s is gone but held by %s; kept until freed",
                    report.host,
                    row.address,
                    row.instance_uuid,
                )
            row.missing = True
            missing.append(row.address)
        else:
            session.execute(delete(PciDeviceRow).where(PciDeviceRow.id == row.id))
            removed += 1
    if new_rows:
        # One multi-row INSERT: a new host brings hundreds of devices.
        session.execute(insert(PciDeviceRow), new_rows)
    added = len(new_rows)
    tracked = [selected_of(row) for row in gone if row.missing] + list(reported.values())
    has_pools = PciPools.build(tracked, host=report.host).has_remote_managed_pools()
    capability = {
        "driver_supports_remote_managed": report.driver_supports_remote_managed,
        "supports_remote_managed": report.driver_supports_remote_managed and has_pools,
        "numa_cells": [[cell.id, cell.socket] for cell in report.numa_cells],
    }
    changed = bool(added or updated or removed or newly_missing) or any(
        getattr(node, key) != value for key, value in capability.items()
    )
    generation = host.generation
    if changed:
        for key, value in capability.items():
            setattr(node, key, value)
        node.updated_at = utcnow()
        session.flush()
        generation = bump_generation(session, host)
    return ReportOutcome(
        report.host,
        generation,
        added,
        updated,
        removed,
        tuple(missing),
        node.supports_remote_managed,
    )


def report_inventory(engine: Engine, report: HostReport) -> ReportOutcome:
    """`apply_report` in its own transaction, run again when a concurrent claim moved the host."""
    return write_retrying(
        engine, lambda session: apply_report(session, report), retry_on=HostChangedConcurrently
    )

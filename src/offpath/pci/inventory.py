"""The inventory: per device, the spec that selects it, its pool, and whether it is usable.

Answers the operator's question "which of my VFs can offpath use, and why
not the others?" (decision D9): matching keeps Nova's semantics (first spec
wins, remote-managed specs skip devices without a card serial) and every
outcome is put in words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from offpath.jsonvalue import JsonValue
from offpath.pci.device import DevType, PciDevice
from offpath.pci.exclusion import discovery_exclusion, remote_managed_exclusion
from offpath.pci.pool_key import pool_key
from offpath.pci.spec import NO_SERIAL, SpecVerdict
from offpath.pci.spec_list import DeviceSpecList


@dataclass(frozen=True, slots=True)
class InventoryRow:
    """One device as the inventory shows it.

    `reason` says why an unusable device cannot be used (None when usable);
    `note` adds what an operator may not expect of a usable one, such as a
    remote_managed spec that skipped it before a later spec took it.
    """

    device: PciDevice
    spec_index: int | None
    tags: Mapping[str, JsonValue]
    pool: Mapping[str, JsonValue] | None
    usable: bool
    reason: str | None
    note: str | None = None
    verdicts: tuple[SpecVerdict, ...] = ()

    def as_json(self, *, explain: bool = False) -> dict[str, JsonValue]:
        """The device as `inventory --json` prints it; `explain` adds the specs "tried"."""
        dev = self.device
        found: dict[str, JsonValue] = {
            "address": dev.address,
            "dev_type": str(dev.dev_type),
            "vendor_id": dev.vendor_id,
            "product_id": dev.product_id,
            "parent_addr": dev.parent_addr,
            "numa_node": dev.numa_node,
            "vf_num": dev.vf_num,
            "pf_mac_address": dev.pf_mac_address,
            "card_serial_number": dev.card_serial_number,
            "netdev": dev.netdev,
            "driver": dev.driver,
            "spec_index": self.spec_index,
            "tags": dict(self.tags),
            "usable": self.usable,
            "reason": None if self.usable else self.reason,
        }
        if explain:
            found["tried"] = [verdict.as_json() for verdict in self.verdicts]
        return found


@dataclass(frozen=True, slots=True)
class InventoryGroup:
    """The rows of one PF and its VFs (or one stand-alone device), with the card's serial."""

    card_serial_number: str | None
    pf_address: str | None
    rows: tuple[InventoryRow, ...] = field(default_factory=tuple)


def inventory_rows(
    devices: Iterable[PciDevice], specs: DeviceSpecList, *, every_device: bool = False
) -> tuple[InventoryRow, ...]:
    """One row per device of interest (network controllers, and what any spec selects)."""
    listed = tuple(devices)
    by_address = {dev.address: dev for dev in listed}
    rows = []
    for dev in listed:
        row = inventory_row(dev, specs, by_address)
        if every_device or _of_interest(row):
            rows.append(row)
    return tuple(rows)


def _of_interest(row: InventoryRow) -> bool:
    dev = row.device
    return (
        dev.is_network
        or dev.device_class is None
        or row.spec_index is not None
        or any(NO_SERIAL in verdict.reason for verdict in row.verdicts)
    )


def inventory_row(
    dev: PciDevice, specs: DeviceSpecList, by_address: Mapping[str, PciDevice]
) -> InventoryRow:
    """The row of one device; `by_address` (every device) explains what its PF lacks."""
    explanation = specs.explain(dev)
    spec = explanation.spec
    verdicts = explanation.verdicts
    skipped = next((v.reason for v in verdicts if NO_SERIAL in v.reason), None)
    if skipped is not None:
        skipped += _serial_detail(dev, by_address)
    excluded = discovery_exclusion(dev)
    if spec is None:
        reason = excluded.reason if excluded else explanation.reason
        if skipped is not None and excluded is None:
            reason = skipped
        return InventoryRow(dev, None, {}, None, False, reason, verdicts=verdicts)
    tags = dict(spec.tags)
    if excluded is not None:
        return InventoryRow(dev, spec.index, tags, None, False, excluded.reason, verdicts=verdicts)
    pool = dict(pool_key(dev, spec.pool_tags()).props)
    if spec.remote_managed:
        rejected = remote_managed_exclusion(dev)
        if rejected is not None:
            reason = f"remote_managed spec #{spec.index} selects it, but {rejected.reason}"
            if dev.dev_type is DevType.PF:
                reason = rejected.reason
            return InventoryRow(dev, spec.index, tags, pool, False, reason, verdicts=verdicts)
    return InventoryRow(dev, spec.index, tags, pool, True, None, skipped, verdicts)


def _serial_detail(dev: PciDevice, by_address: Mapping[str, PciDevice]) -> str:
    """Why neither the device nor its PF gave a serial, when the records say."""
    pf = by_address.get(dev.parent_addr) if dev.parent_addr else None
    holder = pf or dev
    vpd_notes = [note for note in holder.notes if "VPD" in note]
    who = f"PF {holder.address}" if pf else holder.address
    if vpd_notes:
        return f" ({who}: {vpd_notes[0]})"
    if holder.vpd is None:
        return f" ({who} has no VPD)"
    return f" ({who}'s VPD has no serial number)"


def inventory_as_json(
    host: str, rows: Iterable[InventoryRow], *, explain: bool = False
) -> dict[str, JsonValue]:
    """The whole `inventory --json` document: the host and one object per row."""
    devices: list[JsonValue] = [row.as_json(explain=explain) for row in rows]
    return {"host": host, "devices": devices}


def group_rows(rows: Iterable[InventoryRow]) -> tuple[InventoryGroup, ...]:
    """Rows grouped by PF (the PF first, then its VFs by number), groups by card serial."""
    by_pf: dict[str | None, list[InventoryRow]] = {}
    alone: list[InventoryRow] = []
    for row in rows:
        dev = row.device
        if dev.dev_type is DevType.PF:
            by_pf.setdefault(dev.address, []).append(row)
        elif dev.parent_addr:
            by_pf.setdefault(dev.parent_addr, []).append(row)
        else:
            alone.append(row)
    groups = []
    for pf_address, members in by_pf.items():
        members.sort(key=_member_order)
        head = members[0].device
        serial = head.card_serial_number if head.address == pf_address else None
        if serial is None:
            serial = next(
                (m.device.card_serial_number for m in members if m.device.card_serial_number),
                None,
            )
        groups.append(InventoryGroup(serial, pf_address, tuple(members)))
    groups += [InventoryGroup(r.device.card_serial_number, None, (r,)) for r in alone]
    groups.sort(
        key=lambda g: (
            g.card_serial_number is None,
            g.card_serial_number or "",
            g.pf_address or g.rows[0].device.address,
        )
    )
    return tuple(groups)


def _member_order(row: InventoryRow) -> tuple[int, int, str]:
    dev = row.device
    if dev.dev_type is DevType.PF:
        return (0, 0, dev.address)
    return (1, dev.vf_num if dev.vf_num is not None else 1 << 30, dev.address)

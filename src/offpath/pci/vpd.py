"""PCI Vital Product Data: the record a card's VPD carries (PCI Local Bus spec, VPD format)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class ChecksumStatus(StrEnum):
    """What the RV keyword's checksum says about the read-only section."""

    VALID = "valid"
    INVALID = "invalid"
    ABSENT = "absent"


@dataclass(frozen=True, slots=True)
class VpdRecord:
    """The decoded VPD of one PCI function; every absent field is None or empty."""

    card_name: str | None = None
    part_number: str | None = None
    change_level: str | None = None
    fabric_geography: str | None = None
    location: str | None = None
    manufacture_id: str | None = None
    pci_geography: str | None = None
    serial_number: str | None = None
    ro_vendor_fields: Mapping[str, str] = field(default_factory=dict)
    asset_tag: str | None = None
    rw_vendor_fields: Mapping[str, str] = field(default_factory=dict)
    rw_system_fields: Mapping[str, str] = field(default_factory=dict)
    checksum: ChecksumStatus = ChecksumStatus.ABSENT
    # Damage that was tolerated (see decode_vpd); empty for a clean record.
    damage: tuple[str, ...] = ()

    @property
    def card_serial_number(self) -> str | None:
        """The serial number when it can be trusted (not a damaged read-only section)."""
        if self.checksum is ChecksumStatus.INVALID:
            return None
        return self.serial_number or None

"""Faults the host simulator injects: damaged VPD, VFs without netdev, unknown NUMA, ...

A fault is `KIND` or `KIND@ADDRESS`. Without an address it hits a default
target: the first PF of the first card for PF faults, that PF's first VF for
VF faults.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from offpath.errors import OffpathError, SimFaultInvalid
from offpath.pci.address import PciAddress


class FaultKind(StrEnum):
    """What a fault does (the CLI spelling is the value)."""

    NO_VPD = "no-vpd"
    BAD_VPD_CHECKSUM = "bad-vpd-checksum"
    TRUNCATED_VPD = "truncated-vpd"
    VF_NO_NETDEV = "vf-no-netdev"
    NUMA_UNKNOWN = "numa-unknown"
    PF_MAC_UNREADABLE = "pf-mac-unreadable"
    VF_VPD_OWN_SERIAL = "vf-vpd-own-serial"


class Target(StrEnum):
    """Which functions a fault may be aimed at."""

    PF = "PF"
    VF = "VF"
    VPD_HOLDER = "function with a VPD"
    ANY = "PF or VF"


TARGETS: dict[FaultKind, Target] = {
    FaultKind.NO_VPD: Target.VPD_HOLDER,
    FaultKind.BAD_VPD_CHECKSUM: Target.VPD_HOLDER,
    FaultKind.TRUNCATED_VPD: Target.VPD_HOLDER,
    FaultKind.VF_NO_NETDEV: Target.VF,
    FaultKind.NUMA_UNKNOWN: Target.ANY,
    FaultKind.PF_MAC_UNREADABLE: Target.PF,
    FaultKind.VF_VPD_OWN_SERIAL: Target.VF,
}

DESCRIPTIONS: dict[FaultKind, str] = {
    FaultKind.NO_VPD: "no vpd file (default: the first PF)",
    FaultKind.BAD_VPD_CHECKSUM: "VPD whose RV checksum is wrong (default: the first PF)",
    FaultKind.TRUNCATED_VPD: "VPD cut before its serial number (default: the first PF)",
    FaultKind.VF_NO_NETDEV: "VF bound to vfio-pci, no net/ (default: the first VF)",
    FaultKind.NUMA_UNKNOWN: "numa_node -1; on a PF also its VFs (default: the first PF)",
    FaultKind.PF_MAC_UNREADABLE: "no address file in the PF netdev (default: the first PF)",
    FaultKind.VF_VPD_OWN_SERIAL: "VF with its own VPD and another serial (default: the first VF)",
}


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault to inject; `address` None means the kind's default target."""

    kind: FaultKind
    address: PciAddress | None = None

    def __str__(self) -> str:
        return f"{self.kind}@{self.address}" if self.address else str(self.kind)


def parse_fault(text: str) -> Fault:
    """Parse `KIND` or `KIND@ADDRESS`; SimFaultInvalid names the kinds when unknown."""
    name, at, where = text.strip().partition("@")
    try:
        kind = FaultKind(name)
    except ValueError:
        raise SimFaultInvalid(
            text,
            "unknown fault kind",
            hint=f"use one of {', '.join(kind.value for kind in FaultKind)}",
        ) from None
    if not at:
        return Fault(kind)
    try:
        return Fault(kind, PciAddress.parse(where))
    except OffpathError as exc:
        raise SimFaultInvalid(text, f"{where!r} is not a PCI address: {exc.message}") from exc

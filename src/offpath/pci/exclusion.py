"""Which devices may serve remote-managed ports, and why not.

A remote-managed port is bound by the network backend on the DPU, which
finds the card by its serial number and the VF's representor by the PF's
MAC address and the VF number (Neutron's OVN driver requires all three): a device lacking any of
the three cannot serve one, whatever the device specs say.
"""

from __future__ import annotations

from dataclasses import dataclass

from offpath.pci.device import DevType, PciDevice
from offpath.pci.spec import NO_SERIAL


@dataclass(frozen=True, slots=True)
class Exclusion:
    """Why one device is left out; `reason` is shown to operators as is."""

    address: str
    reason: str


def discovery_exclusion(dev: PciDevice) -> Exclusion | None:
    """Why discovery could not read `dev` fully; None if it could."""
    if dev.exclusion is None:
        return None
    return Exclusion(dev.address, f"excluded by discovery: {dev.exclusion}")


def remote_managed_exclusion(dev: PciDevice) -> Exclusion | None:
    """Why `dev`, selected by a remote_managed spec, cannot serve a remote-managed port."""
    found = discovery_exclusion(dev)
    if found is not None:
        return found
    address = dev.address
    if dev.dev_type is DevType.PF:
        return Exclusion(address, f"PF {address} is tagged remote_managed: tag its VFs instead")
    if dev.dev_type is DevType.VDPA:
        return Exclusion(
            address,
            f"vDPA device {address} is tagged remote_managed: remote-managed ports "
            "take plain VFs, vDPA devices serve vdpa ports",
        )
    if dev.dev_type is DevType.PCI:
        return Exclusion(
            address,
            f"{address} is not a VF: a remote-managed port needs a VF, "
            "with its PF's MAC address and its VF number",
        )
    if not dev.card_serial_number:
        return Exclusion(address, NO_SERIAL)
    if not dev.pf_mac_address:
        return Exclusion(
            address,
            f"the MAC address of its PF {dev.parent_addr} is unknown: "
            "the network backend needs it to find the VF's representor",
        )
    if dev.vf_num is None:
        return Exclusion(address, f"its VF number under PF {dev.parent_addr} is unknown")
    return None

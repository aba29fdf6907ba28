"""The libvirt `<interface type="hostdev">` element that hands a VF to a guest, as Nova writes it.

`managed` is always "yes" for interface hostdevs: the device_spec `managed`
tag only applies to plain `<hostdev>` elements. A vlan element is written
only for a truthy vlan id, and a VIF only has one when the legacy SR-IOV
path (`hw_veb`) plugs it: a VIF os-vif plugs (remote-managed, OVS
representors) never carries a vlan into the guest XML.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Final

from offpath.errors import (
    GuestInterfaceUnsupported,
    GuestInterfaceXmlInvalid,
    OffpathError,
    VifObjectInvalid,
)
from offpath.pci.address import PciAddress
from offpath.ports.vif import Vif
from offpath.ports.vnic import VnicType

# The vnic types whose VF the guest gets as an `<interface type="hostdev">`.
HOSTDEV_INTERFACE_VNIC_TYPES: Final = frozenset({VnicType.DIRECT, VnicType.REMOTE_MANAGED})
# The legacy SR-IOV agent's VIF type: its vlan comes from the VIF details.
HW_VEB: Final = "hw_veb"


@dataclass(frozen=True, slots=True)
class HostdevInterface:
    """What a hostdev interface says: the guest MAC, the host PCI address, the vlan (or None)."""

    mac: str
    address: PciAddress
    vlan: int | None = None


def hostdev_interface(vif: Vif) -> HostdevInterface:
    """The hostdev interface that hands `vif`'s VF (its profile's `pci_slot`) to the guest."""
    if vif.vnic_type not in HOSTDEV_INTERFACE_VNIC_TYPES:
        raise GuestInterfaceUnsupported(vif.id, vif.vnic_type.value)
    slot = vif.profile.get("pci_slot")
    if not isinstance(slot, str):
        raise VifObjectInvalid(vif.id, f"binding:profile pci_slot is {slot!r}, not a PCI address")
    try:
        address = PciAddress.parse(slot)
    except OffpathError as exc:
        raise VifObjectInvalid(vif.id, f"binding:profile pci_slot: {exc.message}") from exc
    vlan = _details_vlan(vif) if vif.vif_type == HW_VEB else None
    return HostdevInterface(vif.address, address, vlan)


def _details_vlan(vif: Vif) -> int | None:
    value = vif.details.get("vlan")
    # Neutron's SR-IOV driver sends the segmentation id as a string.
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value or None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value) or None
    raise VifObjectInvalid(vif.id, f"binding:vif_details vlan is {value!r}, not a number")


def build_interface(interface: HostdevInterface) -> ET.Element:
    """The `<interface type="hostdev" managed="yes">` element of `interface`."""
    element = ET.Element("interface", {"type": "hostdev", "managed": "yes"})
    ET.SubElement(element, "mac", {"address": interface.mac})
    source = ET.SubElement(element, "source")
    domain, bus, slot, function = interface.address.fields
    ET.SubElement(
        source,
        "address",
        {
            "type": "pci",
            "domain": f"0x{domain}",
            "bus": f"0x{bus}",
            "slot": f"0x{slot}",
            "function": f"0x{function}",
        },
    )
    if interface.vlan:
        vlan = ET.SubElement(element, "vlan")
        ET.SubElement(vlan, "tag", {"id": str(interface.vlan)})
    return element


def interface_xml(interface: HostdevInterface) -> str:
    """`build_interface` as text, ready for a domain definition or device attach."""
    return ET.tostring(build_interface(interface), encoding="unicode")


def parse_interface(text: str) -> HostdevInterface:
    """Read one `<interface type="hostdev">` element; GuestInterfaceXmlInvalid if it is not one."""
    try:
        element = ET.fromstring(text)
    except ET.ParseError as exc:
        raise GuestInterfaceXmlInvalid(f"not well-formed XML ({exc})") from exc
    return interface_of(element)


def hostdev_interfaces(domain_xml: str) -> tuple[HostdevInterface, ...]:
    """Every hostdev interface of a libvirt domain definition, in document order."""
    try:
        domain = ET.fromstring(domain_xml)
    except ET.ParseError as exc:
        raise GuestInterfaceXmlInvalid(f"domain XML is not well-formed ({exc})") from exc
    return tuple(
        interface_of(element)
        for element in domain.iter("interface")
        if element.get("type") == "hostdev"
    )


def interface_of(element: ET.Element) -> HostdevInterface:
    """The MAC, PCI address and vlan of a parsed `<interface type="hostdev">` element."""
    if element.tag != "interface" or element.get("type") != "hostdev":
        found = f"<{element.tag} type={element.get('type')!r}>"
        raise GuestInterfaceXmlInvalid(f"expected <interface type='hostdev'>, found {found}")
    mac = element.find("mac")
    mac_address = None if mac is None else mac.get("address")
    if not mac_address:
        raise GuestInterfaceXmlInvalid("the interface has no <mac address=...>")
    return HostdevInterface(mac_address, _source_address(element), _vlan(element))


def _source_address(element: ET.Element) -> PciAddress:
    address = element.find("source/address")
    if address is None or address.get("type", "pci") != "pci":
        raise GuestInterfaceXmlInvalid("the interface has no <source><address type='pci'>")
    fields: list[str] = []
    for name in ("domain", "bus", "slot", "function"):
        value = address.get(name)
        if value is None:
            raise GuestInterfaceXmlInvalid(f"the source address has no {name}")
        fields.append(value.removeprefix("0x").removeprefix("0X"))
    try:
        return PciAddress.from_fields(*fields)
    except OffpathError as exc:
        raise GuestInterfaceXmlInvalid(f"bad source address: {exc.message}") from exc


def _vlan(element: ET.Element) -> int | None:
    tag = element.find("vlan/tag")
    if tag is None:
        return None
    value = tag.get("id", "")
    if not value.isascii() or not value.isdigit():
        raise GuestInterfaceXmlInvalid(f"vlan tag id {value!r} is not a number")
    return int(value) or None

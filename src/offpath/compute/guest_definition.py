"""A libvirt domain definition's offpath parts: the port ids in its metadata, its VF interfaces.

Pure XML, no libvirt: the driver reads a guest's ports with it, and the
simulated hypervisor edits a definition with it where libvirt's test driver
refuses a hot-plug.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Final

from offpath.ports.guest_interface import (
    HostdevInterface,
    build_interface,
    hostdev_interfaces,
    interface_of,
)

METADATA_NS: Final = "https://offpath.dev/xmlns/libvirt/instance/1.0"
METADATA_PREFIX: Final = "offpath"
_INSTANCE: Final = f"{{{METADATA_NS}}}instance"
_PORT: Final = f"{{{METADATA_NS}}}port"

ET.register_namespace(METADATA_PREFIX, METADATA_NS)


def ports_metadata(port_ids: tuple[str, ...]) -> ET.Element:
    """The `<offpath:instance>` element recording `port_ids`, for a domain's `<metadata>`."""
    instance = ET.Element(_INSTANCE)
    for port_id in port_ids:
        ET.SubElement(instance, _PORT, {"id": port_id})
    return instance


def ports_metadata_text(port_ids: tuple[str, ...]) -> str:
    """The same element with no namespace: libvirt's setMetadata takes it so and adds one."""
    instance = ET.Element("instance")
    for port_id in port_ids:
        ET.SubElement(instance, "port", {"id": port_id})
    return ET.tostring(instance, encoding="unicode")


def recorded_ports(domain_xml: str) -> tuple[str, ...]:
    """The port ids a domain definition records in its metadata, in order."""
    found = ET.fromstring(domain_xml).find(f"metadata/{_INSTANCE}")
    if found is None:
        return ()
    return tuple(port.get("id", "") for port in found.findall(_PORT) if port.get("id"))


def same_device(a: HostdevInterface, b: HostdevInterface) -> bool:
    """Whether two hostdev interfaces are one device to libvirt: the same MAC on the same VF."""
    return a.mac.lower() == b.mac.lower() and a.address == b.address


def holds_interface(domain_xml: str, interface: HostdevInterface) -> bool:
    """Whether the definition has `interface` among its hostdev interfaces."""
    return any(same_device(found, interface) for found in hostdev_interfaces(domain_xml))


def with_interface(domain_xml: str, interface: HostdevInterface, port_id: str) -> str:
    """The definition with `interface` in its devices and `port_id` in its metadata (each once)."""
    domain = ET.fromstring(domain_xml)
    if not holds_interface(domain_xml, interface):
        devices = domain.find("devices")
        if devices is None:
            devices = ET.SubElement(domain, "devices")
        devices.append(build_interface(interface))
    ports = recorded_ports(domain_xml)
    if port_id not in ports:
        _set_ports(domain, (*ports, port_id))
    return ET.tostring(domain, encoding="unicode")


def without_interface(domain_xml: str, interface: HostdevInterface, port_id: str) -> str:
    """The definition without `interface` in its devices nor `port_id` in its metadata."""
    domain = ET.fromstring(domain_xml)
    for devices in domain.findall("devices"):
        for element in devices.findall("interface"):
            if element.get("type") == "hostdev" and same_device(interface_of(element), interface):
                devices.remove(element)
    ports = recorded_ports(domain_xml)
    if port_id in ports:
        _set_ports(domain, tuple(port for port in ports if port != port_id))
    return ET.tostring(domain, encoding="unicode")


def _set_ports(domain: ET.Element, port_ids: tuple[str, ...]) -> None:
    metadata = domain.find("metadata")
    if metadata is None:
        metadata = ET.SubElement(domain, "metadata")
    for old in metadata.findall(_INSTANCE):
        metadata.remove(old)
    metadata.append(ports_metadata(port_ids))

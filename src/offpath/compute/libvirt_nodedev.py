"""Discovery through libvirt: list the PCI, net and vDPA node devices and read their XML.

The I/O half of the libvirt reader, as in Nova's libvirt driver; the XML is turned into
PciDevice records by offpath.pci.discovery.nodedev_xml. Any libvirt URI
works: `qemu:///system` on a compute host, `test:///path/to/node.xml` (a
`<node>` document of `<device>` elements) for the test driver.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import libvirt

from offpath.errors import LibvirtUnavailable, OffpathError
from offpath.pci.device import PciDevice
from offpath.pci.discovery.nodedev_xml import NodeDevice, devices_from_nodedevs, parse_nodedev

DEFAULT_URI: Final = "qemu:///system"
LIST_FLAGS: Final = (
    libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV
    | libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET
    | libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_VDPA
)


@dataclass(frozen=True, slots=True)
class NodedevDump:
    """The XML of every node device listed, and why the others could not be read."""

    documents: dict[str, str]
    unreadable: dict[str, str]


def _silence(_context: object, _error: object) -> None:
    """libvirt prints every error on stderr by default; offpath reports them itself."""


@contextmanager
def connected(uri: str) -> Iterator[Any]:
    """A libvirt connection to `uri`, closed afterwards; LibvirtUnavailable if refused."""
    libvirt.registerErrorHandler(_silence, None)
    try:
        conn = libvirt.open(uri)
    except (libvirt.libvirtError, SystemError) as exc:
        raise LibvirtUnavailable(uri, f"cannot connect: {connection_problem(exc)}") from exc
    try:
        yield conn
    finally:
        conn.close()


def read_nodedev_xml(uri: str = DEFAULT_URI) -> NodedevDump:
    """The XML of the host's PCI, net and vDPA node devices, by node device name."""
    with connected(uri) as conn:
        try:
            listed: list[Any] = conn.listAllDevices(LIST_FLAGS)
        except (libvirt.libvirtError, SystemError) as exc:
            raise LibvirtUnavailable(
                uri, f"cannot list node devices: {connection_problem(exc)}"
            ) from exc
        documents: dict[str, str] = {}
        unreadable: dict[str, str] = {}
        for device in listed:
            name = str(device.name())
            try:
                documents[name] = str(device.XMLDesc(0))
            except (libvirt.libvirtError, SystemError) as exc:
                # A device can vanish between the listing and the read (a VF
                # being destroyed): that one device is left out, not the host.
                unreadable[name] = connection_problem(exc)
        return NodedevDump(documents, unreadable)


def discover_libvirt(uri: str = DEFAULT_URI) -> tuple[PciDevice, ...]:
    """Every PCI function libvirt reports at `uri`, as PciDevice records by address."""
    dump = read_nodedev_xml(uri)
    nodedevs: list[NodeDevice] = []
    unreadable = dict(dump.unreadable)
    for name, xml in dump.documents.items():
        try:
            nodedevs.append(parse_nodedev(xml))
        except OffpathError as exc:
            unreadable[name] = exc.message
    return devices_from_nodedevs(nodedevs, unreadable=unreadable)


def connection_problem(exc: Any) -> str:
    """A libvirt error's message, also when libvirt-python cannot decode it."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, SystemError) and isinstance(cause, UnicodeDecodeError):
        # libvirt-python fails to decode an error message holding non-UTF-8
        # bytes (a test:// URI naming a binary file quotes it) and raises
        # SystemError instead of libvirtError.
        lines = bytes(cause.object).decode("utf-8", "replace").splitlines()
        return lines[0] if lines else str(cause)
    text = exc.get_error_message() if hasattr(exc, "get_error_message") else None
    return str(text or exc)

"""The hypervisor driver: define, start, resume and destroy an instance's guest through libvirt.

`Hypervisor` is the small interface the agent builds on; `LibvirtGuests`
is its one implementation (libvirt-python: `test:///default` in
development and tests, `qemu:///system` on a host). The guest is a domain
named after the instance, with one `<interface type="hostdev">` per VF.
The instance's port ids are kept in the domain's own metadata, so a
restarted agent still knows which ports to unbind when it is deleted.
"""

from __future__ import annotations

import logging
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final, Protocol

import libvirt

from offpath.compute.libvirt_nodedev import connection_problem
from offpath.errors import GuestFailed, LibvirtUnavailable
from offpath.ports.guest_interface import HostdevInterface, build_interface

LOG = logging.getLogger(__name__)

METADATA_NS: Final = "https://offpath.dev/xmlns/libvirt/instance/1.0"
METADATA_PREFIX: Final = "offpath"


@dataclass(frozen=True, slots=True)
class GuestSpec:
    """What a guest is made of: its instance, size, virt type and VF interfaces."""

    instance_uuid: str
    name: str
    memory_mb: int
    vcpus: int
    virt_type: str
    interfaces: tuple[HostdevInterface, ...]
    port_ids: tuple[str, ...]


class Hypervisor(Protocol):
    """The guest steps a build and a delete take; each raises GuestFailed when refused."""

    def define(self, guest: GuestSpec) -> None:
        """Define the guest (not started)."""
        ...

    def start(self, instance_uuid: str, *, paused: bool) -> None:
        """Start the defined guest; paused, it runs no code until `resume`."""
        ...

    def resume(self, instance_uuid: str) -> None:
        """Let a paused guest run."""
        ...

    def destroy(self, instance_uuid: str) -> bool:
        """Stop and undefine the guest; False when there was none."""
        ...

    def guest_ports(self, instance_uuid: str) -> tuple[str, ...] | None:
        """The port ids recorded with the guest; None when there is no guest."""
        ...

    def guest_xml(self, instance_uuid: str) -> str | None:
        """The guest's libvirt XML; None when there is no guest."""
        ...


def domain_name(instance_uuid: str) -> str:
    """The libvirt domain name of an instance."""
    return f"instance-{instance_uuid}"


def domain_xml(guest: GuestSpec) -> str:
    """The libvirt domain definition of `guest`."""
    domain = ET.Element("domain", {"type": guest.virt_type})
    ET.SubElement(domain, "name").text = domain_name(guest.instance_uuid)
    ET.SubElement(domain, "uuid").text = guest.instance_uuid
    ET.SubElement(domain, "title").text = guest.name
    metadata = ET.SubElement(domain, "metadata")
    metadata.append(_metadata(guest.port_ids))
    ET.SubElement(domain, "memory", {"unit": "MiB"}).text = str(guest.memory_mb)
    ET.SubElement(domain, "vcpu").text = str(guest.vcpus)
    os_element = ET.SubElement(domain, "os")
    ET.SubElement(os_element, "type", {"arch": "x86_64", "machine": "q35"}).text = "hvm"
    devices = ET.SubElement(domain, "devices")
    for interface in guest.interfaces:
        devices.append(build_interface(interface))
    return ET.tostring(domain, encoding="unicode")


def _metadata(port_ids: tuple[str, ...]) -> ET.Element:
    instance = ET.Element(f"{{{METADATA_NS}}}instance")
    for port_id in port_ids:
        ET.SubElement(instance, f"{{{METADATA_NS}}}port", {"id": port_id})
    return instance


ET.register_namespace(METADATA_PREFIX, METADATA_NS)


class LibvirtGuests:
    """`Hypervisor` over one libvirt connection, opened on first use and shared by threads."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._conn: Any = None
        self._lock = threading.Lock()

    def _connection(self) -> Any:
        with self._lock:
            if self._conn is None:
                libvirt.registerErrorHandler(_silence, None)
                try:
                    self._conn = libvirt.open(self.uri)
                except (libvirt.libvirtError, SystemError) as exc:
                    raise LibvirtUnavailable(
                        self.uri, f"cannot connect: {connection_problem(exc)}"
                    ) from exc
            return self._conn

    def close(self) -> None:
        """Close the connection (reopened on next use)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @contextmanager
    def _step(self, instance_uuid: str, step: str) -> Iterator[None]:
        try:
            yield
        except (libvirt.libvirtError, SystemError) as exc:
            raise GuestFailed(self.uri, instance_uuid, step, connection_problem(exc)) from exc

    def _domain(self, instance_uuid: str) -> Any | None:
        try:
            return self._connection().lookupByUUIDString(instance_uuid)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise GuestFailed(self.uri, instance_uuid, "look up", connection_problem(exc)) from exc

    def define(self, guest: GuestSpec) -> None:
        """Define the guest (not started)."""
        conn = self._connection()
        with self._step(guest.instance_uuid, "define"):
            conn.defineXML(domain_xml(guest))
        LOG.info("guest of %s defined on %s", guest.instance_uuid, self.uri)

    def start(self, instance_uuid: str, *, paused: bool) -> None:
        """Start the defined guest; paused, it runs no code until `resume`."""
        domain = self._domain(instance_uuid)
        if domain is None:
            raise GuestFailed(self.uri, instance_uuid, "start", "no such domain")
        with self._step(instance_uuid, "start"):
            if not paused:
                domain.create()
                return
            try:
                domain.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED)
            except libvirt.libvirtError as exc:
                # libvirt's test driver cannot start paused: start, then pause at once.
                if exc.get_error_code() != libvirt.VIR_ERR_INVALID_ARG:
                    raise
                domain.create()
                domain.suspend()

    def resume(self, instance_uuid: str) -> None:
        """Let a paused guest run."""
        domain = self._domain(instance_uuid)
        if domain is None:
            raise GuestFailed(self.uri, instance_uuid, "resume", "no such domain")
        with self._step(instance_uuid, "resume"):
            domain.resume()

    def destroy(self, instance_uuid: str) -> bool:
        """Stop and undefine the guest; False when there was none."""
        domain = self._domain(instance_uuid)
        if domain is None:
            return False
        with self._step(instance_uuid, "destroy"):
            try:
                if domain.isActive():
                    domain.destroy()
                domain.undefine()
            except libvirt.libvirtError as exc:
                # Another thread's destroy got there between the lookup and now.
                if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                    return False
                raise
        LOG.info("guest of %s destroyed on %s", instance_uuid, self.uri)
        return True

    def guest_ports(self, instance_uuid: str) -> tuple[str, ...] | None:
        """The port ids recorded with the guest; None when there is no guest."""
        text = self.guest_xml(instance_uuid)
        if text is None:
            return None
        found = ET.fromstring(text).find(f"metadata/{{{METADATA_NS}}}instance")
        if found is None:
            return ()
        return tuple(
            port.get("id", "") for port in found.findall(f"{{{METADATA_NS}}}port") if port.get("id")
        )

    def guest_xml(self, instance_uuid: str) -> str | None:
        """The guest's libvirt XML; None when there is no guest."""
        domain = self._domain(instance_uuid)
        if domain is None:
            return None
        with self._step(instance_uuid, "read"):
            try:
                return str(domain.XMLDesc(0))
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                    return None
                raise


def _silence(_context: object, _error: object) -> None:
    """libvirt prints every error on stderr by default; offpath reports them itself."""

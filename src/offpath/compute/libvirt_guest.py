"""The hypervisor driver: an instance's guest through libvirt, from define to destroy.

`Hypervisor` is the small interface the agent builds on; `LibvirtGuests`
implements it with real libvirt calls (libvirt-python: `test:///default` in
development and tests, `qemu:///system` on a host). The guest is a domain
named after the instance, with one `<interface type="hostdev">` per VF.
The instance's port ids are kept in the domain's own metadata, so a
restarted agent still knows which ports to unbind when it is deleted.
"""

from __future__ import annotations

import logging
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Protocol

import libvirt

from offpath.compute.guest_definition import (
    METADATA_NS,
    METADATA_PREFIX,
    holds_interface,
    ports_metadata,
    ports_metadata_text,
    recorded_ports,
)
from offpath.compute.libvirt_nodedev import connection_problem
from offpath.errors import GuestFailed, LibvirtUnavailable
from offpath.ports.guest_interface import (
    HostdevInterface,
    build_interface,
    hostdev_interfaces,
    interface_xml,
)

LOG = logging.getLogger(__name__)

# Nova's [DEFAULT] shutdown_timeout: how long a clean shutdown may take before a destroy.
SHUTDOWN_TIMEOUT: Final = 60.0
SHUTDOWN_POLL: Final = 0.5
# Nova's live-migration flags with its defaults (not tunnelled, no post-copy, no
# auto-converge, no native TLS): the guest keeps running, the source's libvirtd
# talks to the destination's, and the definition moves with it.
LIVE_MIGRATION_FLAGS: Final = (
    libvirt.VIR_MIGRATE_LIVE
    | libvirt.VIR_MIGRATE_PEER2PEER
    | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
    | libvirt.VIR_MIGRATE_PERSIST_DEST
)
# Nova's [libvirt] live_migration_bandwidth default: 0, libvirt picks.
LIVE_MIGRATION_BANDWIDTH: Final = 0


class GuestPower(StrEnum):
    """Where a guest's power stands, as the operations on it see it."""

    RUNNING = "running"
    PAUSED = "paused"
    SHUTOFF = "shutoff"
    # Stopped with its memory in a managed save image; starting it restores that image.
    SAVED = "saved"


@dataclass(frozen=True, slots=True)
class DetachRetry:
    """How long a guest may take to release a detached device, as Nova's
    `[libvirt] device_detach_attempts` and `device_detach_timeout` bound it."""

    attempts: int = 8
    timeout: float = 20.0
    poll: float = 0.5


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
    """The guest steps the server operations take; each raises GuestFailed when refused."""

    @property
    def uri(self) -> str:
        """The libvirt URI of this host's guests."""
        ...

    @property
    def simulated(self) -> bool:
        """True when some steps are played, not done (libvirt's test driver): never a real host."""
        ...

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

    def power(self, instance_uuid: str) -> GuestPower | None:
        """Where the guest's power stands; None when there is no guest."""
        ...

    def power_off(self, instance_uuid: str) -> None:
        """Stop the guest and keep its definition (a managed save image is dropped); idempotent."""
        ...

    def power_on(self, instance_uuid: str) -> None:
        """Start the guest, restoring its managed save image if it has one; idempotent."""
        ...

    def reboot(self, instance_uuid: str, *, hard: bool) -> None:
        """Hard: destroy and start again; soft: ask the guest, hard if it is refused."""
        ...

    def suspend(self, instance_uuid: str) -> None:
        """Save the guest's memory to a managed save image and stop it."""
        ...

    def attach_interface(
        self, instance_uuid: str, interface: HostdevInterface, port_id: str
    ) -> None:
        """Hot-plug `interface` (and keep it in the definition); record `port_id` with the guest."""
        ...

    def detach_interface(
        self, instance_uuid: str, interface: HostdevInterface, port_id: str
    ) -> None:
        """Unplug `interface` from the guest and its definition; forget `port_id`. Idempotent."""
        ...

    def interfaces(self, instance_uuid: str) -> tuple[HostdevInterface, ...]:
        """The hostdev interfaces the guest holds now (its live XML)."""
        ...

    def migrate_live(self, instance_uuid: str, *, destination_uri: str) -> str | None:
        """Live-migrate the guest away; what `arrive` needs at the destination (None: nothing)."""
        ...

    def arrive(self, instance_uuid: str, handoff: str | None, *, running: bool) -> None:
        """At the destination of `migrate_live`: make sure the guest is here."""
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
    metadata.append(ports_metadata(guest.port_ids))
    ET.SubElement(domain, "memory", {"unit": "MiB"}).text = str(guest.memory_mb)
    ET.SubElement(domain, "vcpu").text = str(guest.vcpus)
    os_element = ET.SubElement(domain, "os")
    ET.SubElement(os_element, "type", {"arch": "x86_64", "machine": "q35"}).text = "hvm"
    devices = ET.SubElement(domain, "devices")
    for interface in guest.interfaces:
        devices.append(build_interface(interface))
    return ET.tostring(domain, encoding="unicode")


class LibvirtGuests:
    """`Hypervisor` over one libvirt connection, opened on first use and shared by threads.

    Every step is a real libvirt call; `connect` opens the connection
    (libvirt.open, or a test double of it).
    """

    # Nothing here is played: what a caller records of a step, libvirt did.
    simulated: bool = False

    def __init__(
        self,
        uri: str,
        *,
        connect: Callable[[str], Any] = libvirt.open,
        shutdown_timeout: float = SHUTDOWN_TIMEOUT,
        detach_retry: DetachRetry = DetachRetry(),
    ) -> None:
        self.uri = uri
        self._connect = connect
        self._shutdown_timeout = shutdown_timeout
        self._detach_retry = detach_retry
        self._conn: Any = None
        self._lock = threading.Lock()

    def _connection(self) -> Any:
        with self._lock:
            if self._conn is None:
                libvirt.registerErrorHandler(_silence, None)
                try:
                    self._conn = self._connect(self.uri)
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

    def _require(self, instance_uuid: str, step: str) -> Any:
        domain = self._domain(instance_uuid)
        if domain is None:
            raise GuestFailed(self.uri, instance_uuid, step, "no such domain")
        return domain

    def define(self, guest: GuestSpec) -> None:
        """Define the guest (not started)."""
        conn = self._connection()
        with self._step(guest.instance_uuid, "define"):
            conn.defineXML(domain_xml(guest))
        LOG.info("guest of %s defined on %s", guest.instance_uuid, self.uri)

    def start(self, instance_uuid: str, *, paused: bool) -> None:
        """Start the defined guest; paused, it runs no code until `resume`."""
        domain = self._require(instance_uuid, "start")
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
        domain = self._require(instance_uuid, "resume")
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
        return recorded_ports(text)

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

    def power(self, instance_uuid: str) -> GuestPower | None:
        """Where the guest's power stands; None when there is no guest."""
        domain = self._domain(instance_uuid)
        if domain is None:
            return None
        with self._step(instance_uuid, "read"):
            try:
                return domain_power(domain)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                    return None
                raise

    def power_off(self, instance_uuid: str) -> None:
        """Stop the guest and keep its definition (a managed save image is dropped); idempotent.

        As Nova's stop does: a clean shutdown first, destroyed if it has not
        stopped within the shutdown timeout.
        """
        domain = self._require(instance_uuid, "power off")
        with self._step(instance_uuid, "power off"):
            if not domain.isActive():
                # A stopped guest starts afresh, as Nova's power on discards a saved image.
                if domain.hasManagedSaveImage(0):
                    domain.managedSaveRemove(0)
                return
            # A paused guest cannot answer the shutdown request.
            paused = domain_power(domain) is GuestPower.PAUSED
            if paused or not self._shut_down(domain):
                stop_domain(domain)
        LOG.info("guest of %s powered off on %s", instance_uuid, self.uri)

    def _shut_down(self, domain: Any) -> bool:
        """Ask the guest to shut down; whether it stopped within the shutdown timeout."""
        try:
            domain.shutdown()
        except libvirt.libvirtError as exc:
            LOG.info("clean shutdown refused (%s); destroying", connection_problem(exc))
            return False
        deadline = time.monotonic() + self._shutdown_timeout
        while domain.isActive():
            if time.monotonic() >= deadline:
                return False
            time.sleep(SHUTDOWN_POLL)
        return True

    def power_on(self, instance_uuid: str) -> None:
        """Start the guest, restoring its managed save image if it has one; idempotent."""
        domain = self._require(instance_uuid, "power on")
        with self._step(instance_uuid, "power on"):
            if domain.isActive():
                return
            # virDomainCreate restores a managed save image when there is one.
            domain.create()
        LOG.info("guest of %s powered on on %s", instance_uuid, self.uri)

    def reboot(self, instance_uuid: str, *, hard: bool) -> None:
        """Hard: destroy and start again; soft: ask the guest, hard if it is refused."""
        domain = self._require(instance_uuid, "reboot")
        if not hard:
            try:
                domain.reboot(0)
            except libvirt.libvirtError as exc:
                LOG.warning(
                    "soft reboot of %s refused (%s); rebooting hard",
                    instance_uuid,
                    connection_problem(exc),
                )
            else:
                LOG.info("guest of %s rebooted (soft) on %s", instance_uuid, self.uri)
                return
        with self._step(instance_uuid, "reboot"):
            if domain.isActive():
                stop_domain(domain)
            # A hard reboot boots afresh: Nova's drops the managed save image too.
            if domain.hasManagedSaveImage(0):
                domain.managedSaveRemove(0)
            domain.create()
        LOG.info("guest of %s rebooted (hard) on %s", instance_uuid, self.uri)

    def suspend(self, instance_uuid: str) -> None:
        """Save the guest's memory to a managed save image and stop it."""
        domain = self._require(instance_uuid, "suspend")
        with self._step(instance_uuid, "suspend"):
            power = domain_power(domain)
            if power is GuestPower.SAVED:
                return
            if power is GuestPower.SHUTOFF:
                raise GuestFailed(self.uri, instance_uuid, "suspend", "the guest is not running")
            domain.managedSave(0)
        LOG.info("guest of %s suspended (managed save) on %s", instance_uuid, self.uri)

    def attach_interface(
        self, instance_uuid: str, interface: HostdevInterface, port_id: str
    ) -> None:
        """Hot-plug `interface` (and keep it in the definition); record `port_id` with the guest.

        One attachDeviceFlags of the `<interface type="hostdev">` element, on
        the definition and, when the guest runs, live; a retried attach of an
        interface the guest already holds only records the port.
        """
        step = "attach an interface to"
        domain = self._require(instance_uuid, step)
        with self._step(instance_uuid, step):
            live = bool(domain.isActive())
            if not holds_interface(domain.XMLDesc(0), interface):
                domain.attachDeviceFlags(interface_xml(interface), _affect(live=live))
            self._record_ports(domain, live=live, add=port_id)
        LOG.info(
            "interface %s (%s) attached to the guest of %s on %s",
            interface.mac,
            interface.address,
            instance_uuid,
            self.uri,
        )

    def detach_interface(
        self, instance_uuid: str, interface: HostdevInterface, port_id: str
    ) -> None:
        """Unplug `interface` from the guest and its definition; forget `port_id`. Idempotent.

        As Nova does: one detachDeviceFlags on both, then, while the guest
        still holds the device, the live detach again, a bounded number of
        times (`DetachRetry`).
        """
        step = "detach an interface from"
        domain = self._require(instance_uuid, step)
        element = interface_xml(interface)
        with self._step(instance_uuid, step):
            live = bool(domain.isActive())
            in_config = holds_interface(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE), interface)
            in_live = live and holds_interface(domain.XMLDesc(0), interface)
            if in_config or in_live:
                flags = (libvirt.VIR_DOMAIN_AFFECT_CONFIG if in_config else 0) | (
                    libvirt.VIR_DOMAIN_AFFECT_LIVE if in_live else 0
                )
                _detach(domain, element, flags)
                if in_live:
                    self._wait_released(instance_uuid, domain, interface, element)
            self._record_ports(domain, live=live, remove=port_id)
        LOG.info(
            "interface %s (%s) detached from the guest of %s on %s",
            interface.mac,
            interface.address,
            instance_uuid,
            self.uri,
        )

    def _wait_released(
        self, instance_uuid: str, domain: Any, interface: HostdevInterface, element: str
    ) -> None:
        """Until the live guest lets the device go, asking again after each timeout."""
        retry = self._detach_retry
        for attempt in range(1, retry.attempts + 1):
            if attempt > 1:
                LOG.info(
                    "the guest of %s still holds %s: live detach, attempt %d of %d",
                    instance_uuid,
                    interface.mac,
                    attempt,
                    retry.attempts,
                )
                _detach(domain, element, libvirt.VIR_DOMAIN_AFFECT_LIVE)
            deadline = time.monotonic() + retry.timeout
            while holds_interface(domain.XMLDesc(0), interface):
                if time.monotonic() >= deadline:
                    break
                time.sleep(retry.poll)
            else:
                return
        raise GuestFailed(
            self.uri,
            instance_uuid,
            "detach an interface from",
            f"the guest still holds {interface.mac} ({interface.address}) "
            f"after {retry.attempts} detach attempts",
        )

    def _record_ports(
        self, domain: Any, *, live: bool, add: str | None = None, remove: str | None = None
    ) -> None:
        """Add or remove one port id in the guest's metadata, where it changes anything."""
        ports = recorded_ports(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        wanted = tuple(port for port in ports if port != remove)
        if add is not None and add not in wanted:
            wanted = (*wanted, add)
        if wanted == ports and (not live or recorded_ports(domain.XMLDesc(0)) == ports):
            return
        domain.setMetadata(
            libvirt.VIR_DOMAIN_METADATA_ELEMENT,
            ports_metadata_text(wanted),
            METADATA_PREFIX,
            METADATA_NS,
            _affect(live=live),
        )

    def interfaces(self, instance_uuid: str) -> tuple[HostdevInterface, ...]:
        """The hostdev interfaces the guest holds now (its live XML)."""
        text = self.guest_xml(instance_uuid)
        if text is None:
            raise GuestFailed(self.uri, instance_uuid, "read", "no such domain")
        return hostdev_interfaces(text)

    def migrate_live(self, instance_uuid: str, *, destination_uri: str) -> str | None:
        """Live-migrate the guest to `destination_uri`; None: libvirt moved it, nothing to hand.

        One migrateToURI3 with Nova's flags and params: the guest's migratable
        XML as both the destination's live and persistent definition (a soft
        reboot there must not bring back the source's).
        """
        step = "live-migrate"
        domain = self._require(instance_uuid, step)
        with self._step(instance_uuid, step):
            xml = domain.XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE)
            params = {
                libvirt.VIR_MIGRATE_PARAM_BANDWIDTH: LIVE_MIGRATION_BANDWIDTH,
                libvirt.VIR_MIGRATE_PARAM_DEST_XML: xml,
                libvirt.VIR_MIGRATE_PARAM_PERSIST_XML: xml,
            }
            domain.migrateToURI3(destination_uri, params, LIVE_MIGRATION_FLAGS)
        LOG.info(
            "guest of %s live-migrated from %s to %s", instance_uuid, self.uri, destination_uri
        )
        return None

    def arrive(self, instance_uuid: str, handoff: str | None, *, running: bool) -> None:
        """At the destination of `migrate_live`: the guest libvirt moved must be here."""
        if handoff is not None:
            # Only a simulated source hands a definition over; a real host never takes one.
            raise GuestFailed(
                self.uri,
                instance_uuid,
                "receive",
                "a simulated host handed over its guest's XML; only libvirt moves a guest here",
            )
        if self._domain(instance_uuid) is None:
            raise GuestFailed(
                self.uri, instance_uuid, "receive", "no such domain after the live migration"
            )
        LOG.info(
            "guest of %s arrived on %s (%s)",
            instance_uuid,
            self.uri,
            "running" if running else "paused",
        )


def _affect(*, live: bool) -> int:
    """The definition always; the running guest too when there is one."""
    flags: int = libvirt.VIR_DOMAIN_AFFECT_CONFIG
    if live:
        flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
    return flags


def _detach(domain: Any, element: str, flags: int) -> None:
    """detachDeviceFlags; a device already gone is not an error."""
    try:
        domain.detachDeviceFlags(element, flags)
    except libvirt.libvirtError as exc:
        if not _device_missing(exc):
            raise


def _device_missing(exc: libvirt.libvirtError) -> bool:
    code = exc.get_error_code()
    if code == libvirt.VIR_ERR_DEVICE_MISSING:
        return True
    # Older libvirt said so only in the message, as Nova also checks.
    message = str(exc.get_error_message() or "")
    if code in (libvirt.VIR_ERR_OPERATION_FAILED, libvirt.VIR_ERR_INTERNAL_ERROR):
        return "not found" in message
    return code == libvirt.VIR_ERR_INVALID_ARG and "no target device" in message


def domain_power(domain: Any) -> GuestPower:
    """A domain's power from libvirt: active or not first, then its state or its saved image."""
    if domain.isActive():
        state = domain.state(0)[0]
        if state in (libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PMSUSPENDED):
            return GuestPower.PAUSED
        return GuestPower.RUNNING
    # libvirt keeps the "saved" state reason after the image is gone: ask for the image.
    if domain.hasManagedSaveImage(0):
        return GuestPower.SAVED
    return GuestPower.SHUTOFF


def stop_domain(domain: Any) -> None:
    """Destroy an active domain; one that stopped meanwhile is fine."""
    try:
        domain.destroy()
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID or domain.isActive():
            raise


def _silence(_context: object, _error: object) -> None:
    """libvirt prints every error on stderr by default; offpath reports them itself."""

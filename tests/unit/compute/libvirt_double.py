"""A recording double of libvirt-python's connection and domain, for the real path's calls.

libvirt's test driver refuses device hot-plug and migration, so the exact
element, flags and params `LibvirtGuests` passes are checked here: every
call lands in `calls`, and the domain keeps a live and a persistent
definition that attach, detach and metadata calls edit as libvirt would.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import libvirt

from offpath.compute.guest_definition import METADATA_NS
from offpath.compute.libvirt_guest import LibvirtGuests

URI = "qemu:///system"


def libvirt_error(code: int, message: str) -> libvirt.libvirtError:
    """A libvirtError carrying `code`, as libvirt-python raises it.

    Built without its constructor, which reads the C library's last error
    of this thread: whatever an earlier real call left there (bytes that
    are not always UTF-8) must not decide what the test sees.
    """
    error = libvirt.libvirtError.__new__(libvirt.libvirtError)
    Exception.__init__(error, message)
    error.err = (code, libvirt.VIR_FROM_DOMAIN, message, libvirt.VIR_ERR_ERROR, "", "", "", 0, 0)
    return error


@dataclass
class FakeDomain:
    """One domain: its power, its two definitions, what was called on it."""

    uuid: str
    active: bool = False
    paused: bool = False
    saved: bool = False
    # Each `<devices>` child and the metadata, live and persistent.
    live: list[str] = field(default_factory=list)
    config: list[str] = field(default_factory=list)
    live_ports: tuple[str, ...] = ()
    config_ports: tuple[str, ...] = ()
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    # Method name -> the error it raises.
    refuse: dict[str, libvirt.libvirtError] = field(default_factory=dict)
    # The guest answers a shutdown request (else it ignores it, as a hung guest does).
    obeys_shutdown: bool = True
    # How many live detaches the guest lets pass without releasing the device.
    slow_detaches: int = 0

    def _call(self, name: str, *args: Any) -> None:
        self.calls.append((name, *args))
        if name in self.refuse:
            raise self.refuse[name]

    def names(self) -> list[str]:
        """The method names called, in order."""
        return [call[0] for call in self.calls]

    def isActive(self) -> int:  # noqa: N802 - libvirt's name
        return int(self.active)

    def state(self, flags: int = 0) -> list[int]:
        if not self.active:
            return [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_SAVED]
        if self.paused:
            return [libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_USER]
        return [libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_BOOTED]

    def hasManagedSaveImage(self, flags: int) -> int:  # noqa: N802
        return int(self.saved)

    def managedSaveRemove(self, flags: int) -> None:  # noqa: N802
        self._call("managedSaveRemove", flags)
        self.saved = False

    def managedSave(self, flags: int) -> None:  # noqa: N802
        self._call("managedSave", flags)
        self.active, self.paused, self.saved = False, False, True

    def create(self) -> None:
        self._call("create")
        self.active, self.paused, self.saved = True, False, False
        self.live = list(self.config)
        self.live_ports = self.config_ports

    def createWithFlags(self, flags: int) -> None:  # noqa: N802
        self._call("createWithFlags", flags)
        self.active, self.paused, self.saved = True, bool(flags), False
        self.live = list(self.config)
        self.live_ports = self.config_ports

    def destroy(self) -> None:
        self._call("destroy")
        self.active = self.paused = False

    def shutdown(self) -> None:
        self._call("shutdown")
        if self.obeys_shutdown:
            self.active = self.paused = False

    def reboot(self, flags: int) -> None:
        self._call("reboot", flags)

    def suspend(self) -> None:
        self._call("suspend")
        self.paused = True

    def resume(self) -> None:
        self._call("resume")
        self.paused = False

    def undefine(self) -> None:
        self._call("undefine")

    def XMLDesc(self, flags: int) -> str:  # noqa: N802
        inactive = bool(flags & libvirt.VIR_DOMAIN_XML_INACTIVE) or not self.active
        devices, ports = (
            (self.config, self.config_ports) if inactive else (self.live, self.live_ports)
        )
        return _domain_xml(self.uuid, devices, ports)

    def attachDeviceFlags(self, xml: str, flags: int) -> None:  # noqa: N802
        self._call("attachDeviceFlags", xml, flags)
        if flags & libvirt.VIR_DOMAIN_AFFECT_CONFIG:
            self.config.append(_canonical(xml))
        if flags & libvirt.VIR_DOMAIN_AFFECT_LIVE:
            self.live.append(_canonical(xml))

    def detachDeviceFlags(self, xml: str, flags: int) -> None:  # noqa: N802
        self._call("detachDeviceFlags", xml, flags)
        device = _canonical(xml)
        if flags & libvirt.VIR_DOMAIN_AFFECT_CONFIG and device in self.config:
            self.config.remove(device)
        if flags & libvirt.VIR_DOMAIN_AFFECT_LIVE and device in self.live:
            if self.slow_detaches:
                self.slow_detaches -= 1
            else:
                self.live.remove(device)

    def setMetadata(  # noqa: N802
        self, kind: int, metadata: str, key: str, uri: str, flags: int
    ) -> None:
        self._call("setMetadata", kind, metadata, key, uri, flags)
        ports = tuple(p.get("id", "") for p in ET.fromstring(metadata).iter("port"))
        if flags & libvirt.VIR_DOMAIN_AFFECT_CONFIG:
            self.config_ports = ports
        if flags & libvirt.VIR_DOMAIN_AFFECT_LIVE:
            self.live_ports = ports

    def migrateToURI3(self, uri: str, params: dict[str, Any], flags: int) -> None:  # noqa: N802
        self._call("migrateToURI3", uri, params, flags)


def _canonical(xml: str) -> str:
    return ET.tostring(ET.fromstring(xml), encoding="unicode")


def _domain_xml(uuid: str, devices: list[str], ports: tuple[str, ...]) -> str:
    port_elements = "".join(f'<offpath:port id="{port}"/>' for port in ports)
    return (
        f"<domain type='kvm'><name>instance-{uuid}</name><uuid>{uuid}</uuid>"
        f'<metadata><offpath:instance xmlns:offpath="{METADATA_NS}">{port_elements}'
        f"</offpath:instance></metadata><devices>{''.join(devices)}</devices></domain>"
    )


@dataclass
class FakeConnection:
    """A connection holding `domains` by uuid; `opened` counts connects."""

    domains: dict[str, FakeDomain] = field(default_factory=dict)
    opened: list[str] = field(default_factory=list)
    closed: bool = False

    def open(self, uri: str) -> FakeConnection:
        """Stands for libvirt.open."""
        self.opened.append(uri)
        return self

    def lookupByUUIDString(self, uuid: str) -> FakeDomain:  # noqa: N802
        try:
            return self.domains[uuid]
        except KeyError:
            raise libvirt_error(libvirt.VIR_ERR_NO_DOMAIN, "Domain not found") from None

    def close(self) -> None:
        self.closed = True


def guests_over(*domains: FakeDomain, **options: Any) -> tuple[LibvirtGuests, FakeConnection]:
    """A `LibvirtGuests` whose connection holds `domains`."""
    conn = FakeConnection({domain.uuid: domain for domain in domains})
    return LibvirtGuests(URI, connect=conn.open, **options), conn

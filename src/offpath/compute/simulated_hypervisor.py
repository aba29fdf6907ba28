"""A SIMULATED hypervisor: libvirt's test driver, with what it refuses played on the definition.

The test driver runs guests that do nothing: it defines, starts, pauses,
reboots, shuts down and managed-saves them, and these steps go through
`LibvirtGuests` unchanged. It refuses device hot-plug and migration, so
this class plays them:

- attach/detach an interface: the domain is redefined with the interface
  (and its port id) added or removed, then restarted if it was active, so
  its live XML shows the change as a hot-plug would;
- live migration: the source hands its domain XML over and undefines the
  guest; the destination defines it and starts it (paused if it was).

Nothing here happens on a host: `simulated` is True, every simulated step
logs "simulated", and it only accepts `test:` URIs.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any, Final

import libvirt

from offpath.compute.guest_definition import (
    holds_interface,
    recorded_ports,
    with_interface,
    without_interface,
)
from offpath.compute.libvirt_guest import GuestPower, LibvirtGuests, domain_power, stop_domain
from offpath.errors import GuestFailed
from offpath.ports.guest_interface import HostdevInterface

LOG = logging.getLogger(__name__)

TEST_SCHEME: Final = "test:"


def is_test_uri(uri: str) -> bool:
    """Whether `uri` names libvirt's test driver (nothing real runs there)."""
    return uri.startswith(TEST_SCHEME)


class SimulatedHypervisor(LibvirtGuests):
    """`Hypervisor` on libvirt's test driver, playing hot-plug and live migration: a simulation."""

    simulated: bool = True

    def __init__(self, uri: str, *, connect: Callable[[str], Any] = libvirt.open) -> None:
        if not is_test_uri(uri):
            # Replaying steps by redefining and restarting domains would harm real guests.
            raise ValueError(
                f"a simulated hypervisor runs on libvirt's test driver only, not {uri}"
            )
        super().__init__(uri, connect=connect)

    def attach_interface(
        self, instance_uuid: str, interface: HostdevInterface, port_id: str
    ) -> None:
        """Simulated hot-plug: redefine the guest with `interface` and `port_id`, restart it."""
        step = "attach an interface to"
        domain = self._require(instance_uuid, step)
        with self._step(instance_uuid, step):
            definition = domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
            if holds_interface(definition, interface) and port_id in recorded_ports(definition):
                return
            self._replace(domain, with_interface(definition, interface, port_id))
        LOG.info(
            "simulated hot-plug: interface %s (%s) added to the guest of %s on %s",
            interface.mac,
            interface.address,
            instance_uuid,
            self.uri,
        )

    def detach_interface(
        self, instance_uuid: str, interface: HostdevInterface, port_id: str
    ) -> None:
        """Simulated unplug: redefine the guest without `interface` nor `port_id`, restart it."""
        step = "detach an interface from"
        domain = self._require(instance_uuid, step)
        with self._step(instance_uuid, step):
            definition = domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
            if not holds_interface(definition, interface) and port_id not in recorded_ports(
                definition
            ):
                return
            self._replace(domain, without_interface(definition, interface, port_id))
        LOG.info(
            "simulated unplug: interface %s (%s) removed from the guest of %s on %s",
            interface.mac,
            interface.address,
            instance_uuid,
            self.uri,
        )

    def _replace(self, domain: Any, definition: str) -> None:
        """Redefine the domain; an active one restarts so its live XML is the new definition."""
        power = domain_power(domain)
        self._connection().defineXML(definition)
        if power in (GuestPower.RUNNING, GuestPower.PAUSED):
            stop_domain(domain)
            domain.create()
            if power is GuestPower.PAUSED:
                domain.suspend()

    def migrate_live(self, instance_uuid: str, *, destination_uri: str) -> str | None:
        """Simulated live migration: the guest's XML to hand to `arrive`; the guest leaves here."""
        step = "live-migrate"
        domain = self._require(instance_uuid, step)
        if not is_test_uri(destination_uri):
            raise GuestFailed(
                self.uri,
                instance_uuid,
                step,
                f"a simulated guest can move only to another simulated host, not {destination_uri}",
            )
        if destination_uri == self.uri:
            raise GuestFailed(self.uri, instance_uuid, step, "the destination is this host")
        with self._step(instance_uuid, step):
            if not domain.isActive():
                raise GuestFailed(self.uri, instance_uuid, step, "the guest is not running")
            handoff = str(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
            # What VIR_MIGRATE_UNDEFINE_SOURCE leaves on the source: nothing.
            stop_domain(domain)
            domain.undefine()
        LOG.info(
            "simulated live migration: guest of %s handed over from %s to %s",
            instance_uuid,
            self.uri,
            destination_uri,
        )
        return handoff

    def arrive(self, instance_uuid: str, handoff: str | None, *, running: bool) -> None:
        """Simulated arrival: define the handed-over XML here, start it (paused unless running)."""
        step = "receive"
        if handoff is None:
            raise GuestFailed(
                self.uri,
                instance_uuid,
                step,
                "no domain XML was handed over: a simulated host receives only from another",
            )
        try:
            handed = ET.fromstring(handoff).findtext("uuid")
        except ET.ParseError as exc:
            raise GuestFailed(
                self.uri, instance_uuid, step, f"the handed-over XML is not well-formed ({exc})"
            ) from exc
        if handed != instance_uuid:
            raise GuestFailed(
                self.uri, instance_uuid, step, f"the handed-over XML is the guest of {handed}"
            )
        with self._step(instance_uuid, step):
            self._connection().defineXML(handoff)
        if self.power(instance_uuid) not in (GuestPower.RUNNING, GuestPower.PAUSED):
            self.start(instance_uuid, paused=not running)
        LOG.info(
            "simulated live migration: guest of %s arrived on %s (%s)",
            instance_uuid,
            self.uri,
            "running" if running else "paused",
        )

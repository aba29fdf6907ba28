"""An in-memory hypervisor for the agent's guest steps: every change recorded, any refused.

It keeps each guest's recorded ports, its hostdev interfaces and its power,
and records the calls that change a guest, in order, as (call, what): the
port id for an interface, the instance uuid otherwise. A call named in
`refuse` raises GuestFailed, as libvirt refusing it would.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from offpath.compute.libvirt_guest import GuestPower, GuestSpec
from offpath.errors import GuestFailed
from offpath.ports.guest_interface import HostdevInterface


@dataclass
class Guest:
    """One guest as the double keeps it."""

    ports: list[str]
    interfaces: list[HostdevInterface]
    power: GuestPower = GuestPower.SHUTOFF


@dataclass
class HypervisorDouble:
    """`Hypervisor` in memory."""

    uri: str = "fake:///double"
    simulated: bool = True
    guests: dict[str, Guest] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    def _do(self, call: str, instance_uuid: str, what: str | None = None) -> None:
        self.calls.append((call, what or instance_uuid))
        if call in self.refuse:
            raise GuestFailed(self.uri, instance_uuid, call, "refused by the test")

    def _guest(self, instance_uuid: str, call: str) -> Guest:
        guest = self.guests.get(instance_uuid)
        if guest is None:
            raise GuestFailed(self.uri, instance_uuid, call, "no such guest")
        return guest

    def add(self, instance_uuid: str, ports: dict[str, HostdevInterface]) -> Guest:
        """A running guest holding `ports`' interfaces (not recorded as a call)."""
        guest = Guest(list(ports), list(ports.values()), GuestPower.RUNNING)
        self.guests[instance_uuid] = guest
        return guest

    def define(self, guest: GuestSpec) -> None:
        self._do("define", guest.instance_uuid)
        self.guests[guest.instance_uuid] = Guest(list(guest.port_ids), list(guest.interfaces))

    def start(self, instance_uuid: str, *, paused: bool) -> None:
        self._do("start", instance_uuid)
        self._guest(instance_uuid, "start").power = (
            GuestPower.PAUSED if paused else GuestPower.RUNNING
        )

    def resume(self, instance_uuid: str) -> None:
        self._do("resume", instance_uuid)
        self._guest(instance_uuid, "resume").power = GuestPower.RUNNING

    def destroy(self, instance_uuid: str) -> bool:
        self._do("destroy", instance_uuid)
        return self.guests.pop(instance_uuid, None) is not None

    def guest_ports(self, instance_uuid: str) -> tuple[str, ...] | None:
        guest = self.guests.get(instance_uuid)
        return None if guest is None else tuple(guest.ports)

    def guest_xml(self, instance_uuid: str) -> str | None:
        return "<domain/>" if instance_uuid in self.guests else None

    def power(self, instance_uuid: str) -> GuestPower | None:
        guest = self.guests.get(instance_uuid)
        return None if guest is None else guest.power

    def power_off(self, instance_uuid: str) -> None:
        self._do("power_off", instance_uuid)
        self._guest(instance_uuid, "power_off").power = GuestPower.SHUTOFF

    def power_on(self, instance_uuid: str) -> None:
        self._do("power_on", instance_uuid)
        self._guest(instance_uuid, "power_on").power = GuestPower.RUNNING

    def reboot(self, instance_uuid: str, *, hard: bool) -> None:
        self._do("reboot", instance_uuid)
        self._guest(instance_uuid, "reboot").power = GuestPower.RUNNING

    def suspend(self, instance_uuid: str) -> None:
        self._do("suspend", instance_uuid)
        self._guest(instance_uuid, "suspend").power = GuestPower.SAVED

    def attach_interface(
        self, instance_uuid: str, interface: HostdevInterface, port_id: str
    ) -> None:
        self._do("attach_interface", instance_uuid, port_id)
        guest = self._guest(instance_uuid, "attach_interface")
        guest.interfaces.append(interface)
        if port_id not in guest.ports:
            guest.ports.append(port_id)

    def detach_interface(
        self, instance_uuid: str, interface: HostdevInterface, port_id: str
    ) -> None:
        self._do("detach_interface", instance_uuid, port_id)
        guest = self._guest(instance_uuid, "detach_interface")
        guest.interfaces = [i for i in guest.interfaces if i.address != interface.address]
        guest.ports = [p for p in guest.ports if p != port_id]

    def interfaces(self, instance_uuid: str) -> tuple[HostdevInterface, ...]:
        guest = self.guests.get(instance_uuid)
        return () if guest is None else tuple(guest.interfaces)

    def migrate_live(self, instance_uuid: str, *, destination_uri: str) -> str | None:
        self._do("migrate_live", instance_uuid, destination_uri)
        self.guests.pop(instance_uuid)
        return f"<domain><uuid>{instance_uuid}</uuid></domain>"

    def arrive(self, instance_uuid: str, handoff: str | None, *, running: bool) -> None:
        self._do("arrive", instance_uuid, handoff)
        self.guests[instance_uuid] = Guest(
            [], [], GuestPower.RUNNING if running else GuestPower.PAUSED
        )

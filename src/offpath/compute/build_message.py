"""The `build_instance` message as the agent reads it: instance, size, ports, claimed VFs."""

from __future__ import annotations

from dataclasses import dataclass

from offpath.errors import PrimitiveInvalid
from offpath.pci.selection import SelectedDevice
from offpath.ports.events import Operation
from offpath.primitive import PrimitiveFields


@dataclass(frozen=True, slots=True)
class ClaimedVf:
    """A device the conductor claimed for one PCI request, and the port that asked (if any)."""

    request_id: str
    requester_id: str | None
    selected: SelectedDevice


@dataclass(frozen=True, slots=True)
class BuildMessage:
    """One instance to build on this host: a boot, or the destination of a move or an unshelve.

    `operation` says which (it decides what the build waits for, e.g.
    nothing when finishing a cold migration); `power_on` False defines the
    guest without starting it (a stopped server moved).
    """

    instance_uuid: str
    name: str
    vcpus: int
    memory_mb: int
    port_ids: tuple[str, ...]
    devices: tuple[ClaimedVf, ...]
    operation: Operation = Operation.SPAWN
    power_on: bool = True

    @classmethod
    def from_primitive(cls, data: object) -> BuildMessage:
        """The message the conductor sent; PrimitiveInvalid if `data` is not one."""
        read = PrimitiveFields("BuildMessage", data)
        flavor = PrimitiveFields("Flavor", read.nested("flavor") or {})
        devices = read.nested("devices")
        if not isinstance(devices, list):
            raise PrimitiveInvalid("BuildMessage", "field 'devices' must be a list")
        return cls(
            read.text("instance_uuid"),
            read.optional_text("name") or "",
            flavor.optional_int("vcpus") or 1,
            flavor.optional_int("memory_mb") or 512,
            read.texts("port_ids"),
            tuple(_claimed(device) for device in devices),
            read.optional_choice("operation", Operation, default=Operation.SPAWN),
            read.flag("power_on", default=True),
        )

    def device_for(self, port_id: str) -> ClaimedVf | None:
        """The VF claimed for the port's PCI request; None for a port that needs none."""
        return next((d for d in self.devices if d.requester_id == port_id), None)


def _claimed(data: object) -> ClaimedVf:
    read = PrimitiveFields("ClaimedVf", data)
    return ClaimedVf(
        read.text("request_id"),
        read.optional_text("requester_id"),
        SelectedDevice.from_primitive(read.nested("selected")),
    )

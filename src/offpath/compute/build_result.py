"""What a host's agent reports when a build ends: ACTIVE or ERROR, and how each port was plugged.

The conductor stores it (JSON) in the `compute_build_and_run_instance`
event of the instance's create action, where the API and the demo read
which os-vif plugin plugged each port, whether the agent waited for a
plug event (and which), or for the backend's confirmation, and how long
the build took.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from offpath.errors import PrimitiveInvalid
from offpath.jsonvalue import JsonValue
from offpath.primitive import PrimitiveFields


class BuildState(StrEnum):
    """How a build ended."""

    ACTIVE = "active"
    ERROR = "error"


class PlugConfirmation(StrEnum):
    """How the agent knew a port was plugged before letting the guest run."""

    EVENT = "event"  # the `network-vif-plugged` event it waited for came
    BIND_ANSWER = "bind-answer"  # the port was ACTIVE in the backend's bind answer
    BACKEND = "backend"  # it asked the backend until the port went ACTIVE
    NOT_AWAITED = "not-awaited"  # nothing was awaited (remote-managed without a confirmation)
    TIMED_OUT = "timed-out"  # awaited in vain; the build went on (not fatal)


@dataclass(frozen=True, slots=True)
class PortOutcome:
    """How one port was bound and plugged."""

    port_id: str
    vnic_type: str
    pci_slot: str | None
    vif_type: str
    plugin: str | None  # the os-vif plugin; None when the legacy path plugs (hw_veb)
    waited_for: str | None  # the event name awaited, None if none
    confirmation: PlugConfirmation
    status: str  # the port's status as last seen

    def to_primitive(self) -> dict[str, JsonValue]:
        """Its JSON-safe form."""
        return {
            "port_id": self.port_id,
            "vnic_type": self.vnic_type,
            "pci_slot": self.pci_slot,
            "vif_type": self.vif_type,
            "plugin": self.plugin,
            "waited_for": self.waited_for,
            "confirmation": self.confirmation.value,
            "status": self.status,
        }

    @classmethod
    def from_primitive(cls, data: object) -> PortOutcome:
        """The outcome `to_primitive` wrote; PrimitiveInvalid if `data` is not one."""
        read = PrimitiveFields("PortOutcome", data)
        return cls(
            read.text("port_id"),
            read.text("vnic_type"),
            read.optional_text("pci_slot"),
            read.text("vif_type"),
            read.optional_text("plugin"),
            read.optional_text("waited_for"),
            read.choice("confirmation", PlugConfirmation),
            read.text("status"),
        )


@dataclass(frozen=True, slots=True)
class BuildResult:
    """The end of one build on one host; `fault` and `code` say why when it is ERROR."""

    instance_uuid: str
    host: str
    state: BuildState
    ports: tuple[PortOutcome, ...] = ()
    duration: float = 0.0
    fault: str | None = None
    code: str | None = None

    def to_primitive(self) -> dict[str, JsonValue]:
        """Its JSON-safe form (the RPC argument, and the action event's details)."""
        return {
            "instance_uuid": self.instance_uuid,
            "host": self.host,
            "state": self.state.value,
            "ports": [port.to_primitive() for port in self.ports],
            "duration": round(self.duration, 3),
            "fault": self.fault,
            "code": self.code,
        }

    @classmethod
    def from_primitive(cls, data: object) -> BuildResult:
        """The result `to_primitive` wrote; PrimitiveInvalid if `data` is not one."""
        read = PrimitiveFields("BuildResult", data)
        ports, duration = ports_and_duration(read, "BuildResult")
        return cls(
            read.text("instance_uuid"),
            read.text("host"),
            read.choice("state", BuildState),
            ports,
            duration,
            read.optional_text("fault"),
            read.optional_text("code"),
        )


def ports_and_duration(read: PrimitiveFields, record: str) -> tuple[tuple[PortOutcome, ...], float]:
    """The `ports` and `duration` fields of a host's report (a build's or a step's)."""
    ports = read.nested("ports")
    if not isinstance(ports, list):
        raise PrimitiveInvalid(record, "field 'ports' must be a list")
    duration = read.nested("duration")
    if (
        not isinstance(duration, int | float)
        or isinstance(duration, bool)
        or not math.isfinite(duration)
        or duration < 0
    ):
        raise PrimitiveInvalid(record, "field 'duration' must be a number >= 0")
    return tuple(PortOutcome.from_primitive(port) for port in ports), float(duration)

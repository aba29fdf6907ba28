"""What a host's agent answers when the conductor asks it for one step of a server operation.

A move or an action is a few steps on one or two hosts (power the guest
off on the source, bind and start it on the destination, ...). Each step
answers whether it was done, why not when it was not (everything it did
undone), how each port it touched was bound and plugged, and whether the
hypervisor was libvirt or the simulation that stands in for what
libvirt's test driver cannot do. The conductor keeps the answer as the
details of the operation's action event.
"""

from __future__ import annotations

from dataclasses import dataclass

from offpath.compute.build_result import (
    BuildResult,
    BuildState,
    PortOutcome,
    ports_and_duration,
)
from offpath.errors import OffpathError
from offpath.jsonvalue import JsonValue
from offpath.primitive import PrimitiveFields


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step on one host: done, or not with the reason (and nothing of it left behind)."""

    instance_uuid: str
    host: str
    step: str
    done: bool
    ports: tuple[PortOutcome, ...] = ()
    duration: float = 0.0
    fault: str | None = None
    code: str | None = None
    # "libvirt" or "simulated": a simulated step never claims what only a real host does.
    hypervisor: str = ""
    # A simulated live migration hands the guest's definition to the destination.
    handoff: str | None = None

    @classmethod
    def of_build(cls, result: BuildResult, step: str, hypervisor: str) -> StepResult:
        """A spawn-like step (finish a migration, unshelve, rebuild) as a step result."""
        return cls(
            result.instance_uuid,
            result.host,
            step,
            result.state is BuildState.ACTIVE,
            result.ports,
            result.duration,
            result.fault,
            result.code,
            hypervisor,
        )

    @classmethod
    def failed(
        cls, instance_uuid: str, host: str, step: str, exc: OffpathError, *, hypervisor: str = ""
    ) -> StepResult:
        """A step refused with `exc`."""
        return cls(
            instance_uuid,
            host,
            step,
            False,
            fault=exc.message,
            code=exc.code,
            hypervisor=hypervisor,
        )

    def to_primitive(self) -> dict[str, JsonValue]:
        """Its JSON-safe form (the RPC answer, and the action event's details)."""
        data: dict[str, JsonValue] = {
            "instance_uuid": self.instance_uuid,
            "host": self.host,
            "step": self.step,
            "done": self.done,
            "ports": [port.to_primitive() for port in self.ports],
            "duration": round(self.duration, 3),
            "fault": self.fault,
            "code": self.code,
            "hypervisor": self.hypervisor,
        }
        if self.handoff is not None:
            data["handoff"] = self.handoff
        return data

    def details(self) -> dict[str, JsonValue]:
        """What the action event keeps: everything but the guest definition handed over."""
        data = self.to_primitive()
        data.pop("handoff", None)
        return data

    @classmethod
    def from_primitive(cls, data: object) -> StepResult:
        """The result `to_primitive` wrote; PrimitiveInvalid if `data` is not one."""
        read = PrimitiveFields("StepResult", data)
        ports, duration = ports_and_duration(read, "StepResult")
        return cls(
            read.text("instance_uuid"),
            read.text("host"),
            read.text("step"),
            read.flag("done", default=False),
            ports,
            duration,
            read.optional_text("fault"),
            read.optional_text("code"),
            read.optional_text("hypervisor") or "",
            read.optional_text("handoff"),
        )

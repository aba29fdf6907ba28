"""The compute topic's `run_step` call, read: which step of an operation, and its arguments.

Every step of a server operation arrives as one call (compute RPC 1.3)
naming the step; the arguments are checked here, so a malformed message
is a failed step with the reason, never an exception in the RPC server.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from offpath.compute.build_message import BuildMessage, ClaimedVf
from offpath.compute.guest_operations import GuestOperations
from offpath.compute.step_result import StepResult
from offpath.errors import PrimitiveInvalid, StaleStep
from offpath.pci.selection import SelectedDevice
from offpath.primitive import PrimitiveFields

# How far the conductor's clock may be behind an agent's before a fresh step looks stale.
CLOCK_SKEW: Final = 2.0

Step = Callable[[GuestOperations, str, PrimitiveFields], StepResult]


def _device(read: PrimitiveFields) -> ClaimedVf | None:
    data = read.nested("device")
    if data is None:
        return None
    device = PrimitiveFields("ClaimedVf", data)
    return ClaimedVf(
        device.text("request_id"),
        device.optional_text("requester_id"),
        SelectedDevice.from_primitive(device.nested("selected")),
    )


STEPS: Final[Mapping[str, Step]] = {
    "power_off": lambda ops, uuid, a: ops.power_off(uuid),
    "power_on": lambda ops, uuid, a: ops.power_on(uuid),
    "reboot": lambda ops, uuid, a: ops.reboot(
        uuid, hard=a.flag("hard", default=True), port_ids=a.texts("port_ids")
    ),
    "suspend": lambda ops, uuid, a: ops.suspend(uuid),
    "resume": lambda ops, uuid, a: ops.resume(uuid, port_ids=a.texts("port_ids")),
    "attach_interface": lambda ops, uuid, a: ops.attach_interface(
        uuid, a.text("port_id"), _device(a), project_id=a.optional_text("project_id") or ""
    ),
    "detach_interface": lambda ops, uuid, a: ops.detach_interface(uuid, a.text("port_id")),
    "finish": lambda ops, uuid, a: ops.finish(
        BuildMessage.from_primitive(a.nested("message")),
        project_id=a.optional_text("project_id") or "",
        step=a.optional_text("name") or "finish",
    ),
    "drop_guest": lambda ops, uuid, a: ops.drop_guest(
        uuid, port_ids=a.texts("port_ids"), step=a.optional_text("name") or "drop_guest"
    ),
    "shelve_offload": lambda ops, uuid, a: ops.shelve_offload(uuid, port_ids=a.texts("port_ids")),
    "live_migrate": lambda ops, uuid, a: ops.live_migrate(uuid, destination=a.text("destination")),
    "arrive": lambda ops, uuid, a: ops.arrive(
        uuid,
        handoff=a.optional_text("handoff"),
        running=a.flag("running", default=True),
        port_ids=a.texts("port_ids"),
        project_id=a.optional_text("project_id") or "",
    ),
    "restore_interfaces": lambda ops, uuid, a: ops.restore_interfaces(
        uuid, port_ids=a.texts("port_ids")
    ),
}


def run_step(
    ops: GuestOperations,
    step: object,
    instance_uuid: object,
    args: object,
    *,
    started_at: float,
) -> StepResult:
    """Run the named step; a failed result (never an exception) for a malformed or stale one.

    A message queue keeps a call for a dead agent; the conductor gave it up
    when the host went down, so a step sent before this process started
    (by more than the clock skew allowed) is answered as refused, not run.
    """
    name = step if isinstance(step, str) else ""
    uuid = instance_uuid if isinstance(instance_uuid, str) else ""
    try:
        if not uuid:
            raise PrimitiveInvalid("run_step", "instance_uuid must be a non-empty string")
        action = STEPS.get(name)
        if action is None:
            raise PrimitiveInvalid("run_step", f"no step {name!r}; known: {', '.join(STEPS)}")
        read = PrimitiveFields("run_step args", args or {})
        sent = _sent_at(read)
        if sent is not None and sent < started_at - CLOCK_SKEW:
            raise StaleStep(name, uuid, sent=sent, started=started_at)
        return action(ops, uuid, read)
    except (PrimitiveInvalid, StaleStep) as exc:
        return StepResult.failed(uuid, ops.host, name or "?", exc)


def _sent_at(read: PrimitiveFields) -> float | None:
    value = read.nested("issued_at")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)

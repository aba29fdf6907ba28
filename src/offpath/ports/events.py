"""Which plug events an operation waits for, and for which VIFs it asks the backend instead.

Nova's rules per operation decide which VIFs must be seen
plugged. offpath then applies one rule to every operation: a VIF whose
backend sends `network-vif-plugged` at bind time (remote-managed: the DPU
plugs the representor as soon as the binding is committed) is never waited
for by event, because the event came before anyone listened. When the
backend can confirm the plug on request (the embedded one can), the plan
asks it instead, under the same timeout and fatality as the events; when
it cannot, nothing is awaited for that VIF.

The hard-reboot workaround may list `remote-managed` (an existing nova.conf
stays valid): offpath reads that as "make sure those VIFs are plugged",
which by that rule means a backend confirmation, never an event wait that
the backend would not satisfy. Operations that wait for nothing in Nova
(resize/migrate finish, resume, interface attach) ask the backend for
nothing either: the rule replaces waits, it adds none.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from offpath.ports.vif import Vif
from offpath.ports.vnic import VnicType, is_remote_managed

VIF_PLUGGED: Final = "network-vif-plugged"
# Only these virt types can start a guest paused and wait.
WAITING_VIRT_TYPES: Final = frozenset({"kvm", "qemu"})
# The values `[workarounds] wait_for_vif_plugged_event_during_hard_reboot` accepts.
HARD_REBOOT_WAIT_CHOICES: Final = frozenset({*(t.value for t in VnicType), "smart-nic"})


class Operation(StrEnum):
    """The operations that (re)plug an instance's VIFs."""

    SPAWN = "spawn"
    HARD_REBOOT = "hard-reboot"
    FINISH_MIGRATION = "finish-migration"
    FINISH_REVERT = "finish-revert"
    RESUME = "resume"
    LIVE_MIGRATION = "live-migration"
    ATTACH_INTERFACE = "attach-interface"


@dataclass(frozen=True, slots=True)
class EventSettings:
    """The options that govern waiting: Nova's names and defaults."""

    vif_plugging_timeout: int = 300
    vif_plugging_is_fatal: bool = True
    virt_type: str = "kvm"
    hard_reboot_wait_vnic_types: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ExpectedEvent:
    """One external event to wait for: its name and tag (the port id)."""

    name: str
    tag: str


@dataclass(frozen=True, slots=True)
class WaitPlan:
    """What to wait for before letting the guest run, and what a timeout means."""

    events: tuple[ExpectedEvent, ...] = ()
    confirm_via_backend: tuple[str, ...] = ()
    timeout: int = 0
    fatal: bool = True

    @property
    def waits(self) -> bool:
        """True when there is anything to wait for."""
        return bool(self.events or self.confirm_via_backend)


NOTHING: Final = WaitPlan()


def plug_event_at_bind_time(vnic_type: VnicType) -> bool:
    """True when the backend sends `network-vif-plugged` as soon as the port is bound."""
    return is_remote_managed(vnic_type)


def wait_plan(
    operation: Operation,
    vifs: Sequence[Vif],
    settings: EventSettings,
    *,
    backend_confirms: bool,
    power_on: bool = True,
    destination_waits: bool = True,
) -> WaitPlan:
    """The events and confirmations `operation` waits for.

    `power_on` is whether the guest is started; `destination_waits` is the
    live-migration destination's `wait_for_vif_plugged` answer.
    """
    if settings.vif_plugging_timeout <= 0:
        return NOTHING
    if operation is Operation.LIVE_MIGRATION:
        # Every VIF, whatever its state: the destination plugs them all anew.
        if not destination_waits:
            return NOTHING
        return _plan(vifs, settings, backend_confirms=backend_confirms)
    if not power_on or settings.virt_type not in WAITING_VIRT_TYPES:
        return NOTHING
    if operation in (Operation.SPAWN, Operation.FINISH_REVERT):
        # Only VIFs known to be down; an unknown state is not waited for.
        return _plan(
            (vif for vif in vifs if vif.active is False),
            settings,
            backend_confirms=backend_confirms,
        )
    if operation is Operation.HARD_REBOOT:
        listed = settings.hard_reboot_wait_vnic_types
        return _plan(
            (vif for vif in vifs if vif.vnic_type.value in listed),
            settings,
            backend_confirms=backend_confirms,
        )
    return NOTHING


def _plan(vifs: Iterable[Vif], settings: EventSettings, *, backend_confirms: bool) -> WaitPlan:
    events: list[ExpectedEvent] = []
    confirm: list[str] = []
    for vif in vifs:
        if not plug_event_at_bind_time(vif.vnic_type):
            events.append(ExpectedEvent(VIF_PLUGGED, vif.id))
        elif backend_confirms:
            confirm.append(vif.id)
    if not events and not confirm:
        return NOTHING
    return WaitPlan(
        tuple(events),
        tuple(confirm),
        timeout=settings.vif_plugging_timeout,
        fatal=settings.vif_plugging_is_fatal,
    )

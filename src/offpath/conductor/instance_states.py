"""Which server actions each instance state allows, and the task state an action runs under.

Nova's rules (its API's `check_instance_state`): an action names the vm
states it may start from and runs with a task state set, so a second
action on the same server is refused (409, Nova's message) until the first
ends. Starting an action is one conditional UPDATE on the instance row,
never a read-then-write, so two API workers cannot both start one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from sqlalchemy import update
from sqlalchemy.orm import Session

from offpath.db.cell_schema import InstanceRow
from offpath.db.columns import utcnow
from offpath.errors import InstanceInvalidState, InstanceNotFound


class VmState(StrEnum):
    """Nova's vm states that offpath's servers take."""

    ACTIVE = "active"
    BUILDING = "building"
    STOPPED = "stopped"
    PAUSED = "paused"
    SUSPENDED = "suspended"
    RESIZED = "resized"
    SHELVED = "shelved"
    SHELVED_OFFLOADED = "shelved_offloaded"
    ERROR = "error"
    DELETED = "deleted"


class TaskState(StrEnum):
    """Nova's task states of the actions offpath runs."""

    POWERING_OFF = "powering-off"
    POWERING_ON = "powering-on"
    REBOOTING = "rebooting"
    REBOOTING_HARD = "rebooting_hard"
    SUSPENDING = "suspending"
    RESUMING = "resuming"
    RESIZE_PREP = "resize_prep"
    RESIZE_MIGRATING = "resize_migrating"
    RESIZE_FINISH = "resize_finish"
    RESIZE_REVERTING = "resize_reverting"
    RESIZE_CONFIRMING = "resize_confirming"
    MIGRATING = "migrating"
    REBUILDING = "rebuilding"
    SHELVING = "shelving"
    SHELVING_OFFLOADING = "shelving_offloading"
    UNSHELVING = "unshelving"
    INTERFACE_ATTACHING = "interface_attaching"
    INTERFACE_DETACHING = "interface_detaching"


@dataclass(frozen=True, slots=True)
class ActionRule:
    """The vm states an action may start from, and the task state it runs under."""

    vm_states: frozenset[VmState]
    task: TaskState


def _rule(task: TaskState, *states: VmState) -> ActionRule:
    return ActionRule(frozenset(states), task)


A, S, P, E = VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.ERROR

# Action names are Nova's, as its "Cannot '<action>' instance ..." message shows them.
RULES: Final[Mapping[str, ActionRule]] = MappingProxyType(
    {
        "stop": _rule(TaskState.POWERING_OFF, A, E),
        "start": _rule(TaskState.POWERING_ON, S),
        "reboot": _rule(TaskState.REBOOTING, A),
        "reboot_hard": _rule(TaskState.REBOOTING_HARD, A, S, P, VmState.SUSPENDED, E),
        "suspend": _rule(TaskState.SUSPENDING, A),
        "resume": _rule(TaskState.RESUMING, VmState.SUSPENDED),
        "migrate": _rule(TaskState.RESIZE_PREP, A, S),
        "resize": _rule(TaskState.RESIZE_PREP, A, S),
        "confirmResize": _rule(TaskState.RESIZE_CONFIRMING, VmState.RESIZED),
        "revertResize": _rule(TaskState.RESIZE_REVERTING, VmState.RESIZED),
        "os-migrateLive": _rule(TaskState.MIGRATING, A, P),
        "evacuate": _rule(TaskState.REBUILDING, A, S, E),
        "shelve": _rule(TaskState.SHELVING, A, S, P, VmState.SUSPENDED),
        "shelveOffload": _rule(TaskState.SHELVING_OFFLOADING, VmState.SHELVED),
        "unshelve": _rule(TaskState.UNSHELVING, VmState.SHELVED, VmState.SHELVED_OFFLOADED),
        "attach_interface": _rule(TaskState.INTERFACE_ATTACHING, A, P, S),
        "detach_interface": _rule(TaskState.INTERFACE_DETACHING, A, P, S),
    }
)

# Where a rule's name is not the action Nova's conflict message names (both reboots are 'reboot').
_SHOWN: Final[Mapping[str, str]] = MappingProxyType({"reboot_hard": "reboot"})


@dataclass(frozen=True, slots=True)
class Started:
    """An action that took the instance: where it runs and the state it started from."""

    instance_uuid: str
    host: str | None
    vm_state: VmState
    project_id: str
    flavor: Mapping[str, object]
    name: str


def begin_action(session: Session, instance_uuid: str, action: str) -> Started:
    """Set the action's task state if the instance allows it now; InstanceInvalidState if not."""
    rule = RULES[action]
    row = session.get(InstanceRow, instance_uuid)
    if row is None or row.vm_state == VmState.DELETED:
        raise InstanceNotFound(instance_uuid)
    taken = session.execute(
        update(InstanceRow)
        .where(
            InstanceRow.uuid == instance_uuid,
            InstanceRow.vm_state.in_([s.value for s in rule.vm_states]),
            InstanceRow.task_state.is_(None),
        )
        .values(task_state=rule.task.value, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(taken, "rowcount", 0) != 1:
        session.refresh(row)
        raise _refused(_SHOWN.get(action, action), row)
    return Started(
        instance_uuid,
        row.host,
        VmState(row.vm_state),
        row.project_id,
        dict(row.flavor),
        row.name,
    )


# Nova changes a server's own record (its metadata) in these vm states, with no task running.
RECORD_CHANGE_STATES: Final = frozenset({A, P, S, VmState.SUSPENDED})


def hold_for_change(session: Session, instance_uuid: str, action: str) -> None:
    """Refuse `action` (it sets no task) unless the instance is idle in RECORD_CHANGE_STATES.

    The check is a conditional UPDATE that holds the row to the end of the
    transaction, so no action can start between it and the change it guards.
    """
    row = session.get(InstanceRow, instance_uuid)
    if row is None or row.vm_state == VmState.DELETED:
        raise InstanceNotFound(instance_uuid)
    held = session.execute(
        update(InstanceRow)
        .where(
            InstanceRow.uuid == instance_uuid,
            InstanceRow.vm_state.in_([s.value for s in RECORD_CHANGE_STATES]),
            InstanceRow.task_state.is_(None),
        )
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(held, "rowcount", 0) != 1:
        session.refresh(row)
        raise _refused(action, row)


def _refused(action: str, row: InstanceRow) -> InstanceInvalidState:
    """Nova's conflict for `action` on `row` as it is now: its task first, else its vm state."""
    if row.task_state is not None:
        return InstanceInvalidState(action, row.uuid, attr="task_state", state=row.task_state)
    return InstanceInvalidState(action, row.uuid, attr="vm_state", state=row.vm_state)


def end_action(
    session: Session,
    instance_uuid: str,
    *,
    vm_state: VmState | None = None,
    host: str | None = None,
    clear_host: bool = False,
    task: TaskState | None = None,
) -> None:
    """Clear (or move on) the task state; set the vm state and host when given.

    `clear_host` leaves the instance on no host (shelve-offload).
    """
    values: dict[str, object] = {"task_state": task.value if task else None, "updated_at": utcnow()}
    if vm_state is not None:
        values["vm_state"] = vm_state.value
    if host is not None or clear_host:
        values["host"] = host
    session.execute(
        update(InstanceRow)
        .where(InstanceRow.uuid == instance_uuid, InstanceRow.vm_state != VmState.DELETED.value)
        .values(**values)
        .execution_options(synchronize_session=False)
    )

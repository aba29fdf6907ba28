"""A server's `status` from its vm_state and task_state, as Nova's API shows it."""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

_DEFAULT: Final = "default"

# vm_state -> {task_state or "default": status}, Nova's table.
_STATUS: Final = MappingProxyType(
    {
        "active": {
            _DEFAULT: "ACTIVE",
            "rebooting": "REBOOT",
            "reboot_pending": "REBOOT",
            "reboot_started": "REBOOT",
            "rebooting_hard": "HARD_REBOOT",
            "reboot_pending_hard": "HARD_REBOOT",
            "reboot_started_hard": "HARD_REBOOT",
            "updating_password": "PASSWORD",
            "rebuilding": "REBUILD",
            "rebuild_block_device_mapping": "REBUILD",
            "rebuild_spawning": "REBUILD",
            "migrating": "MIGRATING",
            "resize_prep": "RESIZE",
            "resize_migrating": "RESIZE",
            "resize_migrated": "RESIZE",
            "resize_finish": "RESIZE",
        },
        "building": {_DEFAULT: "BUILD"},
        "stopped": {
            _DEFAULT: "SHUTOFF",
            "resize_prep": "RESIZE",
            "resize_migrating": "RESIZE",
            "resize_migrated": "RESIZE",
            "resize_finish": "RESIZE",
            "rebuilding": "REBUILD",
            "rebuild_block_device_mapping": "REBUILD",
            "rebuild_spawning": "REBUILD",
        },
        "resized": {_DEFAULT: "VERIFY_RESIZE", "resize_reverting": "REVERT_RESIZE"},
        "paused": {_DEFAULT: "PAUSED", "migrating": "MIGRATING"},
        "suspended": {_DEFAULT: "SUSPENDED"},
        "rescued": {_DEFAULT: "RESCUE"},
        "error": {_DEFAULT: "ERROR", "rebuilding": "REBUILD"},
        "deleted": {_DEFAULT: "DELETED"},
        "soft-delete": {_DEFAULT: "SOFT_DELETED"},
        "shelved": {_DEFAULT: "SHELVED"},
        "shelved_offloaded": {_DEFAULT: "SHELVED_OFFLOADED"},
    }
)

# Nova's power states: what `OS-EXT-STS:power_state` shows.
NOSTATE: Final = 0
RUNNING: Final = 1
SHUTDOWN: Final = 4


def server_status(vm_state: str, task_state: str | None) -> str:
    """Nova's status word; UNKNOWN for a vm_state it does not know."""
    by_task = _STATUS.get(vm_state)
    if by_task is None:
        return "UNKNOWN"
    return by_task.get(task_state or _DEFAULT, by_task[_DEFAULT])


def power_state(vm_state: str) -> int:
    """The power state a server in `vm_state` is shown with."""
    if vm_state in ("active", "rescued", "resized"):
        return RUNNING
    if vm_state in ("stopped", "shelved"):
        return SHUTDOWN
    return NOSTATE

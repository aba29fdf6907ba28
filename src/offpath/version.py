"""offpath's service version: one integer each service records, and what each value added.

As in Nova, a service writes its version in its service record, and a feature
that needs every compute host to take part is refused until the oldest
compute service in every cell is new enough. Each version maps to the
compute RPC API version it speaks, which caps what the conductor may send.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class VersionStep:
    """One service version: the compute RPC API version it speaks and what it added."""

    version: int
    compute_rpc: str
    added: str


SERVICE_VERSION_HISTORY: Final = (
    VersionStep(1, "1.0", "the agent registers, heartbeats and reports its PCI inventory"),
    VersionStep(
        2,
        "1.1",
        "the agent reports each remote-managed VF's card serial number, PF MAC and VF "
        "number, and takes builds with remote-managed ports",
    ),
    VersionStep(
        3,
        "1.2",
        "the agent binds, plugs and spawns, waits for plug events as the port's backend "
        "needs, and takes external instance events",
    ),
    VersionStep(
        4,
        "1.3",
        "the agent runs its steps of every server operation: stop/start, reboot, "
        "suspend/resume, interface attach/detach, cold and live moves, evacuation, shelve",
    ),
)

SERVICE_VERSION: Final = SERVICE_VERSION_HISTORY[-1].version

# The oldest compute service version that can serve remote-managed ports
# (Nova's SUPPORT_VNIC_TYPE_REMOTE_MANAGED, 61 in Nova's own numbering).
SUPPORT_VNIC_TYPE_REMOTE_MANAGED: Final = 2

# The oldest compute service version that takes part in server operations
# (Nova's live migration needs 36 for multiple port bindings, in its numbering).
SUPPORT_SERVER_OPERATIONS: Final = 4

COMPUTE_BINARY: Final = "offpath-compute"
CONDUCTOR_BINARY: Final = "offpath-conductor"


def compute_rpc_cap(minimum_version: int) -> str:
    """The newest compute RPC version that every service at `minimum_version` or later speaks."""
    cap = SERVICE_VERSION_HISTORY[0].compute_rpc
    for step in SERVICE_VERSION_HISTORY:
        if step.version <= minimum_version:
            cap = step.compute_rpc
    return cap

"""The message that asks a host to create an instance's guest: a boot, a move's end, an unshelve.

Each claimed device travels with the PCI request it serves and the port
that asked for it (the request's requester), so the host binds every
port to its own VF. `operation` (absent for a boot) decides what the
host waits for; `power_on` False leaves a stopped server stopped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from offpath.db.device_claims import ClaimedDevice
from offpath.ports.events import Operation


def build_message(
    *,
    instance_uuid: str,
    name: str,
    flavor: Mapping[str, object],
    port_ids: Sequence[str],
    devices: Sequence[ClaimedDevice],
    requesters: Mapping[str, str | None],
    operation: Operation | None = None,
    power_on: bool = True,
) -> dict[str, object]:
    """The `build_instance` / `finish` message's primitive."""
    message: dict[str, object] = {
        "instance_uuid": instance_uuid,
        "name": name,
        "flavor": dict(flavor),
        "port_ids": list(port_ids),
        "devices": [
            {
                "request_id": d.request_id,
                "requester_id": requesters.get(d.request_id),
                "selected": d.selected.to_primitive(),
            }
            for d in devices
        ],
    }
    if operation is not None:
        message["operation"] = operation.value
    if not power_on:
        message["power_on"] = False
    return message

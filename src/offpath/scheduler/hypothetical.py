"""A request for ports of one vnic type that nobody made: what `schedule explain` asks about.

The CLI and the HTTP API build it the same way, and show each host's
verdict in the same JSON shape.
"""

from __future__ import annotations

from offpath.jsonvalue import JsonValue
from offpath.pci.request import NumaPolicy
from offpath.ports.network import Network
from offpath.ports.pci_request import request_from_port
from offpath.ports.port import Port
from offpath.ports.vnic import VnicType
from offpath.scheduler.request import PlacementRequest
from offpath.scheduler.scheduler import HostVerdict


def hypothetical_request(
    vnic: VnicType,
    *,
    physnet: str | None = None,
    ports: int = 1,
    numa_nodes: int | None = None,
    numa_policy: NumaPolicy | None = None,
) -> PlacementRequest:
    """The placement request of `ports` ports of type `vnic` on a network of `physnet`."""
    network = Network("explain", physical_network=physnet)
    requests = []
    for index in range(ports):
        port = Port(f"port-{index}", network.id, vnic_type=vnic)
        found = request_from_port(port, network, flavor_numa_policy=numa_policy)
        if found is not None:
            requests.append(found)
    return PlacementRequest(
        tuple(requests), remote_managed=vnic is VnicType.REMOTE_MANAGED, numa_nodes=numa_nodes
    )


def verdict_json(verdict: HostVerdict) -> dict[str, JsonValue]:
    """One host's verdict as `schedule explain --json` and the API show it."""
    return {
        "host": verdict.host,
        "cell": verdict.cell,
        "ok": verdict.rejection is None,
        "reason": None if verdict.rejection is None else verdict.rejection.value,
        "free_devices": verdict.free_devices,
    }

"""The seam to a backend that keeps its own copy of networks and ports (OVN's Northbound).

ML2 calls its mechanism drivers after every network and port write; a
mirror is told the same, once the write is committed, with what it needs
to rebuild its copy of the port whole: the port, its network and the
subnets its addresses come from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from offpath.network.records import NetworkRecord, PortRecord, SubnetRecord


@dataclass(frozen=True, slots=True)
class PortWrite:
    """A port as committed, with its network and the subnets of its fixed IPs."""

    port: PortRecord
    network: NetworkRecord
    subnets: tuple[SubnetRecord, ...] = ()


class NetworkMirror(Protocol):
    """Keeps a backend's copy of networks and ports in step with the network service."""

    def network_written(self, network: NetworkRecord) -> None:
        """A network was created or changed."""
        ...

    def network_deleted(self, network_id: str) -> None:
        """A network (with no ports left) was deleted."""
        ...

    def port_written(self, write: PortWrite) -> None:
        """A port was created or changed (its binding, status, addresses)."""
        ...

    def port_deleted(self, port_id: str) -> None:
        """A port was deleted."""
        ...

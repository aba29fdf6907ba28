"""The seam to a backend that keeps its own copy of networks and ports (OVN's Northbound).

ML2 calls its mechanism drivers after every network and port write; a
mirror is told the same, once the write is committed, with what it needs
to rebuild its copy of the port whole: the port, its network and the
subnets its addresses come from. Security groups are told too: a group
with its rules after each group or rule write, its deletion, and which
ports the groups filter at all (a repair).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from offpath.network.records import (
    NetworkRecord,
    PortRecord,
    SecurityGroupRecord,
    SubnetRecord,
)


@dataclass(frozen=True, slots=True)
class PortWrite:
    """A port as committed, with its network and the subnets of its fixed IPs."""

    port: PortRecord
    network: NetworkRecord
    subnets: tuple[SubnetRecord, ...] = ()
    # The port's groups with their rules: a backend makes a group it lacks whole.
    groups: tuple[SecurityGroupRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class SecurityGroupWrite:
    """A group as committed, with its rules; `ports` its members when they are to be set too."""

    group: SecurityGroupRecord
    # None: members are left as they are (port writes keep them).
    ports: tuple[str, ...] | None = None


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

    def security_group_written(self, write: SecurityGroupWrite) -> None:
        """A group was created or changed, or one of its rules created or deleted."""
        ...

    def security_group_deleted(self, group_id: str) -> None:
        """A group (with no ports left) was deleted."""
        ...

    def filtered_ports_written(self, port_ids: tuple[str, ...]) -> None:
        """These, and only these, ports are filtered by their groups (a repair)."""
        ...

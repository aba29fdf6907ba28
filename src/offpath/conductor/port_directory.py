"""Where the conductor reads ports and networks: the seam the network service plugs into.

The conductor only reads ports here; binding them is the agent's work. The
network service (and a client of a real Neutron) implement `PortDirectory`;
`PortRecords` serves records its caller already holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Protocol

from offpath.errors import NetworkNotFound, PortNotFound, SecurityGroupNameAmbiguous
from offpath.ports.network import Network
from offpath.ports.port import Port


class PortDirectory(Protocol):
    """Reads ports and networks by id."""

    def show_port(self, port_id: str) -> Port:
        """The port; PortNotFound when there is none."""
        ...

    def show_network(self, network_id: str) -> Network:
        """The network; NetworkNotFound when there is none."""
        ...


class PortRecords:
    """A `PortDirectory` over records the caller holds."""

    def __init__(self, ports: Iterable[Port] = (), networks: Iterable[Network] = ()) -> None:
        self.ports = {port.id: port for port in ports}
        self.networks = {network.id: network for network in networks}
        # Security groups by id: (project, name).
        self.security_groups: dict[str, tuple[str, str]] = {}

    def find_security_group(self, name_or_id: str, *, project_id: str) -> str | None:
        """The id of the project's group with that id, else that name."""
        mine = {
            k: name for k, (project, name) in self.security_groups.items() if project == project_id
        }
        if name_or_id in mine:
            return name_or_id
        named = [k for k, name in mine.items() if name == name_or_id]
        if len(named) > 1:
            raise SecurityGroupNameAmbiguous(name_or_id)
        return named[0] if named else None

    def security_group_names(self, group_ids: Sequence[str]) -> dict[str, str]:
        """The names of the groups of `group_ids`."""
        return {k: self.security_groups[k][1] for k in group_ids if k in self.security_groups}

    def set_port_security_groups(self, port_id: str, group_ids: Sequence[str]) -> Port:
        """Make `group_ids` the port's groups."""
        port = replace(self.show_port(port_id), security_groups=tuple(group_ids))
        self.ports[port_id] = port
        return port

    def show_port(self, port_id: str) -> Port:
        """The port; PortNotFound when there is none."""
        try:
            return self.ports[port_id]
        except KeyError:
            raise PortNotFound(port_id) from None

    def show_network(self, network_id: str) -> Network:
        """The network; NetworkNotFound when there is none."""
        try:
            return self.networks[network_id]
        except KeyError:
            raise NetworkNotFound(network_id) from None

    def list_ports(self, *, device_id: str) -> list[Port]:
        """The ports bound to `device_id`, by id."""
        return sorted(
            (port for port in self.ports.values() if port.device_id == device_id),
            key=lambda port: port.id,
        )

"""Where the conductor reads ports and networks: the seam the network service plugs into.

The conductor only reads ports here; binding them is the agent's work. The
network service (and a client of a real Neutron) implement `PortDirectory`;
`PortRecords` serves records its caller already holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from offpath.errors import NetworkNotFound, PortNotFound
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

"""A port bound to two hosts at once: Neutron's `binding-extended` calls for a live migration.

The network service's Neutron client implements `MultipleBindings`; tests
use an in-memory double. `bind_ports_to_host` is Nova's: an inactive
binding on the destination for each of a server's ports, or none at all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from offpath.errors import OffpathError, PortBindingFailed
from offpath.jsonvalue import JsonValue
from offpath.ports.host_binding import HostBinding
from offpath.ports.port import Port
from offpath.ports.vnic import VnicType

LOG = logging.getLogger(__name__)


class MultipleBindings(Protocol):
    """The calls that bind a port to a second host, switch it there, and clean up."""

    def create_port_binding(
        self,
        port_id: str,
        *,
        host: str,
        vnic_type: VnicType | None = None,
        profile: Mapping[str, JsonValue],
    ) -> HostBinding:
        """An INACTIVE binding of the port to `host`; PortBindingFailed when it is refused."""
        ...

    def port_bindings(self, port_id: str) -> list[HostBinding]:
        """The port's bindings, the active one first; PortNotFound when there is no port."""
        ...

    def activate_port_binding(self, port_id: str, host: str) -> Port:
        """Make the binding to `host` the active one (one already active is no error)."""
        ...

    def delete_port_binding(self, port_id: str, host: str) -> None:
        """Delete the port's binding to `host`; one already gone is no error."""
        ...


def bind_ports_to_host(
    network: MultipleBindings,
    ports: Sequence[Port],
    host: str,
    *,
    vnic_types: Mapping[str, VnicType] | None = None,
    profiles: Mapping[str, Mapping[str, JsonValue]] | None = None,
) -> dict[str, HostBinding]:
    """An inactive binding to `host` per port (its vnic type and profile unless overridden).

    If one is refused, those made so far are deleted and PortBindingFailed
    names the port refused, as Nova's `bind_ports_to_host` does.
    """
    made: dict[str, HostBinding] = {}
    for port in ports:
        vnic = (vnic_types or {}).get(port.id, port.vnic_type)
        profile = (profiles or {}).get(port.id, port.binding_profile)
        try:
            made[port.id] = network.create_port_binding(
                port.id, host=host, vnic_type=vnic, profile=profile
            )
        except OffpathError as exc:
            LOG.error("Binding failed for port %s and host %s: %s", port.id, host, exc.message)
            _delete_bindings(network, made, host)
            if isinstance(exc, PortBindingFailed):
                raise
            raise PortBindingFailed(port.id, exc.message) from exc
    return made


def _delete_bindings(network: MultipleBindings, port_ids: Iterable[str], host: str) -> None:
    for port_id in port_ids:
        try:
            network.delete_port_binding(port_id, host)
        except OffpathError as exc:
            # A leftover inactive binding plugs nothing; the failure above is what matters.
            LOG.warning(
                "Failed to remove binding for port %s on host %s: %s", port_id, host, exc.message
            )

"""The network service as the agent uses it: read, bind and unbind ports (a Neutron seam).

The network service's Neutron client implements `PortBinding`; tests use an
in-memory double. Unbinding follows Nova's rules for a server's ports: a
port that is gone is skipped, one that another instance took since is left
alone, and the PCI part of the profile goes with the host.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Protocol, runtime_checkable

from offpath.errors import OffpathError, PortNotFound
from offpath.jsonvalue import JsonValue
from offpath.pci.spec import DeviceSpec
from offpath.ports.network import Network
from offpath.ports.port import Port
from offpath.ports.profile import unbind_profile

LOG = logging.getLogger(__name__)

# What Nova writes as the owner of a server's port (its availability zone is `nova`).
DEVICE_OWNER: Final = "compute:nova"
BINDING_FAILED: Final = "binding_failed"


class PortBinding(Protocol):
    """The calls the agent (and the conductor's local delete) make to the network service."""

    def show_port(self, port_id: str) -> Port:
        """The port; PortNotFound when there is none."""
        ...

    def show_network(self, network_id: str) -> Network:
        """The network; NetworkNotFound when there is none."""
        ...

    def bind_port(
        self,
        port_id: str,
        *,
        host: str,
        profile: Mapping[str, JsonValue],
        device_id: str,
        device_owner: str,
    ) -> Port:
        """Bind the port to `host` with `profile`; the port as the backend bound it."""
        ...

    def unbind_port(
        self, port_id: str, *, profile: Mapping[str, JsonValue], detach: bool = True
    ) -> Port:
        """Clear the port's host and write `profile`; `detach` clears its device id and owner."""
        ...

    def device_up(self, host: str, port_id: str) -> None:
        """The host's SR-IOV NIC agent: the VF of a direct port is up."""
        ...


@runtime_checkable
class SriovHostRegistry(Protocol):
    """An optional extra of a network service: which physnets a host's direct VFs reach."""

    def report_sriov_host(self, host: str, physnets: Sequence[str]) -> None:
        """Record that `host` has SR-IOV VFs on `physnets` (the NIC agent's mappings)."""
        ...


def direct_physnets(specs: Iterable[DeviceSpec]) -> tuple[str, ...]:
    """The physnets of the specs that select VFs for direct ports (not remote-managed)."""
    found = {s.physical_network for s in specs if not s.remote_managed and s.physical_network}
    return tuple(sorted(p for p in found if p is not None))


def unbind_instance_ports(
    network: PortBinding, instance_uuid: str, port_ids: Iterable[str], *, detach: bool = True
) -> tuple[str, ...]:
    """Unbind each port that `instance_uuid` still holds; the ids of those unbound.

    `detach` False keeps the ports the instance's (shelve-offload: unbound
    from the host, still the server's). Never raises: a failure is logged
    and the next port is tried, as Nova does.
    """
    done: list[str] = []
    for port_id in port_ids:
        try:
            port = network.show_port(port_id)
        except PortNotFound:
            continue
        except OffpathError as exc:
            LOG.warning("port %s not unbound: cannot read it: %s", port_id, exc.message)
            continue
        if port.device_id and port.device_id != instance_uuid:
            LOG.info("port %s now belongs to %s; left bound", port_id, port.device_id)
            continue
        if not port.device_id and port.binding_host_id is None:
            continue
        if not detach and port.binding_host_id is None:
            continue
        try:
            network.unbind_port(
                port_id, profile=unbind_profile(port.binding_profile), detach=detach
            )
        except PortNotFound:
            continue
        except OffpathError as exc:
            LOG.warning("port %s not unbound: %s", port_id, exc.message)
            continue
        done.append(port_id)
    return tuple(done)

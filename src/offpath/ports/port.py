"""A Neutron port as offpath's compute side reads it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from offpath.jsonvalue import JsonValue
from offpath.pci.request import NumaPolicy
from offpath.ports.vnic import VnicType

# The key of `binding:vif_details` under which offpath's network service says why a
# binding failed (ML2 only logs it).
BINDING_FAILURE_DETAIL: Final = "offpath:binding_failure"


@dataclass(frozen=True, slots=True)
class FixedIp:
    """One of a port's addresses: the subnet it comes from and the address."""

    subnet_id: str
    ip_address: str


@dataclass(frozen=True, slots=True)
class Port:
    """The few attributes of a port that PCI requests and binding profiles read."""

    id: str
    network_id: str
    vnic_type: VnicType = VnicType.NORMAL
    binding_profile: Mapping[str, JsonValue] = field(default_factory=dict)
    numa_affinity_policy: NumaPolicy | None = None
    # Who uses the port: a bound port belongs to `device_id` on `binding_host_id`.
    device_id: str = ""
    binding_host_id: str | None = None
    # What the network service answers after a bind: Neutron's names and values.
    device_owner: str = ""
    status: str = "DOWN"
    vif_type: str = "unbound"
    vif_details: Mapping[str, JsonValue] = field(default_factory=dict)
    mac_address: str | None = None
    fixed_ips: tuple[FixedIp, ...] = ()
    project_id: str = ""
    # The ids of the port's security groups.
    security_groups: tuple[str, ...] = ()

    @property
    def binding_failure(self) -> str:
        """Why its binding failed, when the network service says (offpath's does)."""
        value = self.vif_details.get(BINDING_FAILURE_DETAIL)
        return value if isinstance(value, str) else ""

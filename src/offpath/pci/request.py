"""A PCI request: how many devices an instance needs and which properties they must have."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from offpath.jsonvalue import JsonValue

# One property dict of a request (Nova's request "spec"): keys are pool keys
# (vendor_id, product_id, dev_type, physical_network, remote_managed, tags...).
RequestSpec = Mapping[str, JsonValue]


class NumaPolicy(StrEnum):
    """Nova's PCI NUMA affinity policies."""

    REQUIRED = "required"
    LEGACY = "legacy"
    PREFERRED = "preferred"
    SOCKET = "socket"


@dataclass(frozen=True, slots=True)
class PciRequest:
    """Nova's InstancePCIRequest: `count` devices, each matching any of `spec`."""

    count: int
    spec: tuple[RequestSpec, ...]
    request_id: str
    requester_id: str | None = None
    alias_name: str | None = None
    numa_policy: NumaPolicy | None = None

    @property
    def from_port(self) -> bool:
        """True for a request built from a Neutron port (no alias name)."""
        return self.alias_name is None

    @property
    def effective_numa_policy(self) -> NumaPolicy:
        """The policy to apply; unset means legacy."""
        return self.numa_policy or NumaPolicy.LEGACY

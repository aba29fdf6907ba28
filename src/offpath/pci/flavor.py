"""A flavor and what its extra specs ask of PCI: aliases, NUMA nodes and the NUMA policy.

Extra spec names and formats are Nova's: `pci_passthrough:alias` is
`name:count[,name:count...]`, `hw:numa_nodes` a positive integer,
`hw:pci_numa_affinity_policy` one of required, legacy, preferred, socket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from offpath.errors import FlavorExtraSpecInvalid, PciRequestAliasNotDefined
from offpath.pci.alias import PciAlias
from offpath.pci.request import NumaPolicy, PciRequest
from offpath.ports.pci_request import requests_from_alias

ALIAS_KEY = "pci_passthrough:alias"
NUMA_NODES_KEY = "hw:numa_nodes"
NUMA_POLICY_KEY = "hw:pci_numa_affinity_policy"


@dataclass(frozen=True, slots=True)
class Flavor:
    """A flavor's size and extra specs."""

    name: str
    vcpus: int = 1
    memory_mb: int = 512
    root_gb: int = 0
    extra_specs: Mapping[str, str] = field(default_factory=dict)

    def to_primitive(self) -> dict[str, object]:
        """The JSON-safe form stored with an instance."""
        return {
            "name": self.name,
            "vcpus": self.vcpus,
            "memory_mb": self.memory_mb,
            "root_gb": self.root_gb,
            "extra_specs": dict(self.extra_specs),
        }

    @classmethod
    def from_primitive(cls, data: Mapping[str, object]) -> Flavor:
        """The flavor `to_primitive` wrote (as an instance keeps it); defaults for what lacks."""
        specs = data.get("extra_specs")
        name, vcpus = data.get("name"), data.get("vcpus")
        memory, root = data.get("memory_mb"), data.get("root_gb")
        return cls(
            name if isinstance(name, str) else "",
            vcpus if isinstance(vcpus, int) else 1,
            memory if isinstance(memory, int) else 512,
            root if isinstance(root, int) else 0,
            {str(k): str(v) for k, v in specs.items()} if isinstance(specs, dict) else {},
        )

    @property
    def numa_nodes(self) -> int | None:
        """`hw:numa_nodes`, or None when the flavor asks for no NUMA topology."""
        raw = self.extra_specs.get(NUMA_NODES_KEY)
        if raw is None:
            return None
        if not raw.isdigit() or int(raw) < 1:
            raise FlavorExtraSpecInvalid(self.name, NUMA_NODES_KEY, raw, "a positive integer")
        return int(raw)

    @property
    def numa_policy(self) -> NumaPolicy | None:
        """`hw:pci_numa_affinity_policy`, or None when unset."""
        raw = self.extra_specs.get(NUMA_POLICY_KEY)
        if raw is None:
            return None
        try:
            return NumaPolicy(raw)
        except ValueError:
            allowed = ", ".join(p.value for p in NumaPolicy)
            raise FlavorExtraSpecInvalid(self.name, NUMA_POLICY_KEY, raw, allowed) from None

    def alias_counts(self) -> list[tuple[str, int]]:
        """`pci_passthrough:alias` as (alias name, count) pairs, in order."""
        raw = self.extra_specs.get(ALIAS_KEY)
        if not raw:
            return []
        pairs = []
        for item in raw.split(","):
            name, sep, count = item.strip().partition(":")
            if not name or not sep or not count.strip().isdigit() or int(count) < 1:
                raise FlavorExtraSpecInvalid(
                    self.name, ALIAS_KEY, raw, "name:count[,name:count...] with counts >= 1"
                )
            pairs.append((name.strip(), int(count)))
        return pairs


def flavor_pci_requests(flavor: Flavor, aliases: Mapping[str, PciAlias]) -> list[PciRequest]:
    """The PCI requests of a flavor's aliases; PciRequestAliasNotDefined for an unknown one."""
    requests = []
    for name, count in flavor.alias_counts():
        alias = aliases.get(name)
        if alias is None:
            raise PciRequestAliasNotDefined(name)
        requests.append(requests_from_alias(alias, count, flavor_numa_policy=flavor.numa_policy))
    return requests

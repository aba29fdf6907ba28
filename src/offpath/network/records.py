"""What the network service holds about networks, subnets, ports and chassis.

Ports and networks wrap the records of `offpath.ports` (what compute reads)
with the attributes only the network API shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from offpath.jsonvalue import JsonValue
from offpath.ports.network import Network
from offpath.ports.port import Port
from offpath.ports.security_group import Rule


class PortStatus(StrEnum):
    """A port's `status`, as Neutron names it."""

    ACTIVE = "ACTIVE"
    DOWN = "DOWN"
    BUILD = "BUILD"
    ERROR = "ERROR"


class VifType(StrEnum):
    """The `binding:vif_type` values the drivers give."""

    UNBOUND = "unbound"
    BINDING_FAILED = "binding_failed"
    OVS = "ovs"
    HW_VEB = "hw_veb"


@dataclass(frozen=True, slots=True)
class NetworkRecord:
    """A network and what the API shows beside its provider attributes."""

    network: Network
    project_id: str
    status: str = "ACTIVE"
    admin_state_up: bool = True
    shared: bool = False
    segmentation_id: int | None = None
    subnet_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SubnetRecord:
    """A subnet: the range its network's ports take fixed IPs from."""

    id: str
    network_id: str
    project_id: str
    name: str
    cidr: str
    ip_version: int
    gateway_ip: str | None


@dataclass(frozen=True, slots=True)
class PortRecord:
    """A port and what the API shows beside the binding compute reads."""

    port: Port
    name: str = ""
    admin_state_up: bool = True
    # The Logical_Switch_Port options the binding driver recorded.
    lsp_options: Mapping[str, JsonValue] = field(default_factory=dict)
    binding_failure: str = ""


@dataclass(frozen=True, slots=True)
class Chassis:
    """A DPU's chassis, as OVN's Southbound `Chassis` row, and the card it plays."""

    hostname: str
    other_config: Mapping[str, JsonValue]
    pf_macs: tuple[str, ...]
    vfs: int
    up: bool
    heartbeat_at: datetime
    # OVN's chassis name (ovn-controller's system-id); a bind names the hostname.
    name: str = ""

    @property
    def cms_options(self) -> str:
        """The raw `ovn-cms-options` text (a comma-separated list)."""
        value = self.other_config.get("ovn-cms-options", "")
        return value if isinstance(value, str) else ""

    @property
    def bridge_mappings(self) -> tuple[str, ...]:
        """The physnets of `ovn-bridge-mappings` (`physnet:bridge,...`)."""
        value = self.other_config.get("ovn-bridge-mappings", "")
        if not isinstance(value, str):
            return ()
        return tuple(item.split(":", 1)[0] for item in value.split(",") if item)

    def alive(self, *, now: datetime, down_time: timedelta) -> bool:
        """True while it is up and its last heartbeat is younger than `down_time`."""
        return self.up and now - self.heartbeat_at <= down_time

    def serial_item(self) -> str | None:
        """The card serial of its `card-serial-number=` item, if it has one."""
        for item in self.cms_options.split(","):
            key, sep, value = item.partition("=")
            if sep and key == "card-serial-number":
                return value
        return None


@dataclass(frozen=True, slots=True)
class SecurityGroupRuleRecord:
    """A stored security group rule: its match and what the API shows beside it."""

    id: str
    security_group_id: str
    project_id: str
    rule: Rule
    description: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    revision_number: int = 0
    # True for a rule of its project's `default` group.
    belongs_to_default_sg: bool = False


@dataclass(frozen=True, slots=True)
class SecurityGroupRecord:
    """A stored security group and its rules."""

    id: str
    project_id: str
    name: str
    description: str = ""
    stateful: bool = True
    rules: tuple[SecurityGroupRuleRecord, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None
    revision_number: int = 0
    is_default: bool = False

"""What ML2/OVN writes to the Northbound database for a network and a port.

A network is the `Logical_Switch` `neutron-<network id>`, with a
`localnet` port per VLAN/flat segment; a port is the
`Logical_Switch_Port` named by its id, with Neutron's `external_ids`. A
`remote-managed` port is a plain VIF port (type ""), never `external`;
its options are what the binding recorded (the representor plug request).
These are pure functions: the writer and the drift audit both use them.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from offpath.jsonvalue import JsonValue
from offpath.network.mirror import PortWrite
from offpath.network.records import NetworkRecord, PortStatus, VifType
from offpath.network.segments import is_tunnelled, segments_of
from offpath.ports.port import Port
from offpath.ports.vnic import VnicType

SWITCH_PREFIX: Final = "neutron-"
LOCALNET_PREFIX: Final = "provnet-"
LOCALNET: Final = "localnet"
EXTERNAL: Final = "external"
# ML2/OVN makes these vnic types OVN `external` ports (served by a gateway chassis).
EXTERNAL_VNIC_TYPES: Final = frozenset(
    {VnicType.DIRECT, VnicType.DIRECT_PHYSICAL, VnicType.MACVTAP}
)
SWITCHDEV: Final = "switchdev"
# Keys of external_ids that offpath owns; others (an operator's) are left alone.
NEUTRON_KEY_PREFIX: Final = "neutron:"
NETWORK_NAME: Final = "neutron:network_name"
MTU: Final = "neutron:mtu"
HOST_ID: Final = "neutron:host_id"
VNIC_TYPE: Final = "neutron:vnic_type"
# The namespace of the localnet ports' names: one stable id per network segment.
_SEGMENTS: Final = uuid.UUID("5b3c0f4e-6a8e-4d6c-9a2b-0ff9a7ad0001")


@dataclass(frozen=True, slots=True)
class SwitchSpec:
    """A `Logical_Switch` as ML2/OVN writes it."""

    name: str
    external_ids: Mapping[str, str]
    localnets: tuple[PortSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class PortSpec:
    """A `Logical_Switch_Port` as ML2/OVN writes it."""

    name: str
    switch: str
    type: str = ""
    addresses: tuple[str, ...] = ()
    port_security: tuple[str, ...] = ()
    enabled: bool = True
    options: Mapping[str, str] = field(default_factory=dict)
    external_ids: Mapping[str, str] = field(default_factory=dict)
    tag: int | None = None


def switch_name(network_id: str) -> str:
    """The Logical_Switch of a network: `neutron-<network id>`."""
    return f"{SWITCH_PREFIX}{network_id}"


def network_of_switch(name: str) -> str | None:
    """The network id of a switch offpath (or Neutron) named; None for others."""
    return name[len(SWITCH_PREFIX) :] if name.startswith(SWITCH_PREFIX) else None


def switch_spec(network: NetworkRecord) -> SwitchSpec:
    """The switch of `network`, with a localnet port for each VLAN or flat segment."""
    name = switch_name(network.network.id)
    localnets = []
    segments = segments_of(network.network, segmentation_id=network.segmentation_id)
    for index, segment in enumerate(segments):
        if is_tunnelled(segment) or segment.physical_network is None:
            continue
        segment_id = uuid.uuid5(_SEGMENTS, f"{network.network.id}/{index}")
        localnets.append(
            PortSpec(
                name=f"{LOCALNET_PREFIX}{segment_id}",
                switch=name,
                type=LOCALNET,
                addresses=("unknown",),
                options={"network_name": segment.physical_network},
                tag=segment.segmentation_id if segment.network_type == "vlan" else None,
            )
        )
    return SwitchSpec(
        name=name,
        external_ids={
            NETWORK_NAME: network.network.name,
            MTU: str(network.network.mtu or 0),
        },
        localnets=tuple(localnets),
    )


def _capabilities(profile: Mapping[str, JsonValue]) -> list[str]:
    value = profile.get("capabilities")
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def port_type(vnic: VnicType, profile: Mapping[str, JsonValue]) -> str:
    """The port's type: `external` for SR-IOV ports without switchdev, else "" (a VIF)."""
    if vnic in EXTERNAL_VNIC_TYPES and SWITCHDEV not in _capabilities(profile):
        return EXTERNAL
    return ""


def is_bound(port: Port) -> bool:
    """True when a driver bound the port to a host (not unbound, not `binding_failed`)."""
    return bool(port.binding_host_id) and port.vif_type not in (
        VifType.UNBOUND.value,
        VifType.BINDING_FAILED.value,
    )


def port_spec(write: PortWrite) -> PortSpec:
    """The Logical_Switch_Port of a port, whole: addresses, options, Neutron's external_ids."""
    record, port = write.port, write.port.port
    prefixes = {subnet.id: ipaddress.ip_network(subnet.cidr).prefixlen for subnet in write.subnets}
    ips = [fixed.ip_address for fixed in port.fixed_ips]
    cidrs = [
        f"{fixed.ip_address}/{prefixes[fixed.subnet_id]}"
        for fixed in port.fixed_ips
        if fixed.subnet_id in prefixes
    ]
    addresses = (" ".join([port.mac_address, *ips]),) if port.mac_address else ()
    external_ids = {
        "neutron:port_name": record.name,
        "neutron:device_id": port.device_id,
        "neutron:device_owner": port.device_owner,
        "neutron:project_id": port.project_id,
        "neutron:cidrs": " ".join(cidrs),
        NETWORK_NAME: switch_name(port.network_id),
        "neutron:security_group_ids": " ".join(port.security_groups),
        VNIC_TYPE: port.vnic_type.value,
        "neutron:port_capabilities": ";".join(_capabilities(port.binding_profile)),
    }
    if port.vnic_type is VnicType.REMOTE_MANAGED:
        external_ids[MTU] = str(write.network.network.mtu or 0)
    # ML2/OVN names the host only while the port is up (its binding's host, the hypervisor).
    if is_bound(port) and port.status == PortStatus.ACTIVE.value and port.binding_host_id:
        external_ids[HOST_ID] = port.binding_host_id
    return PortSpec(
        name=port.id,
        switch=switch_name(port.network_id),
        type=port_type(port.vnic_type, port.binding_profile),
        addresses=addresses,
        port_security=addresses,
        enabled=record.admin_state_up,
        options={key: str(value) for key, value in record.lsp_options.items()},
        external_ids=external_ids,
    )

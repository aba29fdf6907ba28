"""A VIF: a port as bound to one instance, as the compute side caches it (Nova's network info)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from offpath.errors import VifObjectInvalid
from offpath.jsonvalue import JsonValue
from offpath.ports.network import Network
from offpath.ports.port import Port
from offpath.ports.vnic import VnicType

# The port status that says the backend has plugged it.
ACTIVE: Final = "ACTIVE"

# Linux caps interface names at 15 bytes; Nova keeps 14 for its prefixes.
NIC_NAME_LEN: Final = 14


@dataclass(frozen=True, slots=True)
class VifNetwork:
    """The network of a VIF, as far as plugging needs it."""

    id: str
    bridge: str | None = None
    label: str | None = None
    mtu: int | None = None


@dataclass(frozen=True, slots=True)
class Vif:
    """One bound port of an instance: its binding result and cached state.

    `active` is None when unknown; only an explicit False means "not plugged yet".
    """

    id: str
    address: str
    network: VifNetwork
    vif_type: str
    vnic_type: VnicType = VnicType.NORMAL
    profile: Mapping[str, JsonValue] = field(default_factory=dict)
    details: Mapping[str, JsonValue] = field(default_factory=dict)
    devname: str | None = None
    ovs_interfaceid: str | None = None
    active: bool | None = None
    preserve_on_delete: bool = False
    delegate_create: bool = False

    @property
    def port_filter(self) -> bool:
        """True when the backend filters the traffic (security groups) itself."""
        return self.details.get("port_filter") is True

    @property
    def hybrid_plug(self) -> bool:
        """True when OVS ports go through a Linux bridge (`ovs_hybrid_plug`)."""
        return self.details.get("ovs_hybrid_plug") is True


def tap_name(port_id: str) -> str:
    """The host-side name Nova gives a port's device: `tap` + port id, 14 characters."""
    return f"tap{port_id}"[:NIC_NAME_LEN]


def vif_name(vif: Vif) -> str:
    """The cached device name, else `nic` + port id, 14 characters."""
    return vif.devname or f"nic{vif.id}"[:NIC_NAME_LEN]


def vif_from_port(port: Port, network: Network) -> Vif:
    """The VIF of a bound port: its binding result, and whether the backend says it is plugged."""
    if not port.mac_address:
        raise VifObjectInvalid(port.id, "the port has no mac_address")
    return Vif(
        id=port.id,
        address=port.mac_address,
        network=VifNetwork(network.id, label=network.name or None, mtu=network.mtu),
        vif_type=port.vif_type,
        vnic_type=port.vnic_type,
        profile=port.binding_profile,
        details=port.vif_details,
        devname=tap_name(port.id),
        # Explicitly False while down: only that makes a spawn wait for the plug.
        active=port.status == ACTIVE,
    )

"""Which os-vif object plugs a VIF, if any, as Nova's os_vif_util chooses it.

A remote-managed VIF becomes a `VIFHostDevice` for the `noop` plugin: the
DPU plugs the representor, the host does nothing. `direct` and `vdpa` on
OVS get the `ovs` plugin and a representor profile. Legacy VIF types
(SR-IOV agent `hw_veb`, `hostdev_physical`, ...) have no os-vif object and
take the driver's own path. offpath converts `ovs` VIFs only: the other
os-vif types Nova knows (ivs, agilio_ovs, vhostuser, vrouter) and the
removed Linux bridge are refused with a typed error.
"""

from __future__ import annotations

import warnings
from typing import Any, Final

from offpath.errors import VifObjectInvalid, VifTypeUnsupported
from offpath.ports.vif import NIC_NAME_LEN, Vif, vif_name
from offpath.ports.vnic import VnicType

with warnings.catch_warnings():
    # os-vif pulls in oslo libraries that warn about eventlet on import,
    # which says nothing about offpath: silenced for the import only.
    warnings.simplefilter("ignore")
    import os_vif.objects
    from os_vif.objects import fields as osv_fields
    from os_vif.objects import network as osv_network
    from os_vif.objects import subnet as osv_subnet
    from os_vif.objects import vif as osv_vif

os_vif.objects.register_all()
# os-vif deprecates the representor profile, yet Nova (and so offpath) still
# describes direct/vDPA representors with it.
warnings.filterwarnings(
    "ignore",
    message="Using class 'VIFPortProfileOVSRepresentor'",
    category=PendingDeprecationWarning,
)

OVS: Final = "ovs"
BRIDGE: Final = "bridge"
LEGACY_VIF_TYPES: Final = frozenset(
    {
        "dvs",
        "iovisor",
        "802.1qbg",
        "802.1qbh",
        "hw_veb",
        "hostdev_physical",
        "ib_hostdev",
        "midonet",
        "tap",
        "macvtap",
    }
)
NOT_BOUND_VIF_TYPES: Final = frozenset({"binding_failed", "unbound"})
OTHER_OS_VIF_TYPES: Final = frozenset({"ivs", "agilio_ovs", "vhostuser", "vrouter"})

NOOP_PLUGIN: Final = "noop"
OVS_PLUGIN: Final = "ovs"


def os_vif_object(vif: Vif) -> Any | None:
    """The os-vif object plugging `vif`; None when the legacy path plugs it."""
    if vif.vif_type in LEGACY_VIF_TYPES or vif.vif_type in NOT_BOUND_VIF_TYPES:
        return None
    if vif.vif_type == BRIDGE:
        raise VifTypeUnsupported(vif.vif_type, hint="the Linux bridge backend was removed")
    if vif.vif_type in OTHER_OS_VIF_TYPES:
        raise VifTypeUnsupported(vif.vif_type, hint="offpath plugs os-vif VIFs of type ovs only")
    if vif.vif_type != OVS:
        raise VifTypeUnsupported(vif.vif_type)
    try:
        return _ovs_object(vif)
    except ValueError as exc:
        raise VifObjectInvalid(vif.id, str(exc)) from exc


def _ovs_object(vif: Vif) -> Any:
    if vif.vnic_type is VnicType.REMOTE_MANAGED:
        return _host_device(vif, plugin=NOOP_PLUGIN)
    if vif.vnic_type in (VnicType.DIRECT, VnicType.VDPA):
        slot = _pci_slot(vif)
        profile = osv_vif.VIFPortProfileOVSRepresentor(
            interface_id=_interface_id(vif),
            representor_name=vif_name(vif),
            representor_address=slot,
        )
        profile.datapath_offload = osv_vif.DatapathOffloadRepresentor(
            representor_name=vif_name(vif), representor_address=slot
        )
        device = _host_device(vif, plugin=OVS_PLUGIN, port_profile=profile)
        if vif.network.bridge is not None:
            device.network.bridge = vif.network.bridge
        return device
    profile = osv_vif.VIFPortProfileOpenVSwitch(interface_id=_interface_id(vif))
    datapath_type = vif.details.get("datapath_type")
    if isinstance(datapath_type, str):
        profile.datapath_type = datapath_type
    if vif.delegate_create:
        profile.create_port = True
    if vif.details.get("ovs_create_tap") is True:
        profile.create_tap = True
    if vif.hybrid_plug:
        return osv_vif.VIFBridge(
            **_common(vif, OVS_PLUGIN),
            port_profile=profile,
            vif_name=vif_name(vif),
            bridge_name=f"qbr{vif.id}"[:NIC_NAME_LEN],
        )
    switch = osv_vif.VIFOpenVSwitch(
        **_common(vif, OVS_PLUGIN), port_profile=profile, vif_name=vif_name(vif)
    )
    if vif.network.bridge is not None:
        switch.bridge_name = vif.network.bridge
    return switch


def _host_device(vif: Vif, *, plugin: str, port_profile: Any | None = None) -> Any:
    extra: dict[str, Any] = {} if port_profile is None else {"port_profile": port_profile}
    return osv_vif.VIFHostDevice(
        **_common(vif, plugin),
        dev_type=osv_fields.VIFHostDeviceDevType.ETHERNET,
        dev_address=_pci_slot(vif),
        **extra,
    )


def _common(vif: Vif, plugin: str) -> dict[str, Any]:
    return {
        "id": vif.id,
        "address": vif.address,
        "network": _network(vif),
        "plugin": plugin,
        "has_traffic_filtering": vif.port_filter,
        "preserve_on_delete": vif.preserve_on_delete,
        "active": bool(vif.active),
    }


def _network(vif: Vif) -> Any:
    network = osv_network.Network(id=vif.network.id, subnets=osv_subnet.SubnetList(objects=[]))
    if vif.network.label is not None:
        network.label = vif.network.label
    if vif.network.mtu:
        network.mtu = vif.network.mtu
    return network


def _interface_id(vif: Vif) -> str:
    return vif.ovs_interfaceid or vif.id


def _pci_slot(vif: Vif) -> str:
    slot = vif.profile.get("pci_slot")
    if not isinstance(slot, str):
        raise VifObjectInvalid(vif.id, f"binding:profile pci_slot is {slot!r}, not a PCI address")
    return slot

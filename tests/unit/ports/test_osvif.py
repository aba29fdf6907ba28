"""The os-vif object of each VIF (spec §7), with the real os-vif objects."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from os_vif.objects import vif as osv_vif

from offpath.errors import VifObjectInvalid, VifTypeUnsupported
from offpath.jsonvalue import JsonValue
from offpath.ports.osvif import LEGACY_VIF_TYPES, os_vif_object
from offpath.ports.vif import Vif, VifNetwork, tap_name, vif_name
from offpath.ports.vnic import VnicType

# The warning the module filters for production: pytest resets filters per test.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Using class 'VIFPortProfileOVSRepresentor':PendingDeprecationWarning"
)

PORT_ID = "dc065497-3c8d-4f44-8fb4-e1d33c16a536"
NET_ID = "b82c1929-051e-481d-8110-4669916c7915"
MAC = "fa:16:3e:f0:a4:bb"
SLOT = "0000:82:00.4"
V = VnicType


def vif(
    vnic: VnicType = V.REMOTE_MANAGED,
    *,
    vif_type: str = "ovs",
    profile: dict[str, JsonValue] | None = None,
    details: dict[str, JsonValue] | None = None,
    **extra: Any,
) -> Vif:
    return Vif(
        id=PORT_ID,
        address=MAC,
        network=VifNetwork(NET_ID, bridge="br-int", label="private", mtu=1442),
        vif_type=vif_type,
        vnic_type=vnic,
        profile={"pci_slot": SLOT} if profile is None else profile,
        details=details or {},
        devname=tap_name(PORT_ID),
        **extra,
    )


def converted(v: Vif) -> Any:
    """The os-vif object of `v`, which must have one."""
    obj = os_vif_object(v)
    assert obj is not None
    return obj


# --- remote-managed ----------------------------------------------------------------


def test_a_remote_managed_vif_is_a_host_device_for_the_noop_plugin() -> None:
    obj = converted(vif())
    assert isinstance(obj, osv_vif.VIFHostDevice)
    assert (obj.plugin, obj.dev_type, obj.dev_address) == ("noop", "ethernet", SLOT)


def test_a_remote_managed_vif_has_no_port_profile() -> None:
    assert not converted(vif()).obj_attr_is_set("port_profile")


def test_a_remote_managed_vif_leaves_the_network_bridge_unset() -> None:
    assert not converted(vif()).network.obj_attr_is_set("bridge")


# --- direct / vdpa on OVS ----------------------------------------------------------


@pytest.mark.parametrize("vnic", [V.DIRECT, V.VDPA], ids=str)
def test_direct_and_vdpa_are_host_devices_for_the_ovs_plugin(vnic: VnicType) -> None:
    obj = converted(vif(vnic))
    assert isinstance(obj, osv_vif.VIFHostDevice)
    assert (obj.plugin, obj.dev_type, obj.dev_address) == ("ovs", "ethernet", SLOT)


def test_a_direct_vif_gets_the_ovs_representor_profile() -> None:
    profile = converted(vif(V.DIRECT)).port_profile
    assert isinstance(profile, osv_vif.VIFPortProfileOVSRepresentor)
    assert (profile.interface_id, profile.representor_name, profile.representor_address) == (
        PORT_ID,
        "tapdc065497-3c",
        SLOT,
    )


def test_a_direct_vif_carries_the_representor_as_datapath_offload() -> None:
    offload = converted(vif(V.DIRECT)).port_profile.datapath_offload
    assert isinstance(offload, osv_vif.DatapathOffloadRepresentor)
    assert (offload.representor_name, offload.representor_address) == ("tapdc065497-3c", SLOT)


def test_a_direct_vif_copies_the_network_bridge() -> None:
    assert converted(vif(V.DIRECT)).network.bridge == "br-int"


def test_the_ovs_interface_id_wins_over_the_port_id() -> None:
    obj = converted(vif(V.DIRECT, ovs_interfaceid="7e2b1c3d-0000-4000-8000-000000000001"))
    assert obj.port_profile.interface_id == "7e2b1c3d-0000-4000-8000-000000000001"


# --- other OVS VIFs ----------------------------------------------------------------


def test_a_normal_ovs_vif_is_an_openvswitch_vif_on_the_network_bridge() -> None:
    obj = converted(vif(V.NORMAL, details={"datapath_type": "netdev"}))
    assert isinstance(obj, osv_vif.VIFOpenVSwitch)
    assert (obj.plugin, obj.bridge_name, obj.vif_name) == ("ovs", "br-int", "tapdc065497-3c")
    assert isinstance(obj.port_profile, osv_vif.VIFPortProfileOpenVSwitch)
    assert obj.port_profile.datapath_type == "netdev"


def test_a_hybrid_plugged_ovs_vif_is_a_bridge_vif_on_its_qbr() -> None:
    obj = converted(vif(V.NORMAL, details={"ovs_hybrid_plug": True}))
    assert isinstance(obj, osv_vif.VIFBridge)
    assert obj.bridge_name == "qbrdc065497-3c"


def test_the_common_fields_come_from_the_vif() -> None:
    obj = converted(vif(details={"port_filter": True}, active=True, preserve_on_delete=True))
    assert (obj.id, obj.address, obj.active, obj.preserve_on_delete) == (PORT_ID, MAC, True, True)
    assert obj.has_traffic_filtering is True
    assert (obj.network.id, obj.network.label, obj.network.mtu) == (NET_ID, "private", 1442)


# --- legacy, unbound and unsupported ------------------------------------------------


@pytest.mark.parametrize("vif_type", sorted(LEGACY_VIF_TYPES))
def test_a_legacy_vif_type_takes_the_legacy_path(vif_type: str) -> None:
    assert os_vif_object(vif(V.DIRECT, vif_type=vif_type)) is None


def test_there_are_the_ten_legacy_vif_types() -> None:
    assert sorted(LEGACY_VIF_TYPES) == [
        "802.1qbg",
        "802.1qbh",
        "dvs",
        "hostdev_physical",
        "hw_veb",
        "ib_hostdev",
        "iovisor",
        "macvtap",
        "midonet",
        "tap",
    ]


@pytest.mark.parametrize("vif_type", ["unbound", "binding_failed"])
def test_an_unbound_vif_has_no_os_vif_object(vif_type: str) -> None:
    assert os_vif_object(vif(vif_type=vif_type)) is None


@pytest.mark.parametrize(
    ("vif_type", "hint"),
    [
        pytest.param("bridge", "the Linux bridge backend was removed", id="bridge"),
        pytest.param("vrouter", "offpath plugs os-vif VIFs of type ovs only", id="vrouter"),
        pytest.param("agilio_ovs", "offpath plugs os-vif VIFs of type ovs only", id="agilio"),
    ],
)
def test_vif_types_offpath_does_not_plug_are_refused_saying_why(vif_type: str, hint: str) -> None:
    with pytest.raises(VifTypeUnsupported) as caught:
        os_vif_object(vif(vif_type=vif_type))
    assert (caught.value.message, caught.value.hint) == (f"Unsupported VIF type {vif_type}", hint)


def test_an_unknown_vif_type_is_nova_s_unsupported_error() -> None:
    with pytest.raises(VifTypeUnsupported) as caught:
        os_vif_object(vif(vif_type="foo"))
    assert caught.value.message == "Unsupported VIF type foo"
    assert caught.value.code == "port.vif_type.unsupported"


def test_a_host_device_vif_without_pci_slot_is_a_typed_error() -> None:
    with pytest.raises(VifObjectInvalid) as caught:
        os_vif_object(vif(profile={}))
    assert "pci_slot is None" in caught.value.message


@pytest.mark.parametrize(
    ("field", "value"),
    [pytest.param("address", "not-a-mac", id="mac"), pytest.param("pci_slot", "82:4", id="slot")],
)
def test_os_vif_refusing_a_value_becomes_a_typed_error(field: str, value: str) -> None:
    good = vif(V.DIRECT)
    bad = (
        replace(good, profile={"pci_slot": value})
        if field == "pci_slot"
        else replace(good, address=value)
    )
    with pytest.raises(VifObjectInvalid):
        os_vif_object(bad)


# --- names ---------------------------------------------------------------------------


def test_the_tap_name_is_tap_and_the_port_id_in_14_characters() -> None:
    assert tap_name(PORT_ID) == "tapdc065497-3c"


def test_the_vif_name_is_the_cached_device_name() -> None:
    assert vif_name(vif()) == "tapdc065497-3c"


def test_without_a_device_name_the_vif_name_is_nic_and_the_port_id() -> None:
    assert vif_name(Vif(PORT_ID, MAC, VifNetwork(NET_ID), "ovs")) == "nicdc065497-3c"

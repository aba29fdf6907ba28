"""A bound port as a VIF, and the hostdev interface of its VF: a vlan only on the legacy path."""

from __future__ import annotations

import pytest

from offpath.errors import GuestInterfaceUnsupported, VifObjectInvalid
from offpath.jsonvalue import JsonValue
from offpath.pci.address import PciAddress
from offpath.ports.guest_interface import hostdev_interface
from offpath.ports.network import Network
from offpath.ports.port import Port
from offpath.ports.vif import vif_from_port
from offpath.ports.vnic import VnicType

NETWORK = Network("n1", network_type="vlan", physical_network="physnet1", name="net", mtu=1500)


def port(
    vnic_type: VnicType,
    vif_type: str,
    *,
    details: dict[str, JsonValue] | None = None,
    status: str = "DOWN",
    slot: JsonValue = "0000:82:00.4",
) -> Port:
    return Port(
        "p1",
        "n1",
        vnic_type=vnic_type,
        binding_profile={"pci_slot": slot},
        vif_type=vif_type,
        vif_details=details or {},
        status=status,
        mac_address="fa:16:3e:00:00:01",
    )


@pytest.mark.parametrize(
    ("vnic_type", "vif_type", "details", "vlan"),
    [
        pytest.param(VnicType.REMOTE_MANAGED, "ovs", {"vlan": "100"}, None, id="remote-managed"),
        pytest.param(VnicType.DIRECT, "hw_veb", {"vlan": "100"}, 100, id="sriov-agent-vlan"),
        pytest.param(VnicType.DIRECT, "hw_veb", {"vlan": "0"}, None, id="sriov-agent-flat"),
        pytest.param(VnicType.DIRECT, "hw_veb", {}, None, id="sriov-agent-no-vlan"),
        pytest.param(VnicType.DIRECT, "ovs", {"vlan": 100}, None, id="ovs-representor"),
    ],
)
def test_only_the_legacy_sriov_path_puts_a_vlan_in_the_guest(
    vnic_type: VnicType, vif_type: str, details: dict[str, JsonValue], vlan: int | None
) -> None:
    vif = vif_from_port(port(vnic_type, vif_type, details=details), NETWORK)
    interface = hostdev_interface(vif)
    assert interface.address == PciAddress.parse("0000:82:00.4")
    assert interface.mac == "fa:16:3e:00:00:01"
    assert interface.vlan == vlan


def test_a_vif_is_active_only_when_its_port_is() -> None:
    assert vif_from_port(port(VnicType.DIRECT, "hw_veb"), NETWORK).active is False
    assert vif_from_port(port(VnicType.DIRECT, "hw_veb", status="ACTIVE"), NETWORK).active is True


def test_a_port_without_a_vf_has_no_hostdev_interface() -> None:
    with pytest.raises(GuestInterfaceUnsupported):
        hostdev_interface(vif_from_port(port(VnicType.NORMAL, "ovs"), NETWORK))


@pytest.mark.parametrize(
    ("slot", "details"),
    [
        pytest.param(None, {}, id="no-slot"),
        pytest.param("0000:82:00", {}, id="bad-slot"),
        pytest.param("0000:82:00.4", {"vlan": "ten"}, id="bad-vlan"),
    ],
)
def test_a_damaged_binding_is_a_clear_error(slot: JsonValue, details: dict[str, JsonValue]) -> None:
    vif = vif_from_port(port(VnicType.DIRECT, "hw_veb", details=details, slot=slot), NETWORK)
    with pytest.raises(VifObjectInvalid):
        hostdev_interface(vif)


def test_a_port_without_a_mac_cannot_become_a_vif() -> None:
    with pytest.raises(VifObjectInvalid):
        vif_from_port(Port("p1", "n1", vnic_type=VnicType.DIRECT), NETWORK)

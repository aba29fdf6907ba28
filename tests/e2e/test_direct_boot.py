"""A direct port: a NIC VF only, and a spawn that waits for `network-vif-plugged`."""

from __future__ import annotations

from tests.e2e.cloud import Cloud
from tests.e2e.conftest import DPU_HOST, NIC_HOST, VLAN_ID, Networks


def test_a_direct_boot_gets_a_nic_vf_and_waits_for_the_plug_event(
    clean: Cloud, networks: Networks
) -> None:
    cloud = clean
    port = cloud.sdk.network.create_port(network_id=networks.vlan.id, binding_vnic_type="direct")
    server = cloud.boot("vm-direct", port)
    assert (server.status, server.compute_host) == ("ACTIVE", NIC_HOST)

    (vf,) = cloud.claimed(NIC_HOST)
    assert vf["instance_uuid"] == server.id
    assert "remote_managed" not in vf["tags"]
    assert cloud.claimed(DPU_HOST) == []
    bound = cloud.sdk.network.get_port(port.id)
    assert bound.binding_profile == {
        "pci_vendor_info": f"{vf['vendor_id']}:{vf['product_id']}",
        "pci_slot": vf["address"],
        "physical_network": "physnet1",
        "card_serial_number": vf["card_serial_number"],
        "pf_mac_address": vf["pf_mac_address"],
        "vf_num": vf["vf_num"],
    }
    assert (bound.status, bound.binding_vif_type) == ("ACTIVE", "hw_veb")

    # The legacy hw_veb path: no os-vif plugin; the guest's interface carries the VLAN.
    (interface,) = cloud.guest_interfaces(server.id)
    assert (interface.type, interface.pci_address) == ("hostdev", vf["address"])
    assert interface.vlan_tags == (str(VLAN_ID),)

    details = cloud.build_details(server.id)
    (outcome,) = details["ports"]
    assert (outcome["vnic_type"], outcome["plugin"]) == ("direct", None)
    # The spawn waited, for this event, and the event is what confirmed the plug.
    assert outcome["waited_for"] == "network-vif-plugged"
    assert outcome["confirmation"] == "event"


def test_a_direct_port_never_takes_a_remote_managed_vf(clean: Cloud, networks: Networks) -> None:
    cloud = clean
    nic_vfs = len(cloud.devices(NIC_HOST))
    ports = [
        cloud.sdk.network.create_port(network_id=networks.vlan.id, binding_vnic_type="direct")
        for _ in range(nic_vfs + 1)
    ]
    servers = [cloud.boot(f"vm-direct-{i}", port) for i, port in enumerate(ports)]

    # Once the NIC's VFs are taken, the free DPU VFs are no help: no valid host.
    assert [s.status for s in servers] == ["ACTIVE"] * nic_vfs + ["ERROR"]
    assert {s.compute_host for s in servers[:-1]} == {NIC_HOST}
    assert servers[-1].fault["message"].startswith("No valid host was found.")
    assert cloud.claimed(DPU_HOST) == []
    assert all(d["usable"] for d in cloud.devices(DPU_HOST))
    refused = cloud.sdk.network.get_port(ports[-1].id)
    assert (refused.binding_host_id, refused.device_id, refused.binding_profile) in (
        (None, "", {}),
        ("", "", {}),
    )

"""A remote-managed boot end to end: DPU host, §5.2 profile, ACTIVE port, hostdev guest."""

from __future__ import annotations

from offpath.sim.model import SimVf
from tests.e2e.cloud import Cloud
from tests.e2e.conftest import DPU_HOST, Networks


def _sim_vf(cloud: Cloud, host: str, address: str) -> tuple[SimVf, str, str | None]:
    """The simulator's VF at `address` on `host`, its PF's MAC and its card's serial."""
    (simulated,) = [h for h in cloud.cloud.hosts if h.request.name == host]
    for card in simulated.sim.cards:
        for pf in card.pfs:
            for vf in pf.vfs:
                if str(vf.address) == address:
                    return vf, pf.mac, card.serial
    raise AssertionError(f"{address} is not a VF the simulator wrote for {host}")


def test_a_remote_managed_boot_lands_on_the_dpu_and_binds_the_claimed_vf(
    clean: Cloud, networks: Networks
) -> None:
    cloud = clean
    port = cloud.sdk.network.create_port(
        network_id=networks.overlay.id, binding_vnic_type="remote-managed"
    )
    server = cloud.boot("vm-rm", port)
    assert (server.status, server.compute_host) == ("ACTIVE", DPU_HOST)

    # The VF the scheduler claimed, as the host's inventory and the simulator say.
    (vf,) = cloud.claimed(DPU_HOST)
    assert vf["instance_uuid"] == server.id
    assert vf["tags"] == {"remote_managed": "true"}
    sim_vf, pf_mac, serial = _sim_vf(cloud, DPU_HOST, vf["address"])
    assert (vf["vf_num"], vf["pf_mac_address"], vf["card_serial_number"]) == (
        sim_vf.vf_num,
        pf_mac,
        serial,
    )

    # nova-behaviour §5.2: exactly these keys, the claimed VF's values.
    bound = cloud.sdk.network.get_port(port.id)
    assert bound.binding_profile == {
        "pci_vendor_info": f"{vf['vendor_id']}:{vf['product_id']}",
        "pci_slot": vf["address"],
        "physical_network": None,
        "card_serial_number": vf["card_serial_number"],
        "pf_mac_address": vf["pf_mac_address"],
        "vf_num": vf["vf_num"],
    }
    assert bound.status == "ACTIVE"
    assert (bound.binding_host_id, bound.binding_vif_type) == (DPU_HOST, "ovs")
    assert (bound.device_id, bound.device_owner) == (server.id, "compute:nova")

    # The DPU plugged the representor of that VF, found by (PF MAC, VF number).
    chassis = cloud.get(f"/network/offpath/chassis/{DPU_HOST}-dpu0")["chassis"]
    assert f"card-serial-number={serial}" in chassis["other_config"]["ovn-cms-options"]
    plugged = [(r["pf_mac"], r["vf_num"], r["port_id"]) for r in chassis["representors"]]
    assert plugged == [(pf_mac, sim_vf.vf_num, port.id)]

    # nova-behaviour §12: one managed hostdev interface with the VF's address, no VLAN.
    (interface,) = cloud.guest_interfaces(server.id)
    assert (interface.type, interface.managed) == ("hostdev", "yes")
    assert interface.pci_address == vf["address"]
    assert interface.mac == bound.mac_address
    assert interface.vlan_tags == ()

    # The agent's build record: os-vif's noop plugin, and no plug event awaited.
    details = cloud.build_details(server.id)
    assert (details["state"], details["host"]) == ("active", DPU_HOST)
    (outcome,) = details["ports"]
    assert outcome["port_id"] == port.id
    assert outcome["vnic_type"] == "remote-managed"
    assert outcome["pci_slot"] == vf["address"]
    assert outcome["plugin"] == "noop"
    assert outcome["waited_for"] is None
    # The backend confirmed the plug in its bind answer (D6), not through an event.
    assert outcome["confirmation"] == "bind-answer"

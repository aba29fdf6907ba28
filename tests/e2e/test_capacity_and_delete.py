"""More remote-managed boots than VFs: ERROR saying why per host; delete frees VF and port."""

from __future__ import annotations

from tests.e2e.cloud import PCI_PROFILE_KEYS, Cloud
from tests.e2e.conftest import DPU_HOST, NIC_HOST, Networks


def test_no_capacity_is_an_error_saying_why_per_host_and_delete_gives_the_vf_back(
    clean: Cloud, networks: Networks
) -> None:
    cloud = clean
    vfs = len(cloud.devices(DPU_HOST))
    # A user's own key in the profile: Nova's keys come at boot and go at unbind, it stays.
    ports = [
        cloud.sdk.network.create_port(
            network_id=networks.overlay.id,
            binding_vnic_type="remote-managed",
            binding_profile={"user_note": "blue"},
        )
        for _ in range(vfs + 1)
    ]
    servers = [cloud.boot(f"vm-{i}", port) for i, port in enumerate(ports)]

    assert [s.status for s in servers] == ["ACTIVE"] * vfs + ["ERROR"]
    assert {s.compute_host for s in servers[:-1]} == {DPU_HOST}
    # Why, for every host: the DPU host is full, the NIC host has no remote-managed VF.
    assert servers[-1].fault["message"] == (
        "No valid host was found. 2 hosts: 1 too few free devices, 1 no remote-managed pool"
    )
    explained = cloud.post("/offpath/v1/schedule/explain", {"vnic_type": "remote-managed"})
    verdicts = {v["host"]: (v["ok"], v["reason"]) for v in explained["hosts"]}
    assert verdicts == {
        DPU_HOST: (False, "too few free devices"),
        NIC_HOST: (False, "no remote-managed pool"),
    }
    assert {d["instance_uuid"] for d in cloud.devices(DPU_HOST)} == {s.id for s in servers[:-1]}
    refused = cloud.sdk.network.get_port(ports[-1].id)
    assert (refused.binding_host_id or None, refused.device_id) == (None, "")

    # Delete one: its VF is free, its port unbound as nova-behaviour §5.3 says.
    gone, port = servers[0], ports[0]
    slot = cloud.sdk.network.get_port(port.id).binding_profile["pci_slot"]
    cloud.delete(gone)
    unbound = cloud.unbound(port.id)
    assert not PCI_PROFILE_KEYS & set(unbound.binding_profile)
    assert unbound.binding_profile == {"user_note": "blue"}
    assert (unbound.device_id, unbound.device_owner) == ("", "")
    assert unbound.status == "DOWN"
    (freed,) = [d for d in cloud.devices(DPU_HOST) if d["address"] == slot]
    assert (freed["instance_uuid"], freed["usable"]) == (None, True)
    assert not cloud.guest_exists(gone.id)
    chassis = cloud.get(f"/network/offpath/chassis/{DPU_HOST}-dpu0")["chassis"]
    assert port.id not in {r["port_id"] for r in chassis["representors"]}

    # The freed VF serves the next boot.
    again = cloud.boot("vm-again", port)
    assert (again.status, again.compute_host) == ("ACTIVE", DPU_HOST)
    assert cloud.sdk.network.get_port(port.id).binding_profile["pci_slot"] == slot

"""Direct ports bind by the host's SR-IOV physnet mapping and go ACTIVE when the VF is up, late."""

from __future__ import annotations

from fastapi.testclient import TestClient

from offpath.network.caller import ADMIN
from offpath.network.nova_notifier import ServerEvent
from offpath.network.service import NetworkService
from tests.network.conftest import RecordingSink
from tests.network.test_dpu_sim_binding import SERVER, make_network, make_port

VLAN = {
    "provider:network_type": "vlan",
    "provider:physical_network": "physnet1",
    "provider:segmentation_id": 101,
}
PROFILE = {
    "pci_vendor_info": "15b3:101e",
    "pci_slot": "0000:03:00.2",
    "physical_network": "physnet1",
}


def bind_direct(http: TestClient, port_id: str, host: str = "compute-1") -> dict[str, object]:
    body = {
        "port": {
            "binding:host_id": host,
            "binding:profile": PROFILE,
            "device_id": SERVER,
            "device_owner": "compute:nova",
        }
    }
    response = http.put(f"/network/v2.0/ports/{port_id}", json=body)
    assert response.status_code == 200, response.text
    port: dict[str, object] = response.json()["port"]
    return port


def test_a_direct_port_binds_hw_veb_and_waits_down_for_the_vf(
    http: TestClient, events: RecordingSink
) -> None:
    assert http.put("/network/offpath/sriov-hosts/compute-1", json={"physnets": ["physnet1"]})
    port_id = make_port(http, make_network(http, **VLAN), vnic="direct")
    port = bind_direct(http, port_id)
    assert port["binding:vif_type"] == "hw_veb"
    assert port["binding:vif_details"] == {
        "port_filter": False,
        "vlan": "101",
        "bound_drivers": {"0": "sriov-nic"},
    }
    assert port["status"] == "DOWN"
    assert events.events == []


def test_the_vf_up_report_makes_the_port_active_and_posts_the_late_event(
    http: TestClient, events: RecordingSink
) -> None:
    http.put("/network/offpath/sriov-hosts/compute-1", json={"physnets": ["physnet1"]})
    port_id = make_port(http, make_network(http, **VLAN), vnic="direct")
    bind_direct(http, port_id)
    response = http.post(f"/network/offpath/sriov-hosts/compute-1/ports/{port_id}/up")
    assert response.status_code == 204
    assert http.get(f"/network/v2.0/ports/{port_id}").json()["port"]["status"] == "ACTIVE"
    assert events.events == [ServerEvent("network-vif-plugged", SERVER, port_id)]
    # A second report changes nothing and posts nothing.
    http.post(f"/network/offpath/sriov-hosts/compute-1/ports/{port_id}/up")
    assert len(events.events) == 1


def test_a_vf_up_from_another_host_is_a_conflict(http: TestClient) -> None:
    http.put("/network/offpath/sriov-hosts/compute-1", json={"physnets": ["physnet1"]})
    port_id = make_port(http, make_network(http, **VLAN), vnic="direct")
    bind_direct(http, port_id)
    response = http.post(f"/network/offpath/sriov-hosts/compute-2/ports/{port_id}/up")
    assert response.status_code == 409
    assert response.json()["NeutronError"]["type"] == "NetworkRequestConflict"


def test_a_host_without_an_sriov_agent_or_without_the_physnet_fails_the_binding(
    http: TestClient, service: NetworkService
) -> None:
    network = make_network(http, **VLAN)
    port_id = make_port(http, network, vnic="direct")
    assert bind_direct(http, port_id)["binding:vif_type"] == "binding_failed"
    assert "no SR-IOV NIC agent" in service.get_port(ADMIN, port_id).binding_failure
    http.put("/network/offpath/sriov-hosts/compute-1", json={"physnets": ["physnet2"]})
    assert bind_direct(http, port_id)["binding:vif_type"] == "binding_failed"
    assert "not mapped" in service.get_port(ADMIN, port_id).binding_failure


def test_a_direct_port_on_an_overlay_network_cannot_bind(http: TestClient) -> None:
    http.put("/network/offpath/sriov-hosts/compute-1", json={"physnets": ["physnet1"]})
    port_id = make_port(http, make_network(http), vnic="direct")
    assert bind_direct(http, port_id)["binding:vif_type"] == "binding_failed"


def test_the_mapping_body_is_checked(http: TestClient) -> None:
    response = http.put("/network/offpath/sriov-hosts/compute-1", json={"physnets": "physnet1"})
    assert response.status_code == 400
    assert "physnets" in response.json()["NeutronError"]["message"]

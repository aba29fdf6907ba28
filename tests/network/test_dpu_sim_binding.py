"""Remote-managed ports bound by `dpu-sim`: chassis by exact serial, LSP options, the plug."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from offpath.network.caller import ADMIN
from offpath.network.chassis import ChassisRegistry
from offpath.network.nova_notifier import ServerEvent
from offpath.network.service import NetworkService
from tests.network.conftest import PF_MACS, SERIAL, RecordingSink, full_profile

SERVER = "5b2c7e3a-3f7e-4a55-8f0e-0d8f1c9a7b11"


def make_network(http: httpx.Client, **attrs: Any) -> str:
    response = http.post("/network/v2.0/networks", json={"network": {"name": "net", **attrs}})
    assert response.status_code == 201, response.text
    network_id: str = response.json()["network"]["id"]
    return network_id


def make_port(http: httpx.Client, network_id: str, vnic: str = "remote-managed") -> str:
    response = http.post(
        "/network/v2.0/ports",
        json={"port": {"network_id": network_id, "binding:vnic_type": vnic}},
    )
    assert response.status_code == 201, response.text
    port_id: str = response.json()["port"]["id"]
    return port_id


def register_dpu(http: httpx.Client, hostname: str = "dpu-1", **attrs: Any) -> dict[str, Any]:
    body = {"hostname": hostname, "serial": SERIAL, "pf_macs": list(PF_MACS), "vfs": 8, **attrs}
    response = http.post("/network/offpath/chassis", json=body)
    assert response.status_code == 201, response.text
    chassis: dict[str, Any] = response.json()["chassis"]
    return chassis


def bind(http: httpx.Client, port_id: str, profile: dict[str, Any]) -> dict[str, Any]:
    body = {
        "port": {
            "binding:host_id": "compute-1",
            "binding:profile": profile,
            "device_id": SERVER,
            "device_owner": "compute:nova",
        }
    }
    response = http.put(f"/network/v2.0/ports/{port_id}", json=body)
    assert response.status_code == 200, response.text
    port: dict[str, Any] = response.json()["port"]
    return port


def test_a_bind_finds_the_dpu_by_serial_plugs_the_representor_and_goes_active(
    http: TestClient, events: RecordingSink
) -> None:
    register_dpu(http)
    port_id = make_port(http, make_network(http))
    port = bind(http, port_id, full_profile())
    # binding:host_id stays the hypervisor; only the options name the DPU.
    assert port["binding:host_id"] == "compute-1"
    assert port["binding:vif_type"] == "ovs"
    assert port["binding:vif_details"]["connectivity"] == "l2"
    assert port["status"] == "ACTIVE"
    assert events.events == [ServerEvent("network-vif-plugged", SERVER, port_id, "completed")]
    chassis = http.get("/network/offpath/chassis/dpu-1").json()["chassis"]
    assert chassis["representors"] == [
        {"representor": "pf1vf3", "pf_mac": PF_MACS[1], "vf_num": 3, "port_id": port_id}
    ]


def test_the_lsp_options_are_ovns(http: TestClient, service: NetworkService) -> None:
    register_dpu(http)
    port_id = make_port(http, make_network(http, mtu=9000))
    bind(http, port_id, full_profile(pf_mac_address=PF_MACS[1].upper()))
    record = service.get_port(ADMIN, port_id)
    assert record.lsp_options == {
        "requested-chassis": "dpu-1",
        "vif-plug-type": "representor",
        "vif-plug-mtu-request": "9000",
        # Verbatim, as Neutron passes it; the DPU parses it.
        "vif-plug:representor:pf-mac": PF_MACS[1].upper(),
        "vif-plug:representor:vf-num": "3",
    }
    assert record.port.status == "ACTIVE"


@pytest.mark.parametrize(
    "cms_options",
    [
        pytest.param([], id="other-serial"),
        pytest.param(["card-serial-number=" + SERIAL + "0"], id="longer-serial"),
    ],
)
def test_no_chassis_with_the_exact_serial_item_fails_the_binding(
    http: TestClient, events: RecordingSink, service: NetworkService, cms_options: list[str]
) -> None:
    assert isinstance(service.chassis, ChassisRegistry)
    service.chassis.register(
        "dpu-x", serial="OTHER", pf_macs=PF_MACS, vfs=8, cms_options=cms_options
    )
    port_id = make_port(http, make_network(http))
    port = bind(http, port_id, full_profile())
    assert port["binding:vif_type"] == "binding_failed"
    assert port["status"] == "DOWN"
    assert events.events == []
    reason = service.get_port(ADMIN, port_id).binding_failure
    assert reason == f"Chassis with ovn-cms-options card-serial-number={SERIAL} does not exist"


def test_the_serial_item_is_matched_exactly_without_trimming(
    http: TestClient, service: NetworkService
) -> None:
    # "card-serial-number=SN" after ", " carries a leading space: Neutron does not match it.
    assert isinstance(service.chassis, ChassisRegistry)
    service.chassis.register(
        "dpu-x",
        serial="OTHER",
        pf_macs=PF_MACS,
        vfs=8,
        cms_options=[f" card-serial-number={SERIAL}"],
    )
    port = bind(http, make_port(http, make_network(http)), full_profile())
    assert port["binding:vif_type"] == "binding_failed"


def test_a_serial_item_among_other_cms_options_matches(
    http: TestClient, service: NetworkService
) -> None:
    assert isinstance(service.chassis, ChassisRegistry)
    service.chassis.register(
        "dpu-x",
        serial="OTHER",
        pf_macs=PF_MACS,
        vfs=8,
        cms_options=["enable-chassis-as-gw", f"card-serial-number={SERIAL}"],
    )
    port = bind(http, make_port(http, make_network(http)), full_profile())
    assert port["status"] == "ACTIVE"


def test_several_chassis_with_the_serial_fail_the_binding(
    http: TestClient, service: NetworkService
) -> None:
    register_dpu(http, "dpu-1")
    register_dpu(http, "dpu-2")
    port_id = make_port(http, make_network(http))
    assert bind(http, port_id, full_profile())["binding:vif_type"] == "binding_failed"
    assert "several chassis" in service.get_port(ADMIN, port_id).binding_failure


def test_a_dead_chassis_fails_the_binding(http: TestClient, service: NetworkService) -> None:
    register_dpu(http)
    stopped = http.put("/network/offpath/chassis/dpu-1", json={"up": False})
    assert stopped.json()["chassis"]["alive"] is False
    port_id = make_port(http, make_network(http))
    assert bind(http, port_id, full_profile())["binding:vif_type"] == "binding_failed"
    assert "dead agent" in service.get_port(ADMIN, port_id).binding_failure


def test_a_vlan_physnet_the_chassis_does_not_map_fails_and_a_mapped_one_binds(
    http: TestClient, service: NetworkService
) -> None:
    vlan = {
        "provider:network_type": "vlan",
        "provider:physical_network": "physnet1",
        "provider:segmentation_id": 101,
    }
    register_dpu(http)
    port_id = make_port(http, make_network(http, **vlan))
    assert bind(http, port_id, full_profile())["binding:vif_type"] == "binding_failed"
    assert "ovn-bridge-mappings" in service.get_port(ADMIN, port_id).binding_failure
    register_dpu(http, physnets=["physnet1"])
    other = make_port(http, make_network(http, **vlan))
    assert bind(http, other, full_profile(vf_num=4))["status"] == "ACTIVE"


def test_a_profile_without_dpu_keys_cannot_bind(http: TestClient) -> None:
    register_dpu(http)
    port = bind(http, make_port(http, make_network(http)), {})
    assert port["binding:vif_type"] == "binding_failed"


def test_an_unknown_vf_is_not_plugged_logged_and_the_port_stays_down(
    http: TestClient, events: RecordingSink, caplog: pytest.LogCaptureFixture
) -> None:
    register_dpu(http)
    port_id = make_port(http, make_network(http))
    with caplog.at_level(logging.INFO, logger="offpath.network.drivers.dpu_sim"):
        port = bind(http, port_id, full_profile(vf_num=42))
    assert port["binding:vif_type"] == "ovs"
    assert port["status"] == "DOWN"
    assert events.events == []
    assert "No representor port found for lport: " + port_id in caplog.text
    assert http.get("/network/offpath/chassis/dpu-1").json()["chassis"]["representors"] == []


def test_unbind_clears_the_binding_unplugs_and_posts_vif_unplugged(
    http: TestClient, events: RecordingSink, service: NetworkService
) -> None:
    register_dpu(http)
    port_id = make_port(http, make_network(http))
    bind(http, port_id, full_profile(capabilities=["switchdev"], trusted=True))
    # What Nova sends (§5.3): host cleared, PCI keys removed, the rest kept.
    body = {
        "port": {
            "binding:host_id": None,
            "binding:profile": {"capabilities": ["switchdev"], "trusted": True},
            "device_id": "",
            "device_owner": "",
        }
    }
    port = http.put(f"/network/v2.0/ports/{port_id}", json=body).json()["port"]
    assert port["binding:host_id"] == ""
    assert port["binding:vif_type"] == "unbound"
    assert port["binding:vif_details"] == {}
    assert port["binding:profile"] == {"capabilities": ["switchdev"], "trusted": True}
    assert port["status"] == "DOWN"
    assert service.get_port(ADMIN, port_id).lsp_options == {}
    assert http.get("/network/offpath/chassis/dpu-1").json()["chassis"]["representors"] == []
    assert [e.name for e in events.events] == ["network-vif-plugged", "network-vif-unplugged"]
    assert events.events[1].server_uuid == SERVER


def test_a_port_without_a_server_posts_no_event(http: TestClient, events: RecordingSink) -> None:
    register_dpu(http)
    port_id = make_port(http, make_network(http))
    body = {"port": {"binding:host_id": "compute-1", "binding:profile": full_profile()}}
    port = http.put(f"/network/v2.0/ports/{port_id}", json=body).json()["port"]
    assert port["status"] == "ACTIVE"
    assert events.events == []


def test_one_representor_serves_one_port(http: TestClient) -> None:
    register_dpu(http)
    network = make_network(http)
    first, second = make_port(http, network), make_port(http, network)
    assert bind(http, first, full_profile())["status"] == "ACTIVE"
    assert bind(http, second, full_profile())["status"] == "DOWN"


def test_deleting_a_bound_port_unplugs_its_representor(http: TestClient) -> None:
    register_dpu(http)
    port_id = make_port(http, make_network(http))
    bind(http, port_id, full_profile())
    assert http.delete(f"/network/v2.0/ports/{port_id}").status_code == 204
    assert http.get("/network/offpath/chassis/dpu-1").json()["chassis"]["representors"] == []
    assert http.get(f"/network/v2.0/ports/{port_id}").status_code == 404

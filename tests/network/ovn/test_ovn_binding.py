"""Remote-managed ports bound through a real OVN: LSP options, ACTIVE from LSP.up, failures."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from offpath.network.caller import ADMIN
from offpath.network.nova_notifier import ServerEvent
from offpath.network.ovn.backend import OvnBackend
from offpath.network.ovn.central import OvnCentral
from offpath.network.service import NetworkService
from tests.network.conftest import PF_MACS, SERIAL, RecordingSink, full_profile
from tests.network.ovn.conftest import DOWN_TIME, DpuFactory, wait_for
from tests.network.test_dpu_sim_binding import SERVER, bind, make_network, make_port

EXPECTED_OPTIONS = {
    "requested-chassis": "dpu-1.example",
    "vif-plug-type": "representor",
    "vif-plug-mtu-request": "1442",
    "vif-plug:representor:pf-mac": PF_MACS[1],
    "vif-plug:representor:vf-num": "3",
}


def lsp(backend: OvnBackend, port_id: str) -> Any:
    return backend.nb.row("Logical_Switch_Port", port_id)


def status(http: TestClient, port_id: str) -> str:
    value: str = http.get(f"/network/v2.0/ports/{port_id}").json()["port"]["status"]
    return value


def test_the_port_goes_active_only_once_the_dpu_claims_its_binding(
    ovn_http: TestClient, backend: OvnBackend, dpus: DpuFactory, events: RecordingSink
) -> None:
    dpu = dpus("dpu-1.example")
    dpu.go_down()  # registered and alive, but not plugging yet
    port_id = make_port(ovn_http, make_network(ovn_http))
    port = bind(ovn_http, port_id, full_profile())
    assert port["binding:vif_type"] == "ovs"
    assert port["binding:vif_details"]["bound_drivers"] == {"0": "ovn"}
    assert port["binding:host_id"] == "compute-1"
    row = lsp(backend, port_id)
    assert dict(row.options) == EXPECTED_OPTIONS
    assert row.type == ""
    assert row.external_ids["neutron:vnic_type"] == "remote-managed"
    assert row.external_ids["neutron:mtu"] == "1442"
    assert "neutron:host_id" not in row.external_ids
    # northd made the binding when the port was created, and adds the options in a later pass.
    wait_for(
        lambda: (
            dict(getattr(backend.sb.row("Port_Binding", port_id), "options", {}))
            == EXPECTED_OPTIONS
        ),
        what="northd's binding with the plug options",
    )
    assert status(ovn_http, port_id) == "DOWN"
    assert events.events == []

    dpu.come_back()
    wait_for(lambda: status(ovn_http, port_id) == "ACTIVE", what="the port to go ACTIVE")
    assert dpu.plugged == {port_id: "pf1vf3"}
    wait_for(lambda: events.events, what="network-vif-plugged")
    assert events.events == [ServerEvent("network-vif-plugged", SERVER, port_id, "completed")]
    wait_for(
        lambda: lsp(backend, port_id).external_ids.get("neutron:host_id") == "compute-1",
        what="neutron:host_id on the LSP",
    )


def test_a_port_without_a_profile_is_a_plain_vif_port_without_plug_options(
    ovn_http: TestClient, backend: OvnBackend
) -> None:
    network_id = make_network(ovn_http)
    port_id = make_port(ovn_http, network_id)
    row = lsp(backend, port_id)
    assert row.type == ""
    assert dict(row.options) == {}
    switch = backend.nb.row("Logical_Switch", f"neutron-{network_id}")
    assert switch is not None
    assert switch.external_ids["neutron:network_name"] == "net"
    port = ovn_http.get(f"/network/v2.0/ports/{port_id}").json()["port"]
    mac, ip = port["mac_address"], port["fixed_ips"][0]["ip_address"] if port["fixed_ips"] else None
    assert list(row.addresses) == [f"{mac} {ip}" if ip else mac]


def test_no_chassis_with_the_serial_fails_the_binding(
    ovn_http: TestClient, backend: OvnBackend, dpus: DpuFactory, ovn_service: NetworkService
) -> None:
    dpus("dpu-1.example", serial="OTHER-SERIAL")
    port_id = make_port(ovn_http, make_network(ovn_http))
    port = bind(ovn_http, port_id, full_profile())
    assert port["binding:vif_type"] == "binding_failed"
    failure = ovn_service.get_port(ADMIN, port_id).binding_failure
    assert failure == f"Chassis with ovn-cms-options card-serial-number={SERIAL} does not exist"
    assert dict(lsp(backend, port_id).options) == {}


def test_two_chassis_with_the_same_serial_fail_the_binding(
    ovn_http: TestClient, dpus: DpuFactory, ovn_service: NetworkService
) -> None:
    dpus("dpu-1.example")
    dpus("dpu-2.example")
    port_id = make_port(ovn_http, make_network(ovn_http))
    assert bind(ovn_http, port_id, full_profile())["binding:vif_type"] == "binding_failed"
    failure = ovn_service.get_port(ADMIN, port_id).binding_failure
    assert "several chassis" in failure
    assert "dpu-1.example, dpu-2.example" in failure


def test_a_chassis_that_stopped_answering_is_dead(
    ovn_http: TestClient, backend: OvnBackend, dpus: DpuFactory, ovn_service: NetworkService
) -> None:
    dpu = dpus("dpu-1.example")
    # The DPU wrote its rows on its own connection; the backend's replica follows shortly.
    (chassis,) = wait_for(lambda: backend.chassis.by_serial(SERIAL), what="the chassis")
    assert backend.chassis.alive(chassis)
    dpu.go_down()
    wait_for(
        lambda: not backend.chassis.by_serial(SERIAL)[0].up,
        timeout=DOWN_TIME.total_seconds() * 4,
        what="the chassis to be seen dead",
    )
    port_id = make_port(ovn_http, make_network(ovn_http))
    assert bind(ovn_http, port_id, full_profile())["binding:vif_type"] == "binding_failed"
    failure = ovn_service.get_port(ADMIN, port_id).binding_failure
    assert failure.startswith(f"Refusing to bind port {port_id} to dead agent")


def test_an_unknown_vf_leaves_the_binding_unclaimed_and_the_port_down(
    ovn_http: TestClient,
    backend: OvnBackend,
    dpus: DpuFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dpus("dpu-1.example", vfs=2)
    port_id = make_port(ovn_http, make_network(ovn_http))
    with caplog.at_level(logging.INFO, logger="offpath.network.ovn.sim_controller"):
        port = bind(ovn_http, port_id, full_profile(vf_num=5))
        assert port["binding:vif_type"] == "ovs"
        wait_for(
            lambda: "No representor port found for lport" in caplog.text,
            what="the DPU to say why it did not plug",
        )
    binding = backend.sb.row("Port_Binding", port_id)
    assert binding is not None
    assert list(binding.chassis) == []
    assert status(ovn_http, port_id) == "DOWN"


def test_unbind_withdraws_the_options_unplugs_and_a_rebind_comes_up_again(
    ovn_http: TestClient, backend: OvnBackend, dpus: DpuFactory, events: RecordingSink
) -> None:
    dpu = dpus("dpu-1.example")
    port_id = make_port(ovn_http, make_network(ovn_http))
    bind(ovn_http, port_id, full_profile())
    wait_for(lambda: status(ovn_http, port_id) == "ACTIVE", what="ACTIVE")
    response = ovn_http.put(
        f"/network/v2.0/ports/{port_id}",
        json={"port": {"binding:host_id": None, "binding:profile": {}}},
    )
    assert response.status_code == 200, response.text
    assert response.json()["port"]["status"] == "DOWN"
    row = lsp(backend, port_id)
    assert dict(row.options) == {}
    assert "neutron:host_id" not in row.external_ids
    wait_for(lambda: port_id not in dpu.plugged, what="the representor to be unplugged")
    assert ServerEvent("network-vif-unplugged", SERVER, port_id, "completed") in events.events

    bind(ovn_http, port_id, full_profile())
    wait_for(lambda: status(ovn_http, port_id) == "ACTIVE", what="ACTIVE after the rebind")
    assert dpu.plugged == {port_id: "pf1vf3"}


def test_deleting_the_port_deletes_its_row_and_binding(
    ovn_http: TestClient, backend: OvnBackend, dpus: DpuFactory
) -> None:
    dpu = dpus("dpu-1.example")
    network_id = make_network(ovn_http)
    port_id = make_port(ovn_http, network_id)
    bind(ovn_http, port_id, full_profile())
    wait_for(lambda: port_id in dpu.plugged, what="the plug")
    assert ovn_http.delete(f"/network/v2.0/ports/{port_id}").status_code == 204
    assert lsp(backend, port_id) is None
    wait_for(lambda: backend.sb.row("Port_Binding", port_id) is None, what="the binding to go")
    wait_for(lambda: port_id not in dpu.plugged, what="the unplug")
    assert ovn_http.delete(f"/network/v2.0/networks/{network_id}").status_code == 204
    assert backend.nb.row("Logical_Switch", f"neutron-{network_id}") is None


def test_a_vlan_network_gets_a_localnet_port_and_a_chassis_must_map_its_physnet(
    ovn_http: TestClient, backend: OvnBackend, dpus: DpuFactory, ovn_service: NetworkService
) -> None:
    dpus("dpu-1.example", physnets=["physnet2"])
    network_id = make_network(
        ovn_http,
        **{
            "provider:network_type": "vlan",
            "provider:physical_network": "physnet1",
            "provider:segmentation_id": 100,
        },
    )
    switch = backend.nb.row("Logical_Switch", f"neutron-{network_id}")
    assert switch is not None
    (localnet,) = [p for p in switch.ports if p.type == "localnet"]
    assert dict(localnet.options) == {"network_name": "physnet1"}
    assert list(localnet.tag) == [100]
    port_id = make_port(ovn_http, network_id)
    assert bind(ovn_http, port_id, full_profile())["binding:vif_type"] == "binding_failed"
    assert "not in ovn-bridge-mappings" in ovn_service.get_port(ADMIN, port_id).binding_failure


def test_offpath_reconnects_after_ovn_restarts(
    ovn_http: TestClient, backend: OvnBackend, central: OvnCentral, dpus: DpuFactory
) -> None:
    dpu = dpus("dpu-1.example")
    network_id = make_network(ovn_http)
    central.stop_databases()
    wait_for(lambda: not backend.nb.connected, what="the backend to see NB gone")
    central.restart_databases()
    wait_for(
        lambda: backend.nb.connected and backend.sb.connected,
        timeout=30,
        what="the backend to reconnect",
    )
    wait_for(lambda: dpu.sb.connected, timeout=30, what="the DPU to reconnect")
    port_id = make_port(ovn_http, network_id)
    bind(ovn_http, port_id, full_profile())
    wait_for(lambda: status(ovn_http, port_id) == "ACTIVE", what="ACTIVE after the restart")
    assert dict(lsp(backend, port_id).options) == EXPECTED_OPTIONS

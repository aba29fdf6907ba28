"""A port bound on two hosts through a real OVN: an inactive binding writes nothing; activation."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from offpath.network.nova_notifier import ServerEvent
from offpath.network.ovn.backend import OvnBackend
from offpath.network.ovn.connection import optional_value
from offpath.network.ovn.sim_controller import SimOvnController
from tests.network.conftest import PF_MACS, RecordingSink, full_profile
from tests.network.ovn.conftest import DpuFactory, wait_for
from tests.network.ovn.test_ovn_binding import EXPECTED_OPTIONS, lsp, status
from tests.network.test_dpu_sim_binding import SERVER, bind, make_network, make_port

SERIAL_2 = "MT2113X00002"
DESTINATION_OPTIONS = {
    **EXPECTED_OPTIONS,
    "requested-chassis": "dpu-2.example",
    "vif-plug:representor:vf-num": "1",
}


def destination_profile(**changes: Any) -> dict[str, Any]:
    """The destination's VF: VF 1 of the second PF of the card with SERIAL_2."""
    wanted: dict[str, Any] = {"pci_slot": "0000:83:00.2", "card_serial_number": SERIAL_2}
    return full_profile(**{**wanted, "vf_num": 1, **changes})


def claimed_by(backend: OvnBackend, port_id: str) -> str | None:
    """The chassis that claimed the port's Southbound Port_Binding, if one did."""
    binding = backend.sb.row("Port_Binding", port_id)
    chassis = optional_value(binding.chassis) if binding is not None else None
    return None if chassis is None else str(chassis.name)


def bound_on_source(
    http: TestClient, backend: OvnBackend, dpus: DpuFactory
) -> tuple[str, SimOvnController, SimOvnController]:
    """A port bound to compute-1 and plugged by dpu-1, with dpu-2 up and waiting."""
    source = dpus("dpu-1.example")
    destination = dpus("dpu-2.example", serial=SERIAL_2)
    port_id = make_port(http, make_network(http))
    bind(http, port_id, full_profile())
    wait_for(lambda: status(http, port_id) == "ACTIVE", what="the port ACTIVE on dpu-1")
    assert claimed_by(backend, port_id) == "dpu-1.example"
    return port_id, source, destination


def create(http: TestClient, port_id: str, profile: dict[str, Any]) -> Any:
    body = {"binding": {"host": "compute-2", "vnic_type": "remote-managed", "profile": profile}}
    return http.post(f"/network/v2.0/ports/{port_id}/bindings", json=body)


def test_an_inactive_binding_changes_nothing_in_ovn(
    ovn_http: TestClient, backend: OvnBackend, dpus: DpuFactory, events: RecordingSink
) -> None:
    port_id, source, destination = bound_on_source(ovn_http, backend, dpus)
    response = create(ovn_http, port_id, destination_profile())
    assert response.status_code == 201, response.text
    binding = response.json()["binding"]
    assert (binding["status"], binding["vif_type"]) == ("INACTIVE", "ovs")
    assert binding["vif_details"]["bound_drivers"] == {"0": "ovn"}
    assert dict(lsp(backend, port_id).options) == EXPECTED_OPTIONS
    assert claimed_by(backend, port_id) == "dpu-1.example"
    assert source.plugged == {port_id: "pf1vf3"}
    assert destination.plugged == {}
    assert status(ovn_http, port_id) == "ACTIVE"


def test_activation_moves_the_plug_and_the_port_is_active_once_the_destination_claims_it(
    ovn_http: TestClient, backend: OvnBackend, dpus: DpuFactory, events: RecordingSink
) -> None:
    port_id, source, destination = bound_on_source(ovn_http, backend, dpus)
    plugged = ServerEvent("network-vif-plugged", SERVER, port_id, "completed")
    unplugged = ServerEvent("network-vif-unplugged", SERVER, port_id, "completed")
    wait_for(lambda: events.events == [plugged], what="network-vif-plugged from the source")
    assert create(ovn_http, port_id, destination_profile()).status_code == 201
    destination.go_down()  # alive in OVN's eyes a while yet, but not plugging
    response = ovn_http.put(f"/network/v2.0/ports/{port_id}/bindings/compute-2/activate")
    assert response.status_code == 200, response.text
    # The Logical_Switch_Port now requests the destination DPU, with its VF.
    assert dict(lsp(backend, port_id).options) == DESTINATION_OPTIONS
    wait_for(lambda: port_id not in source.plugged, what="dpu-1 to unplug")
    wait_for(lambda: claimed_by(backend, port_id) is None, what="dpu-1 to release its claim")
    assert status(ovn_http, port_id) == "DOWN"
    assert events.events == [plugged, unplugged]

    destination.come_back()
    wait_for(lambda: destination.plugged == {port_id: "pf1vf1"}, what="dpu-2 to plug")
    wait_for(lambda: claimed_by(backend, port_id) == "dpu-2.example", what="dpu-2's claim")
    wait_for(lambda: status(ovn_http, port_id) == "ACTIVE", what="ACTIVE on dpu-2")
    wait_for(lambda: len(events.events) == 3, what="network-vif-plugged from the destination")
    assert events.events == [plugged, unplugged, plugged]
    wait_for(
        lambda: lsp(backend, port_id).external_ids.get("neutron:host_id") == "compute-2",
        what="neutron:host_id on the LSP",
    )
    port = ovn_http.get(f"/network/v2.0/ports/{port_id}").json()["port"]
    assert port["binding:host_id"] == "compute-2"
    assert port["binding:profile"]["card_serial_number"] == SERIAL_2
    listed = ovn_http.get(f"/network/v2.0/ports/{port_id}/bindings").json()["bindings"]
    assert [(b["host"], b["status"]) for b in listed] == [
        ("compute-2", "ACTIVE"),
        ("compute-1", "INACTIVE"),
    ]


def test_a_binding_to_a_dpu_ovn_does_not_know_is_refused(
    ovn_http: TestClient, backend: OvnBackend, dpus: DpuFactory
) -> None:
    port_id, _source, _destination = bound_on_source(ovn_http, backend, dpus)
    response = create(ovn_http, port_id, destination_profile(card_serial_number="UNKNOWN"))
    assert response.status_code == 500, response.text
    error = response.json()["NeutronError"]
    assert error["type"] == "PortBindingError"
    assert error["message"].endswith(
        "Chassis with ovn-cms-options card-serial-number=UNKNOWN does not exist"
    )
    assert dict(lsp(backend, port_id).options) == EXPECTED_OPTIONS


def test_a_destination_that_plugs_at_once_brings_the_port_up_once(
    ovn_http: TestClient, backend: OvnBackend, dpus: DpuFactory, events: RecordingSink
) -> None:
    port_id, _source, destination = bound_on_source(ovn_http, backend, dpus)
    plugged = ServerEvent("network-vif-plugged", SERVER, port_id, "completed")
    unplugged = ServerEvent("network-vif-unplugged", SERVER, port_id, "completed")
    wait_for(lambda: events.events == [plugged], what="network-vif-plugged from the source")
    profile = destination_profile(pf_mac_address=PF_MACS[0], vf_num=0)
    assert create(ovn_http, port_id, profile).status_code == 201
    ovn_http.put(f"/network/v2.0/ports/{port_id}/bindings/compute-2/activate")
    wait_for(lambda: destination.plugged == {port_id: "pf0vf0"}, what="dpu-2 to plug pf0vf0")
    wait_for(lambda: status(ovn_http, port_id) == "ACTIVE", what="ACTIVE on dpu-2")
    wait_for(lambda: len(events.events) == 3, what="network-vif-plugged from the destination")
    # Whichever DPU moved first, Nova hears the port go down once and up once.
    assert events.events == [plugged, unplugged, plugged]

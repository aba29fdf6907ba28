"""A port bound on two hosts (Neutron's binding-extended) with `dpu-sim`: create, activate."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from offpath.db.engine import reading
from offpath.db.network_schema import PortBindingRow
from offpath.errors import (
    PortBindingAlreadyActive,
    PortBindingAlreadyExists,
    PortBindingError,
    PortBindingNotFound,
)
from offpath.network.caller import ADMIN
from offpath.network.neutron_json import BindingSpec
from offpath.network.nova_notifier import ServerEvent
from offpath.network.service import NetworkService
from offpath.ports.host_binding import BindingStatus
from offpath.ports.vnic import VnicType
from tests.network.conftest import RecordingSink, full_profile
from tests.network.test_dpu_sim_binding import SERVER, bind, make_network, make_port, register_dpu

SERIAL_2 = "MT2113X00002"
PF_MACS_2 = ("52:54:00:2e:69:01", "52:54:00:2e:69:02")


def destination_profile(**changes: Any) -> dict[str, Any]:
    """The profile Nova computes for VF 1 of the destination's DPU (its first PF)."""
    wanted: dict[str, Any] = {
        "pci_slot": "0000:83:00.2",
        "card_serial_number": SERIAL_2,
        "pf_mac_address": PF_MACS_2[0],
        "vf_num": 1,
    }
    return full_profile(**{**wanted, **changes})


def event(name: str, port_id: str) -> ServerEvent:
    return ServerEvent(name, SERVER, port_id, "completed")


def bindings_url(port_id: str, *rest: str) -> str:
    return "/".join([f"/network/v2.0/ports/{port_id}/bindings", *rest])


def create(http: httpx.Client, port_id: str, host: str, profile: dict[str, Any]) -> httpx.Response:
    body = {"binding": {"host": host, "vnic_type": "remote-managed", "profile": profile}}
    return http.post(bindings_url(port_id), json=body)


def representors(http: httpx.Client, hostname: str) -> list[tuple[str, str]]:
    chassis = http.get(f"/network/offpath/chassis/{hostname}").json()["chassis"]
    return [(r["representor"], r["port_id"]) for r in chassis["representors"]]


@pytest.fixture
def bound_port(http: TestClient, events: RecordingSink) -> str:
    """A server's remote-managed port bound to compute-1 (DPU dpu-1); dpu-2 is registered too."""
    register_dpu(http)
    register_dpu(http, "dpu-2", serial=SERIAL_2, pf_macs=list(PF_MACS_2))
    port_id = make_port(http, make_network(http))
    assert bind(http, port_id, full_profile())["status"] == "ACTIVE"
    assert events.events == [event("network-vif-plugged", port_id)]
    return port_id


def test_an_inactive_binding_is_decided_but_changes_nothing_on_the_port(
    http: TestClient, bound_port: str, events: RecordingSink, service: NetworkService
) -> None:
    response = create(http, bound_port, "compute-2", destination_profile())
    assert response.status_code == 201, response.text
    binding = response.json()["binding"]
    assert binding == {
        "host": "compute-2",
        "vnic_type": "remote-managed",
        "profile": destination_profile(),
        "vif_type": "ovs",
        "vif_details": binding["vif_details"],
        "status": "INACTIVE",
    }
    assert binding["vif_details"]["bound_drivers"] == {"0": "dpu-sim"}
    port = http.get(f"/network/v2.0/ports/{bound_port}").json()["port"]
    assert (port["binding:host_id"], port["status"]) == ("compute-1", "ACTIVE")
    assert port["binding:profile"] == full_profile()
    assert service.get_port(ADMIN, bound_port).lsp_options["requested-chassis"] == "dpu-1"
    # No DPU plugs for an inactive binding, and Nova hears nothing.
    assert representors(http, "dpu-1") == [("pf1vf3", bound_port)]
    assert representors(http, "dpu-2") == []
    assert len(events.events) == 1


def test_the_list_shows_the_active_binding_first_and_filters_by_host(
    http: TestClient, bound_port: str
) -> None:
    create(http, bound_port, "compute-2", destination_profile())
    listed = http.get(bindings_url(bound_port)).json()["bindings"]
    assert [(b["host"], b["status"]) for b in listed] == [
        ("compute-1", "ACTIVE"),
        ("compute-2", "INACTIVE"),
    ]
    assert listed[0]["profile"] == full_profile()
    only = http.get(bindings_url(bound_port), params={"host": "compute-2"}).json()["bindings"]
    assert [b["host"] for b in only] == ["compute-2"]
    fields = http.get(bindings_url(bound_port), params={"fields": ["host", "status"]})
    assert fields.json()["bindings"][0] == {"host": "compute-1", "status": "ACTIVE"}
    shown = http.get(bindings_url(bound_port, "compute-2")).json()["binding"]
    assert shown == listed[1]


def test_activation_moves_the_port_to_the_destination_dpu(
    http: TestClient, bound_port: str, events: RecordingSink, service: NetworkService
) -> None:
    create(http, bound_port, "compute-2", destination_profile())
    response = http.put(bindings_url(bound_port, "compute-2", "activate"))
    assert response.status_code == 200, response.text
    # Bare, as Neutron's member actions answer.
    assert (response.json()["host"], response.json()["status"]) == ("compute-2", "ACTIVE")
    port = http.get(f"/network/v2.0/ports/{bound_port}").json()["port"]
    assert port["binding:host_id"] == "compute-2"
    assert port["binding:profile"] == destination_profile()
    assert port["binding:vif_type"] == "ovs"
    assert port["status"] == "ACTIVE"
    assert service.get_port(ADMIN, bound_port).lsp_options == {
        "requested-chassis": "dpu-2",
        "vif-plug-type": "representor",
        "vif-plug-mtu-request": "1442",
        "vif-plug:representor:pf-mac": PF_MACS_2[0],
        "vif-plug:representor:vf-num": "1",
    }
    assert representors(http, "dpu-1") == []
    assert representors(http, "dpu-2") == [("pf0vf1", bound_port)]
    assert events.events == [
        event("network-vif-plugged", bound_port),
        event("network-vif-unplugged", bound_port),
        event("network-vif-plugged", bound_port),
    ]
    # The source binding stays, inactive, its vif type cleared as ML2 clears it.
    listed = http.get(bindings_url(bound_port)).json()["bindings"]
    assert [(b["host"], b["status"], b["vif_type"]) for b in listed] == [
        ("compute-2", "ACTIVE", "ovs"),
        ("compute-1", "INACTIVE", "unbound"),
    ]
    assert listed[1]["profile"] == full_profile()


def test_activating_the_old_binding_again_binds_the_port_back_to_its_source(
    http: TestClient, bound_port: str
) -> None:
    create(http, bound_port, "compute-2", destination_profile())
    http.put(bindings_url(bound_port, "compute-2", "activate"))
    response = http.put(bindings_url(bound_port, "compute-1", "activate"))
    assert response.status_code == 200, response.text
    assert response.json()["vif_type"] == "ovs"
    port = http.get(f"/network/v2.0/ports/{bound_port}").json()["port"]
    assert (port["binding:host_id"], port["status"]) == ("compute-1", "ACTIVE")
    assert representors(http, "dpu-1") == [("pf1vf3", bound_port)]
    assert representors(http, "dpu-2") == []


def test_the_source_binding_is_deleted_after_the_move(http: TestClient, bound_port: str) -> None:
    create(http, bound_port, "compute-2", destination_profile())
    http.put(bindings_url(bound_port, "compute-2", "activate"))
    assert http.delete(bindings_url(bound_port, "compute-1")).status_code == 204
    listed = http.get(bindings_url(bound_port)).json()["bindings"]
    assert [b["host"] for b in listed] == ["compute-2"]
    assert representors(http, "dpu-2") == [("pf0vf1", bound_port)]


def test_a_rolled_back_destination_binding_is_deleted_and_the_port_stays(
    http: TestClient, bound_port: str, events: RecordingSink
) -> None:
    create(http, bound_port, "compute-2", destination_profile())
    assert http.delete(bindings_url(bound_port, "compute-2")).status_code == 204
    assert [b["host"] for b in http.get(bindings_url(bound_port)).json()["bindings"]] == [
        "compute-1"
    ]
    port = http.get(f"/network/v2.0/ports/{bound_port}").json()["port"]
    assert (port["binding:host_id"], port["status"]) == ("compute-1", "ACTIVE")
    assert len(events.events) == 1


def test_deleting_the_active_binding_unbinds_the_port_as_neutron_does(
    http: TestClient, bound_port: str, events: RecordingSink
) -> None:
    assert http.delete(bindings_url(bound_port, "compute-1")).status_code == 204
    port = http.get(f"/network/v2.0/ports/{bound_port}").json()["port"]
    assert (port["binding:host_id"], port["binding:vif_type"]) == ("", "unbound")
    assert (port["binding:profile"], port["status"]) == ({}, "DOWN")
    assert representors(http, "dpu-1") == []
    assert events.events[-1] == event("network-vif-unplugged", bound_port)


# -- refusals -----------------------------------------------------------------------------


def neutron_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["NeutronError"]
    return error


def test_a_second_binding_for_a_host_is_a_conflict(http: TestClient, bound_port: str) -> None:
    create(http, bound_port, "compute-2", destination_profile())
    for host in ("compute-1", "compute-2"):
        error = neutron_error(create(http, bound_port, host, destination_profile()), 409)
        assert error["type"] == "PortBindingAlreadyExists"
        assert error["message"] == f"Binding for port {bound_port} on host {host} already exists."


def test_activating_the_active_binding_is_a_conflict(http: TestClient, bound_port: str) -> None:
    error = neutron_error(http.put(bindings_url(bound_port, "compute-1", "activate")), 409)
    assert error["type"] == "PortBindingAlreadyActive"
    assert error["message"] == (
        f"Binding for port {bound_port} on host compute-1 is already active."
    )


@pytest.mark.parametrize(
    ("method", "rest"),
    [
        pytest.param("GET", (), id="show"),
        pytest.param("PUT", ("activate",), id="activate"),
        pytest.param("DELETE", (), id="delete"),
    ],
)
def test_a_host_without_a_binding_is_not_found(
    http: TestClient, bound_port: str, method: str, rest: tuple[str, ...]
) -> None:
    response = http.request(method, bindings_url(bound_port, "compute-9", *rest))
    error = neutron_error(response, 404)
    assert error["type"] == "PortBindingNotFound"
    assert (
        error["message"] == f"Binding for port {bound_port} for host compute-9 could not be found."
    )


def test_a_binding_no_dpu_can_serve_is_refused_and_not_kept(
    http: TestClient, bound_port: str
) -> None:
    response = create(http, bound_port, "compute-2", destination_profile(card_serial_number="NONE"))
    error = neutron_error(response, 500)
    assert error["type"] == "PortBindingError"
    assert error["message"] == (
        f"Binding for port {bound_port} on host compute-2 could not be created or updated. "
        "Chassis with ovn-cms-options card-serial-number=NONE does not exist"
    )
    assert len(http.get(bindings_url(bound_port)).json()["bindings"]) == 1


def test_a_partial_remote_managed_profile_is_invalid(http: TestClient, bound_port: str) -> None:
    profile = destination_profile()
    del profile["vf_num"]
    error = neutron_error(create(http, bound_port, "compute-2", profile), 400)
    assert error["type"] == "InvalidInput"
    assert "are all required" in error["message"]


def test_only_a_servers_port_has_bindings(http: TestClient) -> None:
    port_id = make_port(http, make_network(http))
    error = neutron_error(http.get(bindings_url(port_id)), 400)
    assert error["message"] == (
        f"Bad port request: Invalid port {port_id}. Operation only valid on compute ports."
    )


def test_an_unknown_port_is_not_found(http: TestClient) -> None:
    error = neutron_error(create(http, "no-such-port", "compute-2", {}), 404)
    assert error["type"] == "PortNotFound"


def test_another_projects_port_is_not_found(http: TestClient, bound_port: str) -> None:
    response = http.get(
        bindings_url(bound_port),
        headers={"X-Project-Id": "someone-else", "X-Roles": "member,reader"},
    )
    assert neutron_error(response, 404)["type"] == "PortNotFound"


@pytest.mark.parametrize(
    ("binding", "message"),
    [
        pytest.param(
            {"vnic_type": "normal"}, "Required attribute 'host' not specified", id="no-host"
        ),
        pytest.param({"host": ""}, "Invalid input for host", id="empty-host"),
        pytest.param(
            {"host": "h", "status": "ACTIVE"}, "'status' not allowed in POST", id="status"
        ),
        pytest.param({"host": "h", "vnic_type": "fast"}, "Invalid input for vnic_type", id="vnic"),
        pytest.param({"host": "h", "profile": [1]}, "Invalid input for profile", id="profile"),
        pytest.param(
            {"host": "h", "colour": "red"}, "Unrecognized attribute(s) 'colour'", id="extra"
        ),
    ],
)
def test_a_malformed_binding_is_invalid(
    http: TestClient, bound_port: str, binding: dict[str, Any], message: str
) -> None:
    response = http.post(bindings_url(bound_port), json={"binding": binding})
    assert message in neutron_error(response, 400)["message"]


def test_binding_extended_is_an_extension(http: TestClient) -> None:
    aliases = [e["alias"] for e in http.get("/network/v2.0/extensions").json()["extensions"]]
    assert "binding-extended" in aliases
    shown = http.get("/network/v2.0/extensions/binding-extended").json()["extension"]
    assert shown["name"] == "Port Bindings Extended"


# -- the service, and the port's other writes --------------------------------------------------


def inactive_rows(engine: Engine) -> int:
    with reading(engine) as session:
        return session.scalar(select(func.count()).select_from(PortBindingRow)) or 0


def test_the_service_calls_raise_neutrons_errors(service: NetworkService, bound_port: str) -> None:
    spec = BindingSpec("compute-2", VnicType.REMOTE_MANAGED, destination_profile())
    created = service.create_port_binding(ADMIN, bound_port, spec)
    assert (created.host, created.status) == ("compute-2", BindingStatus.INACTIVE)
    with pytest.raises(PortBindingAlreadyExists):
        service.create_port_binding(ADMIN, bound_port, spec)
    with pytest.raises(PortBindingAlreadyActive):
        service.activate_port_binding(ADMIN, bound_port, "compute-1")
    with pytest.raises(PortBindingNotFound):
        service.get_port_binding(ADMIN, bound_port, "compute-3")
    refused = BindingSpec("compute-3", None, destination_profile(card_serial_number="X"))
    with pytest.raises(PortBindingError):
        service.create_port_binding(ADMIN, bound_port, refused)
    active = service.activate_port_binding(ADMIN, bound_port, "compute-2")
    assert active.status is BindingStatus.ACTIVE
    assert [b.host for b in service.list_port_bindings(ADMIN, bound_port)] == [
        "compute-2",
        "compute-1",
    ]


def test_the_vnic_type_defaults_to_the_ports(service: NetworkService, bound_port: str) -> None:
    created = service.create_port_binding(
        ADMIN, bound_port, BindingSpec("compute-2", None, destination_profile())
    )
    assert created.vnic_type is VnicType.REMOTE_MANAGED


def test_deleting_the_port_deletes_its_bindings(
    http: TestClient, bound_port: str, api_engine: Engine
) -> None:
    create(http, bound_port, "compute-2", destination_profile())
    assert inactive_rows(api_engine) == 1
    assert http.delete(f"/network/v2.0/ports/{bound_port}").status_code == 204
    assert inactive_rows(api_engine) == 0


def test_unbinding_the_port_keeps_its_inactive_bindings_as_neutron_does(
    http: TestClient, bound_port: str
) -> None:
    create(http, bound_port, "compute-2", destination_profile())
    body: dict[str, Any] = {"port": {"binding:host_id": None, "binding:profile": {}}}
    assert http.put(f"/network/v2.0/ports/{bound_port}", json=body).status_code == 200
    listed = http.get(bindings_url(bound_port)).json()["bindings"]
    assert [(b["host"], b["status"]) for b in listed] == [("", "ACTIVE"), ("compute-2", "INACTIVE")]
    response = http.put(bindings_url(bound_port, "compute-2", "activate"))
    assert response.status_code == 200, response.text
    assert representors(http, "dpu-2") == [("pf0vf1", bound_port)]


def test_binding_the_port_to_a_host_replaces_the_inactive_binding_there(
    http: TestClient, bound_port: str
) -> None:
    create(http, bound_port, "compute-2", destination_profile())
    body = {"port": {"binding:host_id": "compute-2", "binding:profile": destination_profile()}}
    assert http.put(f"/network/v2.0/ports/{bound_port}", json=body).status_code == 200
    listed = http.get(bindings_url(bound_port)).json()["bindings"]
    assert [(b["host"], b["status"]) for b in listed] == [("compute-2", "ACTIVE")]
    assert listed[0]["profile"]["card_serial_number"] == SERIAL_2

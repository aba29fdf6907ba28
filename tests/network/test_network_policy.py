"""The network API's policy: Neutron's rules, attribute rules and hidden binding attributes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from offpath.network.caller import ADMIN
from offpath.network.service import NetworkService
from tests.network.conftest import ADMIN_HEADERS, TOKEN, full_profile, network_app

READER = "reader"
MEMBER = "member,reader"
BINDING_KEYS = {"binding:host_id", "binding:profile", "binding:vif_type", "binding:vif_details"}


def as_(service: NetworkService, project: str, roles: str) -> TestClient:
    """A client acting with `roles` in `project`."""
    headers = {"X-Auth-Token": TOKEN, "X-Project-Id": project, "X-Roles": roles}
    return TestClient(network_app(service), headers=headers)


def refused(response: Any) -> str:
    """The message of Neutron's 403."""
    assert response.status_code == 403, response.text
    error = response.json()["NeutronError"]
    assert error["type"] == "PolicyNotAuthorized"
    message: str = error["message"]
    return message


@pytest.fixture
def admin(service: NetworkService) -> TestClient:
    """The token's holder: admin and service."""
    return TestClient(network_app(service), headers=ADMIN_HEADERS)


def _network(client: TestClient, **attrs: Any) -> str:
    response = client.post("/network/v2.0/networks", json={"network": {"name": "n", **attrs}})
    assert response.status_code == 201, response.text
    network_id: str = response.json()["network"]["id"]
    return network_id


def _port(client: TestClient, network_id: str, **attrs: Any) -> dict[str, Any]:
    response = client.post(
        "/network/v2.0/ports", json={"port": {"network_id": network_id, **attrs}}
    )
    assert response.status_code == 201, response.text
    port: dict[str, Any] = response.json()["port"]
    return port


def test_a_member_creates_in_its_project_and_sees_no_binding_attributes(
    service: NetworkService,
) -> None:
    member = as_(service, "a", MEMBER)
    port = _port(member, _network(member), **{"binding:vnic_type": "remote-managed"})
    assert port["project_id"] == "a"
    assert port["binding:vnic_type"] == "remote-managed"
    assert not BINDING_KEYS & set(port)
    shown = member.get(f"/network/v2.0/ports/{port['id']}").json()["port"]
    assert not BINDING_KEYS & set(shown)
    listed = member.get("/network/v2.0/ports").json()["ports"]
    assert [p["id"] for p in listed] == [port["id"]]
    assert not BINDING_KEYS & set(listed[0])


def test_the_admin_sees_the_binding_attributes_of_every_project(
    service: NetworkService, admin: TestClient
) -> None:
    member = as_(service, "a", MEMBER)
    port = _port(member, _network(member))
    shown = admin.get(f"/network/v2.0/ports/{port['id']}").json()["port"]
    assert set(shown) >= BINDING_KEYS
    assert shown["project_id"] == "a"


@pytest.mark.parametrize(
    ("attrs", "rule"),
    [
        pytest.param({"binding:host_id": "compute-1"}, "create_port:binding:host_id", id="host"),
        pytest.param({"binding:profile": {"a": "b"}}, "create_port:binding:profile", id="profile"),
    ],
)
def test_a_member_cannot_write_binding_attributes(
    service: NetworkService, attrs: dict[str, Any], rule: str
) -> None:
    member = as_(service, "a", MEMBER)
    network_id = _network(member)
    response = member.post(
        "/network/v2.0/ports", json={"port": {"network_id": network_id, **attrs}}
    )
    assert refused(response) == f"(rule:create_port and rule:{rule}) is disallowed by policy"
    port = _port(member, network_id)
    update = {"port": {"binding:profile": full_profile()}}
    response = member.put(f"/network/v2.0/ports/{port['id']}", json=update)
    assert refused(response) == (
        "(rule:update_port and rule:update_port:binding:profile) is disallowed by policy"
    )
    assert service.get_port(ADMIN, port["id"]).port.binding_profile == {}


def test_a_reader_reads_but_cannot_write(service: NetworkService) -> None:
    member = as_(service, "a", MEMBER)
    network_id = _network(member)
    port = _port(member, network_id)
    reader = as_(service, "a", READER)
    assert reader.get(f"/network/v2.0/ports/{port['id']}").status_code == 200
    assert reader.get(f"/network/v2.0/networks/{network_id}").status_code == 200
    created = reader.post("/network/v2.0/ports", json={"port": {"network_id": network_id}})
    assert refused(created) == "rule:create_port is disallowed by policy"
    deleted = reader.delete(f"/network/v2.0/ports/{port['id']}")
    assert refused(deleted) == "rule:delete_port is disallowed by policy"
    renamed = reader.put(f"/network/v2.0/networks/{network_id}", json={"network": {"name": "x"}})
    assert refused(renamed) == "rule:update_network is disallowed by policy"


def test_another_projects_resources_are_not_found(service: NetworkService) -> None:
    alice = as_(service, "a", MEMBER)
    network_id = _network(alice)
    port = _port(alice, network_id)
    bob = as_(service, "b", MEMBER)
    for response in (
        bob.get(f"/network/v2.0/ports/{port['id']}"),
        bob.put(f"/network/v2.0/ports/{port['id']}", json={"port": {"name": "x"}}),
        bob.delete(f"/network/v2.0/ports/{port['id']}"),
    ):
        assert response.status_code == 404
        assert response.json()["NeutronError"]["type"] == "PortNotFound"
    assert bob.get(f"/network/v2.0/networks/{network_id}").status_code == 404
    assert bob.delete(f"/network/v2.0/networks/{network_id}").status_code == 404
    assert bob.get("/network/v2.0/networks").json() == {"networks": []}


def test_a_shared_network_is_everyones_to_see_and_to_put_ports_on(
    service: NetworkService, admin: TestClient
) -> None:
    network_id = _network(admin, shared=True)
    bob = as_(service, "b", MEMBER)
    assert bob.get(f"/network/v2.0/networks/{network_id}").json()["network"]["shared"] is True
    port = _port(bob, network_id)
    assert port["project_id"] == "b"
    deleted = bob.delete(f"/network/v2.0/networks/{network_id}")
    assert refused(deleted) == "rule:delete_network is disallowed by policy"


def test_only_the_admin_shares_a_network_or_sets_provider_attributes(
    service: NetworkService,
) -> None:
    member = as_(service, "a", MEMBER)
    shared = member.post("/network/v2.0/networks", json={"network": {"shared": True}})
    assert (
        refused(shared)
        == "(rule:create_network and rule:create_network:shared) is disallowed by policy"
    )
    provider = {"provider:network_type": "vlan", "provider:physical_network": "physnet1"}
    response = member.post("/network/v2.0/networks", json={"network": provider})
    assert refused(response) == (
        "(rule:create_network and rule:create_network:provider:network_type and "
        "rule:create_network:provider:physical_network) is disallowed by policy"
    )
    elsewhere = member.post("/network/v2.0/networks", json={"network": {"project_id": "b"}})
    assert elsewhere.status_code == 400
    assert elsewhere.json()["NeutronError"]["type"] == "HTTPBadRequest"


def test_port_bindings_are_the_services(service: NetworkService, admin: TestClient) -> None:
    member = as_(service, "a", MEMBER)
    port = _port(member, _network(member))
    url = f"/network/v2.0/ports/{port['id']}/bindings"
    assert refused(member.get(url)) == "rule:get_port_binding is disallowed by policy"
    body = {"binding": {"host": "compute-2", "profile": full_profile()}}
    assert (
        refused(member.post(url, json=body)) == "rule:create_port_binding is disallowed by policy"
    )
    nova = as_(service, "service", "service")
    # Past the policy: the port has no compute owner, Neutron's 400.
    assert nova.get(url).status_code == 400
    only_admin = as_(service, "admin", "admin,member,reader")
    assert refused(only_admin.post(url, json=body)) == (
        "rule:create_port_binding is disallowed by policy"
    )


def test_the_dpu_reports_are_the_admins_and_services(service: NetworkService) -> None:
    member = as_(service, "a", MEMBER)
    response = member.get("/network/offpath/chassis")
    assert refused(response) == "rule:offpath:network:chassis:get is disallowed by policy"
    assert as_(service, "service", "service").get("/network/offpath/chassis").status_code == 200

"""An attacker's requests to the network API over real Keystone tokens, answered as Neutron does.

Another project's network or port is a 404 and absent from lists; a member
neither writes nor reads the binding attributes; a reader creates nothing;
a project named in a body or a header other than the token's is refused or
ignored; `X-Roles` is nothing to the app.
"""

from __future__ import annotations

from typing import Any, Final

import pytest

from offpath.api.network_policy import HIDDEN_PORT_ATTRIBUTES, OTHER_PROJECT_REFUSED
from tests.api.keystone_cloud import PROJECT_A, PROJECT_B, KeystoneCloud, keystone_cloud
from tests.control.cluster import Cluster

V2: Final = "/network/v2.0"
BINDING_KEYS: Final = frozenset(HIDDEN_PORT_ATTRIBUTES)
PROFILE: Final = {"pci_slot": "0000:82:00.4", "card_serial_number": "MT2113X00000"}


@pytest.fixture(scope="module")
def cloud(module_cluster: Cluster) -> KeystoneCloud:
    """Projects A and B, their people logged in, and A's server, network and port."""
    return keystone_cloud(module_cluster)


def neutron_error(kind: str, message: str) -> dict[str, Any]:
    """Neutron's error body."""
    return {"NeutronError": {"type": kind, "message": message, "detail": ""}}


def refused(rules: str) -> dict[str, Any]:
    """Neutron's 403 body for `rules` (one rule, or several and-ed in parentheses)."""
    return neutron_error("PolicyNotAuthorized", f"{rules} is disallowed by policy")


def _port_of_a(cloud: KeystoneCloud) -> str:
    made = cloud.as_("alice", "POST", f"{V2}/ports", json={"port": {"network_id": cloud.network_a}})
    assert made.status_code == 201, made.text
    port_id: str = made.json()["port"]["id"]
    return port_id


# -- another project's resources: 404, never 403, and not listed ---------------------


@pytest.mark.parametrize(
    ("method", "body"),
    [("GET", None), ("PUT", {"port": {"name": "mine-now"}}), ("DELETE", None)],
    ids=["show", "update", "delete"],
)
def test_project_bs_member_finds_no_port_of_project_a(
    cloud: KeystoneCloud, method: str, body: Any
) -> None:
    response = cloud.as_("bob", method, f"{V2}/ports/{cloud.port_a}", json=body)
    assert (response.status_code, response.json()) == (
        404,
        neutron_error("PortNotFound", f"Port {cloud.port_a} could not be found."),
    )
    assert cloud.as_("alice", "GET", f"{V2}/ports/{cloud.port_a}").json()["port"]["name"] == (
        "port-a"
    )


def test_project_bs_member_finds_no_binding_of_project_as_port(cloud: KeystoneCloud) -> None:
    url = f"{V2}/ports/{cloud.port_a}/bindings"
    body = {"binding": {"host": "compute-00001", "profile": PROFILE}}
    for response in (cloud.as_("bob", "GET", url), cloud.as_("bob", "POST", url, json=body)):
        assert response.status_code == 404
        assert response.json()["NeutronError"]["type"] == "PortNotFound"


@pytest.mark.parametrize(
    ("method", "body"),
    [("GET", None), ("PUT", {"network": {"name": "mine-now"}}), ("DELETE", None)],
    ids=["show", "update", "delete"],
)
def test_project_bs_member_finds_no_network_of_project_a(
    cloud: KeystoneCloud, method: str, body: Any
) -> None:
    response = cloud.as_("bob", method, f"{V2}/networks/{cloud.network_a}", json=body)
    assert (response.status_code, response.json()) == (
        404,
        neutron_error("NetworkNotFound", f"Network {cloud.network_a} could not be found."),
    )
    assert cloud.as_("alice", "GET", f"{V2}/networks/{cloud.network_a}").status_code == 200


def test_project_bs_member_cannot_put_a_port_on_project_as_network(cloud: KeystoneCloud) -> None:
    body = {"port": {"network_id": cloud.network_a}}
    response = cloud.as_("bob", "POST", f"{V2}/ports", json=body)
    assert (response.status_code, response.json()) == (
        404,
        neutron_error("NetworkNotFound", f"Network {cloud.network_a} could not be found."),
    )


def test_project_bs_lists_hold_only_bs(cloud: KeystoneCloud) -> None:
    networks = cloud.as_("bob", "GET", f"{V2}/networks").json()["networks"]
    assert [n["id"] for n in networks] == [cloud.network_b]
    assert cloud.as_("bob", "GET", f"{V2}/ports").json()["ports"] == []
    by_id = cloud.as_("bob", "GET", f"{V2}/ports?network_id={cloud.network_a}").json()
    assert by_id == {"ports": []}


# -- the binding attributes are the services' ------------------------------------------


@pytest.mark.parametrize(
    ("attrs", "rule"),
    [
        ({"binding:host_id": "compute-00001"}, "binding:host_id"),
        ({"binding:profile": PROFILE}, "binding:profile"),
    ],
    ids=["host", "profile"],
)
def test_a_member_cannot_create_a_port_with_binding_attributes(
    cloud: KeystoneCloud, attrs: dict[str, Any], rule: str
) -> None:
    body = {"port": {"network_id": cloud.network_a, **attrs}}
    response = cloud.as_("alice", "POST", f"{V2}/ports", json=body)
    assert (response.status_code, response.json()) == (
        403,
        refused(f"(rule:create_port and rule:create_port:{rule})"),
    )


@pytest.mark.parametrize(
    ("attrs", "rule"),
    [
        ({"binding:host_id": "compute-00001"}, "binding:host_id"),
        ({"binding:profile": PROFILE}, "binding:profile"),
    ],
    ids=["host", "profile"],
)
def test_a_member_cannot_update_a_ports_binding_attributes(
    cloud: KeystoneCloud, attrs: dict[str, Any], rule: str
) -> None:
    response = cloud.as_("alice", "PUT", f"{V2}/ports/{cloud.port_a}", json={"port": attrs})
    assert (response.status_code, response.json()) == (
        403,
        refused(f"(rule:update_port and rule:update_port:{rule})"),
    )
    shown = cloud.as_("admin", "GET", f"{V2}/ports/{cloud.port_a}").json()["port"]
    assert (shown["binding:host_id"], shown["binding:profile"]) == ("", {})


def test_a_members_port_reads_leave_the_binding_attributes_out(cloud: KeystoneCloud) -> None:
    shown = cloud.as_("alice", "GET", f"{V2}/ports/{cloud.port_a}").json()["port"]
    assert shown["id"] == cloud.port_a
    assert not BINDING_KEYS & set(shown)
    listed = cloud.as_("alice", "GET", f"{V2}/ports").json()["ports"]
    assert listed and all(not BINDING_KEYS & set(port) for port in listed)
    asked = cloud.as_("alice", "GET", f"{V2}/ports/{cloud.port_a}?fields=binding:profile")
    assert asked.json() == {"port": {}}


def test_the_admin_reads_the_binding_attributes(cloud: KeystoneCloud) -> None:
    shown = cloud.as_("admin", "GET", f"{V2}/ports/{cloud.port_a}").json()["port"]
    assert set(shown) >= BINDING_KEYS
    assert shown["project_id"] == cloud.project[PROJECT_A]


# -- a reader reads -------------------------------------------------------------------


def test_a_reader_cannot_create_a_network(cloud: KeystoneCloud) -> None:
    response = cloud.as_("rita", "POST", f"{V2}/networks", json={"network": {"name": "no"}})
    assert (response.status_code, response.json()) == (403, refused("rule:create_network"))


def test_a_reader_cannot_create_a_port(cloud: KeystoneCloud) -> None:
    body = {"port": {"network_id": cloud.network_a}}
    response = cloud.as_("rita", "POST", f"{V2}/ports", json=body)
    assert (response.status_code, response.json()) == (403, refused("rule:create_port"))


def test_a_reader_cannot_change_or_delete_its_projects_port(cloud: KeystoneCloud) -> None:
    url = f"{V2}/ports/{cloud.port_a}"
    renamed = cloud.as_("rita", "PUT", url, json={"port": {"name": "x"}})
    assert (renamed.status_code, renamed.json()) == (403, refused("rule:update_port"))
    deleted = cloud.as_("rita", "DELETE", url)
    assert (deleted.status_code, deleted.json()) == (403, refused("rule:delete_port"))


def test_a_reader_lists_and_shows_its_projects_networks_and_ports(cloud: KeystoneCloud) -> None:
    networks = cloud.as_("rita", "GET", f"{V2}/networks").json()["networks"]
    assert cloud.network_a in [n["id"] for n in networks]
    assert cloud.network_b not in [n["id"] for n in networks]
    ports = cloud.as_("rita", "GET", f"{V2}/ports").json()["ports"]
    assert cloud.port_a in [p["id"] for p in ports]
    assert cloud.as_("rita", "GET", f"{V2}/ports/{cloud.port_a}").status_code == 200
    assert cloud.as_("rita", "GET", f"{V2}/networks/{cloud.network_a}").status_code == 200


# -- a project that is not the token's -------------------------------------------------


@pytest.mark.parametrize("key", ["project_id", "tenant_id"])
def test_a_member_of_b_naming_project_a_in_a_network_create_is_a_400(
    cloud: KeystoneCloud, key: str
) -> None:
    body = {"network": {"name": "sneaky", key: cloud.project[PROJECT_A]}}
    response = cloud.as_("bob", "POST", f"{V2}/networks", json=body)
    assert (response.status_code, response.json()) == (
        400,
        neutron_error("HTTPBadRequest", OTHER_PROJECT_REFUSED),
    )
    names = [n["name"] for n in cloud.as_("admin", "GET", f"{V2}/networks").json()["networks"]]
    assert "sneaky" not in names


@pytest.mark.parametrize("key", ["project_id", "tenant_id"])
def test_a_member_of_b_naming_project_a_in_a_port_create_is_a_400(
    cloud: KeystoneCloud, key: str
) -> None:
    sneaky = {"network_id": cloud.network_b, "name": "sneaky", key: cloud.project[PROJECT_A]}
    body = {"port": sneaky}
    response = cloud.as_("bob", "POST", f"{V2}/ports", json=body)
    assert (response.status_code, response.json()) == (
        400,
        neutron_error("HTTPBadRequest", OTHER_PROJECT_REFUSED),
    )
    names = [p["name"] for p in cloud.as_("admin", "GET", f"{V2}/ports").json()["ports"]]
    assert "sneaky" not in names


def test_a_member_naming_its_own_project_creates(cloud: KeystoneCloud) -> None:
    own = cloud.project[PROJECT_B]
    body = {"network": {"name": "own", "project_id": own, "tenant_id": own}}
    response = cloud.as_("bob", "POST", f"{V2}/networks", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["network"]["project_id"] == own


def test_project_id_and_tenant_id_that_differ_are_a_400(cloud: KeystoneCloud) -> None:
    body = {
        "network": {"project_id": cloud.project[PROJECT_B], "tenant_id": cloud.project[PROJECT_A]}
    }
    response = cloud.as_("bob", "POST", f"{V2}/networks", json=body)
    assert response.status_code == 400
    assert response.json()["NeutronError"]["message"] == "'project_id' and 'tenant_id' do not match"


def test_the_admin_creates_in_another_project(cloud: KeystoneCloud) -> None:
    body = {"network": {"name": "for-a", "project_id": cloud.project[PROJECT_A]}}
    response = cloud.as_("admin", "POST", f"{V2}/networks", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["network"]["project_id"] == cloud.project[PROJECT_A]


def test_x_project_id_of_a_with_bs_token_is_ignored(cloud: KeystoneCloud) -> None:
    headers = {"X-Project-Id": cloud.project[PROJECT_A], "X-Tenant-Id": cloud.project[PROJECT_A]}
    networks = cloud.as_("bob", "GET", f"{V2}/networks", headers=headers).json()["networks"]
    assert cloud.network_a not in [n["id"] for n in networks]
    assert {n["project_id"] for n in networks} == {cloud.project[PROJECT_B]}
    shown = cloud.as_("bob", "GET", f"{V2}/ports/{cloud.port_a}", headers=headers)
    assert shown.status_code == 404
    made = cloud.as_("bob", "POST", f"{V2}/networks", headers=headers, json={"network": {}})
    assert made.json()["network"]["project_id"] == cloud.project[PROJECT_B]


# -- the test helpers' X-Roles header is nothing to the app ----------------------------


def test_x_roles_admin_gives_a_member_no_binding_attributes(cloud: KeystoneCloud) -> None:
    headers = {"X-Roles": "admin,member,reader,service"}
    shown = cloud.as_("alice", "GET", f"{V2}/ports/{cloud.port_a}", headers=headers)
    assert shown.status_code == 200
    assert not BINDING_KEYS & set(shown.json()["port"])
    body = {"port": {"network_id": cloud.network_a, "binding:host_id": "compute-00001"}}
    created = cloud.as_("alice", "POST", f"{V2}/ports", headers=headers, json=body)
    assert (created.status_code, created.json()) == (
        403,
        refused("(rule:create_port and rule:create_port:binding:host_id)"),
    )
    chassis = cloud.as_("alice", "GET", "/network/offpath/chassis", headers=headers)
    assert (chassis.status_code, chassis.json()) == (
        403,
        refused("rule:offpath:network:chassis:get"),
    )
    other = cloud.as_("bob", "GET", f"{V2}/networks/{cloud.network_a}", headers=headers)
    assert other.status_code == 404


def test_a_members_own_port_is_still_its_to_delete(cloud: KeystoneCloud) -> None:
    # The refusals above are of what was asked, not of alice in her project.
    port_id = _port_of_a(cloud)
    assert cloud.as_("alice", "DELETE", f"{V2}/ports/{port_id}").status_code == 204
    gone = cloud.as_("alice", "GET", f"{V2}/ports/{port_id}")
    assert gone.status_code == 404

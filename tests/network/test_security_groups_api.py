"""The security-group extension of /network/v2.0: Neutron's shapes, defaults, errors, projects."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from offpath.network.service import NetworkService
from tests.network.conftest import ADMIN_HEADERS
from tests.network.test_dpu_sim_binding import make_network
from tests.network.test_network_api import neutron_error

GROUPS = "/network/v2.0/security-groups"
RULES = "/network/v2.0/security-group-rules"
MEMBER_A = {"X-Project-Id": "project-a", "X-Roles": "member,reader"}
READER_A = {"X-Project-Id": "project-a", "X-Roles": "reader"}
MEMBER_B = {"X-Project-Id": "project-b", "X-Roles": "member,reader"}


def as_(http: TestClient, who: dict[str, str], method: str, path: str, **kw: Any) -> Any:
    return http.request(method, path, headers={**ADMIN_HEADERS, **who}, **kw)


def group(http: TestClient, who: dict[str, str] = MEMBER_A, name: str = "web") -> dict[str, Any]:
    response = as_(http, who, "POST", GROUPS, json={"security_group": {"name": name}})
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()["security_group"]
    return made


def rule(http: TestClient, group_id: str, who: dict[str, str] = MEMBER_A, **attrs: Any) -> Any:
    body = {"security_group_rule": {"security_group_id": group_id, "direction": "ingress", **attrs}}
    return as_(http, who, "POST", RULES, json=body)


def default_group(http: TestClient, who: dict[str, str] = MEMBER_A) -> dict[str, Any]:
    groups = as_(http, who, "GET", GROUPS, params={"name": "default"}).json()["security_groups"]
    assert len(groups) == 1
    found: dict[str, Any] = groups[0]
    return found


def match(rule_body: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("direction", "ethertype", "protocol", "remote_group_id", "remote_ip_prefix")
    return tuple(rule_body[key] for key in keys)


def test_a_project_first_listing_gets_its_default_group_with_neutrons_rules(
    http: TestClient,
) -> None:
    found = default_group(http)
    assert found["project_id"] == found["tenant_id"] == "project-a"
    assert found["stateful"] is True and found["shared"] is False and found["tags"] == []
    assert sorted(match(r) for r in found["security_group_rules"]) == [
        ("egress", "IPv4", None, None, None),
        ("egress", "IPv6", None, None, None),
        ("ingress", "IPv4", None, found["id"], None),
        ("ingress", "IPv6", None, found["id"], None),
    ]
    assert all(r["belongs_to_default_sg"] for r in found["security_group_rules"])
    # Listed again: the same group, not a second one.
    assert default_group(http)["id"] == found["id"]


def test_a_new_group_has_the_egress_rules_and_neutrons_keys(http: TestClient) -> None:
    made = group(http)
    assert set(made) == {
        *("id", "name", "description", "project_id", "tenant_id", "security_group_rules"),
        *("stateful", "shared", "tags", "created_at", "updated_at", "revision_number"),
    }
    assert sorted(match(r) for r in made["security_group_rules"]) == [
        ("egress", "IPv4", None, None, None),
        ("egress", "IPv6", None, None, None),
    ]
    assert set(made["security_group_rules"][0]) == {
        *("id", "security_group_id", "project_id", "tenant_id", "direction", "ethertype"),
        *("protocol", "port_range_min", "port_range_max", "remote_ip_prefix", "remote_group_id"),
        *("remote_address_group_id", "normalized_cidr", "description", "tags", "created_at"),
        *("updated_at", "revision_number", "belongs_to_default_sg"),
    }


def test_update_show_and_delete_a_group(http: TestClient) -> None:
    made = group(http)
    path = f"{GROUPS}/{made['id']}"
    body = {"security_group": {"name": "web2", "description": "the web tier"}}
    updated = as_(http, MEMBER_A, "PUT", path, json=body).json()["security_group"]
    assert (updated["name"], updated["description"]) == ("web2", "the web tier")
    assert updated["revision_number"] > made["revision_number"]
    assert as_(http, READER_A, "GET", path).json()["security_group"]["name"] == "web2"
    assert as_(http, MEMBER_A, "DELETE", path).status_code == 204
    neutron_error(as_(http, MEMBER_A, "GET", path), 404, "SecurityGroupNotFound")
    rules = as_(http, MEMBER_A, "GET", RULES, params={"security_group_id": made["id"]})
    assert rules.json()["security_group_rules"] == []


def test_the_default_group_keeps_its_name_and_only_the_admin_deletes_it(
    http: TestClient,
) -> None:
    found = default_group(http)
    path = f"{GROUPS}/{found['id']}"
    rename = as_(http, MEMBER_A, "PUT", path, json={"security_group": {"name": "x"}})
    message = neutron_error(rename, 409, "SecurityGroupCannotUpdateDefault")
    assert message == "Updating default security group not allowed."
    message = neutron_error(
        as_(http, MEMBER_A, "DELETE", path), 409, "SecurityGroupCannotRemoveDefault"
    )
    assert message == "Insufficient rights for removing default security group."
    assert http.delete(path).status_code == 204


@pytest.mark.parametrize("how", ["create", "rename"])
def test_a_second_group_named_default_is_a_conflict(http: TestClient, how: str) -> None:
    if how == "create":
        response = as_(http, MEMBER_A, "POST", GROUPS, json={"security_group": {"name": "default"}})
    else:
        path = f"{GROUPS}/{group(http)['id']}"
        response = as_(http, MEMBER_A, "PUT", path, json={"security_group": {"name": "default"}})
    message = neutron_error(response, 409, "SecurityGroupDefaultAlreadyExists")
    assert message == "Default security group already exists."


def test_rules_are_stored_as_neutron_normalises_them(http: TestClient) -> None:
    made = group(http)
    created = rule(
        http,
        made["id"],
        ethertype="ipv4",
        protocol="TCP",
        port_range_min="22",
        port_range_max=22,
        remote_ip_prefix="10.1.2.3/8",
        description="ssh",
    )
    assert created.status_code == 201, created.text
    body = created.json()["security_group_rule"]
    assert body["ethertype"] == "IPv4"
    assert body["protocol"] == "tcp"
    assert (body["port_range_min"], body["port_range_max"]) == (22, 22)
    assert body["remote_ip_prefix"] == "10.1.2.3/8"
    assert body["normalized_cidr"] == "10.0.0.0/8"
    assert body["description"] == "ssh" and body["belongs_to_default_sg"] is False
    shown = as_(http, READER_A, "GET", f"{RULES}/{body['id']}").json()["security_group_rule"]
    assert shown == body
    group_now = as_(http, MEMBER_A, "GET", f"{GROUPS}/{made['id']}").json()["security_group"]
    assert body in group_now["security_group_rules"]


def test_a_protocol_number_is_kept_as_text(http: TestClient) -> None:
    response = rule(http, group(http)["id"], protocol=17)
    assert response.json()["security_group_rule"]["protocol"] == "17"


def test_a_duplicate_rule_is_a_conflict_naming_the_first(http: TestClient) -> None:
    made = group(http)
    first = rule(http, made["id"], protocol="tcp", port_range_min=66, port_range_max=67)
    again = rule(http, made["id"], protocol="6", port_range_min=66, port_range_max=67)
    message = neutron_error(again, 409, "SecurityGroupRuleExists")
    rule_id = first.json()["security_group_rule"]["id"]
    assert message == f"Security group rule already exists. Rule id is {rule_id}."


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        pytest.param(
            {"protocol": "tcp", "port_range_min": -16, "port_range_max": 80},
            "Invalid value for port -16",
            id="negative-port",
        ),
        pytest.param(
            {"protocol": "tcp", "port_range_min": 80, "port_range_max": 79},
            "For TCP/UDP protocols, port_range_min must be <= port_range_max",
            id="min-over-max",
        ),
        pytest.param(
            {"protocol": "tcp", "port_range_max": 6},
            "For TCP/UDP protocols, port_range_min must be <= port_range_max",
            id="max-alone",
        ),
        pytest.param(
            {"protocol": "icmp", "port_range_min": 1, "port_range_max": 256},
            "Invalid value for ICMP code (port_range_max) 256. It must be 0 to 255.",
            id="icmp-code",
        ),
        pytest.param(
            {"protocol": "icmp", "port_range_max": 6},
            "ICMP code (port-range-max) 6 is provided but ICMP type (port-range-min) is missing.",
            id="icmp-type-missing",
        ),
        pytest.param(
            {"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"},
            "Conflicting value ethertype IPv6 for CIDR 10.0.0.0/8",
            id="family",
        ),
        pytest.param(
            {"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "x"},
            "Only remote_ip_prefix or remote_group_id may be provided.",
            id="prefix-and-group",
        ),
        pytest.param(
            {"protocol": "bad"}, "Security group rule protocol bad not supported", id="proto"
        ),
        pytest.param({"ethertype": "IPv5"}, "ethertype 'IPv5' not supported", id="ethertype"),
        pytest.param({"direction": "sideways"}, "'sideways' is not in", id="direction"),
        pytest.param({"remote_ip_prefix": "392.168.0.0/24"}, "not a valid IP subnet", id="prefix"),
    ],
)
def test_bad_rules_get_neutrons_400(http: TestClient, attrs: dict[str, Any], message: str) -> None:
    response = rule(http, group(http)["id"], **attrs)
    assert message in neutron_error(response, 400, "InvalidInput")


def test_rules_naming_absent_groups_are_404s(http: TestClient) -> None:
    missing = "9d1c1e5b-0000-4000-8000-000000000000"
    neutron_error(rule(http, missing), 404, "SecurityGroupNotFound")
    message = neutron_error(
        rule(http, group(http)["id"], remote_group_id=missing), 404, "SecurityGroupNotFound"
    )
    assert message == f"Security group {missing} does not exist"
    neutron_error(
        as_(http, MEMBER_A, "GET", f"{RULES}/{missing}"), 404, "SecurityGroupRuleNotFound"
    )


def test_deleting_a_rule(http: TestClient) -> None:
    made = rule(http, group(http)["id"], protocol="udp").json()["security_group_rule"]
    assert as_(http, MEMBER_A, "DELETE", f"{RULES}/{made['id']}").status_code == 204
    neutron_error(
        as_(http, MEMBER_A, "DELETE", f"{RULES}/{made['id']}"), 404, "SecurityGroupRuleNotFound"
    )


def test_rules_cannot_be_updated(http: TestClient) -> None:
    made = rule(http, group(http)["id"], protocol="udp").json()["security_group_rule"]
    body = {"security_group_rule": {"description": "x"}}
    assert as_(http, MEMBER_A, "PUT", f"{RULES}/{made['id']}", json=body).status_code == 405


def test_list_filters(http: TestClient) -> None:
    web = group(http, name="web")
    group(http, name="db")
    listed = as_(http, MEMBER_A, "GET", GROUPS, params={"name": "web"}).json()["security_groups"]
    assert [g["id"] for g in listed] == [web["id"]]
    fields = as_(http, MEMBER_A, "GET", GROUPS, params={"id": web["id"], "fields": "name"})
    assert fields.json()["security_groups"] == [{"name": "web"}]
    rules = as_(
        http,
        MEMBER_A,
        "GET",
        RULES,
        params={"security_group_id": web["id"], "ethertype": "IPv6", "direction": "egress"},
    ).json()["security_group_rules"]
    assert [(r["ethertype"], r["direction"]) for r in rules] == [("IPv6", "egress")]


def test_another_projects_groups_and_rules_are_404s(http: TestClient) -> None:
    made = group(http, MEMBER_A)
    rule_id = made["security_group_rules"][0]["id"]
    for method, path in [
        ("GET", f"{GROUPS}/{made['id']}"),
        ("PUT", f"{GROUPS}/{made['id']}"),
        ("DELETE", f"{GROUPS}/{made['id']}"),
        ("GET", f"{RULES}/{rule_id}"),
        ("DELETE", f"{RULES}/{rule_id}"),
    ]:
        body = {"security_group": {"name": "x"}} if method == "PUT" else None
        response = as_(http, MEMBER_B, method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
    neutron_error(rule(http, made["id"], who=MEMBER_B), 404, "SecurityGroupNotFound")
    listed = as_(http, MEMBER_B, "GET", GROUPS).json()["security_groups"]
    assert [g["name"] for g in listed] == ["default"]


def test_a_reader_reads_but_does_not_write(http: TestClient) -> None:
    made = group(http)
    assert as_(http, READER_A, "GET", f"{GROUPS}/{made['id']}").status_code == 200
    refused = [
        as_(http, READER_A, "POST", GROUPS, json={"security_group": {"name": "r"}}),
        as_(http, READER_A, "PUT", f"{GROUPS}/{made['id']}", json={"security_group": {}}),
        as_(http, READER_A, "DELETE", f"{GROUPS}/{made['id']}"),
        rule(http, made["id"], who=READER_A),
        as_(http, READER_A, "DELETE", f"{RULES}/{made['security_group_rules'][0]['id']}"),
    ]
    assert [r.status_code for r in refused] == [403] * 5


def test_a_member_creating_in_another_project_is_refused(http: TestClient) -> None:
    body = {"security_group": {"name": "x", "project_id": "project-b"}}
    assert as_(http, MEMBER_A, "POST", GROUPS, json=body).status_code == 400


def test_ports_get_the_default_group_or_the_ones_named(http: TestClient) -> None:
    network = make_network(http, project_id="project-a")
    created = as_(
        http, MEMBER_A, "POST", "/network/v2.0/ports", json={"port": {"network_id": network}}
    )
    assert created.status_code == 201, created.text
    port = created.json()["port"]
    assert port["security_groups"] == [default_group(http)["id"]]
    web, db = group(http, name="web"), group(http, name="db")
    path = f"/network/v2.0/ports/{port['id']}"
    both = {"port": {"security_groups": [web["id"], db["id"]]}}
    updated = as_(http, MEMBER_A, "PUT", path, json=both).json()["port"]
    assert sorted(updated["security_groups"]) == sorted([web["id"], db["id"]])
    message = neutron_error(
        as_(http, MEMBER_A, "DELETE", f"{GROUPS}/{web['id']}"), 409, "SecurityGroupInUse"
    )
    assert message == f"Security Group {web['id']} in use."
    none = as_(http, MEMBER_A, "PUT", path, json={"port": {"security_groups": []}}).json()["port"]
    assert none["security_groups"] == []
    assert as_(http, MEMBER_A, "DELETE", f"{GROUPS}/{web['id']}").status_code == 204
    empty = {"port": {"network_id": network, "security_groups": []}}
    made = as_(http, MEMBER_A, "POST", "/network/v2.0/ports", json=empty).json()["port"]
    assert made["security_groups"] == []


def test_a_port_naming_another_projects_group_is_a_404(http: TestClient) -> None:
    network = make_network(http, project_id="project-a")
    other = group(http, MEMBER_B)
    body = {"port": {"network_id": network, "security_groups": [other["id"]]}}
    response = as_(http, MEMBER_A, "POST", "/network/v2.0/ports", json=body)
    assert neutron_error(response, 404, "SecurityGroupNotFound") == (
        f"Security group {other['id']} does not exist"
    )


def test_the_extension_is_listed(http: TestClient) -> None:
    found = http.get("/network/v2.0/extensions/security-group").json()["extension"]
    assert found["name"] == "security-group"
    assert found["description"] == "The security groups extension."


def test_two_workers_make_one_default_group(service: NetworkService) -> None:
    first = service.security_groups.ensure_default("project-x")
    second = service.security_groups.ensure_default("project-x")
    assert first == second

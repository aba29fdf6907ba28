"""Security groups enforced through a real OVN: Port_Groups, ACLs, the drop group, membership."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from offpath.network.ovn.audit import OvnAudit
from offpath.network.ovn.backend import OvnBackend
from offpath.network.ovn.drift import DriftKind
from offpath.network.service import NetworkService
from tests.network.conftest import full_profile
from tests.network.ovn.conftest import DpuFactory, wait_for
from tests.network.ovn.test_ovn_binding import lsp, status
from tests.network.test_dpu_sim_binding import bind, make_network, make_port

GROUPS = "/network/v2.0/security-groups"
RULES = "/network/v2.0/security-group-rules"
PORTS = "/network/v2.0/ports"


def pg_name(group_id: str) -> str:
    return "pg_" + group_id.replace("-", "_")


def port_group(backend: OvnBackend, name: str) -> Any | None:
    found = [row for row in backend.nb.rows("Port_Group") if row.name == name]
    return found[0] if found else None


def members(backend: OvnBackend, name: str) -> set[str]:
    """The names of the Logical_Switch_Ports in a Port_Group (none if it is missing)."""
    group = port_group(backend, name)
    if group is None:
        return set()
    names = {row.uuid: row.name for row in backend.nb.rows("Logical_Switch_Port", ("name",))}
    return {names[port.uuid] for port in group.ports if port.uuid in names}


def acls(backend: OvnBackend, name: str) -> set[tuple[str, int, str, str, str | None]]:
    """(direction, priority, match, action, rule id) of each ACL of a Port_Group."""
    group = port_group(backend, name)
    assert group is not None, f"no Port_Group {name}"
    rows = {row.uuid: row for row in backend.nb.rows("ACL")}
    return {
        (
            row.direction,
            row.priority,
            row.match,
            row.action,
            row.external_ids.get("neutron:security_group_rule_id"),
        )
        for row in (rows[acl.uuid] for acl in group.acls)
    }


def make_group(http: TestClient, name: str = "web", **attrs: Any) -> dict[str, Any]:
    response = http.post(GROUPS, json={"security_group": {"name": name, **attrs}})
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()["security_group"]
    return made


def make_rule(http: TestClient, group_id: str, **attrs: Any) -> str:
    body = {"security_group_rule": {"security_group_id": group_id, "direction": "ingress", **attrs}}
    response = http.post(RULES, json=body)
    assert response.status_code == 201, response.text
    rule_id: str = response.json()["security_group_rule"]["id"]
    return rule_id


def set_groups(http: TestClient, port_id: str, groups: list[str]) -> None:
    response = http.put(f"{PORTS}/{port_id}", json={"port": {"security_groups": groups}})
    assert response.status_code == 200, response.text


def grouped_port(http: TestClient, network_id: str, groups: list[str], vnic: str = "normal") -> str:
    body = {
        "port": {"network_id": network_id, "security_groups": groups, "binding:vnic_type": vnic}
    }
    response = http.post(PORTS, json=body)
    assert response.status_code == 201, response.text
    port_id: str = response.json()["port"]["id"]
    return port_id


def test_a_group_with_rules_is_a_port_group_with_an_acl_per_rule(
    ovn_http: TestClient, backend: OvnBackend
) -> None:
    group = make_group(ovn_http)
    gid, pg = group["id"], pg_name(group["id"])
    egress = {r["ethertype"]: r["id"] for r in group["security_group_rules"]}
    other = make_group(ovn_http, "db")["id"]
    ssh = make_rule(
        ovn_http, gid, protocol="tcp", port_range_min=22, port_range_max=22,
        remote_ip_prefix="10.0.0.0/8",
    )  # fmt: skip
    web = make_rule(ovn_http, gid, protocol="tcp", port_range_min=80, port_range_max=443)
    ping = make_rule(ovn_http, gid, protocol="icmp", port_range_min=8, port_range_max=0)
    peers = make_rule(ovn_http, gid, direction="egress", ethertype="IPv6", remote_group_id=other)
    vrrp = make_rule(ovn_http, gid, protocol="vrrp", remote_ip_prefix="0.0.0.0/0")
    row = port_group(backend, pg)
    assert row is not None
    assert dict(row.external_ids) == {"neutron:security_group_id": gid}
    other_set = pg_name(other) + "_ip6"
    assert acls(backend, pg) == {
        ("from-lport", 1002, f"inport == @{pg} && ip4", "allow-related", egress["IPv4"]),
        ("from-lport", 1002, f"inport == @{pg} && ip6", "allow-related", egress["IPv6"]),
        (
            "to-lport", 1002,
            f"outport == @{pg} && ip4 && ip4.src == 10.0.0.0/8 && tcp && tcp.dst == 22",
            "allow-related", ssh,
        ),
        (
            "to-lport", 1002,
            f"outport == @{pg} && ip4 && tcp && tcp.dst >= 80 && tcp.dst <= 443",
            "allow-related", web,
        ),
        (
            "to-lport", 1002,
            f"outport == @{pg} && ip4 && icmp4 && icmp4.type == 8 && icmp4.code == 0",
            "allow-related", ping,
        ),
        (
            "from-lport", 1002, f"inport == @{pg} && ip6 && ip6.dst == ${other_set}",
            "allow-related", peers,
        ),
        ("to-lport", 1002, f"outport == @{pg} && ip4 && ip.proto == 112", "allow-related", vrrp),
    }  # fmt: skip


def test_a_stateless_group_allows_stateless_and_a_change_of_it_rewrites_the_acls(
    ovn_http: TestClient, backend: OvnBackend
) -> None:
    group = make_group(ovn_http, stateful=False)
    pg = pg_name(group["id"])
    assert {acl[3] for acl in acls(backend, pg)} == {"allow-stateless"}
    response = ovn_http.put(f"{GROUPS}/{group['id']}", json={"security_group": {"stateful": True}})
    assert response.status_code == 200, response.text
    assert {acl[3] for acl in acls(backend, pg)} == {"allow-related"}


def test_ports_join_and_leave_their_groups_and_the_drop_group(
    ovn_http: TestClient, backend: OvnBackend
) -> None:
    network_id = make_network(ovn_http)
    web = make_group(ovn_http)["id"]
    plain = make_port(ovn_http, network_id, vnic="normal")
    default = ovn_http.get(f"{PORTS}/{plain}").json()["port"]["security_groups"][0]
    # A port created without groups is in its project's default group, made with its rules.
    assert members(backend, pg_name(default)) == {plain}
    assert len(acls(backend, pg_name(default))) == 4
    assert members(backend, "neutron_pg_drop") == {plain}
    assert acls(backend, "neutron_pg_drop") == {
        ("from-lport", 1001, "inport == @neutron_pg_drop && ip", "drop", None),
        ("to-lport", 1001, "outport == @neutron_pg_drop && ip", "drop", None),
    }
    assert lsp(backend, plain).external_ids["neutron:security_group_ids"] == default

    set_groups(ovn_http, plain, [web, default])
    assert members(backend, pg_name(web)) == members(backend, pg_name(default)) == {plain}
    set_groups(ovn_http, plain, [web])
    assert (members(backend, pg_name(web)), members(backend, pg_name(default))) == ({plain}, set())

    open_port = grouped_port(ovn_http, network_id, [])
    assert members(backend, "neutron_pg_drop") == {plain}
    assert lsp(backend, open_port).external_ids["neutron:security_group_ids"] == ""
    set_groups(ovn_http, open_port, [web])
    assert members(backend, pg_name(web)) == members(backend, "neutron_pg_drop") == {
        plain, open_port,
    }  # fmt: skip
    set_groups(ovn_http, plain, [])
    assert members(backend, pg_name(web)) == members(backend, "neutron_pg_drop") == {open_port}

    assert ovn_http.delete(f"{PORTS}/{open_port}").status_code == 204
    assert members(backend, pg_name(web)) == members(backend, "neutron_pg_drop") == set()


def test_a_deleted_rule_loses_its_acl_and_a_deleted_group_its_port_group(
    ovn_http: TestClient, backend: OvnBackend
) -> None:
    gid = make_group(ovn_http)["id"]
    pg = pg_name(gid)
    rule_id = make_rule(ovn_http, gid, protocol="udp", port_range_min=53, port_range_max=53)
    assert rule_id in {acl[4] for acl in acls(backend, pg)}
    assert ovn_http.delete(f"{RULES}/{rule_id}").status_code == 204
    assert rule_id not in {acl[4] for acl in acls(backend, pg)}
    assert len(acls(backend, pg)) == 2
    before = len(backend.nb.rows("ACL"))
    assert ovn_http.delete(f"{GROUPS}/{gid}").status_code == 204
    assert port_group(backend, pg) is None
    assert len(backend.nb.rows("ACL")) == before - 2


def test_a_deleted_remote_group_takes_the_rules_naming_it_out_of_the_other_groups_acls(
    ovn_http: TestClient, backend: OvnBackend
) -> None:
    gid = make_group(ovn_http)["id"]
    remote = make_group(ovn_http, "peers")["id"]
    rule_id = make_rule(ovn_http, gid, remote_group_id=remote)
    assert rule_id in {acl[4] for acl in acls(backend, pg_name(gid))}
    assert ovn_http.delete(f"{GROUPS}/{remote}").status_code == 204
    assert rule_id not in {acl[4] for acl in acls(backend, pg_name(gid))}


def test_a_remote_managed_port_bound_to_a_dpu_is_in_its_groups(
    ovn_http: TestClient, backend: OvnBackend, dpus: DpuFactory
) -> None:
    dpu = dpus("dpu-1.example")
    web = make_group(ovn_http)["id"]
    network_id = make_network(ovn_http)
    port_id = grouped_port(ovn_http, network_id, [web], vnic="remote-managed")
    bind(ovn_http, port_id, full_profile())
    wait_for(lambda: status(ovn_http, port_id) == "ACTIVE", what="the port to go ACTIVE")
    assert dpu.plugged == {port_id: "pf1vf3"}
    # Rewritten at bind and when it went up, the row stays in its groups.
    assert members(backend, pg_name(web)) == members(backend, "neutron_pg_drop") == {port_id}
    assert lsp(backend, port_id).external_ids["neutron:security_group_ids"] == web


@pytest.fixture
def audit(backend: OvnBackend, ovn_service: NetworkService) -> OvnAudit:
    """The audit of the test's network service against the test's OVN."""
    return backend.audit(ovn_service)


def found(audit: OvnAudit) -> list[tuple[DriftKind, str]]:
    return sorted(drift.key for drift in audit.run().drifts)


def test_a_deleted_acl_and_a_stray_port_group_are_found_and_repaired(
    ovn_http: TestClient, backend: OvnBackend, audit: OvnAudit
) -> None:
    gid = make_group(ovn_http)["id"]
    pg = pg_name(gid)
    rule_id = make_rule(ovn_http, gid, protocol="tcp", port_range_min=22, port_range_max=22)
    port_id = grouped_port(ovn_http, make_network(ovn_http), [gid])
    assert audit.run().clean
    wanted = acls(backend, pg)
    match = f"outport == @{pg} && ip4 && tcp && tcp.dst == 22"
    stray = str(uuid.uuid4())
    operators = "pg_of_an_operator"
    backend.nb.execute(
        [
            backend.nb.api.pg_acl_del(pg, "to-lport", 1002, match),
            backend.nb.api.pg_add(
                pg_name(stray), ports=[port_id], external_ids={"neutron:security_group_id": stray}
            ),
            backend.nb.api.pg_add(operators),
        ]
    )
    report = audit.run()
    assert sorted(d.key for d in report.drifts) == sorted(
        [(DriftKind.PORT_GROUP_STALE, stray), (DriftKind.ACL_MISSING, gid)]
    )
    missing = next(d for d in report.drifts if d.kind is DriftKind.ACL_MISSING)
    assert rule_id in missing.message and match in missing.message
    assert all(d.fixable for d in report.drifts)
    assert len(audit.fix(report.drifts)) == 2
    assert audit.settle().clean
    assert acls(backend, pg) == wanted
    assert port_group(backend, pg_name(stray)) is None
    assert port_group(backend, operators) is not None  # not offpath's: left alone


def test_the_drop_groups_members_and_acls_and_a_changed_acl_are_repaired(
    ovn_http: TestClient, backend: OvnBackend, audit: OvnAudit
) -> None:
    gid = make_group(ovn_http)["id"]
    pg = pg_name(gid)
    network_id = make_network(ovn_http)
    port_id = grouped_port(ovn_http, network_id, [gid])
    open_port = grouped_port(ovn_http, network_id, [])
    wanted = acls(backend, pg)
    DROP_TO = "outport == @neutron_pg_drop && ip"  # noqa: N806
    egress4 = f"inport == @{pg} && ip4"
    backend.nb.execute(
        [
            backend.nb.api.pg_del_ports("neutron_pg_drop", [port_id]),
            backend.nb.api.pg_add_ports("neutron_pg_drop", [open_port]),
            backend.nb.api.pg_acl_del("neutron_pg_drop", "to-lport", 1001, DROP_TO),
            backend.nb.api.db_set(
                "ACL",
                next(r.uuid for r in backend.nb.rows("ACL") if r.match == egress4),
                ("action", "allow"),
            ),
        ]
    )  # fmt: skip
    drifts = audit.run().drifts
    assert sorted(d.key for d in drifts) == sorted(
        [
            (DriftKind.PORT_GROUP_DIFFERS, "neutron_pg_drop"),
            (DriftKind.ACL_MISSING, "neutron_pg_drop"),
            (DriftKind.ACL_DIFFERS, gid),
        ]
    )
    differs = next(d for d in drifts if d.kind is DriftKind.PORT_GROUP_DIFFERS).message
    assert f"{port_id} are not in it" in differs and f"{open_port} are in it" in differs
    assert "allow" in next(d for d in drifts if d.kind is DriftKind.ACL_DIFFERS).message
    assert len(audit.fix(drifts)) == 3
    assert audit.settle().clean
    assert acls(backend, pg) == wanted
    assert members(backend, "neutron_pg_drop") == {port_id}
    assert len(acls(backend, "neutron_pg_drop")) == 2


def test_a_port_group_deleted_behind_offpaths_back_is_written_again_with_its_members(
    ovn_http: TestClient, backend: OvnBackend, audit: OvnAudit
) -> None:
    gid = make_group(ovn_http)["id"]
    port_id = grouped_port(ovn_http, make_network(ovn_http), [gid])
    wanted = acls(backend, pg_name(gid))
    backend.nb.execute([backend.nb.api.pg_del(pg_name(gid))])
    assert found(audit) == [(DriftKind.PORT_GROUP_MISSING, gid)]
    assert audit.repair() != []
    assert audit.settle().clean
    assert acls(backend, pg_name(gid)) == wanted
    assert members(backend, pg_name(gid)) == {port_id}

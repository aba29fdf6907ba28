"""The compute API's view of security groups: shown from the ports, boot checks, add/remove."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from offpath.sim.fleet import fleet_reports
from tests.api.world import PROJECT, World

LATEST = {"OpenStack-API-Version": "compute 2.96"}


def _server(world: World, *group_ids: str, **extra: Any) -> tuple[str, str, Any]:
    world.cluster.report(fleet_reports(1, vfs=4))
    port = world.port()
    body = {
        "server": {
            "name": "vm1",
            "flavorRef": world.flavor(),
            "networks": [{"port": port}],
            **extra,
        }
    }
    response = world.client().post("/compute/v2.1/servers", json=body, headers=LATEST)
    assert response.status_code == 202, response.text
    server_id: str = response.json()["server"]["id"]
    ports = world.cluster.ports
    ports.ports[port] = replace(ports.ports[port], device_id=server_id, security_groups=group_ids)
    return server_id, port, response.json()


def _groups(world: World) -> None:
    world.cluster.ports.security_groups.update(
        {"g-default": (PROJECT, "default"), "g-web": (PROJECT, "web"), "g-other": ("other", "db")}
    )


def _shown(world: World, server_id: str) -> Any:
    response = world.client().get(f"/compute/v2.1/servers/{server_id}", headers=LATEST)
    return response.json()["server"]


def _action(world: World, server_id: str, body: Any) -> Any:
    path = f"/compute/v2.1/servers/{server_id}/action"
    return world.client().post(path, json=body, headers=LATEST)


def test_the_server_shows_its_ports_groups_by_name_once(world: World) -> None:
    _groups(world)
    server_id, _port, _ = _server(world, "g-default", "g-web")
    assert _shown(world, server_id)["security_groups"] == [{"name": "default"}, {"name": "web"}]
    listed = world.client().get("/compute/v2.1/servers/detail", headers=LATEST).json()
    assert listed["servers"][0]["security_groups"] == [{"name": "default"}, {"name": "web"}]


def test_no_group_on_any_port_leaves_the_key_out(world: World) -> None:
    server_id, _, _ = _server(world)
    assert "security_groups" not in _shown(world, server_id)


def test_a_create_naming_groups_answers_them_and_checks_they_exist(world: World) -> None:
    _groups(world)
    _, _, created = _server(world, security_groups=[{"name": "web"}])
    assert created["server"]["security_groups"] == [{"name": "web"}]
    world.cluster.report(fleet_reports(1, vfs=4))
    body = {
        "server": {
            "name": "vm2",
            "flavorRef": world.flavor(),
            "networks": [{"port": world.port()}],
            "security_groups": [{"name": "db"}],
        }
    }
    response = world.client().post("/compute/v2.1/servers", json=body, headers=LATEST)
    assert response.status_code == 400
    assert response.json()["badRequest"]["message"] == "Security group db not found."


def test_a_create_without_groups_answers_default(world: World) -> None:
    _, _, created = _server(world)
    assert created["server"]["security_groups"] == [{"name": "default"}]


def test_add_and_remove_a_group_on_every_port(world: World) -> None:
    _groups(world)
    server_id, port, _ = _server(world, "g-default")
    assert _action(world, server_id, {"addSecurityGroup": {"name": "web"}}).status_code == 202
    assert world.cluster.ports.ports[port].security_groups == ("g-default", "g-web")
    assert (
        _action(world, server_id, {"removeSecurityGroup": {"name": "g-default"}}).status_code == 202
    )
    assert world.cluster.ports.ports[port].security_groups == ("g-web",)
    missing = _action(world, server_id, {"removeSecurityGroup": {"name": "default"}})
    assert missing.status_code == 400
    assert missing.json()["badRequest"]["message"] == (
        f"Security group default not associated with the instance {server_id}"
    )


def test_adding_another_projects_group_is_a_404(world: World) -> None:
    _groups(world)
    server_id, _, _ = _server(world, "g-default")
    response = _action(world, server_id, {"addSecurityGroup": {"name": "db"}})
    assert response.status_code == 404
    assert response.json()["itemNotFound"]["message"] == (
        f"Security group db is not found for project {PROJECT}"
    )


def test_a_reader_may_not_add_a_group(world: World) -> None:
    _groups(world)
    server_id, _, _ = _server(world, "g-default")
    path = f"/compute/v2.1/servers/{server_id}/action"
    reader = world.client(roles="reader")
    response = reader.post(path, json={"addSecurityGroup": {"name": "web"}}, headers=LATEST)
    assert response.status_code == 403


def test_a_name_two_groups_share_is_nova_s_409(world: World) -> None:
    _groups(world)
    world.cluster.ports.security_groups["g-web-2"] = (PROJECT, "web")
    server_id, _, _ = _server(world, "g-default")
    response = _action(world, server_id, {"addSecurityGroup": {"name": "web"}})
    assert response.status_code == 409
    assert response.json()["conflictingRequest"]["message"] == (
        "Multiple security_group matches found for name 'web', use an ID to be more specific."
    )
    by_id = _action(world, server_id, {"addSecurityGroup": {"name": "g-web-2"}})
    assert by_id.status_code == 202

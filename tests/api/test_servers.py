"""Servers over HTTP: create, show, list, delete; each bad request a 4xx that leaves nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from offpath.pci.claims import DeviceStatus
from offpath.ports.vnic import VnicType
from offpath.sim.fleet import fleet_reports
from tests.api.world import World

LATEST = {"OpenStack-API-Version": "compute 2.96"}


def _create(
    world: World, *ports: str, flavor: str | None = None, **extra: object
) -> dict[str, Any]:
    body = {
        "server": {
            "name": "vm1",
            "flavorRef": flavor or world.flavor(),
            "networks": [{"port": port} for port in ports],
            **extra,
        }
    }
    response = world.client().post("/compute/v2.1/servers", json=body, headers=LATEST)
    return {"status": response.status_code, "body": response.json()}


def _claimed(world: World) -> list[str]:
    return [row.address for row in world.cluster.devices() if row.instance_uuid is not None]


def test_a_remote_managed_boot_lands_on_a_host_and_shows_it(world: World) -> None:
    world.cluster.report(fleet_reports(2, vfs=4))
    created = _create(world, world.port())
    assert created["status"] == 202
    server_id = created["body"]["server"]["id"]
    shown = world.client().get(f"/compute/v2.1/servers/{server_id}", headers=LATEST)
    server = shown.json()["server"]
    assert server["status"] == "BUILD"
    assert server["OS-EXT-SRV-ATTR:host"] in {"compute-00001", "compute-00002"}
    assert server["OS-EXT-STS:vm_state"] == "building"
    assert server["flavor"]["original_name"] == "m1.small"
    assert shown.headers["OpenStack-API-Version"] == "compute 2.96"
    assert len(_claimed(world)) == 1


def test_before_2_47_the_flavor_is_a_reference(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    flavor = world.flavor()
    server_id = _create(world, world.port(), flavor=flavor)["body"]["server"]["id"]
    shown = world.client().get(
        f"/compute/v2.1/servers/{server_id}", headers={"X-OpenStack-Nova-API-Version": "2.46"}
    )
    assert shown.json()["server"]["flavor"]["id"] == flavor
    assert shown.headers["X-OpenStack-Nova-API-Version"] == "2.46"


def test_no_capacity_is_an_error_server_whose_fault_says_why_per_host(world: World) -> None:
    world.cluster.report(fleet_reports(2, vfs=4))
    created = _create(world, world.port(VnicType.DIRECT))
    assert created["status"] == 202
    server_id = created["body"]["server"]["id"]
    server = world.client().get(f"/compute/v2.1/servers/{server_id}").json()["server"]
    assert server["status"] == "ERROR"
    assert server["fault"]["code"] == 500
    assert server["fault"]["message"].startswith("No valid host was found.")
    assert "2 hosts" in server["fault"]["message"] or "host" in server["fault"]["message"]
    assert server["fault"]["created"]
    assert _claimed(world) == []


def test_addresses_and_interfaces_come_from_the_bound_ports(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    port = world.port()
    server_id = _create(world, port)["body"]["server"]["id"]
    world.bind(port, server_id, "compute-00001")
    client = world.client()
    server = client.get(f"/compute/v2.1/servers/{server_id}").json()["server"]
    assert server["addresses"] == {
        "net-dpu": [
            {
                "version": 4,
                "addr": "10.0.0.5",
                "OS-EXT-IPS:type": "fixed",
                "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01",
            }
        ]
    }
    (attachment,) = client.get(f"/compute/v2.1/servers/{server_id}/os-interface").json()[
        "interfaceAttachments"
    ]
    assert attachment["port_id"] == port
    assert attachment["port_state"] == "ACTIVE"


def test_delete_frees_the_vf_and_the_server_is_gone(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    server_id = _create(world, world.port())["body"]["server"]["id"]
    client = world.client()
    assert client.delete(f"/compute/v2.1/servers/{server_id}").status_code == 204
    assert _claimed(world) == []
    assert {row.status for row in world.cluster.devices()} == {DeviceStatus.AVAILABLE}
    gone = client.get(f"/compute/v2.1/servers/{server_id}")
    assert gone.status_code == 404
    assert gone.json()["itemNotFound"]["message"] == f"Instance {server_id} could not be found."
    assert client.delete(f"/compute/v2.1/servers/{server_id}").status_code == 404


def test_lists_show_the_projects_servers_and_filter_by_name(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=8))
    mine = _create(world, world.port())["body"]["server"]["id"]
    theirs = world.client(project="other").post(
        "/compute/v2.1/servers",
        json={
            "server": {
                "name": "theirs",
                "flavorRef": world.flavor("m1.other"),
                "networks": [{"port": world.port(project="other")}],
            }
        },
        headers=LATEST,
    )
    assert theirs.status_code == 202
    client = world.client()
    listed = client.get("/compute/v2.1/servers").json()["servers"]
    assert [s["id"] for s in listed] == [mine]
    detail = client.get("/compute/v2.1/servers/detail?deleted=False&name=^vm").json()["servers"]
    assert [s["name"] for s in detail] == ["vm1"]
    assert client.get("/compute/v2.1/servers/detail?name=nomatch").json()["servers"] == []
    everyone = client.get("/compute/v2.1/servers?all_tenants=1").json()["servers"]
    assert len(everyone) == 2


def test_another_projects_server_is_not_found(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    server_id = _create(world, world.port())["body"]["server"]["id"]
    other = world.client(project="other", roles="member,reader")
    assert other.get(f"/compute/v2.1/servers/{server_id}").status_code == 404
    assert other.delete(f"/compute/v2.1/servers/{server_id}").status_code == 404
    assert len(_claimed(world)) == 1


@pytest.mark.parametrize(
    ("who", "message"),
    [
        pytest.param("unknown", "Port id {port} could not be found.", id="unknown-port"),
        pytest.param("other-project", "Port id {port} could not be found.", id="other-project"),
    ],
)
def test_a_port_the_caller_cannot_see_is_a_bad_request(
    world: World, who: str, message: str
) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    port = str(uuid.uuid4()) if who == "unknown" else world.port(project="other")
    created = _create(world, port)
    assert created["status"] == 400
    assert created["body"] == {"badRequest": {"code": 400, "message": message.format(port=port)}}
    assert _claimed(world) == []
    assert world.client().get("/compute/v2.1/servers").json()["servers"] == []


def test_a_port_in_use_is_a_conflict(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    port = world.port()
    first = _create(world, port)["body"]["server"]["id"]
    world.bind(port, first, "compute-00001")
    again = _create(world, port)
    assert again["status"] == 409
    assert again["body"]["conflictingRequest"]["message"] == f"Port {port} is still in use."
    assert len(_claimed(world)) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b"{not json", "Malformed request body", id="malformed-json"),
        pytest.param(b"[1, 2]", "Malformed request body", id="not-an-object"),
        pytest.param(
            b'{"server": {"name": "vm"}}',
            "Invalid input for field/attribute flavorRef. 'flavorRef' is a required property",
            id="no-flavor",
        ),
        pytest.param(
            b'{"server": {"name": "vm", "flavorRef": "1", "networks": [{"port": "x"}]}}',
            "Invalid input for field/attribute port.",
            id="port-not-uuid",
        ),
    ],
)
def test_a_malformed_body_is_a_400_never_a_422(world: World, body: bytes, message: str) -> None:
    response = world.client().post(
        "/compute/v2.1/servers",
        content=body,
        headers={"Content-Type": "application/json", **LATEST},
    )
    assert response.status_code == 400
    assert response.json()["badRequest"]["message"].startswith(message)


def test_networks_are_required_from_2_37(world: World) -> None:
    body = {"server": {"name": "vm", "flavorRef": world.flavor()}}
    response = world.client().post("/compute/v2.1/servers", json=body, headers=LATEST)
    assert response.status_code == 400
    assert "'networks' is a required property" in response.json()["badRequest"]["message"]


def test_networks_none_boots_without_ports_and_auto_is_refused(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    client = world.client()
    flavor = world.flavor()
    none = client.post(
        "/compute/v2.1/servers",
        json={"server": {"name": "vm", "flavorRef": flavor, "networks": "none"}},
        headers=LATEST,
    )
    assert none.status_code == 202
    auto = client.post(
        "/compute/v2.1/servers",
        json={"server": {"name": "vm", "flavorRef": flavor, "networks": "auto"}},
        headers=LATEST,
    )
    assert auto.status_code == 400
    assert auto.json()["badRequest"]["message"] == (
        "Unable to automatically allocate a network for project demo"
    )


def test_an_unknown_flavor_or_image_is_nova_s_400(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    bad_flavor = _create(world, world.port(), flavor="no-such-flavor")
    assert bad_flavor["body"] == {
        "badRequest": {"code": 400, "message": "Invalid flavorRef provided."}
    }
    bad_image = _create(world, world.port(), imageRef=str(uuid.uuid4()))
    assert bad_image["body"] == {
        "badRequest": {"code": 400, "message": "Can not find requested image"}
    }
    assert _claimed(world) == []


def test_the_version_gate_over_http(world: World) -> None:
    world.cluster.report(fleet_reports(2, vfs=4), version=1)
    created = _create(world, world.port())
    assert created["status"] == 400
    assert created["body"]["badRequest"]["message"] == (
        "Remote-managed ports are not supported until an upgrade is fully finished."
    )
    assert _claimed(world) == []


def test_no_compute_service_at_all_is_its_own_error(world: World) -> None:
    created = _create(world, world.port())
    assert created["status"] == 503
    assert created["body"]["serviceUnavailable"]["message"] == (
        "no compute service is registered in any cell"
    )


def test_a_direct_port_passes_the_gate_whatever_the_versions(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=4), version=1)
    assert _create(world, world.port(VnicType.DIRECT))["status"] == 202

"""Servers over HTTP: create, show, list, delete; each bad request a 4xx that leaves nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from offpath.pci.claims import DeviceStatus
from offpath.ports.vnic import VnicType
from offpath.sim.fleet import fleet_reports
from tests.api.world import PROJECT, World

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


@pytest.mark.parametrize(
    ("version", "shown", "hidden"),
    [
        pytest.param("2.1", set(), {"locked", "description", "tags", "host_status"}, id="2.1"),
        pytest.param("2.9", {"locked"}, {"host_status", "description"}, id="2.9"),
        pytest.param("2.26", {"locked", "host_status", "description", "tags"}, set(), id="2.26"),
        pytest.param(
            "2.96",
            {"trusted_image_certificates", "server_groups", "locked_reason"},
            set(),
            id="2.96",
        ),
    ],
)
def test_a_server_shows_each_key_from_its_microversion_on(
    world: World, version: str, shown: set[str], hidden: set[str]
) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    server_id = _create(world, world.port())["body"]["server"]["id"]
    headers = {"X-OpenStack-Nova-API-Version": version}
    server = world.client().get(f"/compute/v2.1/servers/{server_id}", headers=headers).json()
    (listed,) = (
        world.client().get("/compute/v2.1/servers/detail", headers=headers).json()["servers"]
    )
    for body in (server["server"], listed):
        assert shown - {"server_groups"} <= set(body)
        assert not hidden & set(body)
        assert not [key for key in body if key.startswith("offpath:")]
    # A server's groups are shown with the server alone, never in a list.
    assert ("server_groups" in server["server"]) == ("server_groups" in shown)
    assert "server_groups" not in listed


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


def _image(world: World) -> str:
    client = world.client()
    image_id = str(client.post("/image/v2/images", json={"name": "img"}).json()["id"])
    client.put(f"/image/v2/images/{image_id}/file", content=b"data")
    return image_id


def test_a_server_list_takes_nova_s_flavor_image_marker_and_limit(world: World) -> None:
    world.cluster.report(fleet_reports(2, vfs=4))
    small, large, image = world.flavor("m1.small"), world.flavor("m1.large"), _image(world)
    first = _create(world, world.port(), flavor=small, imageRef=image)["body"]["server"]["id"]
    second = _create(world, world.port(), flavor=large)["body"]["server"]["id"]

    def ids(query: str) -> list[str]:
        answer = world.client().get(f"/compute/v2.1/servers/detail?{query}", headers=LATEST)
        assert answer.status_code == 200, answer.text
        return [s["id"] for s in answer.json()["servers"]]

    everything = ids("")
    assert set(everything) == {first, second}
    assert ids(f"flavor={small}") == [first]
    assert ids(f"image={image}") == [first]
    assert ids(f"flavor={uuid.uuid4()}") == []
    assert ids("limit=1") == everything[:1]
    assert ids("limit=0") == []
    assert ids(f"marker={everything[0]}") == everything[1:]
    assert ids("changes-since=2000-01-01T00:00:00Z") == everything
    assert ids("changes-since=2999-01-01T00:00:00Z") == []


@pytest.mark.parametrize(
    "query",
    [
        "limit=-1",
        "limit=two",
        "marker=00000000-0000-4000-8000-00000000dead",
        "changes-since=yesterday",
    ],
)
def test_a_bad_server_list_query_is_a_400(world: World, query: str) -> None:
    answer = world.client().get(f"/compute/v2.1/servers?{query}")
    assert answer.status_code == 400
    assert answer.json()["badRequest"]["message"]


def test_a_create_answers_with_the_admin_password_asked_for(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    created = _create(world, world.port(), adminPass="testpassword")
    assert created["body"]["server"]["adminPass"] == "testpassword"


@pytest.mark.parametrize("action", ["forceDelete", "os-getConsoleOutput", "reboot"])
def test_an_action_on_a_missing_server_is_a_404_whatever_the_action(
    world: World, action: str
) -> None:
    missing = uuid.uuid4()
    answer = world.client().post(f"/compute/v2.1/servers/{missing}/action", json={action: {}})
    assert answer.status_code == 404
    assert answer.json()["itemNotFound"]["message"] == f"Instance {missing} could not be found."


def test_an_instance_action_shows_updated_at_from_2_58(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    server_id = _create(world, world.port())["body"]["server"]["id"]
    path = f"/compute/v2.1/servers/{server_id}/os-instance-actions"
    for version, shown in (("2.57", False), ("2.58", True)):
        headers = {"X-OpenStack-Nova-API-Version": version}
        (listed,) = world.client().get(path, headers=headers).json()["instanceActions"]
        one = world.client().get(f"{path}/{listed['request_id']}", headers=headers).json()
        assert ("updated_at" in listed, "updated_at" in one["instanceAction"]) == (shown, shown)


def test_an_update_renames_the_server_and_answers_with_it(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    server_id = _create(world, world.port())["body"]["server"]["id"]
    path = f"/compute/v2.1/servers/{server_id}"
    early = world.client().put(path, json={"server": {"name": "renamed"}})
    assert early.status_code == 200
    assert early.json()["server"]["name"] == "renamed"
    # Before 2.75 the answer is Nova's short one; from 2.75 on, the server as a show has it.
    assert "OS-EXT-STS:vm_state" not in early.json()["server"]
    late = world.client().put(path, json={"server": {"name": "again"}}, headers=LATEST)
    assert "OS-EXT-STS:vm_state" in late.json()["server"]
    assert world.client().get(path).json()["server"]["name"] == "again"


@pytest.mark.parametrize(
    "server",
    [
        pytest.param({"name": ""}, id="empty"),
        pytest.param({"name": "x" * 256}, id="too-long"),
        pytest.param({"name": " padded"}, id="leading-blank"),
        pytest.param({"accessIPv4": "1.1.1.1"}, id="not-kept"),
    ],
)
def test_a_bad_update_is_a_400_and_changes_nothing(world: World, server: dict[str, str]) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    server_id = _create(world, world.port())["body"]["server"]["id"]
    path = f"/compute/v2.1/servers/{server_id}"
    assert world.client().put(path, json={"server": server}).status_code == 400
    assert world.client().get(path).json()["server"]["name"] == "vm1"


def test_an_update_of_another_project_s_server_is_a_404(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    server_id = _create(world, world.port())["body"]["server"]["id"]
    answer = world.client(project="other", roles="member,reader").put(
        f"/compute/v2.1/servers/{server_id}", json={"server": {"name": "mine"}}
    )
    assert answer.status_code == 404


def test_a_multiple_create_boots_max_count_servers_named_by_number(world: World) -> None:
    world.cluster.report(fleet_reports(2, vfs=4))
    created = _create(world, min_count=2, max_count=3, networks="none")
    assert created["status"] == 202
    listed = world.client().get("/compute/v2.1/servers", headers=LATEST).json()["servers"]
    assert sorted(s["name"] for s in listed) == ["vm1-1", "vm1-2", "vm1-3"]
    assert created["body"]["server"]["id"] in {s["id"] for s in listed}


def test_a_min_count_alone_boots_that_many(world: World) -> None:
    world.cluster.report(fleet_reports(2, vfs=4))
    assert _create(world, min_count=2, networks="none")["status"] == 202
    listed = world.client().get("/compute/v2.1/servers", headers=LATEST).json()["servers"]
    assert sorted(s["name"] for s in listed) == ["vm1-1", "vm1-2"]


def test_a_server_shows_its_progress_only_while_active_or_moving(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    server_id = _create(world, world.port())["body"]["server"]["id"]
    path = f"/compute/v2.1/servers/{server_id}"
    shown = world.client().get(path).json()["server"]
    assert (shown["status"], shown["progress"]) == ("BUILD", 0)
    world.client().delete(path)
    gone = world.client().get("/compute/v2.1/servers/detail?deleted=true").json()["servers"]
    assert [s for s in gone if s["id"] == server_id and "progress" in s] == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param({"min_count": 3, "max_count": 2}, "min_count must be <= max_count", id="min"),
        pytest.param(
            {"max_count": 2, "port": True},
            "Unable to launch multiple instances with a single configured port ID.",
            id="port",
        ),
    ],
)
def test_a_bad_multiple_create_is_a_400_and_boots_nothing(
    world: World, extra: dict[str, Any], message: str
) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    ports = (world.port(),) if extra.pop("port", False) else ()
    created = _create(world, *ports, **extra) if ports else _create(world, networks="none", **extra)
    assert created["status"] == 400
    assert created["body"]["badRequest"]["message"].startswith(message)
    assert world.client().get("/compute/v2.1/servers").json()["servers"] == []


def test_a_flavor_smaller_than_the_image_needs_is_refused(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    client = world.client()
    image_id = client.post("/image/v2/images", json={"name": "big", "min_ram": 999999}).json()["id"]
    client.put(f"/image/v2/images/{image_id}/file", content=b"data")
    created = _create(world, world.port(), imageRef=image_id)
    assert created["status"] == 400
    assert created["body"]["badRequest"]["message"] == (
        "Flavor's memory is too small for requested image."
    )


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"accessIPv4": "1.1.1.1.1"}, id="access-ipv4"),
        pytest.param({"accessIPv6": "2001:db8::1::2"}, id="access-ipv6"),
        pytest.param({"metadata": {"k" * 256: "v"}}, id="metadata-key"),
        pytest.param({"metadata": {"k": "v" * 256}}, id="metadata-value"),
    ],
)
def test_a_create_with_a_bad_access_address_or_metadata_is_a_400(
    world: World, extra: dict[str, Any]
) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    assert _create(world, world.port(), **extra)["status"] == 400
    assert world.client().get("/compute/v2.1/servers").json()["servers"] == []


def test_a_create_with_good_access_addresses_and_metadata_is_accepted(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    extra: dict[str, Any] = {
        "accessIPv4": "1.1.1.1",
        "accessIPv6": "::babe:1",
        "metadata": {"k": "v"},
    }
    assert _create(world, world.port(), **extra)["status"] == 202


def test_a_server_shows_the_user_who_booted_it(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    body = {"server": {"name": "vm1", "flavorRef": world.flavor(), "networks": "none"}}
    user = uuid.uuid4().hex
    booted = world.client().post(
        "/compute/v2.1/servers", json=body, headers={**LATEST, "X-User-Id": user}
    )
    assert booted.status_code == 202, booted.text
    server_id = booted.json()["server"]["id"]
    shown = world.client().get(f"/compute/v2.1/servers/{server_id}", headers=LATEST)
    assert shown.json()["server"]["user_id"] == user
    (listed,) = world.client().get("/compute/v2.1/servers/detail").json()["servers"]
    assert (listed["user_id"], listed["tenant_id"]) == (user, PROJECT)

"""Flavors with extra specs, services, hypervisors, and instance actions over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from offpath.db.cell_schema import ServiceRow
from offpath.db.columns import utcnow
from offpath.db.engine import writing
from offpath.sim.fleet import fleet_reports
from offpath.version import SERVICE_VERSION
from tests.api.world import World

FLAVORS = "/compute/v2.1/flavors"
V61 = {"OpenStack-API-Version": "compute 2.61"}


def test_a_flavor_created_as_the_cli_does_gets_a_uuid_and_its_extra_specs(world: World) -> None:
    client = world.client()
    created = client.post(
        FLAVORS,
        json={
            "flavor": {
                "id": None,
                "name": "m1.dpu",
                "ram": 1024,
                "vcpus": 2,
                "disk": 10,
                "swap": 0,
                "OS-FLV-EXT-DATA:ephemeral": 0,
                "os-flavor-access:is_public": True,
            }
        },
        headers=V61,
    )
    assert created.status_code == 200
    flavor = created.json()["flavor"]
    assert len(flavor["id"]) == 36
    assert (flavor["ram"], flavor["vcpus"], flavor["disk"]) == (1024, 2, 10)
    specs = client.post(
        f"{FLAVORS}/{flavor['id']}/os-extra_specs",
        json={"extra_specs": {"hw:numa_nodes": "1"}},
    )
    assert specs.json() == {"extra_specs": {"hw:numa_nodes": "1"}}
    listed = client.get(f"{FLAVORS}/detail?is_public=None", headers=V61).json()["flavors"]
    assert [(f["name"], f["extra_specs"]) for f in listed] == [("m1.dpu", {"hw:numa_nodes": "1"})]
    assert client.get(f"{FLAVORS}/{flavor['id']}/os-extra_specs/hw:numa_nodes").json() == {
        "hw:numa_nodes": "1"
    }
    assert (
        client.delete(f"{FLAVORS}/{flavor['id']}/os-extra_specs/hw:numa_nodes").status_code == 200
    )
    assert client.get(f"{FLAVORS}/{flavor['id']}/os-extra_specs").json() == {"extra_specs": {}}
    assert client.delete(f"{FLAVORS}/{flavor['id']}").status_code == 202
    assert client.get(f"{FLAVORS}/{flavor['id']}").status_code == 404


def test_a_look_up_by_name_is_a_404_then_the_list_has_it(world: World) -> None:
    world.flavor("m1.small")
    client = world.client()
    missing = client.get(f"{FLAVORS}/m1.small")
    assert missing.status_code == 404
    assert missing.json()["itemNotFound"]["message"] == "Flavor m1.small could not be found."
    names = [f["name"] for f in client.get(f"{FLAVORS}?is_public=True").json()["flavors"]]
    assert names == ["m1.small"]


def test_an_extra_spec_a_boot_cannot_read_is_refused(world: World) -> None:
    flavor = world.flavor()
    response = world.client().put(
        f"{FLAVORS}/{flavor}/os-extra_specs/hw:pci_numa_affinity_policy",
        json={"hw:pci_numa_affinity_policy": "sometimes"},
    )
    assert response.status_code == 400
    assert "hw:pci_numa_affinity_policy" in response.json()["badRequest"]["message"]


def test_a_flavor_name_taken_is_a_conflict(world: World) -> None:
    world.flavor("m1.small")
    response = world.client().post(
        FLAVORS, json={"flavor": {"name": "m1.small", "ram": 1, "vcpus": 1, "disk": 0}}
    )
    assert response.status_code == 409
    assert response.json()["conflictingRequest"]["message"] == (
        "Flavor with name m1.small already exists."
    )


def test_a_flavor_id_may_be_a_number_kept_as_its_text(world: World) -> None:
    body = {"flavor": {"id": 4242, "name": "numbered", "ram": 64, "vcpus": 1, "disk": 0}}
    created = world.client().post(FLAVORS, json=body)
    assert created.status_code == 200
    assert created.json()["flavor"]["id"] == "4242"
    assert world.client().get(f"{FLAVORS}/4242").json()["flavor"]["name"] == "numbered"


def _flavors(world: World) -> None:
    for flavor_id, ram, disk in (("1", 64, 0), ("2", 128, 1), ("3", 256, 2)):
        body = {"flavor": {"id": flavor_id, "name": f"f{flavor_id}", "ram": ram, "vcpus": 1}}
        body["flavor"]["disk"] = disk
        assert world.client().post(FLAVORS, json=body).status_code == 200


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        pytest.param("", ["1", "2", "3"], id="all"),
        pytest.param("?minRam=128", ["2", "3"], id="min-ram"),
        pytest.param("?minDisk=2", ["3"], id="min-disk"),
        pytest.param("?marker=1", ["2", "3"], id="marker"),
        pytest.param("?limit=1", ["1"], id="limit"),
        pytest.param("?marker=1&limit=1", ["2"], id="page"),
    ],
)
def test_a_flavor_list_takes_nova_s_filters_and_pages(
    world: World, query: str, ids: list[str]
) -> None:
    _flavors(world)
    for path in (FLAVORS, f"{FLAVORS}/detail"):
        listed = world.client().get(f"{path}{query}").json()["flavors"]
        assert [f["id"] for f in listed] == ids


@pytest.mark.parametrize(
    ("query", "message"),
    [("?marker=9", "marker [9] not found"), ("?minRam=big", "Invalid minRam filter [big]")],
)
def test_a_bad_flavor_list_query_is_a_400(world: World, query: str, message: str) -> None:
    _flavors(world)
    answer = world.client().get(f"{FLAVORS}{query}")
    assert answer.status_code == 400
    assert answer.json()["badRequest"]["message"] == message


def test_services_show_state_and_version_across_cells(world: World) -> None:
    world.cluster.report(fleet_reports(2, vfs=2))
    with writing(world.cluster.cells.engine(world.cluster.cell())) as session:
        session.execute(
            update(ServiceRow)
            .where(ServiceRow.host == "compute-00002")
            .values(last_seen_up=utcnow() - timedelta(hours=1))
        )
    services = (
        world.client()
        .get("/compute/v2.1/os-services", headers={"OpenStack-API-Version": "compute 2.69"})
        .json()["services"]
    )
    assert [(s["host"], s["state"], s["status"]) for s in services] == [
        ("compute-00001", "up", "enabled"),
        ("compute-00002", "down", "enabled"),
    ]
    assert all(len(s["id"]) == 36 and s["forced_down"] is False for s in services)
    # Nova's body has no version nor cell: offpath's own host view has them.
    assert not [s for s in services if {"version", "cell"} & set(s)]
    hosts = world.client().get("/offpath/v1/hosts").json()["hosts"]
    assert [(h["cell"], h["service"]["version"]) for h in hosts] == [
        ("cell1", SERVICE_VERSION),
        ("cell1", SERVICE_VERSION),
    ]
    hypervisors = world.client().get("/compute/v2.1/os-hypervisors/detail").json()["hypervisors"]
    assert [(h["hypervisor_hostname"], h["state"]) for h in hypervisors] == [
        ("compute-00001", "up"),
        ("compute-00002", "down"),
    ]
    assert hypervisors[0]["service"]["id"] == services[0]["id"]


@pytest.mark.parametrize(
    ("version", "cpu_info"), [("2.1", "{}"), ("2.28", {}), ("2.87", {}), ("2.88", None)]
)
def test_a_hypervisor_shows_nova_s_keys_of_its_microversion(
    world: World, version: str, cpu_info: object
) -> None:
    world.cluster.report(fleet_reports(1, vfs=2))
    headers = {"X-OpenStack-Nova-API-Version": version}
    (listed,) = (
        world.client()
        .get("/compute/v2.1/os-hypervisors/detail", headers=headers)
        .json()["hypervisors"]
    )
    shown = world.client().get(f"/compute/v2.1/os-hypervisors/{listed['id']}", headers=headers)
    assert shown.json()["hypervisor"] == listed
    assert not [key for key in listed if key.startswith("offpath:")]
    assert listed.get("cpu_info") == cpu_info
    assert ("uptime" in listed, "vcpus" in listed) == (cpu_info is None, cpu_info is not None)


def test_an_unknown_hypervisor_is_nova_s_404(world: World) -> None:
    shown = world.client().get("/compute/v2.1/os-hypervisors/nope")
    assert shown.status_code == 404
    assert (
        shown.json()["itemNotFound"]["message"] == "Hypervisor with ID 'nope' could not be found."
    )


def test_the_hypervisor_statistics_uptime_search_and_servers(world: World) -> None:
    world.cluster.report(fleet_reports(2, vfs=2))
    client = world.client()
    stats = client.get("/compute/v2.1/os-hypervisors/statistics").json()
    assert stats["hypervisor_statistics"]["count"] == 2
    node = client.get("/compute/v2.1/os-hypervisors").json()["hypervisors"][0]
    uptime = client.get(f"/compute/v2.1/os-hypervisors/{node['id']}/uptime").json()
    assert uptime["hypervisor"] == {**node, "uptime": None}
    found = client.get("/compute/v2.1/os-hypervisors/00002/search").json()["hypervisors"]
    assert [h["hypervisor_hostname"] for h in found] == ["compute-00002"]
    nobody = client.get("/compute/v2.1/os-hypervisors/compute/servers").json()["hypervisors"]
    assert all("servers" not in h for h in nobody) and len(nobody) == 2
    body = {"server": {"name": "vm", "flavorRef": world.flavor(), "networks": "none"}}
    server_id = client.post(
        "/compute/v2.1/servers", json=body, headers={"X-OpenStack-Nova-API-Version": "2.37"}
    ).json()["server"]["id"]
    host = client.get(f"/compute/v2.1/servers/{server_id}").json()["server"]["OS-EXT-SRV-ATTR:host"]
    with_servers = client.get(f"/compute/v2.1/os-hypervisors/{host}/servers").json()
    assert [h["servers"] for h in with_servers["hypervisors"]] == [
        [{"uuid": server_id, "name": "vm"}]
    ]
    missing = client.get("/compute/v2.1/os-hypervisors/nowhere/search")
    assert missing.json()["itemNotFound"]["message"] == (
        "No hypervisor matching 'nowhere' could be found."
    )


def test_the_hypervisor_routes_nova_removed_are_gone_after_their_version(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=2))
    client = world.client()
    late = {"X-OpenStack-Nova-API-Version": "2.88"}
    assert client.get("/compute/v2.1/os-hypervisors/statistics", headers=late).status_code == 404
    middle = {"X-OpenStack-Nova-API-Version": "2.53"}
    path = "/compute/v2.1/os-hypervisors/compute/search"
    assert client.get(path, headers=middle).status_code == 404


def test_before_2_11_a_service_has_no_forced_down(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=2))
    (service,) = world.client().get("/compute/v2.1/os-services").json()["services"]
    assert set(service) == {
        *("id", "binary", "host", "zone", "status", "state", "updated_at", "disabled_reason"),
    }


def test_instance_actions_show_the_build_events(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=2))
    client = world.client()
    created = client.post(
        "/compute/v2.1/servers",
        json={
            "server": {
                "name": "vm",
                "flavorRef": world.flavor(),
                "networks": [{"port": world.port()}],
            }
        },
        headers={"OpenStack-API-Version": "compute 2.96"},
    )
    server_id = created.json()["server"]["id"]
    request_id = created.headers["X-Compute-Request-ID"]
    actions = client.get(f"/compute/v2.1/servers/{server_id}/os-instance-actions").json()
    assert [(a["action"], a["request_id"]) for a in actions["instanceActions"]] == [
        ("create", request_id)
    ]
    shown = client.get(
        f"/compute/v2.1/servers/{server_id}/os-instance-actions/{request_id}",
        headers={"OpenStack-API-Version": "compute 2.84"},
    ).json()["instanceAction"]
    assert [(e["event"], e["result"]) for e in shown["events"]] == [
        ("conductor_schedule_and_build_instances", "Success")
    ]
    assert "details" in shown["events"][0]
    assert (
        client.get(f"/compute/v2.1/servers/{server_id}/os-instance-actions/req-nope").status_code
        == 404
    )


def test_a_private_flavor_is_the_admin_s_alone(world: World) -> None:
    admin = world.client(roles="admin,member,reader")
    member = world.client(roles="member,reader")
    created = admin.post(
        FLAVORS,
        json={
            "flavor": {
                "name": "private",
                "ram": 64,
                "vcpus": 1,
                "disk": 0,
                "os-flavor-access:is_public": False,
            }
        },
    )
    flavor_id = created.json()["flavor"]["id"]
    assert admin.get(f"{FLAVORS}/{flavor_id}").status_code == 200
    missing = member.get(f"{FLAVORS}/{flavor_id}")
    assert missing.status_code == 404
    assert missing.json()["itemNotFound"]["message"] == f"Flavor {flavor_id} could not be found."
    listed = member.get(f"{FLAVORS}?is_public=false").json()["flavors"]
    assert flavor_id not in [f["id"] for f in listed]
    assert flavor_id in [f["id"] for f in admin.get(f"{FLAVORS}?is_public=false").json()["flavors"]]
    booted = member.post(
        "/compute/v2.1/servers",
        json={
            "server": {"name": "vm", "flavorRef": flavor_id, "networks": [{"port": world.port()}]}
        },
    )
    assert booted.status_code == 400
    assert booted.json()["badRequest"]["message"] == "Invalid flavorRef provided."

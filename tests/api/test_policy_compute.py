"""The compute API's policy: readers read, members act in their project, managers move, admins
everywhere; another project's server is a 404, a refusal Nova's 403."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from offpath.sim.fleet import fleet_reports
from tests.api.world import PROJECT, World

LATEST = {"OpenStack-API-Version": "compute 2.96"}
READER = "reader"
MEMBER = "member,reader"
MANAGER = "manager,member,reader"
ADMIN = "admin,member,reader"


def forbidden(rule: str) -> dict[str, Any]:
    """Nova's 403 body for `rule`."""
    return {"forbidden": {"code": 403, "message": f"Policy doesn't allow {rule} to be performed."}}


def _boot(world: World, client: TestClient) -> Any:
    body = {
        "server": {"name": "vm", "flavorRef": world.flavor(), "networks": [{"port": world.port()}]}
    }
    return client.post("/compute/v2.1/servers", json=body, headers=LATEST)


@pytest.fixture
def server(world: World) -> str:
    """A server of PROJECT, booted by one of its members."""
    world.cluster.report(fleet_reports(1, vfs=4))
    created = _boot(world, world.client(roles=MEMBER))
    assert created.status_code == 202, created.text
    server_id: str = created.json()["server"]["id"]
    return server_id


def test_a_reader_lists_and_shows_but_cannot_create_or_delete(world: World, server: str) -> None:
    reader = world.client(roles=READER)
    assert [s["id"] for s in reader.get("/compute/v2.1/servers").json()["servers"]] == [server]
    assert reader.get(f"/compute/v2.1/servers/{server}").status_code == 200
    refused = _boot(world, reader)
    assert (refused.status_code, refused.json()) == (
        403,
        forbidden("os_compute_api:servers:create"),
    )
    deleted = reader.delete(f"/compute/v2.1/servers/{server}")
    assert deleted.json() == forbidden("os_compute_api:servers:delete")
    stop = reader.post(f"/compute/v2.1/servers/{server}/action", json={"os-stop": None})
    assert stop.json() == forbidden("os_compute_api:servers:stop")


@pytest.mark.parametrize("roles", [READER, MEMBER, MANAGER])
def test_another_projects_server_is_not_found_never_forbidden(
    world: World, server: str, roles: str
) -> None:
    other = world.client(project="other", roles=roles)
    assert other.get(f"/compute/v2.1/servers/{server}").status_code == 404
    assert other.delete(f"/compute/v2.1/servers/{server}").status_code == 404
    action = other.post(f"/compute/v2.1/servers/{server}/action", json={"migrate": None})
    assert action.status_code == 404
    assert other.get(f"/compute/v2.1/servers/{server}/os-interface").status_code == 404
    assert other.get("/compute/v2.1/servers").json()["servers"] == []


def test_an_admin_of_another_project_reaches_the_server_and_lists_all_with_all_tenants(
    world: World, server: str
) -> None:
    admin = world.client(project="other", roles=ADMIN)
    shown = admin.get(f"/compute/v2.1/servers/{server}").json()["server"]
    assert shown["tenant_id"] == PROJECT
    assert admin.get("/compute/v2.1/servers").json()["servers"] == []
    everyone = admin.get("/compute/v2.1/servers/detail?all_tenants=1").json()["servers"]
    assert [s["id"] for s in everyone] == [server]


def test_an_admin_s_tenant_id_filter_counts_with_all_tenants_only(
    world: World, server: str
) -> None:
    admin = world.client(project="other", roles=ADMIN)
    alone = admin.get(f"/compute/v2.1/servers/detail?tenant_id={PROJECT}").json()["servers"]
    assert alone == []
    listed = admin.get(f"/compute/v2.1/servers?all_tenants=&tenant_id={PROJECT}").json()
    assert [s["id"] for s in listed["servers"]] == [server]
    own = admin.get("/compute/v2.1/servers?all_tenants=1&tenant_id=other").json()["servers"]
    assert own == []


def test_all_tenants_is_the_admins(world: World, server: str) -> None:
    member = world.client(roles=MEMBER)
    listed = member.get("/compute/v2.1/servers?all_tenants=1")
    assert listed.json() == forbidden("os_compute_api:servers:index:get_all_tenants")
    detail = member.get("/compute/v2.1/servers/detail?all_tenants=true")
    assert detail.json() == forbidden("os_compute_api:servers:detail:get_all_tenants")


@pytest.mark.parametrize(
    ("action", "rule"),
    [
        pytest.param(
            {"os-resetState": {"state": "error"}}, "os-admin-actions:reset_state", id="reset"
        ),
        pytest.param({"evacuate": {}}, "os-evacuate", id="evacuate"),
        pytest.param(
            {"injectNetworkInfo": None}, "os-admin-actions:inject_network_info", id="inject"
        ),
        pytest.param({"shelveOffload": None}, "os-shelve:shelve_offload", id="offload"),
        pytest.param({"migrate": None}, "os-migrate-server:migrate", id="migrate"),
        pytest.param(
            {"os-migrateLive": {"host": None, "block_migration": "auto"}},
            "os-migrate-server:migrate_live",
            id="live",
        ),
    ],
)
def test_a_member_cannot_run_the_admins_or_managers_actions(
    world: World, server: str, action: dict[str, Any], rule: str
) -> None:
    response = world.client(roles=MEMBER).post(
        f"/compute/v2.1/servers/{server}/action", json=action, headers=LATEST
    )
    assert (response.status_code, response.json()) == (403, forbidden(f"os_compute_api:{rule}"))


def test_the_admin_injects_network_info_and_the_server_is_unchanged(
    world: World, server: str
) -> None:
    url = f"/compute/v2.1/servers/{server}"
    before = world.client().get(url, headers=LATEST).json()["server"]
    admin = world.client(project="other", roles=ADMIN)
    injected = admin.post(f"{url}/action", json={"injectNetworkInfo": None}, headers=LATEST)
    assert (injected.status_code, injected.content) == (202, b"")
    after = world.client().get(url, headers=LATEST).json()["server"]
    assert (after["status"], after["OS-EXT-STS:task_state"]) == (
        before["status"],
        before["OS-EXT-STS:task_state"],
    )
    missing = admin.post(
        "/compute/v2.1/servers/00000000-0000-4000-8000-000000000000/action",
        json={"injectNetworkInfo": None},
    )
    assert missing.status_code == 404


def test_a_manager_migrates_but_only_the_admin_names_the_host(world: World, server: str) -> None:
    manager = world.client(roles=MANAGER)
    url = f"/compute/v2.1/servers/{server}/action"
    # Past the policy: this app has no compute RPC wired, hence 503.
    assert manager.post(url, json={"migrate": None}, headers=LATEST).status_code == 503
    named = manager.post(url, json={"migrate": {"host": "compute-00002"}}, headers=LATEST)
    assert named.json() == forbidden("os_compute_api:os-migrate-server:migrate:host")
    old = {"OpenStack-API-Version": "compute 2.55"}
    # Before 2.56 the host is not read, so its rule is not asked.
    assert manager.post(url, json={"migrate": {"host": "h"}}, headers=old).status_code == 503
    admin = world.client(roles=ADMIN)
    assert admin.post(url, json={"migrate": {"host": "h"}}, headers=LATEST).status_code == 503


@pytest.mark.parametrize(
    ("method", "path", "rule"),
    [
        pytest.param("GET", "/os-services", "os-services:list", id="services"),
        pytest.param("GET", "/os-hypervisors", "os-hypervisors:list", id="hypervisors"),
        pytest.param(
            "GET", "/os-hypervisors/detail", "os-hypervisors:list-detail", id="hypervisors-detail"
        ),
        pytest.param("DELETE", "/flavors/any", "os-flavor-manage:delete", id="flavor-delete"),
    ],
)
def test_the_admin_apis_refuse_a_member(world: World, method: str, path: str, rule: str) -> None:
    response = world.client(roles=MEMBER).request(method, f"/compute/v2.1{path}", headers=LATEST)
    assert (response.status_code, response.json()) == (403, forbidden(f"os_compute_api:{rule}"))


def test_a_reader_reads_flavors_and_their_extra_specs_but_only_the_admin_writes(
    world: World,
) -> None:
    flavor = world.flavor("m1.specs", **{"hw:numa_nodes": "1"})
    reader = world.client(roles=READER)
    assert reader.get(f"/compute/v2.1/flavors/{flavor}").status_code == 200
    specs = reader.get(f"/compute/v2.1/flavors/{flavor}/os-extra_specs").json()
    assert specs == {"extra_specs": {"hw:numa_nodes": "1"}}
    added = reader.post(
        f"/compute/v2.1/flavors/{flavor}/os-extra_specs", json={"extra_specs": {"a": "b"}}
    )
    assert added.json() == forbidden("os_compute_api:os-flavor-extra-specs:create")
    body = {"flavor": {"name": "x", "ram": 1, "vcpus": 1, "disk": 0}}
    created = world.client(roles=MEMBER).post("/compute/v2.1/flavors", json=body)
    assert created.json() == forbidden("os_compute_api:os-flavor-manage:create")
    assert world.client(roles=ADMIN).post("/compute/v2.1/flavors", json=body).status_code == 200


def test_external_events_are_the_services(world: World, server: str) -> None:
    body = {"events": [{"name": "network-changed", "server_uuid": server}]}
    url = "/compute/v2.1/os-server-external-events"
    # Nova's current default: the service role alone, not even an admin without it.
    for roles in (READER, MEMBER, ADMIN):
        refused = world.client(roles=roles).post(url, json=body)
        assert refused.json() == forbidden("os_compute_api:os-server-external-events:create")
    assert world.events.sent == []
    # A service user of any project: the event goes to the server's host.
    accepted = world.client(project="service", roles="service").post(url, json=body)
    assert accepted.status_code == 200, accepted.text
    assert [sent[1] for sent in world.events.sent] == [server]


def test_a_manager_lists_its_projects_migrations_without_hosts(world: World) -> None:
    manager = world.client(roles=MANAGER)
    assert manager.get("/compute/v2.1/os-migrations").json() == {"migrations": []}
    member = world.client(roles=MEMBER).get("/compute/v2.1/os-migrations")
    assert member.json() == forbidden("os_compute_api:os-migrations:index")


def test_the_admin_api_is_the_admins(world: World) -> None:
    refused = world.client(roles=MEMBER).get("/offpath/v1/hosts")
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == (
        "Policy doesn't allow offpath:admin:hosts:get to be performed."
    )
    assert world.client(roles=ADMIN).get("/offpath/v1/hosts").status_code == 200


HOST_KEYS = {
    "OS-EXT-SRV-ATTR:host",
    "OS-EXT-SRV-ATTR:hypervisor_hostname",
    "OS-EXT-SRV-ATTR:instance_name",
    "host_status",
}


@pytest.mark.parametrize(("roles", "sees"), [(READER, False), (MEMBER, False), (ADMIN, True)])
def test_where_a_server_runs_is_shown_to_an_admin_only(
    world: World, server: str, roles: str, sees: bool
) -> None:
    client = world.client(roles=roles)
    shown = client.get(f"/compute/v2.1/servers/{server}", headers=LATEST).json()["server"]
    (listed,) = client.get("/compute/v2.1/servers/detail", headers=LATEST).json()["servers"]
    for body in (shown, listed):
        assert (set(body) >= HOST_KEYS) is sees and (not set(body) & HOST_KEYS) is not sees
        assert body["hostId"]  # hashed with the project: everyone's
    renamed = client.put(
        f"/compute/v2.1/servers/{server}", json={"server": {"name": "vm-2"}}, headers=LATEST
    )
    if roles != READER:
        assert (set(renamed.json()["server"]) >= HOST_KEYS) is sees

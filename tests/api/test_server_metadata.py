"""A server's metadata over HTTP: kept from the create, shown with the server, changed through
`/servers/{id}/metadata` with Nova's bodies, statuses and messages."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from offpath.db.cell_schema import InstanceRow
from offpath.db.engine import writing
from offpath.ports.vnic import VnicType
from offpath.sim.fleet import fleet_reports
from tests.api.world import World

LATEST = {"OpenStack-API-Version": "compute 2.96"}
READER = "reader"
MEMBER = "member,reader"
ADMIN = "admin,member,reader"
SERVERS = "/compute/v2.1/servers"


def _boot(world: World, vnic_type: VnicType = VnicType.REMOTE_MANAGED, **extra: object) -> Any:
    body = {
        "server": {
            "name": "vm",
            "flavorRef": world.flavor(),
            "networks": [{"port": world.port(vnic_type)}],
            **extra,
        }
    }
    return world.client().post(SERVERS, json=body, headers=LATEST)


def _state(world: World, server_id: str, *, vm_state: str, task_state: str | None) -> None:
    """Put the server in that state, as a host's agent would (none runs here)."""
    with writing(world.cluster.cells.engine(world.cluster.cell())) as session:
        session.execute(
            update(InstanceRow)
            .where(InstanceRow.uuid == server_id)
            .values(vm_state=vm_state, task_state=task_state)
        )


@pytest.fixture
def server(world: World) -> str:
    """An idle ACTIVE server of the default project, with metadata a=1, b=2."""
    world.cluster.report(fleet_reports(1, vfs=4))
    created = _boot(world, metadata={"a": "1", "b": "2"})
    assert created.status_code == 202, created.text
    server_id: str = created.json()["server"]["id"]
    _state(world, server_id, vm_state="active", task_state=None)
    return server_id


def _fault(kind: str, code: int, message: str) -> dict[str, Any]:
    return {kind: {"code": code, "message": message}}


# -- kept from the create, shown with the server ---------------------------------------


def test_the_created_metadata_shows_in_show_list_detail_and_update(
    world: World, server: str
) -> None:
    client = world.client()
    shown = client.get(f"{SERVERS}/{server}", headers=LATEST).json()["server"]
    assert shown["metadata"] == {"a": "1", "b": "2"}
    (listed,) = client.get(f"{SERVERS}/detail", headers=LATEST).json()["servers"]
    assert listed["metadata"] == {"a": "1", "b": "2"}
    for version in ("2.1", "2.96"):
        updated = client.put(
            f"{SERVERS}/{server}",
            json={"server": {"name": "renamed"}},
            headers={"OpenStack-API-Version": f"compute {version}"},
        )
        assert updated.json()["server"]["metadata"] == {"a": "1", "b": "2"}, version


def test_a_server_without_metadata_shows_an_empty_object(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    server_id = _boot(world).json()["server"]["id"]
    shown = world.client().get(f"{SERVERS}/{server_id}").json()["server"]
    assert shown["metadata"] == {}
    assert world.client().get(f"{SERVERS}/{server_id}/metadata").json() == {"metadata": {}}


def test_a_list_detail_shows_each_servers_own_metadata(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=8))
    ids = {
        _boot(world, metadata={"n": str(n)}).json()["server"]["id"]: {"n": str(n)} for n in range(3)
    }
    listed = world.client().get(f"{SERVERS}/detail").json()["servers"]
    assert {entry["id"]: entry["metadata"] for entry in listed} == ids


def test_a_server_no_host_took_keeps_its_metadata_in_error(world: World) -> None:
    # No host has a VF for a direct port: the boot is buried in cell0, in ERROR, whole.
    world.cluster.report(fleet_reports(1, vfs=4))
    created = _boot(world, VnicType.DIRECT, metadata={"why": "no host"})
    shown = world.client().get(f"{SERVERS}/{created.json()['server']['id']}").json()["server"]
    assert (shown["status"], shown["metadata"]) == ("ERROR", {"why": "no host"})


def test_a_create_over_128_items_is_nova_s_403_and_boots_nothing(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    refused = _boot(world, metadata={f"k{n}": "v" for n in range(129)})
    assert (refused.status_code, refused.json()) == (
        403,
        _fault("forbidden", 403, "Maximum number of metadata items exceeds 128"),
    )
    assert world.client().get(SERVERS).json()["servers"] == []
    assert _boot(world, metadata={f"k{n}": "v" for n in range(128)}).status_code == 202


# -- the metadata API -----------------------------------------------------------------


def test_list_answers_the_whole_metadata(world: World, server: str) -> None:
    listed = world.client(roles=READER).get(f"{SERVERS}/{server}/metadata")
    assert (listed.status_code, listed.json()) == (200, {"metadata": {"a": "1", "b": "2"}})


def test_post_merges_and_answers_the_whole_metadata(world: World, server: str) -> None:
    client = world.client()
    merged = client.post(f"{SERVERS}/{server}/metadata", json={"metadata": {"a": "x", "c": "3"}})
    assert (merged.status_code, merged.json()) == (
        200,
        {"metadata": {"a": "x", "b": "2", "c": "3"}},
    )
    empty = client.post(f"{SERVERS}/{server}/metadata", json={"metadata": {}})
    assert empty.json() == {"metadata": {"a": "x", "b": "2", "c": "3"}}
    shown = client.get(f"{SERVERS}/{server}").json()["server"]["metadata"]
    assert shown == {"a": "x", "b": "2", "c": "3"}


def test_put_replaces_everything(world: World, server: str) -> None:
    client = world.client()
    replaced = client.put(f"{SERVERS}/{server}/metadata", json={"metadata": {"z": ""}})
    assert (replaced.status_code, replaced.json()) == (200, {"metadata": {"z": ""}})
    assert client.get(f"{SERVERS}/{server}/metadata").json() == {"metadata": {"z": ""}}
    cleared = client.put(f"{SERVERS}/{server}/metadata", json={"metadata": {}})
    assert cleared.json() == {"metadata": {}}
    assert client.get(f"{SERVERS}/{server}").json()["server"]["metadata"] == {}


def test_show_item_and_nova_s_404_for_a_missing_key(world: World, server: str) -> None:
    client = world.client(roles=READER)
    shown = client.get(f"{SERVERS}/{server}/metadata/b")
    assert (shown.status_code, shown.json()) == (200, {"meta": {"b": "2"}})
    missing = client.get(f"{SERVERS}/{server}/metadata/nope")
    assert (missing.status_code, missing.json()) == (
        404,
        _fault("itemNotFound", 404, "Metadata item was not found"),
    )


def test_put_item_sets_one_key(world: World, server: str) -> None:
    client = world.client()
    put = client.put(f"{SERVERS}/{server}/metadata/c", json={"meta": {"c": "3"}})
    assert (put.status_code, put.json()) == (200, {"meta": {"c": "3"}})
    changed = client.put(f"{SERVERS}/{server}/metadata/a", json={"meta": {"a": "one"}})
    assert changed.json() == {"meta": {"a": "one"}}
    listed = client.get(f"{SERVERS}/{server}/metadata").json()
    assert listed == {"metadata": {"a": "one", "b": "2", "c": "3"}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({"meta": {"other": "v"}}, "Request body and URI mismatch", id="mismatch"),
        pytest.param(
            {"meta": {"c": "1", "d": "2"}},
            "Invalid input for field/attribute meta. Value: {'c': '1', 'd': '2'}. "
            "{'c': '1', 'd': '2'} has too many properties",
            id="two-items",
        ),
        pytest.param(
            {"meta": {}},
            "Invalid input for field/attribute meta. Value: {}. {} does not have enough properties",
            id="no-item",
        ),
    ],
)
def test_put_item_is_400_unless_the_body_is_the_paths_one_item(
    world: World, server: str, body: dict[str, Any], message: str
) -> None:
    client = world.client()
    refused = client.put(f"{SERVERS}/{server}/metadata/c", json=body)
    assert (refused.status_code, refused.json()) == (400, _fault("badRequest", 400, message))
    assert client.get(f"{SERVERS}/{server}/metadata").json() == {"metadata": {"a": "1", "b": "2"}}


def test_delete_item_is_204_then_404(world: World, server: str) -> None:
    client = world.client()
    deleted = client.delete(f"{SERVERS}/{server}/metadata/a")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert client.get(f"{SERVERS}/{server}/metadata").json() == {"metadata": {"b": "2"}}
    again = client.delete(f"{SERVERS}/{server}/metadata/a")
    assert (again.status_code, again.json()) == (
        404,
        _fault("itemNotFound", 404, "Metadata item was not found"),
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"metadata": {"": "v"}}, id="blank-key"),
        pytest.param({"metadata": {"k" * 256: "v"}}, id="long-key"),
        pytest.param({"metadata": {"k/1": "v"}}, id="slash-in-key"),
        pytest.param({"metadata": {"clé": "v"}}, id="non-ascii-key"),
        pytest.param({"metadata": {"k": "v" * 256}}, id="long-value"),
        pytest.param({"metadata": {"k": 1}}, id="not-a-string"),
        pytest.param({"meta": {"k": "v"}}, id="no-metadata-key"),
        pytest.param({"metadata": {"k": "v"}, "other": 1}, id="extra-key"),
    ],
)
def test_a_body_off_nova_s_schema_is_400_and_changes_nothing(
    world: World, server: str, body: dict[str, Any]
) -> None:
    client = world.client()
    for method in ("POST", "PUT"):
        refused = client.request(method, f"{SERVERS}/{server}/metadata", json=body)
        assert refused.status_code == 400, (method, refused.text)
        assert set(refused.json()) == {"badRequest"}
    assert client.get(f"{SERVERS}/{server}/metadata").json() == {"metadata": {"a": "1", "b": "2"}}


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_more_than_128_items_is_nova_s_403(world: World, server: str, method: str) -> None:
    client = world.client()
    # a and b are there: 127 more make 129 on a merge; 129 replace them all.
    items = {f"k{n}": "v" for n in range(127 if method == "POST" else 129)}
    refused = client.request(method, f"{SERVERS}/{server}/metadata", json={"metadata": items})
    assert (refused.status_code, refused.json()) == (
        403,
        _fault("forbidden", 403, "Maximum number of metadata items exceeds 128"),
    )
    assert client.get(f"{SERVERS}/{server}/metadata").json() == {"metadata": {"a": "1", "b": "2"}}
    items.popitem()
    assert client.request(
        method, f"{SERVERS}/{server}/metadata", json={"metadata": items}
    ).is_success


# -- which server, whose, and when -------------------------------------------------------

_CALLS = [
    pytest.param("GET", "", None, id="index"),
    pytest.param("POST", "", {"metadata": {"x": "y"}}, id="create"),
    pytest.param("PUT", "", {"metadata": {"x": "y"}}, id="update_all"),
    pytest.param("GET", "/a", None, id="show"),
    pytest.param("PUT", "/a", {"meta": {"a": "y"}}, id="update"),
    pytest.param("DELETE", "/a", None, id="delete"),
]


@pytest.mark.parametrize(("method", "suffix", "body"), _CALLS)
def test_another_projects_or_a_missing_server_is_nova_s_404(
    world: World, server: str, method: str, suffix: str, body: Any
) -> None:
    other = world.client(project="other", roles=MEMBER)
    refused = other.request(method, f"{SERVERS}/{server}/metadata{suffix}", json=body)
    assert (refused.status_code, refused.json()) == (
        404,
        _fault("itemNotFound", 404, f"Instance {server} could not be found."),
    )
    missing = "00000000-0000-4000-8000-000000000000"
    gone = world.client().request(method, f"{SERVERS}/{missing}/metadata{suffix}", json=body)
    assert gone.status_code == 404
    assert world.client().get(f"{SERVERS}/{server}/metadata").json() == {
        "metadata": {"a": "1", "b": "2"}
    }


@pytest.mark.parametrize(
    ("method", "suffix", "body", "rule"),
    [
        ("POST", "", {"metadata": {"x": "y"}}, "create"),
        ("PUT", "", {"metadata": {"x": "y"}}, "update_all"),
        ("PUT", "/a", {"meta": {"a": "y"}}, "update"),
        ("DELETE", "/a", None, "delete"),
    ],
)
def test_a_reader_reads_but_changes_nothing(
    world: World, server: str, *, method: str, suffix: str, body: Any, rule: str
) -> None:
    reader = world.client(roles=READER)
    refused = reader.request(method, f"{SERVERS}/{server}/metadata{suffix}", json=body)
    message = f"Policy doesn't allow os_compute_api:server-metadata:{rule} to be performed."
    assert (refused.status_code, refused.json()) == (403, _fault("forbidden", 403, message))


def test_an_admin_of_another_project_changes_the_servers_metadata(
    world: World, server: str
) -> None:
    admin = world.client(project="other", roles=ADMIN)
    merged = admin.post(f"{SERVERS}/{server}/metadata", json={"metadata": {"by": "admin"}})
    assert merged.json() == {"metadata": {"a": "1", "b": "2", "by": "admin"}}


def test_a_deleted_server_has_no_metadata_to_read(world: World, server: str) -> None:
    client = world.client()
    assert client.delete(f"{SERVERS}/{server}").status_code == 204
    assert client.get(f"{SERVERS}/{server}/metadata").status_code == 404


@pytest.mark.parametrize(
    ("method", "suffix", "body", "action"),
    [
        ("POST", "", {"metadata": {"x": "y"}}, "update metadata"),
        ("PUT", "", {"metadata": {"x": "y"}}, "update metadata"),
        ("PUT", "/a", {"meta": {"a": "y"}}, "update metadata"),
        ("DELETE", "/a", None, "delete metadata"),
    ],
)
def test_a_change_mid_task_is_nova_s_409(
    world: World, server: str, *, method: str, suffix: str, body: Any, action: str
) -> None:
    client = world.client()
    _state(world, server, vm_state="active", task_state="powering-off")
    refused = client.request(method, f"{SERVERS}/{server}/metadata{suffix}", json=body)
    message = f"Cannot '{action}' instance {server} while it is in task_state powering-off"
    assert (refused.status_code, refused.json()) == (
        409,
        _fault("conflictingRequest", 409, message),
    )
    assert client.get(f"{SERVERS}/{server}/metadata").json() == {"metadata": {"a": "1", "b": "2"}}


def test_a_building_server_refuses_a_change_with_its_task(world: World, server: str) -> None:
    # Booted with no agent to finish the build: it stays building, spawning.
    building = _boot(world, metadata={"a": "1"}).json()["server"]["id"]
    refused = world.client().post(f"{SERVERS}/{building}/metadata", json={"metadata": {"x": "y"}})
    message = f"Cannot 'update metadata' instance {building} while it is in task_state spawning"
    assert (refused.status_code, refused.json()) == (
        409,
        _fault("conflictingRequest", 409, message),
    )


@pytest.mark.parametrize("vm_state", ["error", "shelved_offloaded"])
def test_a_change_in_a_state_nova_refuses_is_409_with_the_vm_state(
    world: World, server: str, vm_state: str
) -> None:
    _state(world, server, vm_state=vm_state, task_state=None)
    refused = world.client().delete(f"{SERVERS}/{server}/metadata/a")
    message = f"Cannot 'delete metadata' instance {server} while it is in vm_state {vm_state}"
    assert (refused.status_code, refused.json()) == (
        409,
        _fault("conflictingRequest", 409, message),
    )
    # Reads stay open in any state.
    assert world.client().get(f"{SERVERS}/{server}/metadata/a").json() == {"meta": {"a": "1"}}


@pytest.mark.parametrize("vm_state", ["stopped", "paused", "suspended"])
def test_a_change_in_other_idle_states_nova_allows_is_made(
    world: World, server: str, vm_state: str
) -> None:
    _state(world, server, vm_state=vm_state, task_state=None)
    merged = world.client().post(f"{SERVERS}/{server}/metadata", json={"metadata": {"c": "3"}})
    assert merged.json() == {"metadata": {"a": "1", "b": "2", "c": "3"}}


def test_keys_take_nova_s_characters(world: World, server: str) -> None:
    body = {"metadata": {"a-b_c:d.e f": "v", "K9": ""}}
    response = world.client().post(f"{SERVERS}/{server}/metadata", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["metadata"] == {"a": "1", "b": "2", "a-b_c:d.e f": "v", "K9": ""}

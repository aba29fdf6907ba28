"""The minimal Glance surface, and offpath's own /offpath/v1 (hosts, devices, pools, explain)."""

from __future__ import annotations

import json
import uuid

import pytest

from offpath.network.chassis import ChassisRegistry
from offpath.ports.vnic import VnicType
from offpath.sim.fleet import fleet_reports
from tests.api.world import World

IMAGES = "/image/v2/images"


def test_an_image_is_created_uploaded_found_and_deleted(world: World) -> None:
    client = world.client()
    created = client.post(
        IMAGES, json={"name": "cirros", "disk_format": "qcow2", "container_format": "bare"}
    )
    assert created.status_code == 201
    image = created.json()
    assert image["status"] == "queued"
    upload = client.put(
        f"{IMAGES}/{image['id']}/file",
        content=b"x" * 1000,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert upload.status_code == 204
    shown = client.get(f"{IMAGES}/{image['id']}").json()
    assert (shown["status"], shown["size"], shown["owner"]) == ("active", 1000, "demo")
    assert client.put(f"{IMAGES}/{image['id']}/file", content=b"y").status_code == 409
    assert [i["id"] for i in client.get(f"{IMAGES}?name=cirros").json()["images"]] == [image["id"]]
    other = str(uuid.uuid4())
    by_ids = client.get(f"{IMAGES}?id=in:{image['id']},{other}").json()
    assert [i["id"] for i in by_ids["images"]] == [image["id"]]
    assert client.get(f"{IMAGES}/cirros").status_code == 404
    assert client.delete(f"{IMAGES}/{image['id']}").status_code == 204
    assert client.get(f"{IMAGES}/{image['id']}").json()["code"] == 404


def test_a_private_image_is_another_project_s_secret(world: World) -> None:
    created = world.client().post(IMAGES, json={"name": "mine", "visibility": "private"})
    image_id = created.json()["id"]
    other = world.client(project="other")
    assert other.get(f"{IMAGES}/{image_id}").status_code == 404
    assert other.get(IMAGES).json()["images"] == []


def test_a_server_boots_from_an_active_image_and_shows_it(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=2))
    client = world.client()
    image_id = client.post(IMAGES, json={"name": "img"}).json()["id"]
    body = {
        "server": {
            "name": "vm",
            "flavorRef": world.flavor(),
            "imageRef": image_id,
            "networks": [{"port": world.port()}],
        }
    }
    queued = client.post("/compute/v2.1/servers", json=body)
    assert queued.json() == {
        "badRequest": {"code": 400, "message": f"Image {image_id} is not active."}
    }
    client.put(f"{IMAGES}/{image_id}/file", content=b"data")
    server_id = client.post("/compute/v2.1/servers", json=body).json()["server"]["id"]
    server = client.get(f"/compute/v2.1/servers/{server_id}").json()["server"]
    assert server["image"]["id"] == image_id


def test_hosts_devices_and_pools_say_what_is_usable_and_why_not(world: World) -> None:
    world.cluster.report(fleet_reports(1, pfs=1, vfs=2))
    client = world.client()
    client.post(
        "/compute/v2.1/servers",
        json={
            "server": {
                "name": "vm",
                "flavorRef": world.flavor(),
                "networks": [{"port": world.port()}],
            }
        },
    )
    (host,) = client.get("/offpath/v1/hosts").json()["hosts"]
    assert host["host"] == "compute-00001"
    assert host["service"]["state"] == "up"
    assert host["supports_remote_managed"] is True
    devices = client.get("/offpath/v1/hosts/compute-00001/devices").json()["devices"]
    verdicts = {d["dev_type"]: [] for d in devices}  # type: dict[str, list[str | None]]
    for device in devices:
        verdicts[device["dev_type"]].append(device["why_not"])
    assert sorted(verdicts["type-VF"], key=str) == sorted(
        [None, f"claimed by instance {_owner(devices)}"], key=str
    )
    assert verdicts["type-PF"] == ["its PF, or a VF of it, is in use"] or verdicts["type-PF"] == [
        "a VF of it is in use"
    ]
    pools = client.get("/offpath/v1/hosts/compute-00001/pools").json()["pools"]
    assert sum(p["free"] for p in pools) == 1
    assert client.get("/offpath/v1/hosts/nowhere/devices").json()["error"]["code"] == (
        "compute.host_not_found"
    )


def _owner(devices: list[dict[str, object]]) -> object:
    return next(d["instance_uuid"] for d in devices if d["instance_uuid"])


def test_explain_says_why_each_host_would_refuse(world: World) -> None:
    world.cluster.report(fleet_reports(2, vfs=2))
    client = world.client()
    fits = client.post("/offpath/v1/schedule/explain", json={}).json()
    assert fits["fits"] == 2
    assert fits["why_not"] is None
    direct = client.post(
        "/offpath/v1/schedule/explain", json={"vnic_type": VnicType.DIRECT.value}
    ).json()
    assert direct["fits"] == 0
    assert {h["reason"] for h in direct["hosts"]} == {"no pool matches"}
    assert "no pool matches" in direct["why_not"]
    bad = client.post("/offpath/v1/schedule/explain", json={"vnic_type": "nonsense"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "api.request.invalid"


def test_chassis_are_listed_with_their_card_and_liveness(world: World) -> None:
    registry = ChassisRegistry(world.cluster.cells.api)
    registry.register("dpu-a", serial="MT2113X00001", pf_macs=["b8:ce:f6:00:00:00"], vfs=4)
    registry.register("dpu-b", serial="MT2113X00002", pf_macs=["b8:ce:f6:00:01:00"], vfs=8)
    registry.set_up("dpu-b", up=False)
    listed = world.client().get("/offpath/v1/chassis")
    assert listed.status_code == 200
    shown = {c["hostname"]: c for c in listed.json()["chassis"]}
    assert set(shown) == {"dpu-a", "dpu-b"}
    assert shown["dpu-a"]["card_serial_number"] == "MT2113X00001"
    assert shown["dpu-a"]["alive"] is True and shown["dpu-a"]["vfs"] == 4
    assert shown["dpu-b"]["alive"] is False
    assert shown["dpu-a"]["representors"] == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"disk_format": "floppy"}, id="disk-format"),
        pytest.param({"container_format": "crate"}, id="container-format"),
    ],
)
def test_an_image_of_a_format_glance_does_not_know_is_refused(
    world: World, body: dict[str, str]
) -> None:
    answer = world.client().post(IMAGES, json={"name": "odd", **body})
    assert answer.status_code == 400
    assert world.client().get(IMAGES).json()["images"] == []


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_an_empty_image_id_is_a_404_not_the_list(world: World, method: str) -> None:
    world.client().post(IMAGES, json={"name": "one"})
    answer = world.client().request(method, f"{IMAGES}/")
    assert answer.status_code == 404
    assert answer.json()["code"] == 404
    assert len(world.client().get(IMAGES).json()["images"]) == 1


@pytest.mark.parametrize(
    "content_type",
    [
        "application/openstack-images-v2.1-json-patch",
        "application/openstack-images-v2.0-json-patch",
    ],
)
def test_an_image_is_updated_with_a_json_patch(world: World, content_type: str) -> None:
    client = world.client()
    image_id = client.post(IMAGES, json={"name": "old", "tags": ["a"]}).json()["id"]
    if content_type.endswith("v2.1-json-patch"):
        patch: list[dict[str, object]] = [
            {"op": "replace", "path": "/name", "value": "new"},
            {"op": "add", "path": "/protected", "value": True},
            {"op": "remove", "path": "/tags"},
            {"op": "add", "path": "/custom_property", "value": "not kept"},
        ]
    else:
        patch = [{"replace": "/name", "value": "new"}, {"add": "/protected", "value": True}]
    answer = client.patch(
        f"{IMAGES}/{image_id}", content=json.dumps(patch), headers={"Content-Type": content_type}
    )
    assert answer.status_code == 200, answer.text
    shown = client.get(f"{IMAGES}/{image_id}").json()
    assert (shown["name"], shown["protected"]) == ("new", True)
    assert "custom_property" not in shown


@pytest.mark.parametrize(
    "patch",
    [
        pytest.param({"op": "replace"}, id="not-a-list"),
        pytest.param([{"op": "move", "path": "/name"}], id="unknown-op"),
        pytest.param([{"op": "replace", "path": "/min_ram", "value": -1}], id="bad-value"),
        pytest.param([{"op": "replace", "path": "/disk_format", "value": "x"}], id="bad-format"),
    ],
)
def test_a_bad_image_patch_is_a_400_and_changes_nothing(world: World, patch: object) -> None:
    client = world.client()
    image_id = client.post(IMAGES, json={"name": "same"}).json()["id"]
    headers = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
    answer = client.patch(f"{IMAGES}/{image_id}", content=json.dumps(patch), headers=headers)
    assert answer.status_code == 400
    shown = client.get(f"{IMAGES}/{image_id}").json()
    assert (shown["name"], shown["min_ram"], shown["disk_format"]) == ("same", 0, None)


def test_another_project_cannot_patch_a_public_image(world: World) -> None:
    image_id = (
        world.client().post(IMAGES, json={"name": "pub", "visibility": "public"}).json()["id"]
    )
    headers = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
    patch = json.dumps([{"op": "replace", "path": "/name", "value": "stolen"}])
    other = world.client(project="other")
    assert other.patch(f"{IMAGES}/{image_id}", content=patch, headers=headers).status_code == 404
    assert world.client().get(f"{IMAGES}/{image_id}").json()["name"] == "pub"


def test_a_protected_image_is_not_deleted_until_unprotected(world: World) -> None:
    client = world.client()
    image_id = client.post(IMAGES, json={"name": "keep", "protected": True}).json()["id"]
    refused = client.delete(f"{IMAGES}/{image_id}")
    assert refused.status_code == 403
    assert refused.json() == {
        "code": 403,
        "title": "Forbidden",
        "message": f"Image {image_id} is protected and cannot be deleted.",
    }
    assert client.get(f"{IMAGES}/{image_id}").status_code == 200
    unprotect = [{"op": "replace", "path": "/protected", "value": False}]
    patched = client.patch(
        f"{IMAGES}/{image_id}",
        content=json.dumps(unprotect),
        headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
    )
    assert patched.status_code == 200
    assert client.delete(f"{IMAGES}/{image_id}").status_code == 204

"""os-keypairs over real Keystone tokens: a key pair is its user's whatever the role; only an
admin names another user; a server boots with its booter's key pair only."""

from __future__ import annotations

from typing import Any, Final

import pytest

from tests.api.keystone_cloud import KeystoneCloud, keystone_cloud
from tests.api.test_keypairs import PUBLIC_KEY
from tests.control.cluster import Cluster

KEYPAIRS: Final = "/compute/v2.1/os-keypairs"


@pytest.fixture(scope="module")
def cloud(module_cluster: Cluster) -> KeystoneCloud:
    """Projects A and B, their people logged in, and A's server, network and port."""
    return keystone_cloud(module_cluster)


def forbidden(rule: str) -> dict[str, Any]:
    """Nova's 403 body for `rule`."""
    return {"forbidden": {"code": 403, "message": f"Policy doesn't allow {rule} to be performed."}}


def _create(cloud: KeystoneCloud, who: str, name: str, **extra: Any) -> Any:
    # At the latest version a key pair is imported, never generated.
    keypair = {"name": name, "public_key": PUBLIC_KEY, **extra}
    return cloud.as_(who, "POST", KEYPAIRS, json={"keypair": keypair})


@pytest.mark.parametrize("who", ["rita", "alice", "bob"], ids=["reader", "member", "member-b"])
def test_every_user_keeps_key_pairs_of_their_own(cloud: KeystoneCloud, who: str) -> None:
    name = f"own-{who}"
    created = _create(cloud, who, name)
    assert created.status_code == 201, created.text
    assert created.json()["keypair"]["user_id"] == cloud.directory.user(who).id
    names = [k["keypair"]["name"] for k in cloud.as_(who, "GET", KEYPAIRS).json()["keypairs"]]
    assert names == [name]
    assert cloud.as_(who, "GET", f"{KEYPAIRS}/{name}").status_code == 200
    assert cloud.as_(who, "DELETE", f"{KEYPAIRS}/{name}").status_code == 204


def test_a_colleague_s_key_pair_is_not_found(cloud: KeystoneCloud) -> None:
    assert _create(cloud, "alice", "alices").status_code == 201
    alice_id = cloud.directory.user("alice").id
    rita_id = cloud.directory.user("rita").id
    shown = cloud.as_("rita", "GET", f"{KEYPAIRS}/alices")
    assert (shown.status_code, shown.json()["itemNotFound"]["message"]) == (
        404,
        f"Keypair alices not found for user {rita_id}",
    )
    refused = cloud.as_("rita", "GET", f"{KEYPAIRS}/alices?user_id={alice_id}")
    assert (refused.status_code, refused.json()) == (
        403,
        forbidden("os_compute_api:os-keypairs:show"),
    )
    cloud.as_("alice", "DELETE", f"{KEYPAIRS}/alices")


def test_an_admin_manages_another_user_s_key_pairs(cloud: KeystoneCloud) -> None:
    bob_id = cloud.directory.user("bob").id
    created = _create(cloud, "admin", "for-bob", user_id=bob_id)
    assert (created.status_code, created.json()["keypair"]["user_id"]) == (201, bob_id)
    assert cloud.as_("bob", "GET", f"{KEYPAIRS}/for-bob").status_code == 200
    listed = cloud.as_("admin", "GET", f"{KEYPAIRS}?user_id={bob_id}").json()["keypairs"]
    assert [k["keypair"]["name"] for k in listed] == ["for-bob"]
    assert cloud.as_("admin", "GET", KEYPAIRS).json() == {"keypairs": []}
    deleted = cloud.as_("admin", "DELETE", f"{KEYPAIRS}/for-bob?user_id={bob_id}")
    assert deleted.status_code == 204
    assert cloud.as_("bob", "GET", f"{KEYPAIRS}/for-bob").status_code == 404


def test_a_member_cannot_create_for_another_user(cloud: KeystoneCloud) -> None:
    refused = _create(cloud, "alice", "sneaky", user_id=cloud.directory.user("bob").id)
    assert (refused.status_code, refused.json()) == (
        403,
        forbidden("os_compute_api:os-keypairs:create"),
    )


def test_a_server_boots_with_the_booter_s_key_pair_only(cloud: KeystoneCloud) -> None:
    assert _create(cloud, "bob", "bobs-key").status_code == 201
    port = cloud.world.port(project=cloud.project["project-a"])
    server = {
        "name": "vm-key",
        "flavorRef": cloud.world.flavor(),
        "networks": [{"port": port}],
        "key_name": "bobs-key",
    }
    refused = cloud.as_("alice", "POST", "/compute/v2.1/servers", json={"server": server})
    assert (refused.status_code, refused.json()["badRequest"]["message"]) == (
        400,
        "Invalid key_name provided.",
    )
    assert _create(cloud, "alice", "alices-key").status_code == 201
    booted = cloud.as_(
        "alice",
        "POST",
        "/compute/v2.1/servers",
        json={"server": {**server, "key_name": "alices-key"}},
    )
    assert booted.status_code == 202, booted.text
    shown = cloud.as_("alice", "GET", f"/compute/v2.1/servers/{booted.json()['server']['id']}")
    assert shown.json()["server"]["key_name"] == "alices-key"

"""`/compute/v2.1/os-keypairs`: Nova's bodies, statuses and messages at each microversion,
each user's own key pairs, and a server booted with one."""

from __future__ import annotations

from typing import Any, Final

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi.testclient import TestClient

from offpath.compute.key_pair import GENERATED_COMMENT, ssh_fingerprint
from offpath.conductor.server_reads import cell_of
from offpath.db.cell_schema import InstanceRow
from offpath.db.engine import reading
from offpath.sim.fleet import fleet_reports
from tests.api.world import World

KEYPAIRS: Final = "/compute/v2.1/os-keypairs"
MEMBER: Final = "member,reader"
ADMIN: Final = "admin,member,reader"
# Tempest's imported key (test_keypair_create_with_pub_key) and the fingerprint Nova shows for it.
PUBLIC_KEY: Final = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCsNe3/1ILNCqFyfYWDeTKLD6jEXC2OQHLmietMWW+/vd"
    "aZq7KZEwO0jhglaFjU1mpqq4Gz5RX156sCTNM9vRbwKAxfsdF9laBYVsex3m3Wmui3uYrKyumsoJn2g9GNnG1P"
    "I1mrVjZ61i0GY3khna+wzlTpCCmy5HNlrmbj3XLqBUpipTOXmsnr4sChzC53KCd8LXuwc1i/CZPvF+3XipvAgFSE53pCt"
    "LOeB1kYMOBaiUPLQTWXR3JpckqFIQwhIH0zoHlJvZE8hh90XcPojYN56tI0OlrGqojbediJYD0rUsJu4weZpbn8vilb3JuDY+jws"
    "snSA8wzBx3A/8y9Pp1B nova@ubuntu"
)
FINGERPRINT: Final = "61:5f:fe:c7:e0:fd:d7:4a:2b:52:6e:a6:f5:bf:da:27"
INVALID: Final = {
    "badRequest": {
        "code": 400,
        "message": "Keypair data is invalid: failed to generate fingerprint",
    }
}


def version(minor: int) -> dict[str, str]:
    """The header asking for compute 2.`minor`."""
    return {"OpenStack-API-Version": f"compute 2.{minor}"}


def user(world: World, name: str = "alice", *, roles: str = MEMBER) -> TestClient:
    """A client acting as the user `name` (the test-only X-User-Id header)."""
    client = world.client(roles=roles)
    client.headers["X-User-Id"] = name
    return client


def create(client: TestClient, minor: int = 2, **keypair: Any) -> Any:
    """POST a key pair at 2.`minor`."""
    return client.post(KEYPAIRS, json={"keypair": keypair}, headers=version(minor))


def bad_request(message: str) -> dict[str, Any]:
    """Nova's 400 body."""
    return {"badRequest": {"code": 400, "message": message}}


def not_found(name: str, user_id: str) -> dict[str, Any]:
    """Nova's 404 body for a key pair."""
    return {
        "itemNotFound": {"code": 404, "message": f"Keypair {name} not found for user {user_id}"}
    }


# -- create -----------------------------------------------------------------------------


def test_an_import_at_2_1_is_200_with_nova_s_keys_and_fingerprint(world: World) -> None:
    created = create(user(world), 1, name="kp", public_key=PUBLIC_KEY)
    assert created.status_code == 200
    assert created.json() == {
        "keypair": {
            "name": "kp",
            "public_key": PUBLIC_KEY,
            "fingerprint": FINGERPRINT,
            "user_id": "alice",
        }
    }


def test_an_import_at_2_2_is_201_with_its_type(world: World) -> None:
    created = create(user(world), 2, name="kp", public_key=PUBLIC_KEY)
    assert created.status_code == 201
    assert created.json()["keypair"]["type"] == "ssh"
    assert "private_key" not in created.json()["keypair"]


def test_a_generated_key_pair_answers_its_private_key_once(world: World) -> None:
    alice = user(world)
    created = create(alice, 2, name="gen")
    assert created.status_code == 201
    keypair = created.json()["keypair"]
    assert keypair["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert keypair["public_key"].startswith("ssh-rsa ")
    assert keypair["public_key"].endswith(f" {GENERATED_COMMENT}")
    assert keypair["fingerprint"] == ssh_fingerprint(keypair["public_key"])
    private = serialization.load_pem_private_key(keypair["private_key"].encode(), None)
    line = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    assert keypair["public_key"] == f"{line.decode()} {GENERATED_COMMENT}"
    shown = alice.get(f"{KEYPAIRS}/gen", headers=version(2)).json()["keypair"]
    assert "private_key" not in shown


def test_an_x509_key_pair_is_generated_with_its_certificate(world: World) -> None:
    created = create(user(world), 2, name="cert", type="x509")
    assert created.status_code == 201
    keypair = created.json()["keypair"]
    assert keypair["type"] == "x509"
    assert keypair["public_key"].startswith("-----BEGIN CERTIFICATE-----")
    assert len(keypair["fingerprint"].split(":")) == 20
    imported = create(
        user(world, "bob"), 2, name="cert", type="x509", public_key=keypair["public_key"]
    )
    assert imported.json()["keypair"]["fingerprint"] == keypair["fingerprint"]


@pytest.mark.parametrize(
    "public_key",
    [
        pytest.param("ssh-rsa JUNK nova@ubuntu", id="junk"),
        pytest.param(" ", id="blank"),
        pytest.param("", id="empty"),
        pytest.param("ssh-rsa " + "A" * 2048 + " openstack@ubuntu", id="too-long"),
    ],
)
def test_an_unreadable_public_key_is_nova_s_400(world: World, public_key: str) -> None:
    refused = create(user(world), 2, name="kp", public_key=public_key)
    assert (refused.status_code, refused.json()) == (400, INVALID)


def test_an_unreadable_certificate_is_a_400(world: World) -> None:
    refused = create(user(world), 2, name="kp", type="x509", public_key="not a certificate")
    assert refused.status_code == 400
    message = refused.json()["badRequest"]["message"]
    assert message.startswith("Keypair data is invalid: failed to generate X509 fingerprint.")


def test_a_name_the_user_has_is_a_409(world: World) -> None:
    alice = user(world)
    assert create(alice, name="kp").status_code == 201
    again = create(alice, name="kp", public_key=PUBLIC_KEY)
    assert (again.status_code, again.json()) == (
        409,
        {"conflictingRequest": {"code": 409, "message": "Key pair 'kp' already exists."}},
    )
    # Names are per user.
    assert create(user(world, "bob"), name="kp", public_key=PUBLIC_KEY).status_code == 201


SAFE_20: Final = "_- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


@pytest.mark.parametrize(
    ("minor", "name", "message"),
    [
        pytest.param(
            2,
            "",
            "Invalid input for field/attribute name. Value: ''. "
            "String should have at least 1 character",
            id="empty",
        ),
        pytest.param(
            2,
            "k" * 256,
            "Invalid input for field/attribute name. Value: 'kkk",
            id="too-long",
        ),
        pytest.param(
            2,
            r"key_/.\@:",
            f"An invalid 'name' value was provided. The name must be: "
            f"Only expected characters: [{SAFE_20}]",
            id="unsafe",
        ),
        pytest.param(
            2,
            "a@b.c",
            f"An invalid 'name' value was provided. The name must be: "
            f"Only expected characters: [{SAFE_20}]",
            id="at-before-2.92",
        ),
        pytest.param(
            2,
            " kp",
            "An invalid 'name' value was provided. The name must be: printable characters. "
            "Can not start or end with whitespace.",
            id="leading-blank",
        ),
    ],
)
def test_a_bad_name_is_a_400(world: World, minor: int, name: str, message: str) -> None:
    refused = create(user(world), minor, name=name, public_key=PUBLIC_KEY)
    assert refused.status_code == 400
    assert refused.json()["badRequest"]["message"].startswith(message)


def test_from_2_92_a_name_may_hold_at_and_dot_and_a_public_key_is_required(world: World) -> None:
    alice = user(world)
    assert create(alice, 92, name="a@b.c", public_key=PUBLIC_KEY).status_code == 201
    refused = create(alice, 92, name="gen")
    assert refused.json() == bad_request(
        "Invalid input for field/attribute public_key. 'public_key' is a required property"
    )
    assert create(alice, 91, name="gen").json()["keypair"]["private_key"]


@pytest.mark.parametrize(
    ("minor", "keypair"),
    [
        pytest.param(1, {"name": "kp", "type": "ssh"}, id="type-at-2.1"),
        pytest.param(2, {"name": "kp", "user_id": "bob"}, id="user-at-2.2"),
        pytest.param(2, {"name": "kp", "type": "rsa"}, id="unknown-type"),
        pytest.param(2, {"name": "kp", "colour": "red"}, id="unknown-key"),
        pytest.param(2, {"public_key": PUBLIC_KEY}, id="no-name"),
    ],
)
def test_a_body_off_the_version_s_schema_is_a_400(
    world: World, minor: int, keypair: dict[str, Any]
) -> None:
    refused = create(user(world), minor, **keypair)
    assert refused.status_code == 400
    assert refused.json()["badRequest"]["message"].startswith("Invalid input for field/attribute")


def test_a_body_without_keypair_is_a_400(world: World) -> None:
    refused = user(world).post(KEYPAIRS, json={"name": "kp"}, headers=version(2))
    assert refused.status_code == 400


# -- list, show, delete --------------------------------------------------------------------


def test_the_list_has_the_user_s_key_pairs_by_name_with_type_from_2_2(world: World) -> None:
    alice = user(world)
    for name in ("b", "a"):
        create(alice, name=name, public_key=PUBLIC_KEY)
    create(user(world, "bob"), name="bobs", public_key=PUBLIC_KEY)
    entry = {"public_key": PUBLIC_KEY, "fingerprint": FINGERPRINT}
    at_21 = alice.get(KEYPAIRS, headers=version(1)).json()
    assert at_21 == {"keypairs": [{"keypair": {"name": n, **entry}} for n in ("a", "b")]}
    at_22 = alice.get(KEYPAIRS, headers=version(2)).json()
    assert [k["keypair"]["type"] for k in at_22["keypairs"]] == ["ssh", "ssh"]


def test_from_2_35_a_full_page_links_to_the_next(world: World) -> None:
    alice = user(world)
    for name in ("a", "b", "c"):
        create(alice, name=name, public_key=PUBLIC_KEY)
    page = alice.get(f"{KEYPAIRS}?limit=2", headers=version(35)).json()
    assert [k["keypair"]["name"] for k in page["keypairs"]] == ["a", "b"]
    assert page["keypairs_links"] == [
        {"rel": "next", "href": "http://testserver/compute/v2.1/os-keypairs?limit=2&marker=b"}
    ]
    rest = alice.get(f"{KEYPAIRS}?limit=2&marker=b", headers=version(35)).json()
    assert rest == {
        "keypairs": [
            {
                "keypair": {
                    "name": "c",
                    "public_key": PUBLIC_KEY,
                    "fingerprint": FINGERPRINT,
                    "type": "ssh",
                }
            }
        ]
    }
    # Before 2.35 limit and marker are not read.
    assert len(alice.get(f"{KEYPAIRS}?limit=2", headers=version(34)).json()["keypairs"]) == 3


@pytest.mark.parametrize(
    ("query", "message"),
    [
        pytest.param(
            "limit=x",
            "Invalid input for query parameters limit. Value: x. "
            "'limit' must be a non-negative integer",
            id="limit",
        ),
        pytest.param("marker=nope", "Marker nope could not be found.", id="marker"),
    ],
)
def test_a_bad_page_is_a_400(world: World, query: str, message: str) -> None:
    refused = user(world).get(f"{KEYPAIRS}?{query}", headers=version(35))
    assert (refused.status_code, refused.json()) == (400, bad_request(message))


def test_show_has_nova_s_keys(world: World) -> None:
    alice = user(world)
    create(alice, 1, name="kp", public_key=PUBLIC_KEY)
    at_21 = alice.get(f"{KEYPAIRS}/kp", headers=version(1)).json()["keypair"]
    assert set(at_21) == {
        *("id", "name", "public_key", "fingerprint", "user_id", "created_at"),
        *("deleted", "deleted_at", "updated_at"),
    }
    assert (at_21["user_id"], at_21["deleted"], at_21["deleted_at"], at_21["updated_at"]) == (
        "alice",
        False,
        None,
        None,
    )
    assert isinstance(at_21["id"], int)
    assert "T" in at_21["created_at"]
    at_22 = alice.get(f"{KEYPAIRS}/kp", headers=version(2)).json()["keypair"]
    assert at_22["type"] == "ssh"


def test_delete_is_202_at_2_1_and_204_from_2_2(world: World) -> None:
    alice = user(world)
    create(alice, name="one", public_key=PUBLIC_KEY)
    create(alice, name="two", public_key=PUBLIC_KEY)
    assert alice.delete(f"{KEYPAIRS}/one", headers=version(1)).status_code == 202
    deleted = alice.delete(f"{KEYPAIRS}/two", headers=version(2))
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert alice.get(KEYPAIRS).json() == {"keypairs": []}


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_a_missing_key_pair_is_nova_s_404(world: World, method: str) -> None:
    missing = user(world).request(method, f"{KEYPAIRS}/nope", headers=version(2))
    assert (missing.status_code, missing.json()) == (404, not_found("nope", "alice"))


# -- owners --------------------------------------------------------------------------------


def test_another_user_s_key_pair_is_not_found(world: World) -> None:
    create(user(world), name="kp", public_key=PUBLIC_KEY)
    bob = user(world, "bob")
    assert bob.get(f"{KEYPAIRS}/kp").json() == not_found("kp", "bob")
    assert bob.delete(f"{KEYPAIRS}/kp").status_code == 404
    assert bob.get(KEYPAIRS).json() == {"keypairs": []}


def test_an_admin_acts_for_another_user_from_2_10(world: World) -> None:
    admin = user(world, "root", roles=ADMIN)
    created = create(admin, 10, name="kp", public_key=PUBLIC_KEY, user_id="alice")
    assert (created.status_code, created.json()["keypair"]["user_id"]) == (201, "alice")
    assert user(world).get(f"{KEYPAIRS}/kp").status_code == 200
    listed = admin.get(f"{KEYPAIRS}?user_id=alice", headers=version(10)).json()
    assert [k["keypair"]["name"] for k in listed["keypairs"]] == ["kp"]
    # Before 2.10 user_id is not read: the admin's own key pairs.
    assert admin.get(f"{KEYPAIRS}?user_id=alice", headers=version(9)).json() == {"keypairs": []}
    shown = admin.get(f"{KEYPAIRS}/kp?user_id=alice", headers=version(10))
    assert shown.json()["keypair"]["user_id"] == "alice"
    assert admin.delete(f"{KEYPAIRS}/kp?user_id=alice", headers=version(10)).status_code == 204


def forbidden(rule: str) -> dict[str, Any]:
    """Nova's 403 body for `rule`."""
    return {"forbidden": {"code": 403, "message": f"Policy doesn't allow {rule} to be performed."}}


def test_a_member_cannot_act_for_another_user(world: World) -> None:
    create(user(world, "bob"), name="kp", public_key=PUBLIC_KEY)
    alice = user(world)
    refused = create(alice, 10, name="kp2", public_key=PUBLIC_KEY, user_id="bob")
    assert (refused.status_code, refused.json()) == (
        403,
        forbidden("os_compute_api:os-keypairs:create"),
    )
    for method, path, rule in (
        ("GET", f"{KEYPAIRS}?user_id=bob", "index"),
        ("GET", f"{KEYPAIRS}/kp?user_id=bob", "show"),
        ("DELETE", f"{KEYPAIRS}/kp?user_id=bob", "delete"),
    ):
        answer = alice.request(method, path, headers=version(10))
        assert answer.json() == forbidden(f"os_compute_api:os-keypairs:{rule}"), path


# -- servers ---------------------------------------------------------------------------------


def _boot(world: World, client: TestClient, **extra: Any) -> Any:
    server = {"name": "vm", "flavorRef": world.flavor(), "networks": [{"port": world.port()}]}
    return client.post(
        "/compute/v2.1/servers", json={"server": {**server, **extra}}, headers=version(96)
    )


def test_a_server_booted_with_a_key_pair_shows_its_name(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    alice = user(world)
    create(alice, name="kp", public_key=PUBLIC_KEY)
    booted = _boot(world, alice, key_name="kp")
    assert booted.status_code == 202, booted.text
    server_id = booted.json()["server"]["id"]
    shown = alice.get(f"/compute/v2.1/servers/{server_id}", headers=version(96)).json()
    assert shown["server"]["key_name"] == "kp"
    listed = alice.get("/compute/v2.1/servers/detail", headers=version(96)).json()
    assert [s["key_name"] for s in listed["servers"]] == ["kp"]


def test_a_server_booted_without_a_key_pair_shows_null(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    alice = user(world)
    booted = _boot(world, alice)
    shown = alice.get(f"/compute/v2.1/servers/{booted.json()['server']['id']}").json()
    assert shown["server"]["key_name"] is None


@pytest.mark.parametrize("owner", ["alice", "bob"], ids=["absent", "another-users"])
def test_a_key_name_the_caller_has_not_is_nova_s_400(world: World, owner: str) -> None:
    if owner == "bob":
        create(user(world, "bob"), name="kp", public_key=PUBLIC_KEY)
    refused = _boot(world, user(world), key_name="kp")
    assert (refused.status_code, refused.json()) == (400, bad_request("Invalid key_name provided."))


def test_the_key_data_is_kept_with_the_instance(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=4))
    alice = user(world)
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    line = key.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()
    create(alice, name="ed", public_key=line)
    server_id = _boot(world, alice, key_name="ed").json()["server"]["id"]
    cells = world.cluster.cells
    with reading(cells.engine(cell_of(cells, server_id))) as session:
        row = session.get(InstanceRow, server_id)
    assert row is not None
    assert (row.key_name, row.key_data) == ("ed", line)

"""Keystone v3 over HTTP: logins, the token body, validation and revocation in every worker."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from offpath.api.app import create_app
from offpath.api.deps import ApiDeps
from offpath.identity.auth_request import parse_auth_request
from offpath.identity.authentication import TokenService
from offpath.identity.bootstrap import bootstrap
from offpath.identity.directory import IdentityDirectory
from tests.api.world import RecordingForwarder
from tests.control.cluster import Cluster

ADMIN_PASSWORD = "admin-secret"
ALICE_PASSWORD = "alice-secret"
KEYSTONE_401 = {
    "error": {
        "code": 401,
        "title": "Unauthorized",
        "message": "The request you have made requires authentication.",
    }
}


@dataclass
class Identity:
    """Two API workers over one database, and its directory."""

    directory: IdentityDirectory
    worker: TestClient
    other_worker: TestClient

    def login(self, user: str, password: str, project: str | None = "demo") -> str:
        response = self.worker.post("/identity/v3/auth/tokens", json=login(user, password, project))
        assert response.status_code == 201, response.text
        token: str = response.headers["x-subject-token"]
        return token


def login(user: str, password: str, project: str | None = "demo") -> dict[str, Any]:
    auth: dict[str, Any] = {
        "identity": {
            "methods": ["password"],
            "password": {
                "user": {"name": user, "password": password, "domain": {"name": "Default"}}
            },
        }
    }
    if project is not None:
        auth["scope"] = {"project": {"name": project, "domain": {"id": "default"}}}
    return {"auth": auth}


def _worker(cluster: Cluster, *, expiration: timedelta = timedelta(hours=1)) -> TestClient:
    deps = ApiDeps(
        cells=cluster.cells,
        conductor=cluster.conductor,
        scheduler=cluster.scheduler,
        ports=cluster.ports,
        events=RecordingForwarder(),
        tokens=TokenService(cluster.cells.api, expiration=expiration),
    )
    return TestClient(create_app(deps))


@pytest.fixture
def identity(cluster: Cluster) -> Iterator[Identity]:
    """Bootstrapped identity with alice, a member of project demo, served by two workers."""
    bootstrap(cluster.cells.api, password=ADMIN_PASSWORD)
    directory = IdentityDirectory(cluster.cells.api)
    directory.create_project("demo")
    directory.create_user("alice", password=ALICE_PASSWORD)
    directory.add_role("member", user="alice", project="demo")
    with _worker(cluster) as one, _worker(cluster) as two:
        yield Identity(directory, one, two)


def test_a_password_login_answers_201_with_the_token_and_keystones_body(
    identity: Identity,
) -> None:
    response = identity.worker.post("/identity/v3/auth/tokens", json=login("alice", ALICE_PASSWORD))
    assert response.status_code == 201
    token = response.json()["token"]
    assert response.headers["x-subject-token"]
    assert token["methods"] == ["password"]
    assert token["user"]["name"] == "alice"
    assert token["user"]["domain"] == {"id": "default", "name": "Default"}
    assert token["project"]["name"] == "demo"
    assert sorted(role["name"] for role in token["roles"]) == ["member", "reader"]
    for stamp in ("issued_at", "expires_at"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", token[stamp])
    assert token["is_domain"] is False
    assert len(token["audit_ids"]) == 1
    services = {entry["type"]: entry for entry in token["catalog"]}
    assert set(services) == {"compute", "network", "image", "identity"}
    public = {
        kind: next(e["url"] for e in entry["endpoints"] if e["interface"] == "public")
        for kind, entry in services.items()
    }
    assert public == {
        "compute": "http://testserver/compute/v2.1",
        "network": "http://testserver/network",
        "image": "http://testserver/image",
        "identity": "http://testserver/identity/v3",
    }
    assert all(
        e["region"] == e["region_id"] == "RegionOne"
        for entry in services.values()
        for e in entry["endpoints"]
    )


def test_the_stored_catalog_wins_over_the_request_host(
    identity: Identity, cluster: Cluster
) -> None:
    bootstrap(cluster.cells.api, password=None, public_endpoint="https://cloud.example:8774/")
    token = identity.worker.post(
        "/identity/v3/auth/tokens", json=login("alice", ALICE_PASSWORD)
    ).json()["token"]
    urls = {e["url"] for entry in token["catalog"] for e in entry["endpoints"]}
    assert "https://cloud.example:8774/compute/v2.1" in urls
    assert not any("testserver" in url for url in urls)


@pytest.mark.parametrize(
    ("user", "password", "project"),
    [
        ("alice", "wrong", "demo"),
        ("nobody", ALICE_PASSWORD, "demo"),
        ("alice", ALICE_PASSWORD, "admin"),
        ("alice", ALICE_PASSWORD, "no-such-project"),
    ],
    ids=["wrong-password", "no-user", "project-without-role", "no-project"],
)
def test_a_failed_login_is_a_keystone_401_that_says_nothing_more(
    identity: Identity, user: str, password: str, project: str
) -> None:
    response = identity.worker.post("/identity/v3/auth/tokens", json=login(user, password, project))
    assert response.status_code == 401
    assert "x-subject-token" not in response.headers
    body = response.json()
    assert body["error"]["code"] == 401
    assert body["error"]["title"] == "Unauthorized"


def test_a_malformed_login_is_a_400_in_keystones_shape(identity: Identity) -> None:
    response = identity.worker.post("/identity/v3/auth/tokens", json={"auth": {}})
    assert response.status_code == 400
    assert "Expecting to find identity in auth" in response.json()["error"]["message"]


def test_the_token_method_rescopes_and_keeps_the_audit_chain(identity: Identity) -> None:
    identity.directory.create_project("second")
    identity.directory.add_role("reader", user="alice", project="second")
    first = identity.login("alice", ALICE_PASSWORD)
    body = {
        "auth": {
            "identity": {"methods": ["token"], "token": {"id": first}},
            "scope": {"project": {"name": "second"}},
        }
    }
    response = identity.worker.post("/identity/v3/auth/tokens", json=body)
    assert response.status_code == 201
    token = response.json()["token"]
    assert token["project"]["name"] == "second"
    assert [role["name"] for role in token["roles"]] == ["reader"]
    assert len(token["audit_ids"]) == 2


def test_validation_by_get_and_head_and_a_bad_subject_is_404(identity: Identity) -> None:
    token = identity.login("alice", ALICE_PASSWORD)
    headers = {"X-Auth-Token": token, "X-Subject-Token": token}
    got = identity.worker.get("/identity/v3/auth/tokens", headers=headers)
    assert got.status_code == 200
    assert got.json()["token"]["user"]["name"] == "alice"
    assert got.headers["x-subject-token"] == token
    assert identity.worker.head("/identity/v3/auth/tokens", headers=headers).status_code == 200
    bad = {"X-Auth-Token": token, "X-Subject-Token": "gAAAAA-not-a-token"}
    missing = identity.worker.get("/identity/v3/auth/tokens", headers=bad)
    assert missing.status_code == 404
    assert missing.json()["error"]["message"].startswith("Could not find token")


def test_a_user_may_not_inspect_anothers_token_but_the_admin_may(identity: Identity) -> None:
    identity.directory.create_user("bob", password="bob-secret")
    identity.directory.add_role("member", user="bob", project="demo")
    alice = identity.login("alice", ALICE_PASSWORD)
    bob = identity.login("bob", "bob-secret")
    admin = identity.login("admin", ADMIN_PASSWORD, "admin")
    path = "/identity/v3/auth/tokens"
    nosy = identity.worker.get(path, headers={"X-Auth-Token": bob, "X-Subject-Token": alice})
    assert nosy.status_code == 403
    assert nosy.json()["error"]["title"] == "Forbidden"
    look = identity.worker.get(path, headers={"X-Auth-Token": admin, "X-Subject-Token": alice})
    assert look.status_code == 200


def test_a_revoked_token_stops_working_at_once_in_every_worker(identity: Identity) -> None:
    token = identity.login("alice", ALICE_PASSWORD)
    headers = {"X-Auth-Token": token}
    assert identity.other_worker.get("/compute/v2.1/servers", headers=headers).status_code == 200
    revoked = identity.worker.delete(
        "/identity/v3/auth/tokens", headers={**headers, "X-Subject-Token": token}
    )
    assert revoked.status_code == 204
    refused = identity.other_worker.get("/compute/v2.1/servers", headers=headers)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Keystone uri="http://testserver/identity"'
    again = identity.worker.get(
        "/identity/v3/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": token}
    )
    assert again.status_code == 401


def test_a_disabled_user_a_new_password_or_a_lost_role_end_tokens_at_once(
    identity: Identity,
) -> None:
    headers = {"X-Auth-Token": identity.login("alice", ALICE_PASSWORD)}
    servers = "/compute/v2.1/servers"
    identity.directory.set_enabled("alice", False)
    assert identity.other_worker.get(servers, headers=headers).status_code == 401
    identity.directory.set_enabled("alice", True)
    assert identity.other_worker.get(servers, headers=headers).status_code == 200
    identity.directory.set_password("alice", "new-secret")
    assert identity.other_worker.get(servers, headers=headers).status_code == 401
    headers = {"X-Auth-Token": identity.login("alice", "new-secret")}
    assert identity.other_worker.get(servers, headers=headers).status_code == 200
    identity.directory.remove_role("member", user="alice", project="demo")
    assert identity.other_worker.get(servers, headers=headers).status_code == 401


def test_an_expired_token_is_refused(cluster: Cluster) -> None:
    bootstrap(cluster.cells.api, password=ADMIN_PASSWORD)
    tokens = TokenService(cluster.cells.api, expiration=timedelta(minutes=1))
    issued = tokens.issue(
        parse_auth_request(login("admin", ADMIN_PASSWORD, "admin")),
        now=datetime.now(UTC) - timedelta(minutes=2),
    )
    with _worker(cluster) as worker:
        response = worker.get("/compute/v2.1/servers", headers={"X-Auth-Token": issued.id})
    assert response.status_code == 401
    assert response.json()["unauthorized"]["code"] == 401


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Auth-Token": ""}, {"X-Auth-Token": "forged"}, {"X-Auth-Token": "gAAAAAB" + "A" * 200}],
    ids=["none", "empty", "forged", "fernet-shaped"],
)
def test_compute_and_image_refuse_a_missing_or_forged_token(
    identity: Identity, headers: dict[str, str]
) -> None:
    for path in ("/compute/v2.1/servers", "/image/v2/images"):
        response = identity.worker.get(path, headers=headers)
        assert response.status_code == 401, path


def test_discovery_stays_open(identity: Identity) -> None:
    assert identity.worker.get("/identity/v3").json()["version"]["id"] == "v3.14"
    assert identity.worker.get("/compute/v2.1").status_code == 200

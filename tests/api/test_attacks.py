"""An attacker's requests over real Keystone tokens: compute, image and identity refuse them.

Bad tokens are 401 on every surface; another project's server is a 404,
never a 403; a member asking for an admin's API is Nova's 403; a header the
test helpers read (`X-Roles`) or a project id sent along (`X-Project-Id`)
changes nothing. The network API's cases are in test_network_attacks.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import pytest

from offpath.errors import KEYSTONE_UNAUTHENTICATED
from offpath.identity.auth_request import parse_auth_request
from offpath.identity.tokens import TokenCodec, TokenPayload, new_audit_id, new_key
from offpath.service_token import login_body
from tests.api.keystone_cloud import (
    LATEST,
    PASSWORD,
    PROJECT_A,
    KeystoneCloud,
    keystone_cloud,
)
from tests.control.cluster import Cluster

SERVERS: Final = "/compute/v2.1/servers"
EVENTS: Final = "/compute/v2.1/os-server-external-events"
TOKENS: Final = "/identity/v3/auth/tokens"
# A GET on each surface, and its 401 body.
UNAUTHORIZED: Final = {
    "compute": (SERVERS, {"unauthorized": {"code": 401, "message": KEYSTONE_UNAUTHENTICATED}}),
    "network": (
        "/network/v2.0/networks",
        {
            "NeutronError": {
                "type": "Unauthorized",
                "message": KEYSTONE_UNAUTHENTICATED,
                "detail": "",
            }
        },
    ),
    "image": (
        "/image/v2/images",
        {"code": 401, "title": "Unauthorized", "message": KEYSTONE_UNAUTHENTICATED},
    ),
}


@pytest.fixture(scope="module")
def cloud(module_cluster: Cluster) -> KeystoneCloud:
    """Projects A and B, their people logged in, and A's server, network and port."""
    return keystone_cloud(module_cluster)


def forbidden(rule: str) -> dict[str, Any]:
    """Nova's 403 body for `rule`."""
    return {"forbidden": {"code": 403, "message": f"Policy doesn't allow {rule} to be performed."}}


def not_found(server_id: str) -> dict[str, Any]:
    """Nova's 404 body for a server."""
    return {"itemNotFound": {"code": 404, "message": f"Instance {server_id} could not be found."}}


# -- tokens that are not (or no longer) valid: 401 everywhere ------------------------


def _expired(cloud: KeystoneCloud) -> str:
    issued = cloud.tokens.issue(
        parse_auth_request(login_body("alice", PASSWORD, PROJECT_A)),
        now=datetime.now(UTC) - timedelta(hours=2),
    )
    return issued.id


def _revoked(cloud: KeystoneCloud) -> str:
    token = cloud.login("alice")
    headers = {"X-Auth-Token": token, "X-Subject-Token": token}
    assert cloud.http.delete(TOKENS, headers=headers).status_code == 204
    return token


def _fernet_shaped(cloud: KeystoneCloud) -> str:
    return "gAAAAAB" + secrets.token_urlsafe(135)


def _flipped(cloud: KeystoneCloud) -> str:
    token = cloud.token["alice"]
    # In the middle: the last character may carry only the padding's bits.
    at = len(token) // 2
    return token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1 :]


def _other_key(cloud: KeystoneCloud) -> str:
    now = datetime.now(UTC)
    payload = TokenPayload(
        user_id=cloud.directory.user("alice").id,
        project_id=cloud.project[PROJECT_A],
        methods=("password",),
        audit_ids=(new_audit_id(),),
        issued_at=now,
        expires_at=now + timedelta(hours=1),
    )
    return TokenCodec([new_key()]).seal(payload)


def _disabled_user(cloud: KeystoneCloud) -> str:
    cloud.directory.create_user("dora", password=PASSWORD)
    cloud.directory.add_role("member", user="dora", project=PROJECT_A)
    token = cloud.login("dora")
    assert cloud.http.get(SERVERS, headers={"X-Auth-Token": token}).status_code == 200
    cloud.directory.set_enabled("dora", False)
    return token


BAD_TOKENS: Final[dict[str, Callable[[KeystoneCloud], str | None]]] = {
    "none": lambda cloud: None,
    "empty": lambda cloud: "",
    "expired": _expired,
    "revoked": _revoked,
    "fernet-shaped": _fernet_shaped,
    "one-character-flipped": _flipped,
    "sealed-with-another-key": _other_key,
    "of-a-disabled-user": _disabled_user,
}


@pytest.fixture(scope="module")
def bad_tokens(cloud: KeystoneCloud) -> Iterator[dict[str, str | None]]:
    """Each bad token, made once."""
    yield {case: make(cloud) for case, make in BAD_TOKENS.items()}


@pytest.mark.parametrize("surface", list(UNAUTHORIZED))
@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_a_bad_token_is_a_401_in_the_surfaces_shape(
    cloud: KeystoneCloud, bad_tokens: dict[str, str | None], case: str, surface: str
) -> None:
    token = bad_tokens[case]
    headers = {} if token is None else {"X-Auth-Token": token}
    path, body = UNAUTHORIZED[surface]
    response = cloud.http.get(path, headers=headers)
    assert (response.status_code, response.json()) == (401, body)
    assert response.headers["www-authenticate"] == 'Keystone uri="http://testserver/identity"'


def test_the_forged_tokens_owner_still_gets_in_with_the_real_one(cloud: KeystoneCloud) -> None:
    # The refusals above are of the tokens, not of alice.
    listed = cloud.as_("alice", "GET", SERVERS).json()["servers"]
    assert [server["id"] for server in listed] == [cloud.server_a]


# -- another project's server: 404, never 403 ------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("PUT", "", {"server": {"name": "mine-now"}}),
        ("POST", "/action", {"os-stop": None}),
        ("POST", "/action", {"reboot": {"type": "HARD"}}),
        ("GET", "/os-interface", None),
        ("DELETE", "", None),
    ],
    ids=["show", "update", "stop", "reboot", "interfaces", "delete"],
)
def test_project_bs_member_finds_no_server_of_project_a(
    cloud: KeystoneCloud, method: str, suffix: str, body: Any
) -> None:
    response = cloud.as_("bob", method, f"{SERVERS}/{cloud.server_a}{suffix}", json=body)
    assert (response.status_code, response.json()) == (404, not_found(cloud.server_a))
    assert cloud.as_("alice", "GET", f"{SERVERS}/{cloud.server_a}").status_code == 200


def test_project_bs_lists_leave_out_project_as_server(cloud: KeystoneCloud) -> None:
    for path in (SERVERS, f"{SERVERS}/detail"):
        response = cloud.as_("bob", "GET", path)
        assert (response.status_code, response.json()["servers"]) == (200, []), path


@pytest.mark.parametrize("listing", ["index", "detail"])
def test_all_tenants_is_the_admins(cloud: KeystoneCloud, listing: str) -> None:
    path = SERVERS if listing == "index" else f"{SERVERS}/detail"
    response = cloud.as_("bob", "GET", f"{path}?all_tenants=1")
    assert (response.status_code, response.json()) == (
        403,
        forbidden(f"os_compute_api:servers:{listing}:get_all_tenants"),
    )
    everyone = cloud.as_("admin", "GET", f"{path}?all_tenants=1").json()["servers"]
    assert cloud.server_a in [server["id"] for server in everyone]


# -- a reader reads -------------------------------------------------------------------


def test_a_reader_cannot_create_a_server(cloud: KeystoneCloud) -> None:
    port = cloud.world.port(project=cloud.project[PROJECT_A])
    server = {"name": "no", "flavorRef": cloud.world.flavor(), "networks": [{"port": port}]}
    response = cloud.as_("rita", "POST", SERVERS, json={"server": server})
    assert (response.status_code, response.json()) == (
        403,
        forbidden("os_compute_api:servers:create"),
    )


def test_a_reader_lists_and_shows_its_projects_servers(cloud: KeystoneCloud) -> None:
    listed = cloud.as_("rita", "GET", SERVERS).json()["servers"]
    assert [server["id"] for server in listed] == [cloud.server_a]
    shown = cloud.as_("rita", "GET", f"{SERVERS}/{cloud.server_a}")
    assert shown.status_code == 200
    assert shown.json()["server"]["tenant_id"] == cloud.project[PROJECT_A]


# -- a project id sent along is not the token's --------------------------------------


def test_x_project_id_of_a_with_bs_token_is_ignored(cloud: KeystoneCloud) -> None:
    headers = {"X-Project-Id": cloud.project[PROJECT_A], "X-Tenant-Id": cloud.project[PROJECT_A]}
    listed = cloud.as_("bob", "GET", SERVERS, headers=headers)
    assert (listed.status_code, listed.json()["servers"]) == (200, [])
    shown = cloud.as_("bob", "GET", f"{SERVERS}/{cloud.server_a}", headers=headers)
    assert (shown.status_code, shown.json()) == (404, not_found(cloud.server_a))


# -- the services' API -----------------------------------------------------------------


def _event(cloud: KeystoneCloud) -> dict[str, Any]:
    return {"name": "network-vif-plugged", "server_uuid": cloud.server_a, "tag": "port-1"}


def test_a_member_cannot_send_external_events(cloud: KeystoneCloud) -> None:
    sent = len(cloud.world.events.sent)
    response = cloud.as_("alice", "POST", EVENTS, json={"events": [_event(cloud)]})
    assert (response.status_code, response.json()) == (
        403,
        forbidden("os_compute_api:os-server-external-events:create"),
    )
    assert len(cloud.world.events.sent) == sent


def test_a_service_token_sends_external_events(cloud: KeystoneCloud) -> None:
    event = _event(cloud)
    response = cloud.as_("nova", "POST", EVENTS, json={"events": [event]})
    assert (response.status_code, response.json()) == (
        200,
        {"events": [{**event, "status": "completed", "code": 200}]},
    )
    assert cloud.world.events.sent[-1][1] == cloud.server_a


# -- the admin's APIs ------------------------------------------------------------------


ADMIN_ONLY: Final = [
    pytest.param("GET", "/os-services", None, "os_compute_api:os-services:list", id="services"),
    pytest.param(
        "GET", "/os-hypervisors", None, "os_compute_api:os-hypervisors:list", id="hypervisors"
    ),
    pytest.param(
        "GET",
        "/os-hypervisors/detail",
        None,
        "os_compute_api:os-hypervisors:list-detail",
        id="hypervisors-detail",
    ),
    pytest.param(
        "GET", "/os-migrations", None, "os_compute_api:os-migrations:index", id="migrations"
    ),
    pytest.param(
        "POST",
        "/servers/{server}/action",
        {"migrate": {"host": "compute-00001"}},
        "os_compute_api:os-migrate-server:migrate:host",
        id="migrate-to-host",
    ),
    pytest.param(
        "POST",
        "/servers/{server}/action",
        {"os-migrateLive": {"host": "compute-00001", "block_migration": "auto"}},
        "os_compute_api:os-migrate-server:migrate_live:host",
        id="live-migrate-to-host",
    ),
    pytest.param(
        "POST",
        "/servers/{server}/action",
        {"evacuate": {}},
        "os_compute_api:os-evacuate",
        id="evacuate",
    ),
    pytest.param(
        "POST",
        "/servers/{server}/action",
        {"os-resetState": {"state": "active"}},
        "os_compute_api:os-admin-actions:reset_state",
        id="reset-state",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "rule"), ADMIN_ONLY)
def test_a_member_is_refused_the_admins_compute_apis(
    cloud: KeystoneCloud, method: str, path: str, body: Any, rule: str
) -> None:
    url = "/compute/v2.1" + path.format(server=cloud.server_a)
    response = cloud.as_("alice", method, url, json=body)
    assert (response.status_code, response.json()) == (403, forbidden(rule))


@pytest.mark.parametrize(
    ("method", "path", "rule"),
    [
        ("GET", "/offpath/v1/hosts", "offpath:admin:hosts:get"),
        ("GET", "/offpath/v1/hosts/compute-00001/devices", "offpath:admin:hosts:get"),
        ("GET", "/offpath/v1/pools", "offpath:admin:pools:get"),
        ("GET", "/offpath/v1/chassis", "offpath:admin:chassis:get"),
        ("POST", "/offpath/v1/schedule/explain", "offpath:admin:schedule:explain"),
    ],
)
def test_a_member_is_refused_offpaths_admin_api(
    cloud: KeystoneCloud, method: str, path: str, rule: str
) -> None:
    response = cloud.as_("alice", method, path, json={})
    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "code": "PolicyNotAuthorized",
            "message": f"Policy doesn't allow {rule} to be performed.",
            "status": 403,
        }
    }


def test_the_admin_is_let_into_the_same_apis(cloud: KeystoneCloud) -> None:
    for path in ("/compute/v2.1/os-services", "/compute/v2.1/os-hypervisors", "/offpath/v1/hosts"):
        assert cloud.as_("admin", "GET", path).status_code == 200, path


# -- the test helpers' X-Roles header is nothing to the app ----------------------------


def test_x_roles_admin_does_not_make_a_member_an_admin(cloud: KeystoneCloud) -> None:
    headers = {"X-Roles": "admin,member,reader,service"}
    services = cloud.as_("alice", "GET", "/compute/v2.1/os-services", headers=headers)
    assert (services.status_code, services.json()) == (
        403,
        forbidden("os_compute_api:os-services:list"),
    )
    hosts = cloud.as_("alice", "GET", "/offpath/v1/hosts", headers=headers)
    assert hosts.status_code == 403
    events = cloud.as_("alice", "POST", EVENTS, headers=headers, json={"events": [_event(cloud)]})
    assert events.status_code == 403
    elsewhere = cloud.as_("bob", "GET", f"{SERVERS}/{cloud.server_a}", headers=headers)
    assert (elsewhere.status_code, elsewhere.json()) == (404, not_found(cloud.server_a))
    everyone = cloud.as_("bob", "GET", f"{SERVERS}/detail?all_tenants=1", headers=headers)
    assert (everyone.status_code, everyone.json()) == (
        403,
        forbidden("os_compute_api:servers:detail:get_all_tenants"),
    )


def test_x_roles_reader_does_not_narrow_a_member_either(cloud: KeystoneCloud) -> None:
    # Proof the header is not read at all: a narrowing would refuse alice's show.
    shown = cloud.as_("alice", "GET", f"{SERVERS}/{cloud.server_a}", headers={"X-Roles": "none"})
    assert shown.status_code == 200


# -- a token is its user's to inspect ----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "action"),
    [
        ("GET", "identity:validate_token"),
        ("HEAD", "identity:check_token"),
        ("DELETE", "identity:revoke_token"),
    ],
)
def test_another_user_may_not_inspect_or_revoke_a_token(
    cloud: KeystoneCloud, method: str, action: str
) -> None:
    headers = {"X-Auth-Token": cloud.token["bob"], "X-Subject-Token": cloud.token["alice"]}
    response = cloud.http.request(method, TOKENS, headers=headers)
    assert response.status_code == 403
    assert "x-subject-token" not in response.headers
    if method != "HEAD":
        assert response.json() == {
            "error": {
                "code": 403,
                "title": "Forbidden",
                "message": f"You are not authorized to perform the requested action: {action}.",
            }
        }
    assert cloud.as_("alice", "GET", SERVERS).status_code == 200


def test_a_service_inspects_anothers_token(cloud: KeystoneCloud) -> None:
    headers = {"X-Auth-Token": cloud.token["nova"], "X-Subject-Token": cloud.token["alice"]}
    response = cloud.http.get(TOKENS, headers={**headers, **LATEST})
    assert response.status_code == 200
    assert response.json()["token"]["user"]["name"] == "alice"

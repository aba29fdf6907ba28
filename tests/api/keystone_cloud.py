"""The API app as a deployment serves it, over real Keystone tokens: two projects and their people.

No static token and no test-only header: every caller logs in at
`/identity/v3/auth/tokens` and is who its token says. The network API is
mounted as the embedded cloud mounts it, on the same policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from fastapi.testclient import TestClient
from httpx import Response

from offpath.api.app import create_app
from offpath.api.deps import ApiDeps
from offpath.api.network_v2 import NETWORK_PREFIX, network_router
from offpath.api.policy import default_policy
from offpath.identity.authentication import TokenService
from offpath.identity.bootstrap import SERVICE_PROJECT, bootstrap
from offpath.identity.directory import IdentityDirectory
from offpath.network.embedded import embedded_network_service
from offpath.service_token import login_body
from offpath.sim.fleet import fleet_reports
from tests.api.world import RecordingForwarder, World
from tests.control.cluster import Cluster

PASSWORD: Final = "attack-secret"
ADMIN_PASSWORD: Final = "admin-secret"
PROJECT_A: Final = "project-a"
PROJECT_B: Final = "project-b"
LATEST: Final = {"OpenStack-API-Version": "compute 2.96"}
# Who logs in, with which role, where: (user, role, project).
PEOPLE: Final = (
    ("alice", "member", PROJECT_A),
    ("rita", "reader", PROJECT_A),
    ("bob", "member", PROJECT_B),
    ("nova", "service", SERVICE_PROJECT),
)


@dataclass
class KeystoneCloud:
    """The app, its identity, each person's token, and what project A owns."""

    cluster: Cluster
    http: TestClient
    tokens: TokenService
    directory: IdentityDirectory
    token: dict[str, str]
    project: dict[str, str]
    world: World
    # Project A's resources, made by alice: a server, a network, a port on it.
    server_a: str = ""
    network_a: str = ""
    port_a: str = ""
    network_b: str = ""

    def login(self, user: str, password: str = PASSWORD, project: str | None = PROJECT_A) -> str:
        """A new token of `user`'s."""
        response = self.http.post(
            "/identity/v3/auth/tokens", json=login_body(user, password, project)
        )
        assert response.status_code == 201, response.text
        token: str = response.headers["x-subject-token"]
        return token

    def as_(self, user: str, method: str, path: str, **kwargs: Any) -> Response:
        """`method path` sent with `user`'s token (and any more headers given)."""
        headers = {"X-Auth-Token": self.token[user], **LATEST, **kwargs.pop("headers", {})}
        response: Response = self.http.request(method, path, headers=headers, **kwargs)
        return response


def keystone_cloud(cluster: Cluster) -> KeystoneCloud:
    """The app over `cluster`, identity bootstrapped, and project A's server, network and port."""
    bootstrap(cluster.cells.api, password=ADMIN_PASSWORD)
    directory = IdentityDirectory(cluster.cells.api)
    project = {name: directory.create_project(name).id for name in (PROJECT_A, PROJECT_B)}
    project["admin"] = directory.project("admin").id
    for user, role, where in PEOPLE:
        directory.create_user(user, password=PASSWORD)
        directory.add_role(role, user=user, project=where)
    policy = default_policy()
    network = embedded_network_service(cluster.cells.api)
    tokens = TokenService(cluster.cells.api)
    events = RecordingForwarder()
    deps = ApiDeps(
        cells=cluster.cells,
        conductor=cluster.conductor,
        scheduler=cluster.scheduler,
        ports=cluster.ports,
        events=events,
        tokens=tokens,
        extra_routers=((NETWORK_PREFIX, network_router(lambda: network, policy=policy)),),
        policy=policy,
    )
    app = create_app(deps)
    http = TestClient(app, raise_server_exceptions=False)
    cloud = KeystoneCloud(
        cluster,
        http,
        tokens,
        directory,
        {},
        project,
        World(cluster, events, app),
    )
    for user, _, where in PEOPLE:
        cloud.token[user] = cloud.login(user, project=where)
    cloud.token["admin"] = cloud.login("admin", ADMIN_PASSWORD, "admin")
    _furnish(cloud)
    return cloud


def _furnish(cloud: KeystoneCloud) -> None:
    cloud.cluster.report(fleet_reports(1, vfs=4))
    port = cloud.world.port(project=cloud.project[PROJECT_A])
    server = {"name": "vm-a", "flavorRef": cloud.world.flavor(), "networks": [{"port": port}]}
    booted = cloud.as_("alice", "POST", "/compute/v2.1/servers", json={"server": server})
    assert booted.status_code == 202, booted.text
    cloud.server_a = booted.json()["server"]["id"]
    cloud.network_a = _created(cloud, "alice", "networks", {"network": {"name": "net-a"}})["id"]
    port_body = {"port": {"network_id": cloud.network_a, "name": "port-a"}}
    cloud.port_a = _created(cloud, "alice", "ports", port_body)["id"]
    cloud.network_b = _created(cloud, "bob", "networks", {"network": {"name": "net-b"}})["id"]


def _created(cloud: KeystoneCloud, user: str, collection: str, body: Any) -> dict[str, Any]:
    response = cloud.as_(user, "POST", f"/network/v2.0/{collection}", json=body)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = next(iter(response.json().values()))
    return made

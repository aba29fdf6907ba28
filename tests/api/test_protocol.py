"""What every request meets first: discovery, the token, the project, microversions, errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from offpath.conductor.port_directory import PortRecords
from offpath.ports.network import Network
from offpath.ports.port import Port
from tests.api.world import TOKEN, World, world_of
from tests.control.cluster import Cluster


@pytest.fixture
def anonymous(world: World) -> Iterator[TestClient]:
    yield TestClient(world.app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    "path",
    ["/compute", "/compute/v2/", "/compute/v2.1", "/compute/v2.1/", "/identity/v3", "/image"],
)
def test_discovery_needs_no_token(anonymous: TestClient, path: str) -> None:
    response = anonymous.get(path)
    assert response.status_code in (200, 300)
    document = response.json()
    versions = document.get("versions", document.get("version"))
    if isinstance(versions, dict):
        versions = versions.get("values", [versions])
    assert all({"id", "status", "links"} <= set(v) for v in versions)


def test_the_compute_version_document_carries_the_microversion_range(
    anonymous: TestClient,
) -> None:
    version = anonymous.get("/compute/v2.1").json()["version"]
    assert (version["min_version"], version["version"]) == ("2.1", "2.96")
    assert version["links"][0]["href"] == "http://testserver/compute/v2.1/"


def test_every_listed_compute_version_document_can_be_followed(anonymous: TestClient) -> None:
    listed = anonymous.get("/compute").json()["versions"]
    for version in listed:
        (link,) = [link for link in version["links"] if link["rel"] == "self"]
        followed = anonymous.get(link["href"])
        assert followed.status_code == 200, link["href"]
        assert followed.json()["version"]["id"] == version["id"]
        assert followed.json()["version"]["links"] == [link]


@pytest.mark.parametrize("token", [None, "wrong"])
def test_a_call_without_the_token_is_a_401(anonymous: TestClient, token: str | None) -> None:
    headers = {} if token is None else {"X-Auth-Token": token}
    response = anonymous.get("/compute/v2.1/servers", headers=headers)
    assert response.status_code == 401
    assert response.json() == {
        "unauthorized": {
            "code": 401,
            "message": "The request you have made requires authentication.",
        }
    }


def test_a_malformed_project_id_is_refused(anonymous: TestClient) -> None:
    response = anonymous.get(
        "/compute/v2.1/servers", headers={"X-Auth-Token": TOKEN, "X-Project-Id": "a b"}
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("header", "value", "used"),
    [
        pytest.param(None, None, "2.1", id="none"),
        pytest.param("OpenStack-API-Version", "compute 2.61", "2.61", id="new-header"),
        pytest.param("X-OpenStack-Nova-API-Version", "2.53", "2.53", id="legacy-header"),
        pytest.param("OpenStack-API-Version", "compute latest", "2.96", id="latest"),
    ],
)
def test_the_microversion_used_is_echoed(
    world: World, header: str | None, value: str | None, used: str
) -> None:
    headers = {} if header is None or value is None else {header: value}
    response = world.client().get("/compute/v2.1/flavors", headers=headers)
    assert response.status_code == 200
    assert response.headers["OpenStack-API-Version"] == f"compute {used}"
    assert response.headers["X-OpenStack-Nova-API-Version"] == used
    assert "OpenStack-API-Version" in response.headers["Vary"]


def test_a_microversion_out_of_range_is_nova_s_406(world: World) -> None:
    response = world.client().get(
        "/compute/v2.1/servers", headers={"OpenStack-API-Version": "compute 2.100"}
    )
    assert response.status_code == 406
    assert response.json() == {
        "computeFault": {
            "code": 406,
            "message": "Version 2.100 is not supported by the API. "
            "Minimum is 2.1 and maximum is 2.96.",
        }
    }


def test_a_malformed_microversion_is_a_400(world: World) -> None:
    response = world.client().get(
        "/compute/v2.1/servers", headers={"X-OpenStack-Nova-API-Version": "two"}
    )
    assert response.status_code == 400
    assert "is of invalid format" in response.json()["badRequest"]["message"]


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/compute/v2.1/no-such-thing", "itemNotFound"),
        ("/no/such/path", "error"),
        ("/image/v2/no-such-thing", "code"),
    ],
)
def test_an_unknown_path_is_a_json_404(world: World, path: str, key: str) -> None:
    response = world.client().get(path)
    assert response.status_code == 404
    assert key in response.json()


def test_a_wrong_method_is_nova_s_bad_method(world: World) -> None:
    response = world.client().patch("/compute/v2.1/servers")
    assert response.status_code == 405
    assert response.json()["badMethod"]["code"] == 405


class _Broken(PortRecords):
    def show_port(self, port_id: str) -> Port:
        raise RuntimeError("a bug with a secret inside")


def test_an_unexpected_failure_is_a_500_without_a_traceback(cluster: Cluster) -> None:
    cluster.ports = _Broken(networks=[Network("net")])
    world = world_of(cluster)
    response = world.client().post(
        "/compute/v2.1/servers",
        json={
            "server": {
                "name": "vm",
                "flavorRef": world.flavor(),
                "networks": [{"port": "6f0c9c0e-0000-4000-8000-000000000001"}],
            }
        },
    )
    assert response.status_code == 500
    fault = response.json()["computeFault"]
    assert fault["code"] == 500
    assert "secret" not in fault["message"]
    assert "Traceback" not in response.text
    assert response.headers["X-Compute-Request-ID"].startswith("req-")

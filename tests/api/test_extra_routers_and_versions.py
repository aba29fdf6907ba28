"""Routers mounted by other parts (the network service) get the token check and the error mapping;
the microversion header parser takes any text and answers a version or a clean 4xx."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import Headers

from offpath.api.app import create_app
from offpath.api.errors import HttpFault
from offpath.api.microversion import MAX_VERSION, MIN_VERSION, Microversion, requested_version
from offpath.errors import PortNotFound
from tests.api.world import TOKEN, World


def _network_router() -> APIRouter:
    router = APIRouter()

    @router.get("")
    def versions() -> dict[str, object]:
        return {"versions": [{"id": "v2.0", "status": "CURRENT", "links": []}]}

    @router.get("/v2.0/ports/{port_id}")
    def show_port(port_id: str) -> dict[str, object]:
        raise PortNotFound(port_id)

    return router


def test_an_extra_router_is_mounted_with_auth_and_neutron_shaped_errors(world: World) -> None:
    deps = world.app.state.deps
    deps.extra_routers = [("/network", _network_router())]
    app = create_app(deps)
    anonymous = TestClient(app)
    assert anonymous.get("/network").status_code == 200
    assert anonymous.get("/network/v2.0/ports/p1").status_code == 401
    answer = TestClient(app, headers={"X-Auth-Token": TOKEN}).get("/network/v2.0/ports/p1")
    assert answer.status_code == 404
    assert answer.json() == {
        "NeutronError": {
            "type": "PortNotFound",
            "message": "Port p1 could not be found.",
            "detail": "",
        }
    }


def test_openapi_is_served(world: World) -> None:
    document = TestClient(world.app).get("/openapi.json").json()
    assert "/compute/v2.1/servers" in document["paths"]
    assert "/offpath/v1/schedule/explain" in document["paths"]


@given(st.text(max_size=40))
def test_any_microversion_header_is_a_version_in_range_or_a_4xx(text: str) -> None:
    for name in ("OpenStack-API-Version", "X-OpenStack-Nova-API-Version"):
        value = f"compute {text}" if name == "OpenStack-API-Version" else text
        try:
            version = requested_version(Headers({name: value}))
        except HttpFault as fault:
            assert fault.status in (400, 406)
        except UnicodeEncodeError:
            continue
        else:
            assert MIN_VERSION <= version <= MAX_VERSION


@pytest.mark.parametrize(
    ("text", "version"),
    [("2.1", Microversion(2, 1)), ("2.96", Microversion(2, 96)), (" 2.60 ", Microversion(2, 60))],
)
def test_a_version_reads_as_major_and_minor(text: str, version: Microversion) -> None:
    assert Microversion.parse(text) == version


@pytest.mark.parametrize("text", ["2", "2.01", "v2.1", "2.1.1", "", "latest"])
def test_a_malformed_version_is_a_400(text: str) -> None:
    with pytest.raises(HttpFault) as caught:
        Microversion.parse(text)
    assert caught.value.status == 400

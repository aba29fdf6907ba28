"""`PUT /os-services/{id}` (2.53+): disable with a reason, enable, force down and up, Nova's rules.

A compute service forced down is down for every reader at once (the
scheduler too: a boot goes elsewhere), whatever its heartbeats say.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openstack.connection import Connection

from offpath.db.engine import writing
from offpath.db.services import register_service
from offpath.sim.fleet import fleet_reports
from tests.api.world import TOKEN, World, serving

SERVICES = "/compute/v2.1/os-services"
V253 = {"OpenStack-API-Version": "compute 2.53"}
CONDUCTOR_BINARY = "offpath-conductor"


@pytest.fixture
def client(world: World) -> TestClient:
    """Two reported hosts (compute-00001 and -00002) and a client of the API."""
    world.cluster.report(fleet_reports(2, vfs=2))
    return world.client()


def services(client: TestClient) -> dict[str, dict[str, Any]]:
    """The compute services by host, at 2.53."""
    listed = client.get(SERVICES, headers=V253).json()["services"]
    return {s["host"]: s for s in listed if s["binary"] == "offpath-compute"}


def put(client: TestClient, host: str, body: object, headers: dict[str, str] = V253) -> Any:
    service_id = services(client)[host]["id"]
    return client.put(f"{SERVICES}/{service_id}", json=body, headers=headers)


def test_a_forced_down_service_is_down_until_forced_up(client: TestClient) -> None:
    answer = put(client, "compute-00001", {"forced_down": True})
    assert answer.status_code == 200
    shown = answer.json()["service"]
    assert (shown["host"], shown["state"], shown["forced_down"]) == ("compute-00001", "down", True)
    assert services(client)["compute-00001"]["state"] == "down"
    assert services(client)["compute-00002"]["state"] == "up"
    back = put(client, "compute-00001", {"forced_down": "false"}).json()["service"]
    assert (back["state"], back["forced_down"]) == ("up", False)


def test_a_boot_skips_a_host_forced_down(world: World, client: TestClient) -> None:
    # Left alone, the scheduler puts these boots on compute-00002.
    assert put(client, "compute-00002", {"forced_down": True}).status_code == 200
    for _ in range(3):
        assert world.cluster.boot(world.cluster.port()).host == "compute-00001"


def test_disabled_with_a_reason_then_enabled_again(client: TestClient) -> None:
    body = {"status": "disabled", "disabled_reason": "card swap"}
    disabled = put(client, "compute-00002", body).json()["service"]
    assert (disabled["status"], disabled["disabled_reason"]) == ("disabled", "card swap")
    assert services(client)["compute-00002"]["disabled_reason"] == "card swap"
    enabled = put(client, "compute-00002", {"status": "enabled"}).json()["service"]
    assert (enabled["status"], enabled["disabled_reason"]) == ("enabled", None)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            {"status": "enabled", "disabled_reason": "x"},
            "Specifying 'disabled_reason' with status 'enabled' is invalid.",
            id="reason-when-enabling",
        ),
        pytest.param(
            {},
            "No updates were requested. Fields 'status' or 'forced_down' should be specified.",
            id="nothing",
        ),
        pytest.param({"disabled_reason": "x"}, "No updates were requested.", id="reason-only"),
        pytest.param({"status": "off"}, "field/attribute status", id="bad-status"),
        pytest.param({"forced_down": "maybe"}, "field/attribute forced_down", id="bad-bool"),
        pytest.param({"forced_down": 1}, "field/attribute forced_down", id="number"),
        pytest.param({"host": "h", "forced_down": True}, "Additional properties", id="extra-key"),
        pytest.param(
            {"status": "disabled", "disabled_reason": "x" * 256},
            "field/attribute disabled_reason",
            id="long-reason",
        ),
        pytest.param(["forced_down"], "must be an object", id="not-an-object"),
    ],
)
def test_a_bad_update_is_a_400_with_novas_message(
    client: TestClient, body: object, message: str
) -> None:
    answer = put(client, "compute-00001", body)
    assert answer.status_code == 400
    assert message in answer.json()["badRequest"]["message"]
    assert services(client)["compute-00001"]["status"] == "enabled"


def test_an_unknown_service_is_a_404_and_a_bad_id_a_400(client: TestClient) -> None:
    missing = "0b3a7d5e-0000-4000-8000-000000000000"
    answer = client.put(f"{SERVICES}/{missing}", json={"forced_down": True}, headers=V253)
    assert answer.status_code == 404
    assert answer.json()["itemNotFound"]["message"] == f"Service {missing} could not be found."
    bad = client.put(f"{SERVICES}/force-down", json={"forced_down": True}, headers=V253)
    assert bad.status_code == 400
    assert bad.json()["badRequest"]["message"] == "Invalid uuid force-down"


def test_only_compute_services_can_be_updated(world: World, client: TestClient) -> None:
    with writing(world.cluster.cells.engine(world.cluster.cell())) as session:
        register_service(
            session, host="control-1", binary=CONDUCTOR_BINARY, topic="conductor", version=1
        )
    listed = client.get(SERVICES, headers=V253).json()["services"]
    (conductor,) = [s for s in listed if s["binary"] == CONDUCTOR_BINARY]
    answer = client.put(f"{SERVICES}/{conductor['id']}", json={"status": "disabled"}, headers=V253)
    assert answer.status_code == 400
    assert answer.json()["badRequest"]["message"] == (
        f"Updating a {CONDUCTOR_BINARY} service is not supported. "
        "Only offpath-compute services can be updated."
    )


def test_before_2_53_a_service_is_not_updated_by_id(client: TestClient) -> None:
    answer = put(
        client, "compute-00001", {"forced_down": True}, {"OpenStack-API-Version": "compute 2.52"}
    )
    assert answer.status_code == 400
    assert services(client)["compute-00001"]["forced_down"] is False


@pytest.fixture
def sdk(world: World, client: TestClient) -> Iterator[Connection]:
    with serving(world.app) as base:
        conn = Connection(
            auth_type="admin_token",
            auth={"endpoint": f"{base}/compute/v2.1", "token": TOKEN},
            compute_endpoint_override=f"{base}/compute/v2.1",
            image_endpoint_override=f"{base}/image",
            network_endpoint_override=f"{base}/network",
        )
        try:
            yield conn
        finally:
            conn.close()


def test_openstacksdk_forces_down_disables_and_enables(sdk: Connection) -> None:
    (service,) = sdk.compute.services(host="compute-00001", binary="offpath-compute")
    forced = sdk.compute.update_service_forced_down(service, forced=True)
    assert forced is not None and (forced.is_forced_down, forced.state) == (True, "down")
    disabled = sdk.compute.disable_service(service, disabled_reason="fenced")
    assert disabled is not None and (disabled.status, disabled.disabled_reason) == (
        "disabled",
        "fenced",
    )
    sdk.compute.enable_service(service)
    sdk.compute.update_service_forced_down(service, forced=False)
    (again,) = sdk.compute.services(host="compute-00001")
    assert (again.status, again.state, again.is_forced_down) == ("enabled", "up", False)

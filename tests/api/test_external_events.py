"""`os-server-external-events`: per-event codes as Nova, and accepted events reach the host."""

from __future__ import annotations

import uuid

import pytest

from offpath.ports.vnic import VnicType
from offpath.sim.fleet import fleet_reports
from tests.api.world import World

EVENTS = "/compute/v2.1/os-server-external-events"


def _boot(world: World, vnic: VnicType = VnicType.REMOTE_MANAGED) -> str:
    response = world.client().post(
        "/compute/v2.1/servers",
        json={
            "server": {
                "name": "vm",
                "flavorRef": world.flavor(),
                "networks": [{"port": world.port(vnic)}],
            }
        },
        headers={"OpenStack-API-Version": "compute 2.96"},
    )
    server_id: str = response.json()["server"]["id"]
    return server_id


def test_an_accepted_event_is_forwarded_to_the_server_s_host(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=2))
    server = _boot(world)
    event = {"name": "network-vif-plugged", "server_uuid": server, "tag": "port-1"}
    response = world.client().post(EVENTS, json={"events": [event]})
    assert response.status_code == 200
    assert response.json() == {"events": [{**event, "status": "completed", "code": 200}]}
    assert world.events.sent == [("compute-00001", server, [{**event, "status": "completed"}])]


def test_a_batch_with_unknown_and_hostless_servers_is_a_207(world: World) -> None:
    world.cluster.report(fleet_reports(1, vfs=2))
    placed = _boot(world)
    hostless = _boot(world, VnicType.DIRECT)  # no host takes it: ERROR in cell0
    unknown = str(uuid.uuid4())
    events = [
        {"name": "network-vif-plugged", "server_uuid": s, "tag": "p"}
        for s in (placed, hostless, unknown)
    ]
    response = world.client().post(EVENTS, json={"events": events})
    assert response.status_code == 207
    assert [(e["code"], e["status"]) for e in response.json()["events"]] == [
        (200, "completed"),
        (422, "failed"),
        (404, "failed"),
    ]
    assert [sent[1] for sent in world.events.sent] == [placed]


def test_a_batch_no_server_can_take_is_a_404(world: World) -> None:
    response = world.client().post(
        EVENTS,
        json={"events": [{"name": "network-changed", "server_uuid": str(uuid.uuid4())}]},
    )
    assert response.status_code == 404
    assert response.json()["itemNotFound"]["message"] == "No instances found for any event"
    assert world.events.sent == []


@pytest.mark.parametrize(
    "event",
    [
        pytest.param({"name": "nonsense", "server_uuid": str(uuid.uuid4())}, id="bad-name"),
        pytest.param({"name": "network-changed", "server_uuid": "x"}, id="bad-uuid"),
        pytest.param(
            {"name": "network-changed", "server_uuid": str(uuid.uuid4()), "status": "maybe"},
            id="bad-status",
        ),
    ],
)
def test_an_invalid_event_is_a_400(world: World, event: dict[str, str]) -> None:
    response = world.client().post(EVENTS, json={"events": [event]})
    assert response.status_code == 400
    assert "badRequest" in response.json()


def test_an_empty_batch_is_a_400(world: World) -> None:
    assert world.client().post(EVENTS, json={"events": []}).status_code == 400

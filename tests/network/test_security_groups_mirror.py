"""What the network service tells its mirror about security groups, and when (no OVN needed)."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from offpath.errors import OvnUnavailable
from offpath.network.mirror import PortWrite, SecurityGroupWrite
from offpath.network.records import NetworkRecord
from offpath.network.service import NetworkService
from tests.network.conftest import ADMIN_HEADERS, network_app
from tests.network.test_dpu_sim_binding import make_network

GROUPS = "/network/v2.0/security-groups"
RULES = "/network/v2.0/security-group-rules"


class RecordingMirror:
    """A NetworkMirror that records what it is told; `failing` makes group writes fail."""

    def __init__(self) -> None:
        self.groups: list[SecurityGroupWrite] = []
        self.deleted: list[str] = []
        self.ports: list[PortWrite] = []
        self.filtered: list[tuple[str, ...]] = []
        self.failing = False

    def network_written(self, network: NetworkRecord) -> None:
        pass

    def network_deleted(self, network_id: str) -> None:
        pass

    def port_written(self, write: PortWrite) -> None:
        self.ports.append(write)

    def port_deleted(self, port_id: str) -> None:
        pass

    def security_group_written(self, write: SecurityGroupWrite) -> None:
        if self.failing:
            raise OvnUnavailable("Northbound", "tcp:127.0.0.1:1", "no answer")
        self.groups.append(write)

    def security_group_deleted(self, group_id: str) -> None:
        self.deleted.append(group_id)

    def filtered_ports_written(self, port_ids: tuple[str, ...]) -> None:
        self.filtered.append(port_ids)


@pytest.fixture
def mirror() -> RecordingMirror:
    return RecordingMirror()


@pytest.fixture
def mirrored(api_engine: Engine, mirror: RecordingMirror) -> NetworkService:
    return NetworkService(api_engine, drivers=(), mirror=mirror)


@pytest.fixture
def client(mirrored: NetworkService) -> TestClient:
    return TestClient(network_app(mirrored), headers=ADMIN_HEADERS)


def make_group(http: TestClient, name: str) -> str:
    response = http.post(GROUPS, json={"security_group": {"name": name}})
    assert response.status_code == 201, response.text
    group_id: str = response.json()["security_group"]["id"]
    return group_id


def test_group_and_rule_writes_send_the_group_whole_without_touching_members(
    client: TestClient, mirror: RecordingMirror
) -> None:
    web = make_group(client, "web")
    assert [(w.group.id, len(w.group.rules), w.ports) for w in mirror.groups] == [(web, 2, None)]
    body = {"security_group_rule": {"security_group_id": web, "direction": "ingress"}}
    rule_id = client.post(RULES, json=body).json()["security_group_rule"]["id"]
    assert (mirror.groups[-1].group.id, len(mirror.groups[-1].group.rules)) == (web, 3)
    assert client.delete(f"{RULES}/{rule_id}").status_code == 204
    assert rule_id not in {rule.id for rule in mirror.groups[-1].group.rules}
    response = client.put(f"{GROUPS}/{web}", json={"security_group": {"stateful": False}})
    assert response.status_code == 200
    assert mirror.groups[-1].group.stateful is False
    assert client.delete(f"{GROUPS}/{web}").status_code == 204
    assert mirror.deleted == [web]


def test_a_deleted_remote_group_rewrites_the_groups_whose_rules_named_it(
    client: TestClient, mirror: RecordingMirror
) -> None:
    web, peers = make_group(client, "web"), make_group(client, "peers")
    body = {
        "security_group_rule": {
            "security_group_id": web,
            "direction": "ingress",
            "remote_group_id": peers,
        }
    }
    assert client.post(RULES, json=body).status_code == 201
    assert client.delete(f"{GROUPS}/{peers}").status_code == 204
    assert mirror.deleted == [peers]
    last = mirror.groups[-1].group
    assert last.id == web and all(r.rule.remote_group_id is None for r in last.rules)


def test_a_port_write_carries_its_groups_and_a_project_default_made_by_a_listing_is_sent(
    client: TestClient, mirror: RecordingMirror
) -> None:
    default = client.get(GROUPS, params={"name": "default"}).json()["security_groups"][0]["id"]
    assert [w.group.id for w in mirror.groups] == [default]
    network_id = make_network(client)
    port = client.post("/network/v2.0/ports", json={"port": {"network_id": network_id}})
    assert port.status_code == 201
    write = mirror.ports[-1]
    assert [group.id for group in write.groups] == [default]
    assert len(write.groups[0].rules) == 4


def test_a_group_write_the_backend_does_not_take_is_logged_and_the_request_succeeds(
    client: TestClient,
    mirror: RecordingMirror,
    mirrored: NetworkService,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mirror.failing = True
    with caplog.at_level(logging.ERROR):
        web = make_group(client, "web")
    assert f"security group {web} is stored but not written" in caplog.text
    mirror.failing = False
    mirrored.write_security_group_to_backend(web)
    assert (mirror.groups[-1].group.id, mirror.groups[-1].ports) == (web, ())
    mirrored.write_filtered_ports_to_backend()
    assert mirror.filtered == [()]

"""The network service on every database backend: workers racing for addresses and representors."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from offpath.db.engine import open_engine
from offpath.db.schema_version import SchemaKind, sync
from offpath.network.caller import ADMIN
from offpath.network.embedded import embedded_network_service
from offpath.network.neutron_json import NetworkSpec, PortChanges, PortSpec, SubnetSpec
from offpath.network.service import NetworkService
from offpath.ports.vnic import VnicType
from tests.backends import BACKENDS, scratch_database
from tests.network.conftest import ADMIN_HEADERS, PF_MACS, SERIAL, full_profile, network_app

WORKERS = 4
PORTS = 12


@pytest.fixture(params=BACKENDS)
def engines(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[Engine]]:
    """One migrated API database per backend, opened by several workers."""
    with scratch_database(str(request.param), tmp_path) as url:
        engines = [open_engine(url) for _ in range(WORKERS)]
        sync(engines[0], SchemaKind.API)
        yield engines
        for engine in engines:
            engine.dispose()


def test_racing_workers_hand_out_distinct_addresses_and_macs(engines: list[Engine]) -> None:
    services = [embedded_network_service(engine) for engine in engines]
    network = services[0].create_network(ADMIN, NetworkSpec(name="n"))
    services[0].create_subnet(
        ADMIN, SubnetSpec(network_id=network.network.id, cidr="10.0.0.0/24", ip_version=4)
    )

    def create(index: int) -> str:
        service = services[index % WORKERS]
        record = service.create_port(ADMIN, PortSpec(network.network.id, None, PortChanges()))
        return record.port.fixed_ips[0].ip_address

    with ThreadPoolExecutor(WORKERS) as pool:
        addresses = list(pool.map(create, range(PORTS)))
    assert len(set(addresses)) == PORTS
    ports = services[0].list_ports(ADMIN)
    assert len({p.port.mac_address for p in ports}) == PORTS


def test_one_representor_is_plugged_once_when_workers_race(engines: list[Engine]) -> None:
    services: list[NetworkService] = [embedded_network_service(e) for e in engines]
    services[0].register_chassis("dpu-1", serial=SERIAL, pf_macs=PF_MACS, vfs=8)
    network = services[0].create_network(ADMIN, NetworkSpec(name="n"))
    port_ids = [
        services[0]
        .create_port(
            ADMIN,
            PortSpec(network.network.id, None, PortChanges(vnic_type=VnicType.REMOTE_MANAGED)),
        )
        .port.id
        for _ in range(WORKERS)
    ]

    def bind(index: int) -> str:
        changes = PortChanges(host_id="compute-1", profile=full_profile())
        return services[index].update_port(ADMIN, port_ids[index], changes).port.status

    with ThreadPoolExecutor(WORKERS) as pool:
        statuses = list(pool.map(bind, range(WORKERS)))
    assert sorted(statuses) == ["ACTIVE"] + ["DOWN"] * (WORKERS - 1)
    assert len(services[0].chassis_plugs("dpu-1")) == 1


HOSTILE = [
    pytest.param("POST", "/network/v2.0/networks", {"network": {"name": "a\x00b"}}, id="nul-name"),
    pytest.param(
        "POST", "/network/v2.0/networks", {"network": {"name": "n" * 300}}, id="long-name"
    ),
    pytest.param("POST", "/network/v2.0/networks", {"network": {"mtu": 2**40}}, id="huge-mtu"),
    pytest.param(
        "POST",
        "/network/v2.0/networks",
        {"network": {"provider:network_type": "geneve", "provider:segmentation_id": 2**40}},
        id="huge-vni",
    ),
    pytest.param(
        "POST",
        "/network/offpath/chassis",
        {"hostname": "d", "serial": "s", "pf_macs": [], "vfs": 2**40},
        id="huge-vfs",
    ),
    pytest.param(
        "POST",
        "/network/offpath/chassis",
        {"hostname": "d\x00", "serial": "s", "pf_macs": [], "vfs": 1},
        id="nul-hostname",
    ),
    pytest.param(
        "PUT", "/network/offpath/sriov-hosts/" + "h" * 300, {"physnets": []}, id="long-host"
    ),
]


@pytest.mark.parametrize(("method", "path", "body"), HOSTILE)
def test_hostile_input_is_a_400_on_every_backend(
    engines: list[Engine], method: str, path: str, body: object
) -> None:
    http = TestClient(network_app(embedded_network_service(engines[0])), headers=ADMIN_HEADERS)
    response = http.request(method, path, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["NeutronError"]["type"] == "InvalidInput"


# The NUL travels percent-encoded, as a client sends it.
@pytest.mark.parametrize("port_id", ["x" * 300, "a%00b"], ids=["long", "nul"])
def test_an_id_no_row_can_have_is_a_404_on_every_backend(
    engines: list[Engine], port_id: str
) -> None:
    http = TestClient(network_app(embedded_network_service(engines[0])), headers=ADMIN_HEADERS)
    assert http.get(f"/network/v2.0/ports/{port_id}").status_code == 404
    assert http.get("/network/v2.0/ports", params={"device_id": unquote(port_id)}).json() == {
        "ports": []
    }
    assert http.get(f"/network/offpath/chassis/{port_id}").status_code == 404

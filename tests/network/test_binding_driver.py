"""The binding-driver seam fits a backend that hears later, off-thread, that a port is up."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from offpath.network.binding_driver import (
    BindingDriver,
    BindOutcome,
    BindRequest,
    PortStatusSink,
)
from offpath.network.caller import ADMIN
from offpath.network.nova_notifier import ServerEvent
from offpath.network.records import VifType
from offpath.network.service import NetworkService
from offpath.ports.port import Port
from offpath.ports.vnic import VnicType
from tests.network.conftest import ADMIN_HEADERS, RecordingSink, network_app
from tests.network.test_dpu_sim_binding import SERVER, make_network, make_port


class LateBackend:
    """A driver like OVN's: writes its options at bind, hears `up` a while later, off-thread."""

    name = "late"
    vnic_types = frozenset({VnicType.REMOTE_MANAGED})

    def __init__(self) -> None:
        self.release = threading.Event()
        self.threads: list[threading.Thread] = []
        self.unbound_ports: list[str] = []

    def bind(self, request: BindRequest) -> BindOutcome:
        return BindOutcome(VifType.OVS, {"connectivity": "l2"}, {"requested-chassis": "dpu"})

    def bound(self, port: Port, outcome: BindOutcome, status: PortStatusSink) -> None:
        def report() -> None:
            if self.release.wait(timeout=5):
                status.port_up(port.id)

        thread = threading.Thread(target=report, daemon=True)
        thread.start()
        self.threads.append(thread)

    def unbound(self, port_id: str) -> None:
        self.unbound_ports.append(port_id)


def test_a_port_goes_active_when_the_backend_reports_it_up_later(
    api_engine: Engine, events: RecordingSink
) -> None:
    backend = LateBackend()
    driver: BindingDriver = backend
    service = NetworkService(api_engine, drivers=[driver], events=events)
    http = TestClient(network_app(service), headers=ADMIN_HEADERS)
    port_id = make_port(http, make_network(http))
    body = {"port": {"binding:host_id": "compute-1", "device_id": SERVER}}
    port = http.put(f"/network/v2.0/ports/{port_id}", json=body).json()["port"]
    assert (port["binding:vif_type"], port["status"]) == ("ovs", "DOWN")
    assert service.get_port(ADMIN, port_id).lsp_options == {"requested-chassis": "dpu"}
    backend.release.set()
    for thread in backend.threads:
        thread.join(timeout=5)
    deadline = time.monotonic() + 5
    while service.get_port(ADMIN, port_id).port.status != "ACTIVE":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert events.events == [ServerEvent("network-vif-plugged", SERVER, port_id)]
    http.delete(f"/network/v2.0/ports/{port_id}")
    assert backend.unbound_ports == [port_id]


def test_a_port_created_with_a_host_is_bound_at_create(http: TestClient) -> None:
    http.put("/network/offpath/sriov-hosts/compute-1", json={"physnets": ["physnet1"]})
    network = make_network(
        http, **{"provider:network_type": "flat", "provider:physical_network": "physnet1"}
    )
    body = {
        "port": {
            "network_id": network,
            "binding:vnic_type": "direct",
            "binding:host_id": "compute-1",
        }
    }
    port = http.post("/network/v2.0/ports", json=body).json()["port"]
    assert port["binding:vif_type"] == "hw_veb"
    assert port["binding:vif_details"]["vlan"] == "0"


def test_a_vnic_type_no_driver_binds_fails_the_binding(service: NetworkService) -> None:
    http = TestClient(network_app(service), headers=ADMIN_HEADERS)
    port_id = make_port(http, make_network(http), vnic="normal")
    body = {"port": {"binding:host_id": "compute-1"}}
    assert (
        http.put(f"/network/v2.0/ports/{port_id}", json=body).json()["port"]["binding:vif_type"]
        == "binding_failed"
    )
    assert "no binding driver" in service.get_port(ADMIN, port_id).binding_failure

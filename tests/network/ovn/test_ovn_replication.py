"""What each side replicates of OVN: partial row copies, DPUs' own bindings, switch membership."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from offpath.network.ovn.backend import OvnBackend
from offpath.network.service import NetworkService
from tests.network.conftest import full_profile
from tests.network.ovn.conftest import DpuFactory, wait_for
from tests.network.test_dpu_sim_binding import bind, make_network, make_port

OTHER_SERIAL = "MT2113X99999"


def status(http: TestClient, port_id: str) -> str:
    value: str = http.get(f"/network/v2.0/ports/{port_id}").json()["port"]["status"]
    return value


def bindings(dpu: Any) -> set[str]:
    return {str(row.logical_port) for row in dpu.sb.rows("Port_Binding", ("logical_port",))}


def test_a_partial_copy_holds_the_uuid_and_the_columns_asked_for(
    backend: OvnBackend, dpus: DpuFactory
) -> None:
    dpus("dpu-1.example")
    (row,) = backend.sb.rows("Chassis", ("name", "hostname"))
    assert row._fields == ("uuid", "name", "hostname")
    assert (row.name, row.hostname) == ("dpu-1.example", "dpu-1.example")
    whole = backend.sb.row("Chassis", "dpu-1.example")
    assert whole is not None and whole.uuid == row.uuid
    partial = backend.sb.row("Chassis", "dpu-1.example", ("other_config",))
    assert partial is not None and partial.other_config == dict(whole.other_config)
    assert backend.sb.row("Chassis", "nowhere", ("name",)) is None


def test_a_dpu_replicates_only_the_bindings_requested_on_it(
    ovn_http: TestClient, backend: OvnBackend, dpus: DpuFactory
) -> None:
    mine = dpus("dpu-1.example")
    other = dpus("dpu-2.example", serial=OTHER_SERIAL)
    port_id = make_port(ovn_http, make_network(ovn_http))
    wait_for(lambda: backend.sb.row("Port_Binding", port_id), what="northd's binding")
    assert bindings(mine) == bindings(other) == set()
    bind(ovn_http, port_id, full_profile())
    wait_for(lambda: status(ovn_http, port_id) == "ACTIVE", what="ACTIVE")
    assert bindings(mine) == {port_id}
    assert bindings(other) == set()


def test_a_port_rebound_to_another_dpu_is_released_by_the_first(
    ovn_http: TestClient, backend: OvnBackend, dpus: DpuFactory
) -> None:
    first = dpus("dpu-1.example")
    second = dpus("dpu-2.example", serial=OTHER_SERIAL)
    port_id = make_port(ovn_http, make_network(ovn_http))
    bind(ovn_http, port_id, full_profile())
    wait_for(lambda: status(ovn_http, port_id) == "ACTIVE", what="ACTIVE on the first DPU")
    bind(ovn_http, port_id, full_profile(card_serial_number=OTHER_SERIAL))
    wait_for(lambda: port_id in second.plugged, what="the second DPU to plug")
    wait_for(lambda: port_id not in first.plugged, what="the first DPU to unplug")
    wait_for(lambda: status(ovn_http, port_id) == "ACTIVE", what="ACTIVE on the second DPU")
    binding = backend.sb.row("Port_Binding", port_id)
    assert binding is not None
    assert [chassis.name for chassis in binding.chassis] == ["dpu-2.example"]
    assert bindings(first) == set()


def test_a_port_row_found_on_another_switch_is_moved_back_to_its_networks(
    ovn_http: TestClient, backend: OvnBackend, ovn_service: NetworkService
) -> None:
    home = make_network(ovn_http)
    away = make_network(ovn_http)
    port_id = make_port(ovn_http, home)
    make_port(ovn_http, home)  # a neighbour, which must stay
    api = backend.nb.api
    with api.transaction(check_error=True) as txn:
        lsp = api.lookup("Logical_Switch_Port", port_id)
        txn.add(api.db_remove("Logical_Switch", f"neutron-{home}", "ports", lsp))
        txn.add(api.db_add("Logical_Switch", f"neutron-{away}", "ports", lsp))

    def holders() -> list[str]:
        switches = backend.nb.rows("Logical_Switch", ("name", "ports"))
        return sorted(s.name for s in switches if any(p.name == port_id for p in s.ports))

    assert holders() == [f"neutron-{away}"]
    ovn_service.write_port_to_backend(port_id)
    assert holders() == [f"neutron-{home}"]
    (home_switch,) = [s for s in backend.nb.rows("Logical_Switch") if s.name == f"neutron-{home}"]
    assert len(home_switch.ports) == 2


def test_a_watcher_gets_copies_of_the_columns_its_tables_watchers_read(
    ovn_http: TestClient, backend: OvnBackend
) -> None:
    seen: list[Any] = []
    backend.nb.watch("Logical_Switch", lambda _event, row, _old: seen.append(row), ("name",))
    make_network(ovn_http)
    wait_for(lambda: seen, what="the switch's creation")
    assert seen[-1]._fields == ("uuid", "name")
    backend.nb.watch("Logical_Switch", lambda *_: None, ("name", "external_ids"))
    seen.clear()
    make_network(ovn_http)
    wait_for(lambda: seen, what="the second switch's creation")
    assert seen[-1]._fields == ("uuid", "name", "external_ids")
    assert seen[-1].external_ids["neutron:network_name"] == "net"

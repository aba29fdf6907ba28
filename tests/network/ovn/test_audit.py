"""The drift audit on a real OVN: each drift injected behind offpath's back, found, repaired."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from offpath.db.engine import writing
from offpath.db.network_schema import PortRow
from offpath.network.caller import ADMIN
from offpath.network.nova_notifier import ServerEvent
from offpath.network.ovn.audit import OvnAudit
from offpath.network.ovn.backend import OvnBackend
from offpath.network.ovn.config import OvnConfig
from offpath.network.ovn.drift import Drift, DriftKind
from offpath.network.service import NetworkService
from tests.network.conftest import SERIAL, RecordingSink, full_profile
from tests.network.ovn.conftest import DOWN_TIME, DpuFactory, wait_for
from tests.network.ovn.test_ovn_binding import EXPECTED_OPTIONS, lsp, status
from tests.network.test_dpu_sim_binding import SERVER, bind, make_network, make_port

VLAN = {
    "provider:network_type": "vlan",
    "provider:physical_network": "physnet1",
    "provider:segmentation_id": 100,
}


@pytest.fixture
def audit(backend: OvnBackend, ovn_service: NetworkService) -> OvnAudit:
    """The audit of the test's network service against the test's OVN."""
    return backend.audit(ovn_service)


def found(audit: OvnAudit) -> list[tuple[DriftKind, str]]:
    return [drift.key for drift in audit.run().drifts]


def row(backend: OvnBackend, table: str, name: str) -> Any:
    """A row that must exist."""
    found = (
        backend.nb.row(table, name) if table.startswith("Logical") else backend.sb.row(table, name)
    )
    assert found is not None, f"no {table} {name}"
    return found


def the_drift(audit: OvnAudit, kind: DriftKind) -> Drift:
    (drift,) = [d for d in audit.run().drifts if d.kind is kind]
    return drift


def active_port(http: TestClient, backend: OvnBackend, network_id: str, **profile: Any) -> str:
    """A remote-managed port bound to dpu-1.example and ACTIVE (its DPU claimed it)."""
    port_id = make_port(http, network_id)
    bind(http, port_id, full_profile(**profile))
    wait_for(lambda: status(http, port_id) == "ACTIVE", what="the port to go ACTIVE")
    wait_for(
        lambda: "neutron:host_id" in lsp(backend, port_id).external_ids,
        what="neutron:host_id on the row",
    )
    return port_id


def requested(backend: OvnBackend, port_id: str) -> bool:
    """True once northd has requested the port's binding on a chassis."""
    binding = backend.sb.row("Port_Binding", port_id)
    return binding is not None and bool(binding.requested_chassis)


def set_status(engine: Engine, port_id: str, value: str) -> None:
    """Write a port's status in the database behind the network service's back."""
    with writing(engine) as session:
        session.execute(update(PortRow).where(PortRow.id == port_id).values(status=value))


def test_a_clean_ovn_reports_nothing(
    ovn_http: TestClient, backend: OvnBackend, audit: OvnAudit, dpus: DpuFactory
) -> None:
    dpus("dpu-1.example", physnets=["physnet1"])
    network_id = make_network(ovn_http)
    active_port(ovn_http, backend, network_id)
    make_port(ovn_http, network_id, vnic="normal")
    vlan_id = make_network(ovn_http, **VLAN)
    active_port(ovn_http, backend, vlan_id, vf_num=4)
    report = audit.run()
    assert [drift.message for drift in report.drifts] == []
    assert (report.networks, report.ports) == (2, 3)
    assert audit.fix(report.drifts) == []


def test_a_port_row_deleted_behind_offpaths_back_is_missing_and_written_again(
    ovn_http: TestClient, backend: OvnBackend, audit: OvnAudit, dpus: DpuFactory
) -> None:
    dpu = dpus("dpu-1.example")
    port_id = active_port(ovn_http, backend, make_network(ovn_http))
    backend.nb.execute([backend.nb.api.lsp_del(port_id)])
    drift = the_drift(audit, DriftKind.PORT_MISSING)
    assert found(audit) == [(DriftKind.PORT_MISSING, port_id)]
    assert drift.fixable
    assert "no Logical_Switch_Port" in drift.message
    assert audit.fix([drift]) == [drift]
    assert audit.settle().clean
    assert dict(lsp(backend, port_id).options) == EXPECTED_OPTIONS
    assert dpu.plugged == {port_id: "pf1vf3"}


def test_edited_options_are_named_and_rewritten(
    ovn_http: TestClient, backend: OvnBackend, audit: OvnAudit, dpus: DpuFactory
) -> None:
    dpus("dpu-1.example")
    port_id = active_port(ovn_http, backend, make_network(ovn_http))
    backend.nb.execute(
        [
            backend.nb.api.db_set(
                "Logical_Switch_Port",
                port_id,
                ("options", {"vif-plug:representor:vf-num": "7", "foo": "bar"}),
            )
        ]
    )
    drift = the_drift(audit, DriftKind.PORT_DIFFERS)
    assert found(audit) == [(DriftKind.PORT_DIFFERS, port_id)]
    assert "vif-plug:representor:vf-num '7' (should be '3')" in drift.message
    assert "foo 'bar' (should be absent)" in drift.message
    assert "the DPU plugs and claims what OVN asks for" in drift.message
    assert audit.fix([drift]) == [drift]
    assert dict(lsp(backend, port_id).options) == EXPECTED_OPTIONS
    assert audit.settle().clean


def test_plug_options_left_on_an_unbound_port_are_withdrawn_and_the_dpu_unplugs(
    ovn_http: TestClient, backend: OvnBackend, audit: OvnAudit, dpus: DpuFactory
) -> None:
    dpu = dpus("dpu-1.example")
    port_id = make_port(ovn_http, make_network(ovn_http))
    backend.nb.execute(
        [backend.nb.api.db_set("Logical_Switch_Port", port_id, ("options", EXPECTED_OPTIONS))]
    )
    wait_for(lambda: port_id in dpu.plugged, what="the DPU to plug the stale request")
    assert found(audit) == [(DriftKind.PORT_DIFFERS, port_id)]
    assert audit.fix(audit.run().drifts)
    assert dict(lsp(backend, port_id).options) == {}
    wait_for(lambda: port_id not in dpu.plugged, what="the DPU to unplug")
    assert audit.settle().clean
    assert status(ovn_http, port_id) == "DOWN"


def test_stale_switches_and_ports_are_deleted_and_an_operators_rows_kept(
    ovn_http: TestClient, backend: OvnBackend, audit: OvnAudit
) -> None:
    network_id = make_network(ovn_http)
    port_id = make_port(ovn_http, network_id)
    api = backend.nb.api
    gone_network, gone_port, orphan = (str(uuid.uuid4()) for _ in range(3))
    neutron_ids = {"neutron:device_owner": "compute:nova"}
    backend.nb.execute(
        [
            api.ls_add(f"neutron-{gone_network}"),
            api.lsp_add(f"neutron-{gone_network}", orphan, external_ids=neutron_ids),
            api.lsp_add(f"neutron-{network_id}", gone_port, external_ids=neutron_ids),
            api.ls_add("operator-switch"),
            api.lsp_add(f"neutron-{network_id}", "operator-port", external_ids={"owner": "me"}),
        ]
    )
    drifts = audit.run().drifts
    assert sorted(d.key for d in drifts) == sorted(
        [
            (DriftKind.SWITCH_STALE, gone_network),
            (DriftKind.PORT_STALE, gone_port),
            (DriftKind.PORT_STALE, orphan),
        ]
    )
    assert all(d.fixable for d in drifts)
    assert [d.kind for d in audit.fix(drifts)] == [
        DriftKind.PORT_STALE,
        DriftKind.PORT_STALE,
        DriftKind.SWITCH_STALE,
    ]
    assert audit.run().clean
    assert backend.nb.row("Logical_Switch", f"neutron-{gone_network}") is None
    assert lsp(backend, gone_port) is None
    assert backend.nb.row("Logical_Switch", "operator-switch") is not None
    assert lsp(backend, "operator-port") is not None
    assert lsp(backend, port_id) is not None


def test_a_deleted_switch_is_missing_with_its_ports_and_written_again(
    ovn_http: TestClient, backend: OvnBackend, audit: OvnAudit, dpus: DpuFactory
) -> None:
    dpus("dpu-1.example")
    network_id = make_network(ovn_http)
    port_id = active_port(ovn_http, backend, network_id)
    backend.nb.execute([backend.nb.api.ls_del(f"neutron-{network_id}")])
    assert found(audit) == [
        (DriftKind.SWITCH_MISSING, network_id),
        (DriftKind.PORT_MISSING, port_id),
    ]
    assert len(audit.fix(audit.run().drifts)) == 2
    assert audit.settle().clean
    wait_for(lambda: status(ovn_http, port_id) == "ACTIVE", what="ACTIVE again")


def test_a_switchs_external_ids_and_localnet_ports_are_rewritten(
    ovn_http: TestClient, backend: OvnBackend, audit: OvnAudit
) -> None:
    network_id = make_network(ovn_http, **VLAN)
    name = f"neutron-{network_id}"
    switch = row(backend, "Logical_Switch", name)
    (localnet,) = [p.name for p in switch.ports if p.type == "localnet"]
    api = backend.nb.api
    backend.nb.execute(
        [
            api.db_set(
                "Logical_Switch", name, ("external_ids", {"neutron:mtu": "1", "owner": "me"})
            ),
            api.lsp_del(localnet),
            api.lsp_add(name, "provnet-extra", type="localnet", options={"network_name": "x"}),
        ]
    )
    drift = the_drift(audit, DriftKind.SWITCH_DIFFERS)
    assert found(audit) == [(DriftKind.SWITCH_DIFFERS, network_id)]
    assert "neutron:mtu '1' (should be '1500')" in drift.message
    assert f"localnet port {localnet} of physnet physnet1 is missing" in drift.message
    assert "localnet port provnet-extra (physnet x) is no segment of the network" in drift.message
    assert audit.fix([drift]) == [drift]
    assert audit.run().clean
    switch = row(backend, "Logical_Switch", name)
    assert sorted(p.name for p in switch.ports) == [localnet]
    assert switch.external_ids["owner"] == "me"


def test_a_binding_claimed_by_another_chassis_is_reported_not_fixed(
    ovn_http: TestClient, backend: OvnBackend, audit: OvnAudit, dpus: DpuFactory
) -> None:
    first = dpus("dpu-1.example")
    dpus("dpu-2.example", serial="OTHER-SERIAL")
    port_id = active_port(ovn_http, backend, make_network(ovn_http))
    first.go_down()  # or it would claim its port back at once, as ovn-controller does
    binding = row(backend, "Port_Binding", port_id)
    other = row(backend, "Chassis", "dpu-2.example")
    backend.sb.execute(
        [backend.sb.api.db_set("Port_Binding", binding.uuid, ("chassis", other.uuid))]
    )
    wait_for(
        lambda: DriftKind.BINDING_WRONG_CHASSIS in {d.kind for d in audit.run().drifts},
        what="the audit to see the claim",
    )
    assert found(audit) == [(DriftKind.BINDING_WRONG_CHASSIS, port_id)]
    drift = the_drift(audit, DriftKind.BINDING_WRONG_CHASSIS)
    assert not drift.fixable
    assert "claimed by chassis dpu-2.example, not by the requested DPU chassis dpu-1.example" in (
        drift.message
    )
    assert audit.fix([drift]) == []


def test_an_unknown_vf_is_an_unclaimed_binding_with_where_to_look(
    ovn_http: TestClient, backend: OvnBackend, audit: OvnAudit, dpus: DpuFactory
) -> None:
    dpus("dpu-1.example", vfs=2)
    port_id = make_port(ovn_http, make_network(ovn_http))
    bind(ovn_http, port_id, full_profile(vf_num=5))
    wait_for(lambda: requested(backend, port_id), what="northd to request the binding")
    assert found(audit) == [(DriftKind.BINDING_UNCLAIMED, port_id)]
    drift = the_drift(audit, DriftKind.BINDING_UNCLAIMED)
    assert not drift.fixable
    assert "requested on DPU chassis dpu-1.example but not claimed" in drift.message
    assert "vf-num 5" in drift.message
    assert '"No representor port found"' in drift.message
    assert audit.fix(audit.run().drifts) == []
    assert status(ovn_http, port_id) == "DOWN"


def test_a_failed_binding_is_reported_with_its_reason(
    ovn_http: TestClient, audit: OvnAudit, dpus: DpuFactory
) -> None:
    dpus("dpu-1.example", serial="OTHER-SERIAL")
    port_id = make_port(ovn_http, make_network(ovn_http))
    bind(ovn_http, port_id, full_profile())
    assert found(audit) == [(DriftKind.BINDING_FAILED, port_id)]
    drift = the_drift(audit, DriftKind.BINDING_FAILED)
    assert not drift.fixable
    assert f"Chassis with ovn-cms-options card-serial-number={SERIAL} does not exist" in (
        drift.message
    )


def test_a_port_down_in_the_database_but_up_in_ovn_goes_active(
    ovn_http: TestClient,
    backend: OvnBackend,
    audit: OvnAudit,
    dpus: DpuFactory,
    *,
    api_engine: Engine,
    events: RecordingSink,
) -> None:
    dpus("dpu-1.example")
    port_id = active_port(ovn_http, backend, make_network(ovn_http))
    set_status(api_engine, port_id, "DOWN")
    events.events.clear()
    drifts = audit.run().drifts
    # neutron:host_id follows the status: the row has it, a DOWN port's row must not.
    assert [d.key for d in drifts] == [
        (DriftKind.PORT_DIFFERS, port_id),
        (DriftKind.STATUS_DIFFERS, port_id),
    ]
    assert "is DOWN but OVN has it up" in drifts[1].message
    assert [d.kind for d in audit.fix(drifts)] == [
        DriftKind.PORT_DIFFERS,
        DriftKind.STATUS_DIFFERS,
    ]
    assert status(ovn_http, port_id) == "ACTIVE"
    assert events.events == [ServerEvent("network-vif-plugged", SERVER, port_id, "completed")]
    assert audit.run().clean


def test_a_port_active_in_the_database_but_down_in_ovn_goes_down(
    ovn_http: TestClient, backend: OvnBackend, audit: OvnAudit, dpus: DpuFactory, api_engine: Engine
) -> None:
    dpus("dpu-1.example", vfs=2)
    port_id = make_port(ovn_http, make_network(ovn_http))
    bind(ovn_http, port_id, full_profile(vf_num=5))
    wait_for(lambda: backend.sb.row("Port_Binding", port_id), what="the binding")
    set_status(api_engine, port_id, "ACTIVE")
    drifts = audit.run().drifts
    assert (DriftKind.STATUS_DIFFERS, port_id) in [d.key for d in drifts]
    (drift,) = [d for d in drifts if d.kind is DriftKind.STATUS_DIFFERS]
    assert "is ACTIVE but OVN has its Logical_Switch_Port down" in drift.message
    audit.fix(drifts)
    assert status(ovn_http, port_id) == "DOWN"
    assert found(audit) == [(DriftKind.BINDING_UNCLAIMED, port_id)]


def test_a_repair_never_deletes_what_the_database_holds(
    ovn_http: TestClient, backend: OvnBackend, audit: OvnAudit
) -> None:
    network_id = make_network(ovn_http)
    port_id = make_port(ovn_http, network_id)
    believed = [
        Drift(DriftKind.PORT_STALE, port_id, "told so", fixable=True),
        Drift(DriftKind.SWITCH_STALE, network_id, "told so", fixable=True),
        Drift(DriftKind.BINDING_WRONG_CHASSIS, port_id, "told so", fixable=False),
    ]
    assert audit.fix(believed) == []
    assert lsp(backend, port_id) is not None
    assert backend.nb.row("Logical_Switch", f"neutron-{network_id}") is not None


def test_the_periodic_repair_writes_a_lost_port_back(
    ovn_http: TestClient,
    ovn_config: OvnConfig,
    ovn_service: NetworkService,
    api_engine: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    network_id = make_network(ovn_http)
    port_id = make_port(ovn_http, network_id)
    with OvnBackend(ovn_config, down_time=DOWN_TIME, repair_interval=0.1) as keeper:
        service = keeper.network_service(api_engine, hear_status=False)
        with caplog.at_level(logging.WARNING, logger="offpath.network.ovn.audit"):
            keeper.keep_up(repair=keeper.audit(service).repair)
            keeper.nb.execute([keeper.nb.api.lsp_del(port_id)])
            wait_for(lambda: lsp(keeper, port_id) is not None, what="the periodic repair")
    assert f"OVN drift repaired: port-missing {port_id}" in caplog.text
    assert ovn_service.get_port(ADMIN, port_id).port.network_id == network_id

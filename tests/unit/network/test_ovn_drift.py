"""The drift comparison alone: a database view against hand-made OVN rows, no OVN running."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from offpath.network.mirror import PortWrite
from offpath.network.ovn.drift import (
    DatabaseView,
    Drift,
    DriftKind,
    compare,
    order_of_repair,
)
from offpath.network.ovn.logical_ports import port_spec, switch_spec
from offpath.network.ovn.snapshot import BindingRow, LspRow, OvnSnapshot, SwitchRow
from offpath.network.records import Chassis, NetworkRecord, PortRecord
from offpath.ports.network import Network
from offpath.ports.port import Port
from offpath.ports.vnic import VnicType

NET = "11111111-1111-4111-8111-111111111111"
PORT = "22222222-2222-4222-8222-222222222222"
OPTIONS = {
    "requested-chassis": "dpu-1.example",
    "vif-plug-type": "representor",
    "vif-plug-mtu-request": "1500",
    "vif-plug:representor:pf-mac": "52:54:00:1e:59:02",
    "vif-plug:representor:vf-num": "3",
}


def network(**changes: object) -> NetworkRecord:
    base = Network(NET, "physnet1", "vlan", name="net", mtu=1500)
    return NetworkRecord(replace(base, **changes), project_id="p", segmentation_id=100)  # type: ignore[arg-type]


def bound_port(**changes: object) -> PortRecord:
    port = Port(
        PORT,
        NET,
        VnicType.REMOTE_MANAGED,
        device_id="server",
        binding_host_id="compute-1",
        status="ACTIVE",
        vif_type="ovs",
        mac_address="fa:16:3e:00:00:01",
    )
    return PortRecord(replace(port, **changes), lsp_options=OPTIONS)  # type: ignore[arg-type]


def chassis(name: str, *, up: bool = True) -> Chassis:
    return Chassis(name, {}, (), 0, up, datetime.now(UTC), name=name)


def view(*ports: PortRecord, net: NetworkRecord | None = None) -> DatabaseView:
    record = net or network()
    return DatabaseView((record,), tuple(PortWrite(port, record) for port in ports))


def mirrored(database: DatabaseView) -> OvnSnapshot:
    """OVN exactly as the writer leaves it, each remote-managed port claimed and up."""
    switches, ports, bindings = {}, {}, {}
    for record in database.networks:
        spec = switch_spec(record)
        for localnet in spec.localnets:
            ports[localnet.name] = LspRow(
                localnet.name,
                spec.name,
                localnet.type,
                addresses=localnet.addresses,
                options=localnet.options,
                tag_request=localnet.tag,
            )
        switches[spec.name] = SwitchRow(spec.name, spec.external_ids, tuple(ports))
    for write in database.ports:
        row = port_spec(write)
        active = write.port.port.status == "ACTIVE"
        ports[row.name] = LspRow(
            row.name,
            row.switch,
            row.type,
            row.addresses,
            row.port_security,
            row.enabled,
            row.options,
            row.external_ids,
            up=active,
        )
        wanted = row.options.get("requested-chassis")
        bindings[row.name] = BindingRow(row.name, wanted, wanted if active else None, active)
    return OvnSnapshot(switches, ports, bindings, {"dpu-1.example": chassis("dpu-1.example")})


def kinds(drifts: list[Drift]) -> list[DriftKind]:
    return [drift.kind for drift in drifts]


def test_ovn_as_the_writer_leaves_it_is_clean() -> None:
    database = view(bound_port())
    assert compare(database, mirrored(database)) == []


def test_an_operators_external_ids_and_an_unset_enabled_are_no_drift() -> None:
    database = view(bound_port())
    ovn = mirrored(database)
    row = ovn.ports[PORT]
    ids = {**row.external_ids, "owner": "me"}
    ovn = replace(ovn, ports={**ovn.ports, PORT: replace(row, external_ids=ids)})
    assert compare(database, ovn) == []


@pytest.mark.parametrize(
    ("column", "value", "text"),
    [
        pytest.param("switch", "neutron-other", "on switch neutron-other", id="switch"),
        pytest.param("type", "external", "type 'external' (should be '')", id="type"),
        pytest.param("addresses", (), "addresses [] (should be", id="addresses"),
        pytest.param("enabled", False, "enabled False (should be True)", id="enabled"),
        pytest.param("tag_request", 7, "tag_request 7 (should be None)", id="tag"),
    ],
)
def test_each_column_of_a_port_row_is_compared(column: str, value: object, text: str) -> None:
    database = view(bound_port())
    ovn = mirrored(database)
    changed: dict[str, Any] = {column: value}
    ports = {**ovn.ports, PORT: replace(ovn.ports[PORT], **changed)}
    (drift,) = [d for d in compare(database, replace(ovn, ports=ports)) if d.resource == PORT]
    assert drift.kind is DriftKind.PORT_DIFFERS
    assert text in drift.message
    assert drift.fixable


def test_neutron_host_id_follows_the_status() -> None:
    database = view(bound_port())
    ovn = mirrored(database)
    down = view(bound_port(status="DOWN"))
    drifts = compare(down, ovn)
    assert kinds(drifts) == [DriftKind.PORT_DIFFERS, DriftKind.STATUS_DIFFERS]
    assert "neutron:host_id 'compute-1' (should be absent)" in drifts[0].message


@pytest.mark.parametrize(
    ("known", "up", "text"),
    [
        pytest.param(False, True, "is not in the Southbound database", id="no-chassis"),
        pytest.param(True, False, "does not answer", id="dead-chassis"),
        pytest.param(True, True, '"No representor port found"', id="not-plugged"),
    ],
)
def test_an_unclaimed_binding_says_where_to_look(known: bool, up: bool, text: str) -> None:
    database = view(bound_port(status="DOWN"))
    ovn = mirrored(database)
    ovn = replace(ovn, chassis={"dpu-1.example": chassis("dpu-1.example", up=up)} if known else {})
    (drift,) = compare(database, ovn)
    assert drift.kind is DriftKind.BINDING_UNCLAIMED
    assert text in drift.message
    assert not drift.fixable


def test_a_binding_claimed_elsewhere_is_the_wrong_chassis() -> None:
    database = view(bound_port())
    ovn = mirrored(database)
    bindings = {PORT: replace(ovn.bindings[PORT], claimed="dpu-2.example")}
    (drift,) = compare(database, replace(ovn, bindings=bindings))
    assert drift.key == (DriftKind.BINDING_WRONG_CHASSIS, PORT)


def test_a_stale_row_with_neutron_keys_is_stale_and_one_without_is_an_operators() -> None:
    database = view()
    ovn = mirrored(database)
    ports = {
        **ovn.ports,
        "gone": LspRow("gone", "neutron-x", external_ids={"neutron:device_id": "d"}),
        "mine": LspRow("mine", "neutron-x", external_ids={"owner": "me"}),
    }
    switches = {**ovn.switches, "neutron-x": SwitchRow("neutron-x", {}, ("gone", "mine"))}
    drifts = compare(database, replace(ovn, ports=ports, switches=switches))
    assert [d.key for d in drifts] == [
        (DriftKind.SWITCH_STALE, "x"),
        (DriftKind.PORT_STALE, "gone"),
    ]


def test_a_repair_runs_stale_rows_first_and_status_last() -> None:
    drifts = [
        Drift(kind, "r", "m", fixable=True)
        for kind in (DriftKind.STATUS_DIFFERS, DriftKind.PORT_MISSING, DriftKind.SWITCH_STALE)
    ]
    assert kinds(order_of_repair(drifts)) == [
        DriftKind.SWITCH_STALE,
        DriftKind.PORT_MISSING,
        DriftKind.STATUS_DIFFERS,
    ]


def test_the_kinds_are_a_stable_contract() -> None:
    assert [kind.value for kind in DriftKind] == [
        "switch-missing",
        "switch-stale",
        "switch-differs",
        "port-missing",
        "port-stale",
        "port-differs",
        "binding-failed",
        "binding-missing",
        "binding-unclaimed",
        "binding-wrong-chassis",
        "status-differs",
        "port-group-missing",
        "port-group-stale",
        "port-group-differs",
        "acl-missing",
        "acl-stale",
        "acl-differs",
    ]

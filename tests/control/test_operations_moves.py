"""The conductor's moves (cold migrate, resize, confirm, revert, evacuate, live migrate).

Each move runs to its end in the test against scripted hosts; the cell
database says afterwards where the server is, what it holds on each host,
its PCI requests, its migration (status, device mapping) and its action's
events, and the steps show what each host was asked, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from offpath.conductor.migration_records import DeviceMove, MigrationStatus, MigrationType
from offpath.conductor.moves import Moves
from offpath.db.columns import utcnow
from offpath.db.device_claims import held_devices
from offpath.db.engine import reading
from offpath.errors import (
    CannotResizeToSameFlavor,
    ComputeServiceInUse,
    MigrationPreCheckError,
    MoveNoValidHost,
    RemoteManagedDeviceIncomplete,
)
from offpath.pci.device import PciDevice
from offpath.pci.flavor import ALIAS_KEY, Flavor
from offpath.pci.request import PciRequest
from offpath.version import SUPPORT_SERVER_OPERATIONS
from tests.control.operations_rig import (
    OperationsRig,
    addresses,
    devices_of,
    host_name,
    host_report,
)

H1, H2, H3 = host_name(1), host_name(2), host_name(3)
GPU_A_FLAVOR = Flavor("m1.gpu-a", extra_specs={ALIAS_KEY: "gpu-a:1"})
GPU_B_FLAVOR = Flavor("m1.gpu-b", extra_specs={ALIAS_KEY: "gpu-b:1"})


def _server(
    ops: OperationsRig,
    *,
    ports: int = 1,
    vfs: int = 4,
    gpus: int = 0,
    flavor: Flavor | None = None,
) -> tuple[str, list[str]]:
    """A server ACTIVE on H1 with `ports` remote-managed ports; its uuid and ports."""
    ops.report(host_report(1, vfs=vfs, gpus=gpus))
    port_ids = [ops.port() for _ in range(ports)]
    if flavor is None:
        return ops.server(*port_ids), port_ids
    return ops.server(*port_ids, flavor=flavor), port_ids


def _events(ops: OperationsRig, uuid_: str) -> list[tuple[str, str | None]]:
    return [(e.event, e.result) for e in ops.last_action(uuid_).events]


def _message(ops: OperationsRig, index: int) -> dict[str, object]:
    message = ops.steps.calls[index].args["message"]
    assert isinstance(message, dict)
    return message


# -- cold migrate ---------------------------------------------------------------------------


def test_migrate_moves_the_server_and_holds_both_sides_until_decided(ops: OperationsRig) -> None:
    uuid_, ports = _server(ops)
    ops.report(host_report(2))
    (request,) = ops.requests(uuid_)
    source = ops.held(uuid_)[H1]

    ops.moves.migrate(uuid_, host=H2)

    assert ops.steps.sequence() == [(H1, "drop_guest"), (H2, "finish")]
    drop, finish = ops.steps.calls
    assert dict(drop.args) == {"port_ids": ports, "name": "migrate_out"}
    assert (finish.args["name"], finish.long) == ("finish_resize", True)
    message = _message(ops, 1)
    assert message["operation"] == "finish-migration"
    assert "power_on" not in message  # a running server runs again
    held = ops.held(uuid_)
    assert held == {H1: source, H2: addresses(message)}
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state, server.host) == ("resized", None, H2)
    (migration,) = ops.migrations(uuid_)
    assert migration.migration_type is MigrationType.MIGRATION
    assert migration.status is MigrationStatus.FINISHED
    assert (migration.source_compute, migration.dest_compute) == (H1, H2)
    assert migration.pci_mapping == (DeviceMove(request.request_id, source[0], held[H2][0]),)
    assert (migration.previous_vm_state, migration.new_requests) == ("active", None)
    assert ops.network.show_port(ports[0]).binding_host_id == H2
    assert _events(ops, uuid_) == [
        ("compute_resize_instance", "Success"),
        ("compute_finish_resize", "Success"),
    ]
    assert ops.last_action(uuid_).action == "migrate"
    assert ops.faults(uuid_) == []


def test_confirm_frees_only_the_source(ops: OperationsRig) -> None:
    uuid_, ports = _server(ops)
    ops.report(host_report(2))
    ops.moves.migrate(uuid_, host=H2)
    destination = ops.held(uuid_)[H2]
    requests = ops.requests(uuid_)
    ops.steps.calls.clear()

    ops.moves.confirm_resize(uuid_)

    (call,) = ops.steps.calls
    assert (call.host, call.step, dict(call.args)) == (
        H1,
        "drop_guest",
        {"port_ids": ports, "name": "confirm_resize"},
    )
    assert ops.held(uuid_) == {H2: destination}
    assert ops.requests(uuid_) == requests
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state, server.host) == ("active", None, H2)
    (migration,) = ops.migrations(uuid_)
    assert migration.status is MigrationStatus.CONFIRMED
    assert ops.last_action(uuid_).action == "confirmResize"
    assert _events(ops, uuid_) == [("compute_confirm_resize", "Success")]


def test_confirm_with_the_source_down_frees_it_without_asking_it(ops: OperationsRig) -> None:
    uuid_, _ = _server(ops)
    ops.report(host_report(2))
    ops.moves.migrate(uuid_, host=H2)
    destination = ops.held(uuid_)[H2]
    ops.set_service(H1, forced_down=True)
    ops.steps.calls.clear()

    ops.moves.confirm_resize(uuid_)

    assert ops.steps.calls == []
    assert ops.held(uuid_) == {H2: destination}
    assert ops.migrations(uuid_)[0].status is MigrationStatus.CONFIRMED


def test_revert_frees_only_the_destination_and_rebuilds_on_the_source(
    ops: OperationsRig,
) -> None:
    uuid_, ports = _server(ops)
    ops.report(host_report(2))
    source = ops.held(uuid_)[H1]
    ops.moves.migrate(uuid_, host=H2)
    ops.steps.calls.clear()

    ops.moves.revert_resize(uuid_)

    assert ops.steps.sequence() == [(H2, "drop_guest"), (H1, "finish")]
    assert dict(ops.steps.calls[0].args) == {"port_ids": ports, "name": "revert_resize"}
    assert ops.steps.calls[1].args["name"] == "finish_revert"
    message = _message(ops, 1)
    assert message["operation"] == "finish-revert"
    assert addresses(message) == source
    assert ops.held(uuid_) == {H1: source}
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state, server.host) == ("active", None, H1)
    assert ops.migrations(uuid_)[0].status is MigrationStatus.REVERTED
    assert ops.network.show_port(ports[0]).binding_host_id == H1
    assert ops.last_action(uuid_).action == "revertResize"
    assert _events(ops, uuid_) == [
        ("compute_revert_resize", "Success"),
        ("compute_finish_revert_resize", "Success"),
    ]


def test_a_revert_the_source_cannot_finish_leaves_the_server_in_error_on_the_source(
    ops: OperationsRig,
) -> None:
    uuid_, _ = _server(ops)
    ops.report(host_report(2))
    source = ops.held(uuid_)[H1]
    ops.moves.migrate(uuid_, host=H2)
    ops.steps.fail(H1, "finish", "guest not started")

    ops.moves.revert_resize(uuid_)

    assert ops.held(uuid_) == {H1: source}
    assert ops.migrations(uuid_)[0].status is MigrationStatus.ERROR
    server = ops.instance(uuid_)
    # As Nova's finish_revert_resize: the server is the source's before its guest starts.
    assert (server.vm_state, server.task_state, server.host) == ("error", None, H1)
    assert ops.faults(uuid_) == [f"revertResize of {uuid_}: {H1} failed: guest not started"]


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(lambda o: o.steps.fail(H2, "finish", "guest not started"), id="refused"),
        pytest.param(lambda o: o.steps.time_out(H2, "finish"), id="no-answer"),
    ],
)
def test_a_destination_that_fails_to_finish_gives_the_server_back_to_the_source(
    ops: OperationsRig, failure: Callable[[OperationsRig], None]
) -> None:
    uuid_, ports = _server(ops)
    ops.report(host_report(2))
    source = ops.held(uuid_)[H1]
    requests = ops.requests(uuid_)
    failure(ops)

    ops.moves.migrate(uuid_, host=H2)

    assert ops.steps.sequence() == [(H1, "drop_guest"), (H2, "finish"), (H1, "finish")]
    restore = ops.steps.calls[2]
    assert restore.args["name"] == "finish_revert"
    message = _message(ops, 2)
    assert message["operation"] == "finish-revert"
    assert addresses(message) == source
    assert [d["requester_id"] for d in devices_of(message)] == ports
    assert ops.held(uuid_) == {H1: source}
    assert ops.requests(uuid_) == requests
    (migration,) = ops.migrations(uuid_)
    assert migration.status is MigrationStatus.ERROR
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state, server.host) == ("active", None, H1)
    (fault,) = ops.faults(uuid_)
    assert fault.startswith(f"migrate of {uuid_}: {H2} failed: ")
    action = ops.last_action(uuid_)
    assert action.message == "Error"
    assert _events(ops, uuid_) == [
        ("compute_resize_instance", "Success"),
        ("compute_finish_resize", "Error"),
        ("compute_finish_revert_resize", "Success"),
    ]


def test_a_source_that_fails_to_let_go_rolls_back_with_nothing_claimed_elsewhere(
    ops: OperationsRig,
) -> None:
    uuid_, _ = _server(ops)
    ops.report(host_report(2))
    source = ops.held(uuid_)[H1]
    ops.steps.fail(H1, "drop_guest", "guest not destroyed")

    ops.moves.migrate(uuid_, host=H2)

    assert ops.steps.sequence() == [(H1, "drop_guest")]
    assert ops.held(uuid_) == {H1: source}
    assert ops.migrations(uuid_)[0].status is MigrationStatus.ERROR
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state, server.host) == ("active", None, H1)
    assert ops.faults(uuid_) == [f"migrate of {uuid_}: {H1} failed: guest not destroyed"]


def test_a_stopped_server_migrates_stopped(ops: OperationsRig) -> None:
    uuid_, _ = _server(ops)
    ops.report(host_report(2))
    ops.actions.stop(uuid_)
    ops.steps.calls.clear()

    ops.moves.migrate(uuid_, host=H2)
    assert _message(ops, 1)["power_on"] is False
    ops.moves.confirm_resize(uuid_)

    server = ops.instance(uuid_)
    assert (server.vm_state, server.host) == ("stopped", H2)


def test_a_migration_no_host_takes_is_refused_with_why(ops: OperationsRig) -> None:
    uuid_, _ = _server(ops)
    held = ops.held(uuid_)
    with pytest.raises(MoveNoValidHost) as refused:
        ops.moves.migrate(uuid_)
    assert refused.value.message == "No valid host was found. 0 hosts besides the server's own"
    assert ops.steps.calls == []
    assert ops.migrations(uuid_) == []
    assert ops.held(uuid_) == held
    assert ops.instance(uuid_).task_state is None


# -- resize -----------------------------------------------------------------------------


def _gpu(request: PciRequest) -> str | None:
    return request.alias_name


def _resized(ops: OperationsRig) -> tuple[str, list[PciRequest], dict[str, list[str]]]:
    uuid_, _ = _server(ops, gpus=1, flavor=GPU_A_FLAVOR)
    ops.report(host_report(2, gpus=1))
    before = ops.requests(uuid_)
    ops.moves.resize(uuid_, GPU_B_FLAVOR, flavor_id="f-gpu-b")
    return uuid_, before, ops.held(uuid_)


def test_resize_claims_the_new_flavors_alias_on_the_destination(ops: OperationsRig) -> None:
    uuid_, before, held = _resized(ops)

    assert [_gpu(r) for r in before] == [None, "gpu-a"]
    # Until decided, the server's requests are its old flavor's.
    assert ops.requests(uuid_) == before
    (migration,) = ops.migrations(uuid_)
    assert migration.migration_type is MigrationType.RESIZE
    assert migration.new_requests is not None
    assert [r["alias_name"] for r in migration.new_requests] == [None, "gpu-b"]
    assert migration.new_requests[0]["request_id"] == before[0].request_id
    by_request = ops.held_by_request(uuid_, H2)
    assert by_request[before[0].request_id].startswith("0000:43:")  # the port's VF
    gpu_b = migration.new_requests[1]["request_id"]
    assert by_request[str(gpu_b)] == "0000:81:00.1"
    assert len(held[H1]) == len(held[H2]) == 2
    server = ops.instance(uuid_)
    assert (server.vm_state, server.host) == ("resized", H2)
    assert server.flavor["name"] == "m1.gpu-b"
    assert server.flavor["id"] == "f-gpu-b"


def test_confirm_of_a_resize_makes_the_new_alias_requests_the_servers(
    ops: OperationsRig,
) -> None:
    uuid_, before, held = _resized(ops)

    ops.moves.confirm_resize(uuid_)

    after = ops.requests(uuid_)
    assert [_gpu(r) for r in after] == [None, "gpu-b"]
    assert after[0] == before[0]
    assert after[1].request_id != before[1].request_id
    assert ops.held(uuid_) == {H2: held[H2]}
    assert set(ops.held_by_request(uuid_, H2)) == {r.request_id for r in after}
    assert ops.instance(uuid_).flavor["name"] == "m1.gpu-b"


def test_revert_of_a_resize_keeps_the_old_requests_and_flavor(ops: OperationsRig) -> None:
    uuid_, before, held = _resized(ops)

    ops.moves.revert_resize(uuid_)

    assert ops.requests(uuid_) == before
    assert ops.held(uuid_) == {H1: held[H1]}
    assert set(ops.held_by_request(uuid_, H1)) == {r.request_id for r in before}
    server = ops.instance(uuid_)
    assert (server.vm_state, server.host) == ("active", H1)
    assert server.flavor["name"] == "m1.gpu-a"
    assert server.flavor["extra_specs"] == {ALIAS_KEY: "gpu-a:1"}


def test_a_resized_server_resizes_again_but_not_to_the_flavor_it_has(ops: OperationsRig) -> None:
    uuid_, before, _ = _resized(ops)
    ops.moves.confirm_resize(uuid_)
    with pytest.raises(CannotResizeToSameFlavor):
        ops.moves.resize(uuid_, GPU_B_FLAVOR, flavor_id="f-gpu-b")

    ops.moves.resize(uuid_, GPU_A_FLAVOR, flavor_id="f-gpu-a")

    migration = ops.migrations(uuid_)[-1]
    assert (migration.status, migration.source_compute) == (MigrationStatus.FINISHED, H2)
    assert migration.old_flavor["id"] == "f-gpu-b"
    ops.moves.confirm_resize(uuid_)
    assert [_gpu(r) for r in ops.requests(uuid_)] == [None, "gpu-a"]
    assert ops.requests(uuid_)[0] == before[0]
    server = ops.instance(uuid_)
    assert (server.host, server.flavor["id"]) == (H1, "f-gpu-a")


def test_resize_to_the_same_flavor_is_refused(ops: OperationsRig) -> None:
    uuid_, _ = _server(ops, gpus=1, flavor=GPU_A_FLAVOR)
    ops.report(host_report(2, gpus=1))
    with pytest.raises(CannotResizeToSameFlavor):
        ops.moves.resize(uuid_, GPU_A_FLAVOR)
    assert ops.steps.calls == []
    assert ops.migrations(uuid_) == []
    assert ops.instance(uuid_).task_state is None


# -- a destination device the backend cannot use ------------------------------------------


WITHOUT: dict[str, Callable[[PciDevice], PciDevice]] = {
    "card_serial_number": lambda device: replace(device, card_serial_number=None),
    "pf_mac_address": lambda device: replace(device, pf_mac_address=None),
    "vf_num": lambda device: replace(device, vf_num=None),
}


def _live(ops: OperationsRig, uuid_: str) -> None:
    ops.moves.live_migrate(uuid_, host=H2)


def _cold(ops: OperationsRig, uuid_: str) -> None:
    ops.moves.migrate(uuid_, host=H2)


def _evacuate(ops: OperationsRig, uuid_: str) -> None:
    ops.set_service(H1, forced_down=True)
    ops.moves.evacuate(uuid_, host=H2)


@pytest.mark.parametrize(
    "move",
    [
        pytest.param(_cold, id="cold"),
        pytest.param(_live, id="live"),
        pytest.param(_evacuate, id="evacuate"),
    ],
)
@pytest.mark.parametrize("field", list(WITHOUT))
def test_a_destination_vf_lacking_a_backend_field_refuses_the_move_before_any_step(
    ops: OperationsRig, field: str, move: Callable[[OperationsRig, str], None]
) -> None:
    uuid_, (port,) = _server(ops)
    source = ops.held(uuid_)[H1]
    profile = ops.network.show_port(port).binding_profile
    ops.report(host_report(2, vf=WITHOUT[field]))

    with pytest.raises(RemoteManagedDeviceIncomplete) as refused:
        move(ops, uuid_)

    assert refused.value.missing == (field,)
    assert refused.value.port_id == port
    assert ops.steps.calls == []
    assert ops.held(uuid_) == {H1: source}
    (migration,) = ops.migrations(uuid_)
    assert (migration.status, migration.dest_compute) == (MigrationStatus.ERROR, H2)
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state, server.host) == ("active", None, H1)
    assert ops.faults(uuid_) == []
    assert _events(ops, uuid_) == [("conductor_precheck", "Error")]
    assert ops.network.inactive.get(port, {}) == {}
    assert ops.network.show_port(port).binding_profile == profile


def test_a_destination_vf_number_0_is_no_missing_field(ops: OperationsRig) -> None:
    uuid_, _ = _server(ops)
    ops.report(host_report(2, vfs=1))  # its one VF is VF 0

    ops.moves.migrate(uuid_, host=H2)

    assert ops.instance(uuid_).host == H2
    (device,) = devices_of(_message(ops, 1))
    assert device["selected"]["device"]["vf_num"] == 0


def test_live_migration_carries_a_vf_number_0_into_the_destination_profile(
    ops: OperationsRig,
) -> None:
    uuid_, (port,) = _server(ops)
    assert ops.network.show_port(port).binding_profile["vf_num"] != 0
    ops.report(host_report(2, vfs=1))

    ops.moves.live_migrate(uuid_, host=H2)

    profile = ops.network.show_port(port).binding_profile
    assert profile["vf_num"] == 0
    assert profile["card_serial_number"] == "MT0000000002"
    assert profile["pf_mac_address"] == "b8:ce:f6:00:02:00"
    assert profile["pci_slot"] == ops.held(uuid_)[H2][0]


def test_live_migration_from_vf_0_takes_the_destination_vf_number(ops: OperationsRig) -> None:
    # Nova refreshes vf_num only where the source's is truthy: from VF 0 it never would.
    uuid_, (port,) = _server(ops, vfs=1)
    assert ops.network.show_port(port).binding_profile["vf_num"] == 0
    ops.report(host_report(2, vf=lambda d: replace(d, vf_num=(d.vf_num or 0) + 5)))

    ops.moves.live_migrate(uuid_, host=H2)

    profile = ops.network.show_port(port).binding_profile
    with reading(ops.engine) as session:
        (claimed,) = held_devices(session, uuid_, H2)
    assert claimed.selected.device.vf_num is not None
    assert claimed.selected.device.vf_num >= 5
    assert profile["vf_num"] == claimed.selected.device.vf_num
    assert profile["pci_slot"] == claimed.address


# -- live migration ------------------------------------------------------------------------


def _unchanged(ops: OperationsRig, uuid_: str, held: dict[str, list[str]]) -> None:
    assert ops.steps.calls == []
    assert ops.held(uuid_) == held
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state, server.host) == ("active", None, H1)
    assert ops.faults(uuid_) == []
    assert _events(ops, uuid_) == [("conductor_precheck", "Error")]
    assert ops.last_action(uuid_).action == "live-migration"


def test_live_migration_without_multiple_bindings_is_a_precheck_error(
    ops: OperationsRig,
) -> None:
    uuid_, _ = _server(ops)
    ops.report(host_report(2))
    held = ops.held(uuid_)
    moves = Moves(ops.base, bindings=None)

    with pytest.raises(MigrationPreCheckError) as refused:
        moves.live_migrate(uuid_)

    assert refused.value.message == (
        "Migration pre-check error: the network service does not offer the binding-extended API"
    )
    assert refused.value.http_status == 400
    assert ops.migrations(uuid_) == []
    _unchanged(ops, uuid_, held)


def test_live_migration_from_an_old_compute_service_is_a_precheck_error(
    ops: OperationsRig,
) -> None:
    ops.report(host_report(1), version=SUPPORT_SERVER_OPERATIONS - 1)
    uuid_ = ops.server(ops.port())
    ops.report(host_report(2))
    held = ops.held(uuid_)

    with pytest.raises(MigrationPreCheckError) as refused:
        ops.moves.live_migrate(uuid_)

    assert refused.value.message == (
        f"Migration pre-check error: the compute service on {H1} is older than service "
        f"version {SUPPORT_SERVER_OPERATIONS} and cannot take part in a live migration"
    )
    assert ops.migrations(uuid_) == []
    _unchanged(ops, uuid_, held)


def test_live_migration_to_an_old_compute_service_releases_its_claim(ops: OperationsRig) -> None:
    uuid_, (port,) = _server(ops)
    ops.report(host_report(2), version=SUPPORT_SERVER_OPERATIONS - 1)
    held = ops.held(uuid_)

    with pytest.raises(MigrationPreCheckError) as refused:
        ops.moves.live_migrate(uuid_, host=H2)

    assert f"the compute service on {H2} is older" in refused.value.message
    (migration,) = ops.migrations(uuid_)
    assert migration.status is MigrationStatus.ERROR
    assert ops.network.inactive.get(port, {}) == {}
    _unchanged(ops, uuid_, held)


def test_a_binding_the_destination_refuses_deletes_those_made_and_the_claim(
    ops: OperationsRig,
) -> None:
    uuid_, (first, second) = _server(ops, ports=2)
    ops.report(host_report(2))
    held = ops.held(uuid_)
    ops.network.fail_bind.add(second)
    ops.network.calls.clear()

    with pytest.raises(MigrationPreCheckError) as refused:
        ops.moves.live_migrate(uuid_, host=H2)

    assert refused.value.message.startswith(
        f"Migration pre-check error: Binding failed for port {second}"
    )
    assert ops.network.calls == [
        ("create_binding", first),
        ("create_binding", second),
        ("delete_binding", first),
    ]
    assert ops.network.inactive.get(first, {}) == {}
    assert ops.network.inactive.get(second, {}) == {}
    assert ops.network.show_port(first).binding_host_id == H1
    (migration,) = ops.migrations(uuid_)
    assert migration.status is MigrationStatus.ERROR
    _unchanged(ops, uuid_, held)


def test_a_live_migration_the_source_fails_stays_on_the_source(ops: OperationsRig) -> None:
    uuid_, (port,) = _server(ops)
    ops.report(host_report(2))
    held = ops.held(uuid_)
    profile = ops.network.show_port(port).binding_profile
    ops.steps.fail(H1, "live_migrate", "migration aborted")
    ops.network.calls.clear()

    ops.moves.live_migrate(uuid_, host=H2)

    assert ops.steps.sequence() == [(H1, "live_migrate")]
    assert ops.network.calls == [("create_binding", port), ("delete_binding", port)]
    assert ops.network.inactive.get(port, {}) == {}
    bound = ops.network.show_port(port)
    assert (bound.binding_host_id, bound.binding_profile) == (H1, profile)
    assert ops.held(uuid_) == held
    (migration,) = ops.migrations(uuid_)
    assert migration.status is MigrationStatus.ERROR
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state, server.host) == ("active", None, H1)
    assert ops.faults(uuid_) == [f"os-migrateLive of {uuid_}: {H1} failed: migration aborted"]
    assert _events(ops, uuid_) == [("compute_live_migration", "Error")]


def test_live_migration_switches_the_bindings_then_frees_the_source(ops: OperationsRig) -> None:
    uuid_, (port,) = _server(ops)
    ops.report(host_report(2))
    (request,) = ops.requests(uuid_)
    source = ops.held(uuid_)[H1]
    ops.steps.hand_off(H1, "live_migrate", "<domain/>")
    ops.network.calls.clear()

    ops.moves.live_migrate(uuid_, host=H2)

    assert ops.steps.sequence() == [(H1, "live_migrate"), (H2, "arrive")]
    migrate, arrive = ops.steps.calls
    assert (dict(migrate.args), migrate.long) == ({"destination": H2}, True)
    assert dict(arrive.args) == {
        "handoff": "<domain/>",
        "running": True,
        "port_ids": [port],
        "project_id": "demo",
    }
    assert ops.network.calls == [
        ("create_binding", port),
        ("activate_binding", port),
        ("delete_binding", port),
    ]
    destination = ops.held(uuid_)
    assert list(destination) == [H2]
    bound = ops.network.show_port(port)
    assert bound.binding_host_id == H2
    assert bound.binding_profile["pci_slot"] == destination[H2][0]
    assert bound.binding_profile["card_serial_number"] == "MT0000000002"
    assert ops.network.inactive.get(port, {}) == {}
    (migration,) = ops.migrations(uuid_)
    assert migration.migration_type is MigrationType.LIVE_MIGRATION
    assert migration.status is MigrationStatus.COMPLETED
    assert migration.pci_mapping == (DeviceMove(request.request_id, source[0], destination[H2][0]),)
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state, server.host) == ("active", None, H2)
    assert ops.last_action(uuid_).action == "live-migration"
    events = ops.last_action(uuid_).events
    assert [(e.event, e.result) for e in events] == [
        ("compute_live_migration", "Success"),
        ("compute_post_live_migration_at_destination", "Success"),
    ]
    # The guest's definition handed over is no part of the record.
    assert isinstance(events[0].details, dict)
    assert "handoff" not in events[0].details


def test_a_destination_that_fails_to_take_the_guest_leaves_it_in_error_there(
    ops: OperationsRig,
) -> None:
    uuid_, _ = _server(ops)
    ops.report(host_report(2))
    ops.steps.fail(H2, "arrive", "guest not defined")

    ops.moves.live_migrate(uuid_, host=H2)

    assert list(ops.held(uuid_)) == [H2]
    assert ops.migrations(uuid_)[0].status is MigrationStatus.ERROR
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state, server.host) == ("error", None, H2)
    assert ops.faults(uuid_) == [f"os-migrateLive of {uuid_}: {H2} failed: guest not defined"]


# -- evacuate -----------------------------------------------------------------------------


def test_evacuate_is_refused_while_the_source_is_up(ops: OperationsRig) -> None:
    uuid_, _ = _server(ops)
    ops.report(host_report(2))
    held = ops.held(uuid_)

    with pytest.raises(ComputeServiceInUse) as refused:
        ops.moves.evacuate(uuid_)

    assert refused.value.message == f"Compute service of {H1} is still in use."
    assert ops.steps.calls == []
    assert ops.migrations(uuid_) == []
    assert ops.held(uuid_) == held
    assert ops.actions_of(uuid_) == []
    assert ops.instance(uuid_).task_state is None


@pytest.mark.parametrize(
    "down",
    [
        pytest.param(lambda o: o.set_service(H1, forced_down=True), id="forced-down"),
        pytest.param(
            lambda o: o.set_service(H1, last_seen_up=utcnow() - timedelta(seconds=600)),
            id="stale",
        ),
    ],
)
def test_evacuate_rebuilds_elsewhere_and_keeps_the_sources_vfs_held(
    ops: OperationsRig, down: Callable[[OperationsRig], None]
) -> None:
    uuid_, (port,) = _server(ops)
    ops.report(host_report(2))
    source = ops.held(uuid_)[H1]
    down(ops)

    ops.moves.evacuate(uuid_)

    (call,) = ops.steps.calls
    assert (call.host, call.step, call.args["name"], call.long) == (H2, "finish", "rebuild", True)
    message = _message(ops, 0)
    assert message["operation"] == "spawn"
    held = ops.held(uuid_)
    assert held == {H1: source, H2: addresses(message)}
    (migration,) = ops.migrations(uuid_)
    assert migration.migration_type is MigrationType.EVACUATION
    assert migration.status is MigrationStatus.DONE
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state, server.host) == ("active", None, H2)
    assert ops.network.show_port(port).binding_host_id == H2
    assert ops.last_action(uuid_).action == "evacuate"
    assert _events(ops, uuid_) == [("compute_rebuild_instance", "Success")]


def test_a_failed_evacuation_frees_the_destination(ops: OperationsRig) -> None:
    uuid_, _ = _server(ops)
    ops.report(host_report(2))
    source = ops.held(uuid_)[H1]
    ops.set_service(H1, forced_down=True)
    ops.steps.fail(H2, "finish", "guest not started")

    ops.moves.evacuate(uuid_)

    assert ops.held(uuid_) == {H1: source}
    assert ops.migrations(uuid_)[0].status is MigrationStatus.FAILED
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state, server.host) == ("error", None, H1)
    assert ops.faults(uuid_) == [f"evacuate of {uuid_}: {H2} failed: guest not started"]


def test_finish_evacuations_cleans_the_source_once_it_is_back(ops: OperationsRig) -> None:
    uuid_, ports = _server(ops)
    ops.report(host_report(2))
    ops.set_service(H1, forced_down=True)
    ops.moves.evacuate(uuid_)
    destination = ops.held(uuid_)[H2]
    ops.steps.calls.clear()

    assert ops.moves.finish_evacuations() == ()
    assert ops.steps.calls == []
    assert H1 in ops.held(uuid_)

    ops.revive(H1)
    assert ops.moves.finish_evacuations() == (uuid_,)

    (call,) = ops.steps.calls
    assert (call.host, call.step, dict(call.args)) == (
        H1,
        "drop_guest",
        {"port_ids": ports, "name": "destroy_evacuated"},
    )
    assert ops.held(uuid_) == {H2: destination}
    assert ops.migrations(uuid_)[0].status is MigrationStatus.COMPLETED
    # Done once.
    assert ops.moves.finish_evacuations() == ()
    assert len(ops.steps.calls) == 1


def test_a_source_that_cannot_drop_the_stale_guest_keeps_its_vfs(ops: OperationsRig) -> None:
    uuid_, _ = _server(ops)
    ops.report(host_report(2))
    ops.set_service(H1, forced_down=True)
    ops.moves.evacuate(uuid_)
    source = ops.held(uuid_)[H1]
    ops.revive(H1)
    ops.steps.fail(H1, "drop_guest", "guest still running")

    assert ops.moves.finish_evacuations() == ()

    assert ops.held(uuid_)[H1] == source
    assert ops.migrations(uuid_)[0].status is MigrationStatus.DONE

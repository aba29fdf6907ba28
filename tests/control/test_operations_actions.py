"""The conductor's server actions that keep a server on its host, against scripted hosts.

Each test runs the action to its end in the test (no background thread)
and reads the cell database afterwards: the instance's states and host,
its action and events, its fault, what it holds on which host, its PCI
requests, and the exact steps the hosts were asked for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from offpath.conductor.instance_states import VmState
from offpath.conductor.migration_records import MigrationStatus
from offpath.db.columns import utcnow
from offpath.errors import (
    InstanceInvalidState,
    InterfaceAttachFailed,
    InterfaceAttachPciClaimFailed,
    MoveFailed,
    MoveNoValidHost,
    PortInUse,
    PortNotAttached,
)
from tests.control.operations_rig import (
    OperationsRig,
    addresses,
    devices_of,
    host_name,
    host_report,
)

H1, H2 = host_name(1), host_name(2)


def _server(ops: OperationsRig, *, ports: int = 1, vfs: int = 4) -> tuple[str, list[str]]:
    """A server ACTIVE on H1 with `ports` remote-managed ports; its uuid and ports."""
    ops.report(host_report(1, vfs=vfs))
    port_ids = [ops.port() for _ in range(ports)]
    return ops.server(*port_ids), port_ids


# -- power actions -------------------------------------------------------------------


@dataclass(frozen=True)
class PowerCase:
    prepare: Callable[[OperationsRig, str], None]
    act: Callable[[OperationsRig, str], None]
    step: str
    args: Callable[[list[str]], dict[str, object]]
    event: str
    action: str
    vm_state: str
    long: bool = False


def _nothing(ops: OperationsRig, uuid_: str) -> None:
    return None


POWER = [
    pytest.param(
        PowerCase(
            _nothing,
            lambda o, u: o.actions.stop(u),
            "power_off",
            lambda p: {},
            "compute_stop_instance",
            "stop",
            "stopped",
        ),
        id="stop",
    ),
    pytest.param(
        PowerCase(
            lambda o, u: o.actions.stop(u),
            lambda o, u: o.actions.start(u),
            "power_on",
            lambda p: {},
            "compute_start_instance",
            "start",
            "active",
        ),
        id="start",
    ),
    pytest.param(
        PowerCase(
            _nothing,
            lambda o, u: o.actions.reboot(u, hard=False),
            "reboot",
            lambda p: {"hard": False, "port_ids": p},
            "compute_reboot_instance",
            "reboot",
            "active",
            long=True,
        ),
        id="reboot-soft",
    ),
    pytest.param(
        PowerCase(
            lambda o, u: o.actions.stop(u),
            lambda o, u: o.actions.reboot(u, hard=True),
            "reboot",
            lambda p: {"hard": True, "port_ids": p},
            "compute_reboot_instance",
            "reboot",
            "active",
            long=True,
        ),
        id="reboot-hard-from-stopped",
    ),
    pytest.param(
        PowerCase(
            _nothing,
            lambda o, u: o.actions.suspend(u),
            "suspend",
            lambda p: {},
            "compute_suspend_instance",
            "suspend",
            "suspended",
        ),
        id="suspend",
    ),
    pytest.param(
        PowerCase(
            lambda o, u: o.actions.suspend(u),
            lambda o, u: o.actions.resume(u),
            "resume",
            lambda p: {"port_ids": p},
            "compute_resume_instance",
            "resume",
            "active",
        ),
        id="resume",
    ),
]


@pytest.mark.parametrize("case", POWER)
def test_a_power_action_runs_one_step_on_the_host_and_keeps_the_vfs(
    ops: OperationsRig, case: PowerCase
) -> None:
    uuid_, ports = _server(ops)
    held = ops.held(uuid_)
    case.prepare(ops, uuid_)
    ops.steps.calls.clear()

    case.act(ops, uuid_)

    (call,) = ops.steps.calls
    assert (call.host, call.step, dict(call.args), call.long) == (
        H1,
        case.step,
        case.args(ports),
        case.long,
    )
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state, server.host) == (case.vm_state, None, H1)
    assert ops.held(uuid_) == held
    action = ops.last_action(uuid_)
    assert (action.action, action.message, action.finished) == (case.action, None, True)
    (event,) = action.events
    assert (event.event, event.result) == (case.event, "Success")
    assert isinstance(event.details, dict)
    assert event.details["host"] == H1
    assert event.details["done"] is True
    assert event.details["hypervisor"] == "simulated"
    assert ops.faults(uuid_) == []


def test_a_step_the_host_refuses_ends_the_action_with_a_fault(ops: OperationsRig) -> None:
    uuid_, _ = _server(ops)
    ops.steps.fail(H1, "power_off", "no guest of the instance on compute-00001")

    ops.actions.stop(uuid_)

    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state, server.host) == ("active", None, H1)
    message = f"stop of {uuid_}: {H1} failed: no guest of the instance on compute-00001"
    assert ops.faults(uuid_) == [message]
    action = ops.last_action(uuid_)
    assert (action.action, action.message, action.finished) == ("stop", "Error", True)
    (event,) = action.events
    assert (event.event, event.result) == ("compute_stop_instance", "Error")
    assert isinstance(event.details, dict)
    assert event.details["fault"] == "no guest of the instance on compute-00001"
    assert event.details["done"] is False


def test_a_host_that_does_not_answer_ends_the_action_with_the_timeout(ops: OperationsRig) -> None:
    uuid_, _ = _server(ops)
    ops.steps.time_out(H1, "suspend")

    ops.actions.suspend(uuid_)

    timeout = f"no answer from compute on {H1} to run_step within 600 s"
    assert ops.instance(uuid_).vm_state == "active"
    assert ops.faults(uuid_) == [f"suspend of {uuid_}: {H1} failed: {timeout}"]
    (event,) = ops.last_action(uuid_).events
    assert (event.event, event.result, event.details) == (
        "compute_suspend_instance",
        "Error",
        timeout,
    )


# -- state rules -------------------------------------------------------------------------


def test_an_action_the_vm_state_forbids_is_refused_with_novas_message(ops: OperationsRig) -> None:
    uuid_, _ = _server(ops)
    ops.actions.stop(uuid_)
    ops.steps.calls.clear()
    actions = len(ops.actions_of(uuid_))

    with pytest.raises(InstanceInvalidState) as refused:
        ops.actions.stop(uuid_)

    assert refused.value.message == (
        f"Cannot 'stop' instance {uuid_} while it is in vm_state stopped"
    )
    assert refused.value.http_status == 409
    assert ops.steps.calls == []
    assert len(ops.actions_of(uuid_)) == actions
    assert ops.instance(uuid_).task_state is None


@pytest.mark.parametrize(
    ("act", "name"),
    [
        pytest.param(lambda o, u: o.actions.start(u), "start", id="start"),
        pytest.param(lambda o, u: o.actions.resume(u), "resume", id="resume"),
        pytest.param(lambda o, u: o.actions.unshelve(u), "unshelve", id="unshelve"),
        pytest.param(lambda o, u: o.actions.shelve_offload(u), "shelveOffload", id="offload"),
        pytest.param(lambda o, u: o.moves.confirm_resize(u), "confirmResize", id="confirm"),
        pytest.param(lambda o, u: o.moves.revert_resize(u), "revertResize", id="revert"),
    ],
)
def test_actions_an_active_server_cannot_take(
    ops: OperationsRig, act: Callable[[OperationsRig, str], None], name: str
) -> None:
    uuid_, _ = _server(ops)
    with pytest.raises(InstanceInvalidState) as refused:
        act(ops, uuid_)
    assert refused.value.message == (
        f"Cannot '{name}' instance {uuid_} while it is in vm_state active"
    )
    assert ops.steps.calls == []


def test_a_second_action_while_a_task_runs_is_refused_on_the_task_state(
    ops: OperationsRig,
) -> None:
    uuid_, _ = _server(ops)
    entered = threading.Event()
    release = ops.steps.hang(H1, "power_off", before=entered.set)
    stopping = threading.Thread(target=ops.actions.stop, args=(uuid_,))
    stopping.start()
    try:
        assert entered.wait(5)
        assert ops.instance(uuid_).task_state == "powering-off"
        with pytest.raises(InstanceInvalidState) as refused:
            ops.actions.reboot(uuid_, hard=True)
    finally:
        release.set()
        stopping.join(10)
    assert not stopping.is_alive()
    assert refused.value.message == (
        f"Cannot 'reboot' instance {uuid_} while it is in task_state powering-off"
    )
    assert ops.steps.sequence() == [(H1, "power_off")]
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state) == ("stopped", None)


# -- the host's heartbeat -------------------------------------------------------------------


def test_a_step_on_a_host_that_stops_heartbeating_fails_after_the_poll(
    ops: OperationsRig,
) -> None:
    uuid_, _ = _server(ops)
    ops.cluster.conductor.service_down_time = 30
    stale = utcnow() - timedelta(seconds=120)
    # The agent died as it took the call: the call never returns, the heartbeat ages.
    ops.steps.hang(H1, "power_off", before=lambda: ops.set_service(H1, last_seen_up=stale))

    started = time.monotonic()
    ops.actions.stop(uuid_)
    elapsed = time.monotonic() - started

    # The scripted call would answer after 10 s; the RPC timeout would be far longer.
    assert elapsed < 5
    why = "its compute service went down (no heartbeat for more than 30 s)"
    assert ops.faults(uuid_) == [f"stop of {uuid_}: {H1} failed: {why}"]
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state) == ("active", None)
    (event,) = ops.last_action(uuid_).events
    assert (event.event, event.result) == ("compute_stop_instance", "Error")


def test_a_slow_step_on_a_live_host_is_waited_for(ops: OperationsRig) -> None:
    uuid_, _ = _server(ops)
    release = ops.steps.hang(H1, "power_off")
    timer = threading.Timer(0.3, release.set)
    timer.start()
    try:
        ops.actions.stop(uuid_)
    finally:
        timer.cancel()
    assert ops.instance(uuid_).vm_state == "stopped"
    assert ops.faults(uuid_) == []


# -- shelve and unshelve -----------------------------------------------------------------


def test_shelve_offloads_at_once_freeing_the_vfs_and_keeping_the_requests(
    ops: OperationsRig,
) -> None:
    uuid_, ports = _server(ops)
    requests = ops.requests(uuid_)

    ops.actions.shelve(uuid_)

    assert ops.steps.sequence() == [(H1, "power_off"), (H1, "shelve_offload")]
    assert dict(ops.steps.calls[1].args) == {"port_ids": ports}
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state, server.host) == ("shelved_offloaded", None, None)
    assert ops.held(uuid_) == {}
    assert ops.requests(uuid_) == requests
    action = ops.last_action(uuid_)
    assert (action.action, action.message, action.finished) == ("shelve", None, True)
    assert [(e.event, e.result) for e in action.events] == [
        ("compute_shelve_instance", "Success"),
        ("compute_shelve_offload_instance", "Success"),
    ]


def test_shelve_with_offload_time_minus_one_keeps_the_server_on_its_host(
    ops: OperationsRig,
) -> None:
    uuid_, _ = _server(ops)
    held = ops.held(uuid_)
    ops.actions.shelved_offload_time = -1

    ops.actions.shelve(uuid_)

    assert ops.steps.sequence() == [(H1, "power_off")]
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state, server.host) == ("shelved", None, H1)
    assert ops.held(uuid_) == held

    # Unshelving a server still on its host only powers it on.
    ops.actions.unshelve(uuid_)
    assert ops.steps.sequence() == [(H1, "power_off"), (H1, "power_on")]
    assert ops.instance(uuid_).vm_state == "active"
    assert ops.held(uuid_) == held


def test_an_offload_the_host_refuses_leaves_the_server_shelved_on_its_host(
    ops: OperationsRig,
) -> None:
    uuid_, _ = _server(ops)
    held = ops.held(uuid_)
    ops.steps.fail(H1, "shelve_offload", "guest not destroyed")

    ops.actions.shelve(uuid_)

    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state, server.host) == ("shelved", None, H1)
    assert ops.held(uuid_) == held
    assert ops.faults(uuid_) == [f"shelve of {uuid_}: {H1} failed: guest not destroyed"]


def test_shelve_offload_of_a_shelved_server(ops: OperationsRig) -> None:
    uuid_, _ = _server(ops)
    ops.actions.shelved_offload_time = -1
    ops.actions.shelve(uuid_)

    ops.actions.shelve_offload(uuid_)

    assert ops.steps.sequence() == [(H1, "power_off"), (H1, "shelve_offload")]
    server = ops.instance(uuid_)
    assert (server.vm_state, server.host) == ("shelved_offloaded", None)
    assert ops.held(uuid_) == {}
    assert ops.last_action(uuid_).action == "shelveOffload"


def test_unshelve_of_an_offloaded_server_places_and_claims_again(ops: OperationsRig) -> None:
    uuid_, ports = _server(ops)
    requests = ops.requests(uuid_)
    ops.actions.shelve(uuid_)
    ops.report(host_report(2))
    ops.steps.calls.clear()

    ops.actions.unshelve(uuid_, host=H2)

    (call,) = ops.steps.calls
    assert (call.host, call.step, call.long) == (H2, "finish", True)
    message = call.args["message"]
    assert isinstance(message, dict)
    assert message["operation"] == "spawn"
    assert message["port_ids"] == ports
    assert call.args["name"] == "unshelve"
    held = ops.held(uuid_)
    assert list(held) == [H2]
    assert addresses(message) == held[H2]
    assert [d["requester_id"] for d in devices_of(message)] == ports
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state, server.host) == ("active", None, H2)
    # The same requests, claimed again under their ids.
    assert ops.requests(uuid_) == requests
    assert set(ops.held_by_request(uuid_, H2)) == {r.request_id for r in requests}
    assert ops.network.show_port(ports[0]).binding_host_id == H2
    assert [(e.event, e.result) for e in ops.last_action(uuid_).events] == [
        ("compute_unshelve_instance", "Success")
    ]


def test_a_failed_unshelve_frees_its_new_claim(ops: OperationsRig) -> None:
    uuid_, _ = _server(ops)
    requests = ops.requests(uuid_)
    ops.actions.shelve(uuid_)
    ops.steps.fail(H1, "finish", "guest not started")

    ops.actions.unshelve(uuid_, host=H1)

    assert ops.steps.sequence()[-1] == (H1, "finish")
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state, server.host) == ("shelved_offloaded", None, None)
    assert ops.held(uuid_) == {}
    assert ops.requests(uuid_) == requests
    assert ops.faults(uuid_) == [f"unshelve of {uuid_}: {H1} failed: guest not started"]


def test_an_unshelve_no_host_takes_is_refused_and_changes_nothing(ops: OperationsRig) -> None:
    uuid_, _ = _server(ops, vfs=1)
    ops.actions.shelve(uuid_)
    other = ops.server(ops.port())  # takes H1's only VF
    ops.steps.calls.clear()

    with pytest.raises(MoveNoValidHost) as refused:
        ops.actions.unshelve(uuid_)

    assert refused.value.message == "No valid host was found. 1 host: 1 too few free devices"
    assert ops.steps.calls == []
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state, server.host) == ("shelved_offloaded", None, None)
    assert ops.held(uuid_) == {}
    assert list(ops.held(other)) == [H1]
    assert ops.faults(uuid_) == []
    action = ops.last_action(uuid_)
    assert (action.action, action.finished) == ("unshelve", True)
    assert [(e.event, e.result) for e in action.events] == [("conductor_precheck", "Error")]


# -- interfaces -----------------------------------------------------------------------


def test_attach_claims_a_vf_on_the_servers_host_and_records_the_port(ops: OperationsRig) -> None:
    uuid_, (first,) = _server(ops)
    second = ops.port()

    result = ops.actions.attach_interface(uuid_, second)

    assert result.done
    (call,) = ops.steps.calls
    assert (call.host, call.step) == (H1, "attach_interface")
    assert (call.args["port_id"], call.args["project_id"]) == (second, "demo")
    device = call.args["device"]
    assert isinstance(device, dict)
    assert device["requester_id"] == second
    requests = ops.requests(uuid_)
    assert [r.requester_id for r in requests] == [first, second]
    assert device["request_id"] == requests[1].request_id
    held = ops.held_by_request(uuid_, H1)
    assert held[requests[1].request_id] == device["selected"]["device"]["address"]
    assert len(held) == 2
    assert ops.spec_ports(uuid_) == [first, second]
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state) == ("active", None)
    action = ops.last_action(uuid_)
    assert (action.action, action.message, action.finished) == ("attach_interface", None, True)
    assert [(e.event, e.result) for e in action.events] == [("compute_attach_interface", "Success")]


def test_attach_without_a_free_vf_on_the_host_names_the_host(ops: OperationsRig) -> None:
    uuid_, (first,) = _server(ops, vfs=1)
    ops.report(host_report(2))  # free VFs elsewhere do not help
    second = ops.port()
    held = ops.held(uuid_)

    with pytest.raises(InterfaceAttachPciClaimFailed) as refused:
        ops.actions.attach_interface(uuid_, second)

    assert refused.value.host == H1
    assert refused.value.http_status == 400
    assert refused.value.message.startswith(
        f"Failed to claim PCI device for {uuid_} during interface attach: PCI device request "
    )
    assert refused.value.message.endswith(f" on host {H1}")
    assert ops.steps.calls == []
    assert [r.requester_id for r in ops.requests(uuid_)] == [first]
    assert ops.held(uuid_) == held
    assert ops.spec_ports(uuid_) == [first]
    assert ops.instance(uuid_).task_state is None
    assert ops.faults(uuid_) == []
    assert [(e.event, e.result) for e in ops.last_action(uuid_).events] == [
        ("conductor_precheck", "Error")
    ]


def test_an_attach_the_host_refuses_frees_the_vf_and_drops_the_request(
    ops: OperationsRig,
) -> None:
    uuid_, (first,) = _server(ops)
    second = ops.port()
    held = ops.held(uuid_)
    ops.steps.fail(H1, "attach_interface", "hot-plug refused")

    with pytest.raises(InterfaceAttachFailed) as refused:
        ops.actions.attach_interface(uuid_, second)

    assert refused.value.message == (
        f"Failed to attach network adapter device to {uuid_}: "
        f"attach_interface of {uuid_}: {H1} failed: hot-plug refused"
    )
    assert ops.held(uuid_) == held
    assert [r.requester_id for r in ops.requests(uuid_)] == [first]
    assert ops.spec_ports(uuid_) == [first]
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state) == ("active", None)
    assert ops.faults(uuid_) == []
    assert [(e.event, e.result) for e in ops.last_action(uuid_).events] == [
        ("compute_attach_interface", "Error"),
        ("conductor_precheck", "Error"),
    ]


def test_attach_of_a_port_another_server_holds_is_refused(ops: OperationsRig) -> None:
    uuid_, _ = _server(ops)
    _, (taken,) = _server(ops)
    with pytest.raises(PortInUse):
        ops.actions.attach_interface(uuid_, taken)
    assert ops.steps.calls == []
    assert ops.instance(uuid_).task_state is None


def test_detach_of_a_port_not_attached_is_a_404(ops: OperationsRig) -> None:
    uuid_, (first,) = _server(ops)
    stranger = ops.port()
    held = ops.held(uuid_)

    with pytest.raises(PortNotAttached) as refused:
        ops.actions.detach_interface(uuid_, stranger)

    assert refused.value.message == f"Port {stranger} is not attached"
    assert refused.value.http_status == 404
    assert ops.steps.calls == []
    assert ops.held(uuid_) == held
    assert ops.spec_ports(uuid_) == [first]
    assert ops.instance(uuid_).task_state is None


def test_detach_frees_exactly_the_ports_vf_and_request(ops: OperationsRig) -> None:
    uuid_, (first, second) = _server(ops, ports=2)
    requests = {r.requester_id: r.request_id for r in ops.requests(uuid_)}
    held = ops.held_by_request(uuid_, H1)

    ops.actions.detach_interface(uuid_, first)

    (call,) = ops.steps.calls
    assert (call.host, call.step, dict(call.args)) == (H1, "detach_interface", {"port_id": first})
    assert [r.requester_id for r in ops.requests(uuid_)] == [second]
    assert ops.held_by_request(uuid_, H1) == {requests[second]: held[requests[second]]}
    assert ops.spec_ports(uuid_) == [second]
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state) == ("active", None)
    action = ops.last_action(uuid_)
    assert (action.action, action.message) == ("detach_interface", None)
    assert [(e.event, e.result) for e in action.events] == [("compute_detach_interface", "Success")]


def test_a_detach_the_host_refuses_keeps_the_port(ops: OperationsRig) -> None:
    uuid_, (first, second) = _server(ops, ports=2)
    held = ops.held(uuid_)
    ops.steps.fail(H1, "detach_interface", "device still in the guest")

    with pytest.raises(MoveFailed):
        ops.actions.detach_interface(uuid_, first)

    assert ops.held(uuid_) == held
    assert [r.requester_id for r in ops.requests(uuid_)] == [first, second]
    assert ops.spec_ports(uuid_) == [first, second]
    assert ops.instance(uuid_).task_state is None


# -- reset-state ------------------------------------------------------------------------


class ConductorDied(BaseException):
    """Raised inside a step: the conductor process ends there, leaving the operation half-way."""


def _die() -> None:
    raise ConductorDied


def test_reset_state_puts_a_half_done_move_in_error_and_frees_its_destination(
    ops: OperationsRig,
) -> None:
    uuid_, _ = _server(ops)
    ops.report(host_report(2))
    source_held = ops.held(uuid_)[H1]
    ops.steps.hang(H1, "drop_guest", before=_die)
    with pytest.raises(ConductorDied):
        ops.moves.migrate(uuid_, host=H2)
    (migration,) = ops.migrations(uuid_)
    assert migration.status is MigrationStatus.MIGRATING
    assert ops.instance(uuid_).task_state == "resize_migrating"
    assert set(ops.held(uuid_)) == {H1, H2}

    stuck = ops.actions.reset_state(uuid_, state=VmState.ACTIVE)

    assert stuck == (migration.uuid,)
    (migration,) = ops.migrations(uuid_)
    assert migration.status is MigrationStatus.ERROR
    assert ops.held(uuid_) == {H1: source_held}
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state, server.host) == ("active", None, H1)
    action = ops.last_action(uuid_)
    assert (action.action, action.finished) == ("resetState", True)


def test_reset_state_of_a_resized_server_frees_the_source(ops: OperationsRig) -> None:
    uuid_, _ = _server(ops)
    ops.report(host_report(2))
    ops.moves.migrate(uuid_, host=H2)
    destination_held = ops.held(uuid_)[H2]

    stuck = ops.actions.reset_state(uuid_, state=VmState.ERROR)

    (migration,) = ops.migrations(uuid_)
    assert stuck == (migration.uuid,)
    assert migration.status is MigrationStatus.ERROR
    assert ops.held(uuid_) == {H2: destination_held}
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state, server.host) == ("error", None, H2)


def test_reset_state_clears_a_task_left_running_and_touches_no_final_move(
    ops: OperationsRig,
) -> None:
    uuid_, _ = _server(ops)
    ops.report(host_report(2))
    ops.moves.migrate(uuid_, host=H2)
    ops.moves.confirm_resize(uuid_)
    held = ops.held(uuid_)
    ops.base.begin(uuid_, "stop", request_id=None)  # its conductor died right after
    assert ops.instance(uuid_).task_state == "powering-off"

    assert ops.actions.reset_state(uuid_, state=VmState.ACTIVE) == ()

    (migration,) = ops.migrations(uuid_)
    assert migration.status is MigrationStatus.CONFIRMED
    assert ops.held(uuid_) == held
    server = ops.instance(uuid_)
    assert (server.vm_state, server.task_state) == ("active", None)
    # The server takes actions again.
    ops.actions.stop(uuid_)
    assert ops.instance(uuid_).vm_state == "stopped"


def test_every_step_is_stamped_with_when_it_was_sent(ops: OperationsRig) -> None:
    # An agent that restarts refuses a step sent before it started (its queue kept it).
    server, _ = _server(ops)
    before = time.time()
    ops.actions.stop(server)
    after = time.time()
    assert ops.steps.sent_at and all(
        isinstance(sent, float) and before <= sent <= after for sent in ops.steps.sent_at
    )

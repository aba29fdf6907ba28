"""The `run_step` call read on the agent: each step's arguments, and malformed calls refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.compute.build_message import BuildMessage, ClaimedVf
from offpath.compute.guest_operations import GuestOperations
from offpath.compute.step_dispatch import STEPS, run_step
from offpath.compute.step_result import StepResult
from offpath.pci.selection import SelectedDevice
from offpath.ports.events import Operation
from offpath.sim.fleet import host_devices

HOST = "compute-00001"
UUID = "3b0c5f0e-6a4e-4c9d-9a55-1d2f3e4a5b6c"
VF = next(d for d in host_devices(1, pfs=1, vfs=1) if d.dev_type.value == "type-VF")
SELECTED = SelectedDevice(VF, 0, {"physical_network": None, "remote_managed": "true"})


@dataclass
class Recorder:
    """Plays `GuestOperations`: records the method called and its arguments, answers done."""

    host: str = HOST
    calls: list[tuple[str, tuple[object, ...], dict[str, object]]] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        def method(*args: object, **kwargs: object) -> StepResult:
            self.calls.append((name, args, kwargs))
            return StepResult(UUID, self.host, name, True)

        return method


def _ops(recorder: Recorder) -> GuestOperations:
    return cast(GuestOperations, recorder)


MESSAGE = {
    "instance_uuid": UUID,
    "name": "vm",
    "flavor": {"vcpus": 2, "memory_mb": 1024},
    "port_ids": ["p1"],
    "devices": [{"request_id": "r1", "requester_id": "p1", "selected": SELECTED.to_primitive()}],
    "operation": "finish-migration",
    "power_on": False,
}

READ = [
    pytest.param("power_off", {}, (UUID,), {}, id="power_off"),
    pytest.param("power_on", {}, (UUID,), {}, id="power_on"),
    pytest.param(
        "reboot",
        {"hard": False, "port_ids": ["p1", "p2"]},
        (UUID,),
        {"hard": False, "port_ids": ("p1", "p2")},
        id="reboot",
    ),
    pytest.param("reboot", {}, (UUID,), {"hard": True, "port_ids": ()}, id="reboot-defaults"),
    pytest.param("suspend", {}, (UUID,), {}, id="suspend"),
    pytest.param("resume", {"port_ids": ["p1"]}, (UUID,), {"port_ids": ("p1",)}, id="resume"),
    pytest.param(
        "attach_interface",
        {
            "port_id": "p1",
            "project_id": "demo",
            "device": {
                "request_id": "r1",
                "requester_id": "p1",
                "selected": SELECTED.to_primitive(),
            },
        },
        (UUID, "p1", ClaimedVf("r1", "p1", SELECTED)),
        {"project_id": "demo"},
        id="attach_interface",
    ),
    pytest.param(
        "attach_interface",
        {"port_id": "p1", "device": None},
        (UUID, "p1", None),
        {"project_id": ""},
        id="attach_interface-no-device",
    ),
    pytest.param("detach_interface", {"port_id": "p1"}, (UUID, "p1"), {}, id="detach_interface"),
    pytest.param(
        "finish",
        {"message": MESSAGE, "project_id": "demo", "name": "finish_resize"},
        (
            BuildMessage(
                UUID,
                "vm",
                2,
                1024,
                ("p1",),
                (ClaimedVf("r1", "p1", SELECTED),),
                Operation.FINISH_MIGRATION,
                power_on=False,
            ),
        ),
        {"project_id": "demo", "step": "finish_resize"},
        id="finish",
    ),
    pytest.param(
        "drop_guest",
        {"port_ids": ["p1"], "name": "confirm_resize"},
        (UUID,),
        {"port_ids": ("p1",), "step": "confirm_resize"},
        id="drop_guest",
    ),
    pytest.param(
        "drop_guest", {}, (UUID,), {"port_ids": (), "step": "drop_guest"}, id="drop_guest-bare"
    ),
    pytest.param(
        "shelve_offload",
        {"port_ids": ["p1"]},
        (UUID,),
        {"port_ids": ("p1",)},
        id="shelve_offload",
    ),
    pytest.param(
        "live_migrate",
        {"destination": "compute-00002"},
        (UUID,),
        {"destination": "compute-00002"},
        id="live_migrate",
    ),
    pytest.param(
        "arrive",
        {"handoff": "<domain/>", "running": False, "port_ids": ["p1"], "project_id": "demo"},
        (UUID,),
        {"handoff": "<domain/>", "running": False, "port_ids": ("p1",), "project_id": "demo"},
        id="arrive",
    ),
    pytest.param(
        "restore_interfaces",
        {"port_ids": ["p1"]},
        (UUID,),
        {"port_ids": ("p1",)},
        id="restore_interfaces",
    ),
]


def test_every_step_is_covered_by_the_table() -> None:
    assert {p.values[0] for p in READ} == set(STEPS)


@pytest.mark.parametrize(("step", "args", "positional", "keywords"), READ)
def test_each_step_reads_its_arguments(
    step: str, args: dict[str, object], positional: tuple[object, ...], keywords: dict[str, object]
) -> None:
    recorder = Recorder()
    result = run_step(_ops(recorder), step, UUID, args, started_at=0.0)
    assert result.done
    (call,) = recorder.calls
    assert call == (step, positional, keywords)


@pytest.mark.parametrize(
    ("step", "uuid", "args", "problem"),
    [
        pytest.param(
            "warp", UUID, {}, f"no step 'warp'; known: {', '.join(STEPS)}", id="unknown-step"
        ),
        pytest.param(42, UUID, {}, "no step ''", id="step-not-text"),
        pytest.param("power_off", "", {}, "instance_uuid must be a non-empty string", id="no-uuid"),
        pytest.param(
            "power_off", None, {}, "instance_uuid must be a non-empty string", id="uuid-not-text"
        ),
        pytest.param("power_off", UUID, ["x"], "expected an object, got list", id="args-list"),
        pytest.param(
            "reboot",
            UUID,
            {"hard": "yes"},
            "field 'hard' must be a boolean, not str",
            id="flag-not-bool",
        ),
        pytest.param(
            "resume",
            UUID,
            {"port_ids": "p1"},
            "field 'port_ids' must be a list of strings, not str",
            id="ids-not-list",
        ),
        pytest.param("detach_interface", UUID, {}, "field 'port_id' is missing", id="no-port-id"),
        pytest.param(
            "live_migrate",
            UUID,
            {"destination": 7},
            "field 'destination' must be a string, not int",
            id="destination-not-text",
        ),
        pytest.param("finish", UUID, {}, "expected an object, got NoneType", id="no-message"),
        pytest.param(
            "attach_interface",
            UUID,
            {"port_id": "p1", "device": {"request_id": "r1"}},
            "expected an object, got NoneType",
            id="device-without-selection",
        ),
    ],
)
def test_a_malformed_call_is_a_failed_step_not_an_exception(
    step: object, uuid: object, args: object, problem: str
) -> None:
    recorder = Recorder()
    result = run_step(_ops(recorder), step, uuid, args, started_at=0.0)
    assert not result.done
    assert result.code == "record.primitive.invalid"
    assert result.fault is not None
    assert problem in result.fault
    assert result.host == HOST
    assert result.step == (step if isinstance(step, str) and step else "?")
    assert recorder.calls == []


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    [
        "hard",
        "port_ids",
        "port_id",
        "device",
        "message",
        "project_id",
        "name",
        "power_on",
        "destination",
        "handoff",
        "running",
    ]
)


@given(
    step=st.sampled_from([*STEPS, "", "nope"]) | JSON,
    uuid=st.just(UUID) | JSON,
    args=st.dictionaries(FIELDS, JSON, max_size=4) | JSON,
)
def test_any_call_answers_a_step_result(step: object, uuid: object, args: object) -> None:
    result = run_step(_ops(Recorder()), step, uuid, args, started_at=0.0)
    assert isinstance(result, StepResult)
    if not result.done:
        assert result.code == "record.primitive.invalid"


def test_a_step_sent_before_the_agent_started_is_refused_not_run() -> None:
    # The queue kept it while the agent was dead; the conductor gave it up meanwhile.
    recorder = Recorder()
    started = 1_000.0
    stale = run_step(
        _ops(recorder), "power_off", UUID, {"issued_at": started - 60}, started_at=started
    )
    assert (stale.done, stale.code) == (False, "compute.step.stale")
    assert "before this agent started" in (stale.fault or "")
    assert recorder.calls == []


def test_a_step_sent_within_the_clock_skew_allowed_runs() -> None:
    recorder = Recorder()
    started = 1_000.0
    fresh = run_step(
        _ops(recorder), "power_off", UUID, {"issued_at": started - 1.5}, started_at=started
    )
    assert fresh.done
    assert [call[0] for call in recorder.calls] == ["power_off"]

"""A step's answer on the wire and in the action event: read back equal, or refused."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.compute.build_result import BuildResult, BuildState, PlugConfirmation, PortOutcome
from offpath.compute.step_result import StepResult
from offpath.errors import GuestFailed, PrimitiveInvalid

TEXT = st.text(max_size=12)
OPTIONAL = st.none() | TEXT

PORTS = st.builds(
    PortOutcome,
    port_id=TEXT,
    vnic_type=TEXT,
    pci_slot=OPTIONAL,
    vif_type=TEXT,
    plugin=OPTIONAL,
    waited_for=OPTIONAL,
    confirmation=st.sampled_from(PlugConfirmation),
    status=TEXT,
)
RESULTS = st.builds(
    StepResult,
    instance_uuid=TEXT,
    host=TEXT,
    step=TEXT,
    done=st.booleans(),
    ports=st.lists(PORTS, max_size=3).map(tuple),
    duration=st.floats(min_value=0, max_value=1e6),
    fault=OPTIONAL,
    code=OPTIONAL,
    hypervisor=TEXT,
    handoff=OPTIONAL,
)


@given(RESULTS)
def test_a_result_reads_back_equal_through_json(result: StepResult) -> None:
    wire = json.loads(json.dumps(result.to_primitive()))
    assert StepResult.from_primitive(wire) == replace(result, duration=round(result.duration, 3))


@given(RESULTS)
def test_details_are_the_primitive_without_the_handoff(result: StepResult) -> None:
    details = result.details()
    assert "handoff" not in details
    primitive = result.to_primitive()
    primitive.pop("handoff", None)
    assert details == primitive


def test_the_handoff_travels_but_is_not_kept() -> None:
    result = StepResult("i1", "h1", "live_migrate", True, hypervisor="simulated", handoff="<x/>")
    assert result.to_primitive()["handoff"] == "<x/>"
    assert "handoff" not in result.details()
    assert "handoff" not in StepResult("i1", "h1", "s", True).to_primitive()


def test_a_failed_step_keeps_the_errors_message_and_code() -> None:
    error = GuestFailed("test:///default", "i1", "suspend", "no guest")
    result = StepResult.failed("i1", "h1", "suspend", error, hypervisor="libvirt")
    assert (result.done, result.fault, result.code, result.hypervisor) == (
        False,
        error.message,
        error.code,
        "libvirt",
    )


def test_a_build_becomes_a_step() -> None:
    port = PortOutcome(
        "p1",
        "remote-managed",
        "0000:43:00.1",
        "ovs",
        "noop",
        None,
        PlugConfirmation.BIND_ANSWER,
        "ACTIVE",
    )
    active = BuildResult("i1", "h2", BuildState.ACTIVE, (port,), 1.5)
    failed = BuildResult("i1", "h2", BuildState.ERROR, (), 0.5, "no VF", "pci.x")
    assert StepResult.of_build(active, "finish_resize", "simulated") == StepResult(
        "i1", "h2", "finish_resize", True, (port,), 1.5, None, None, "simulated"
    )
    step = StepResult.of_build(failed, "unshelve", "libvirt")
    assert (step.done, step.fault, step.code) == (False, "no VF", "pci.x")


GOOD = StepResult("i1", "h1", "s", True).to_primitive()


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        pytest.param([], "expected an object", id="not-an-object"),
        pytest.param({**GOOD, "ports": {}}, "field 'ports' must be a list", id="ports"),
        pytest.param({**GOOD, "duration": -1}, "'duration' must be a number >= 0", id="negative"),
        pytest.param({**GOOD, "duration": True}, "'duration' must be a number >= 0", id="bool"),
        pytest.param(
            {**GOOD, "duration": float("nan")}, "'duration' must be a number >= 0", id="nan"
        ),
        pytest.param({**GOOD, "host": None}, "field 'host' must be a string", id="host"),
        pytest.param({**GOOD, "done": "yes"}, "field 'done' must be a boolean", id="done"),
    ],
)
def test_a_damaged_result_is_refused(data: object, problem: str) -> None:
    with pytest.raises(PrimitiveInvalid) as refused:
        StepResult.from_primitive(data)
    assert problem in refused.value.message


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.dictionaries(st.sampled_from(sorted(GOOD)), JSON, max_size=6).map(
        lambda changed: {**GOOD, **changed}
    )
    | JSON
)
def test_any_document_reads_as_a_result_or_primitive_invalid(data: object) -> None:
    try:
        found = StepResult.from_primitive(data)
    except PrimitiveInvalid:
        return
    assert isinstance(found, StepResult)

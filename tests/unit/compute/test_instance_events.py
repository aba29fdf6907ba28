"""External events: a waiter gets what it expects, early ones are kept a while, waits end."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.compute.instance_events import (
    EventStatus,
    ExternalEvent,
    InstanceEvents,
    WaitEnd,
    parse_events,
)
from offpath.errors import PrimitiveInvalid
from offpath.ports.events import ExpectedEvent

PLUGGED = "network-vif-plugged"


def plugged(tag: str, status: EventStatus = EventStatus.COMPLETED) -> ExternalEvent:
    return ExternalEvent(PLUGGED, tag, status)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_waiter_ends_when_every_expected_event_came() -> None:
    events = InstanceEvents()
    waiter = events.prepare("i1", [ExpectedEvent(PLUGGED, "p1"), ExpectedEvent(PLUGGED, "p2")])
    assert events.deliver("i1", plugged("p1"))
    threading.Timer(0.05, events.deliver, args=("i1", plugged("p2"))).start()
    outcome = waiter.wait(5)
    assert outcome.end is WaitEnd.ALL_ARRIVED
    assert set(outcome.received) == {ExpectedEvent(PLUGGED, "p1"), ExpectedEvent(PLUGGED, "p2")}


def test_a_wait_is_bounded_and_says_what_is_missing() -> None:
    waiter = InstanceEvents().prepare("i1", [ExpectedEvent(PLUGGED, "p1")])
    started = time.monotonic()
    outcome = waiter.wait(0.2)
    assert time.monotonic() - started >= 0.2
    assert (outcome.end, outcome.missing) == (WaitEnd.TIMED_OUT, (ExpectedEvent(PLUGGED, "p1"),))


def test_an_event_before_its_waiter_is_kept_and_counted() -> None:
    events = InstanceEvents()
    assert not events.deliver("i1", plugged("p1"))
    waiter = events.prepare("i1", [ExpectedEvent(PLUGGED, "p1")])
    assert waiter.wait(0).end is WaitEnd.ALL_ARRIVED
    assert events.buffered() == ()


def test_early_events_expire_and_the_buffer_is_bounded() -> None:
    clock = Clock()
    events = InstanceEvents(buffer_size=2, buffer_ttl=10, clock=clock)
    for tag in ("p1", "p2", "p3"):
        events.deliver("i1", plugged(tag))
    assert [e.tag for _, e in events.buffered()] == ["p2", "p3"]
    clock.now = 11
    assert events.buffered() == ()
    waiter = events.prepare("i1", [ExpectedEvent(PLUGGED, "p3")])
    assert waiter.wait(0).end is WaitEnd.TIMED_OUT


def test_another_instances_event_does_not_count() -> None:
    events = InstanceEvents()
    waiter = events.prepare("i1", [ExpectedEvent(PLUGGED, "p1")])
    assert not events.deliver("i2", plugged("p1"))
    assert waiter.wait(0).end is WaitEnd.TIMED_OUT


def test_a_failed_event_ends_the_wait_as_failed() -> None:
    events = InstanceEvents()
    waiter = events.prepare("i1", [ExpectedEvent(PLUGGED, "p1"), ExpectedEvent(PLUGGED, "p2")])
    events.deliver("i1", plugged("p1", EventStatus.FAILED))
    outcome = waiter.wait(5)
    assert (outcome.end, outcome.failed) == (WaitEnd.FAILED, (ExpectedEvent(PLUGGED, "p1"),))


def test_an_in_progress_event_is_not_an_end() -> None:
    events = InstanceEvents()
    waiter = events.prepare("i1", [ExpectedEvent(PLUGGED, "p1")])
    assert events.deliver("i1", plugged("p1", EventStatus.IN_PROGRESS))
    assert waiter.wait(0.05).end is WaitEnd.TIMED_OUT


def test_cancel_ends_a_wait_now_and_one_about_to_start() -> None:
    events = InstanceEvents()
    waiter = events.prepare("i1", [ExpectedEvent(PLUGGED, "p1")])
    threading.Timer(0.05, events.cancel, args=("i1",)).start()
    started = time.monotonic()
    assert waiter.wait(30).end is WaitEnd.CANCELLED
    assert time.monotonic() - started < 5
    later = events.prepare("i1", [ExpectedEvent(PLUGGED, "p1")])
    assert later.wait(30).end is WaitEnd.CANCELLED
    assert events.is_cancelled("i1")


def test_ending_the_waits_of_a_guest_that_left_lets_its_next_build_wait() -> None:
    events = InstanceEvents()
    waiter = events.prepare("i1", [ExpectedEvent(PLUGGED, "p1")])
    assert not events.deliver("i1", plugged("p2"))
    events.end_waits("i1")
    assert waiter.wait(30).end is WaitEnd.CANCELLED
    assert not events.is_cancelled("i1")
    assert events.buffered() == ()
    # The guest comes back (a move back, an unshelve): its build waits as any other.
    back = events.prepare("i1", [ExpectedEvent(PLUGGED, "p1")])
    assert events.deliver("i1", plugged("p1"))
    assert back.wait(1).end is WaitEnd.ALL_ARRIVED


def test_a_forgotten_waiter_takes_nothing_more() -> None:
    events = InstanceEvents()
    waiter = events.prepare("i1", [ExpectedEvent(PLUGGED, "p1")])
    events.forget(waiter)
    assert not events.deliver("i1", plugged("p1"))


def test_nothing_expected_is_no_wait() -> None:
    started = time.monotonic()
    assert InstanceEvents().prepare("i1", []).wait(30).end is WaitEnd.ALL_ARRIVED
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    ("data", "event"),
    [
        pytest.param({"name": PLUGGED, "tag": "p1"}, plugged("p1"), id="default-status"),
        pytest.param(
            {"name": PLUGGED, "tag": "p1", "status": "failed"},
            plugged("p1", EventStatus.FAILED),
            id="failed",
        ),
        pytest.param(
            {"name": "network-changed", "tag": None, "server_uuid": "x"},
            ExternalEvent("network-changed", ""),
            id="no-tag-extra-key",
        ),
    ],
)
def test_events_are_read_from_their_primitive(data: object, event: ExternalEvent) -> None:
    assert parse_events([data]) == (event,)
    assert ExternalEvent.from_primitive(event.to_primitive()) == event


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(), st.lists, max_leaves=8))
def test_any_events_document_parses_or_is_refused_clearly(data: object) -> None:
    try:
        parsed = parse_events(data)
    except PrimitiveInvalid:
        return
    assert all(isinstance(event, ExternalEvent) for event in parsed)


@given(
    st.dictionaries(
        st.sampled_from(["name", "tag", "status", "other"]),
        st.none() | st.text(max_size=5) | st.integers() | st.sampled_from(list(EventStatus)),
    )
)
def test_any_event_object_parses_or_is_refused_clearly(data: dict[str, object]) -> None:
    try:
        event = ExternalEvent.from_primitive(data)
    except PrimitiveInvalid:
        return
    assert event.name == data["name"]

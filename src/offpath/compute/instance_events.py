"""External instance events (`network-vif-plugged`, ...) and the builds that wait for them.

A build registers what it expects before it starts the guest; the event
may still come first (a fast backend), so an event nobody waits for is
kept a short while in a bounded buffer and handed to the next waiter that
expects it. Every wait is bounded by its timeout, and a delete cancels the
waits of its instance, so no thread waits forever.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from offpath.errors import PrimitiveInvalid
from offpath.ports.events import ExpectedEvent
from offpath.primitive import PrimitiveFields

# How many unclaimed events are kept, and for how long (seconds).
BUFFER_SIZE: Final = 1024
BUFFER_TTL: Final = 120.0
# How long a delete keeps an instance marked cancelled, for a build not yet waiting.
CANCEL_TTL: Final = 600.0


class EventStatus(StrEnum):
    """An external event's status, as Nova's API takes it."""

    COMPLETED = "completed"
    FAILED = "failed"
    IN_PROGRESS = "in-progress"


@dataclass(frozen=True, slots=True)
class ExternalEvent:
    """One event about one instance: its name, tag (the port id) and status."""

    name: str
    tag: str
    status: EventStatus = EventStatus.COMPLETED

    @property
    def key(self) -> ExpectedEvent:
        """What a waiter expects to match this event."""
        return ExpectedEvent(self.name, self.tag)

    def to_primitive(self) -> dict[str, str]:
        """Its JSON-safe form, as the compute RPC carries it."""
        return {"name": self.name, "tag": self.tag, "status": self.status.value}

    @classmethod
    def from_primitive(cls, data: object) -> ExternalEvent:
        """The event `to_primitive` (or Nova's API body) wrote; PrimitiveInvalid if not one."""
        read = PrimitiveFields("ExternalEvent", data)
        return cls(
            read.text("name"),
            read.optional_text("tag") or "",
            read.optional_choice("status", EventStatus, default=EventStatus.COMPLETED),
        )


class WaitEnd(StrEnum):
    """How a wait ended."""

    ALL_ARRIVED = "all-arrived"
    FAILED = "failed"
    TIMED_OUT = "timed-out"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class WaitOutcome:
    """What a wait saw: how it ended, which events came, which did not."""

    end: WaitEnd
    received: tuple[ExpectedEvent, ...] = ()
    missing: tuple[ExpectedEvent, ...] = ()
    failed: tuple[ExpectedEvent, ...] = ()


@dataclass(eq=False)
class EventWaiter:
    """The events one build waits for; filled by `InstanceEvents.deliver`."""

    instance_uuid: str
    expected: frozenset[ExpectedEvent]
    _received: list[ExpectedEvent] = field(default_factory=list)
    _failed: list[ExpectedEvent] = field(default_factory=list)
    _cancelled: bool = False
    _done: threading.Event = field(default_factory=threading.Event)

    def _take(self, event: ExternalEvent) -> bool:
        key = event.key
        if key not in self.expected or key in self._received or key in self._failed:
            return False
        if event.status is EventStatus.FAILED:
            self._failed.append(key)
            self._done.set()
        elif event.status is EventStatus.COMPLETED:
            self._received.append(key)
            if len(self._received) == len(self.expected):
                self._done.set()
        # An in-progress event is news, not an outcome: still waiting.
        return True

    def _cancel(self) -> None:
        self._cancelled = True
        self._done.set()

    def wait(self, timeout: float) -> WaitOutcome:
        """Wait at most `timeout` seconds for every expected event."""
        if self.expected:
            self._done.wait(max(0.0, timeout))
        received = tuple(self._received)
        missing = tuple(
            e
            for e in sorted(self.expected, key=_order)
            if e not in received and e not in self._failed
        )
        if self._failed:
            end = WaitEnd.FAILED
        elif not missing:
            end = WaitEnd.ALL_ARRIVED
        elif self._cancelled:
            end = WaitEnd.CANCELLED
        else:
            end = WaitEnd.TIMED_OUT
        return WaitOutcome(end, received, missing, tuple(self._failed))


def _order(event: ExpectedEvent) -> tuple[str, str]:
    return (event.name, event.tag)


class InstanceEvents:
    """The waiters of this host's builds, and the events that came before their waiter."""

    def __init__(
        self,
        *,
        buffer_size: int = BUFFER_SIZE,
        buffer_ttl: float = BUFFER_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, list[EventWaiter]] = {}
        # (instance, event) -> arrival time, oldest first, for eviction.
        self._early: OrderedDict[tuple[str, ExternalEvent], float] = OrderedDict()
        self._cancelled: dict[str, float] = {}
        self._buffer_size = buffer_size
        self._buffer_ttl = buffer_ttl
        self._clock = clock

    def prepare(self, instance_uuid: str, expected: Iterable[ExpectedEvent]) -> EventWaiter:
        """Start listening for `expected`; an event already buffered counts at once."""
        waiter = EventWaiter(instance_uuid, frozenset(expected))
        with self._lock:
            now = self._clock()
            self._expire(now)
            if instance_uuid in self._cancelled:
                waiter._cancel()
                return waiter
            for key in [k for k in self._early if k[0] == instance_uuid]:
                if waiter._take(key[1]):
                    del self._early[key]
            self._waiters.setdefault(instance_uuid, []).append(waiter)
        return waiter

    def forget(self, waiter: EventWaiter) -> None:
        """Stop listening for `waiter`'s events (its wait is over)."""
        with self._lock:
            waiters = self._waiters.get(waiter.instance_uuid, [])
            if waiter in waiters:
                waiters.remove(waiter)
            if not waiters:
                self._waiters.pop(waiter.instance_uuid, None)

    def deliver(self, instance_uuid: str, event: ExternalEvent) -> bool:
        """Hand `event` to a waiter; True if one took it, else it is buffered a while."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            for waiter in self._waiters.get(instance_uuid, []):
                if waiter._take(event):
                    return True
            key = (instance_uuid, event)
            self._early.pop(key, None)
            self._early[key] = now
            while len(self._early) > self._buffer_size:
                self._early.popitem(last=False)
            return False

    def cancel(self, instance_uuid: str) -> None:
        """End the waits of `instance_uuid` now, and those it would start soon (it is deleted)."""
        with self._lock:
            self._cancelled[instance_uuid] = self._clock()
            self._end_waits(instance_uuid)

    def end_waits(self, instance_uuid: str) -> None:
        """End the waits of `instance_uuid` now and drop its early events; later waits go on.

        For a guest that leaves this host but not the cloud (a move's source,
        shelve-offload): it may come back soon, and its build must not be
        taken for one of a deleted instance.
        """
        with self._lock:
            self._end_waits(instance_uuid)

    def _end_waits(self, instance_uuid: str) -> None:
        for waiter in self._waiters.pop(instance_uuid, []):
            waiter._cancel()
        for key in [k for k in self._early if k[0] == instance_uuid]:
            del self._early[key]

    def is_cancelled(self, instance_uuid: str) -> bool:
        """True when a delete of `instance_uuid` came in the last while."""
        with self._lock:
            self._expire(self._clock())
            return instance_uuid in self._cancelled

    def cancel_all(self) -> None:
        """End every wait (the agent is stopping)."""
        with self._lock:
            for waiters in self._waiters.values():
                for waiter in waiters:
                    waiter._cancel()
            self._waiters.clear()

    def buffered(self) -> tuple[tuple[str, ExternalEvent], ...]:
        """The events kept for a waiter yet to come, oldest first."""
        with self._lock:
            self._expire(self._clock())
            return tuple(self._early)

    def _expire(self, now: float) -> None:
        while self._early:
            key, arrived = next(iter(self._early.items()))
            if now - arrived <= self._buffer_ttl:
                break
            del self._early[key]
        for uuid_, since in list(self._cancelled.items()):
            if now - since > CANCEL_TTL:
                del self._cancelled[uuid_]


def parse_events(events: object) -> tuple[ExternalEvent, ...]:
    """The events of an `external_instance_event` message; PrimitiveInvalid if not a list."""
    if not isinstance(events, list):
        raise PrimitiveInvalid("ExternalEvent", "events must be a list")
    return tuple(ExternalEvent.from_primitive(event) for event in events)

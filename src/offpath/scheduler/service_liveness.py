"""Compute services' state as the scheduler holds it, re-read incrementally.

Reading every service row every second costs tens of milliseconds at 10,000
hosts, paid by whichever boot refreshes. A service's state moves in three
ways only: it heartbeats (registering stamps `last_seen_up` too, so a new
version comes with it), someone sets or clears `disabled` or `forced_down`,
or its last heartbeat ages past `service_down_time`. So a read fetches the
rows stamped since the last read (with the commit margin), the rows flagged
now and those held as flagged (to see a flag cleared); ageing is computed
here over an array of the last heartbeats. A full read every
`full_read_every` seconds (`FULL_READ_EVERY` by default) covers what none
of these see: a writer whose clock lags ours by more than the margin.
"""

from __future__ import annotations

import math
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from offpath.db.cell_schema import ServiceRow
from offpath.db.columns import utcnow
from offpath.version import COMPUTE_BINARY

# A transaction that stamped a row before our last read may commit after it;
# re-reading this far back catches it.
COMMIT_MARGIN = timedelta(seconds=5)

# How often every service row is read again, whatever the incremental reads saw.
FULL_READ_EVERY = 60.0


@dataclass(frozen=True, slots=True)
class ServiceState:
    """A compute service's liveness and version, as last read."""

    version: int
    up: bool
    disabled: bool


class ServiceLiveness:
    """One cell's compute services: last heartbeat, flags and version of each host."""

    def __init__(
        self,
        *,
        service_down_time: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.service_down_time = service_down_time
        self._clock = clock
        self._slots: dict[str, int] = {}
        self._hosts: list[str] = []
        self._versions: list[int] = []
        self._disabled: list[bool] = []
        # Per slot: the last heartbeat (POSIX seconds, -inf for never) and forced_down.
        self._seen = array("d")
        self._forced = bytearray()
        self._up = np.zeros(0, dtype=bool)
        self._flagged: set[str] = set()
        self._read_at: datetime | None = None
        self._full_read_at = -math.inf

    def read(
        self, session: Session, *, full_read_every: float = FULL_READ_EVERY
    ) -> dict[str, ServiceState]:
        """Read what changed since the last read; the state of every host it may have changed.

        Every row is read on the first call and once `full_read_every` seconds have passed.
        """
        now = self._clock()
        started = time.monotonic()
        query = select(
            ServiceRow.host,
            ServiceRow.version,
            ServiceRow.last_seen_up,
            ServiceRow.disabled,
            ServiceRow.forced_down,
        ).where(ServiceRow.binary == COMPUTE_BINARY)
        full = self._read_at is None or started - self._full_read_at >= full_read_every
        if not full:
            assert self._read_at is not None
            query = query.where(
                or_(
                    ServiceRow.last_seen_up >= self._read_at - COMMIT_MARGIN,
                    ServiceRow.disabled,
                    ServiceRow.forced_down,
                    ServiceRow.host.in_(sorted(self._flagged)),
                )
            )
        touched: set[int] = set()
        for host, version, seen, disabled, forced_down in session.connection().execute(query):
            slot = self._slot(host)
            self._versions[slot] = version
            self._disabled[slot] = bool(disabled)
            self._seen[slot] = seen.timestamp() if seen is not None else -math.inf
            self._forced[slot] = bool(forced_down)
            if disabled or forced_down:
                self._flagged.add(host)
            else:
                self._flagged.discard(host)
            touched.add(slot)
        self._read_at = now
        if full:
            self._full_read_at = started
        return {self._hosts[slot]: self._state(slot) for slot in self._age(now) | touched}

    def _age(self, now: datetime) -> set[int]:
        """Compute every host's up from its last heartbeat; the slots whose up flipped."""
        seen = np.frombuffer(self._seen, dtype=np.float64)
        forced = np.frombuffer(self._forced, dtype=np.bool_)
        up = (seen >= now.timestamp() - self.service_down_time) & ~forced
        before = self._up
        if len(before) < len(up):
            before = np.concatenate([before, np.zeros(len(up) - len(before), dtype=bool)])
        flipped = set(np.flatnonzero(up != before).tolist())
        # The views must go before the buffers grow again.
        del seen, forced
        self._up = up
        return flipped

    def _state(self, slot: int) -> ServiceState:
        return ServiceState(self._versions[slot], bool(self._up[slot]), self._disabled[slot])

    def _slot(self, host: str) -> int:
        slot = self._slots.get(host)
        if slot is None:
            slot = self._slots[host] = len(self._hosts)
            self._hosts.append(host)
            self._versions.append(0)
            self._disabled.append(False)
            self._seen.append(-math.inf)
            self._forced.append(0)
        return slot

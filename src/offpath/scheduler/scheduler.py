"""Selecting a host for a request and claiming its devices, with alternates and re-selection.

The hosts that pass every filter are weighed (Nova's PCIWeigher); the best
is claimed in its cell database, the next ones are the alternates tried when
the claim loses a race. After the alternates, the scheduler refreshes its
picture and selects again, a bounded number of times. Equal weights are
shuffled so that concurrent requests spread instead of all racing for one host.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from sqlalchemy.orm import Session

from offpath.db.device_claims import Claim, claim_devices
from offpath.db.engine import writing
from offpath.errors import (
    HostChangedConcurrently,
    NoValidHost,
    PciDeviceRequestFailed,
    TransactionConflict,
)
from offpath.pci.summary_index import SummaryIndex
from offpath.scheduler.filters import (
    Rejection,
    capability_rejection,
    host_rejection,
    numa_choices,
    service_rejection,
    summarize,
)
from offpath.scheduler.host_state import HostState, HostStateCache
from offpath.scheduler.request import PlacementRequest

LOG = logging.getLogger(__name__)
T = TypeVar("T")

# A claim that raises one of these lost its host to another request.
_LOST_RACE = (HostChangedConcurrently, PciDeviceRequestFailed, TransactionConflict)

# Nova's [scheduler] max_attempts default: the chosen host and two alternates.
MAX_ATTEMPTS = 3
RESELECTIONS = 5


@dataclass(frozen=True, slots=True)
class HostVerdict:
    """One host's answer to a request: None when it may take it."""

    host: str
    cell: str
    rejection: Rejection | None
    free_devices: int


@dataclass(frozen=True, slots=True)
class Target:
    """Where a move may go: any host but `exclude`, or only `host` when one is named."""

    exclude: frozenset[str] = frozenset()
    host: str | None = None

    def allows(self, name: str) -> bool:
        """True when the move may land on `name`."""
        if name in self.exclude:
            return False
        return self.host is None or name == self.host

    def summary(self, verdicts: list[HostVerdict]) -> str:
        """The "why not" of a move: the named host's own reason, or every other host's."""
        if self.host is not None:
            if self.host in self.exclude:
                return f"host {self.host} is the server's own host"
            named = [v for v in verdicts if v.host == self.host]
            if not named:
                return f"host {self.host} is not a compute host of any cell"
            reason = named[0].rejection
            return f"host {self.host}: {reason.value if reason else 'lost its devices to a race'}"
        others = [v for v in verdicts if v.host not in self.exclude]
        text = summarize(
            (v.rejection for v in others if v.rejection is not None), hosts=len(others)
        )
        if len(others) == 0:
            text = "0 hosts besides the server's own"
        return text


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a request landed and what it claimed there."""

    host: HostState
    claim: Claim


class Scheduler:
    """Filters, weighs and claims over a `HostStateCache`."""

    def __init__(
        self, cache: HostStateCache, *, max_attempts: int = MAX_ATTEMPTS, seed: int | None = None
    ) -> None:
        self.cache = cache
        self.max_attempts = max_attempts
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._indexes: dict[PlacementRequest, SummaryIndex] = {}
        cache.watch(self._host_changed)

    def explain(self, request: PlacementRequest) -> list[HostVerdict]:
        """Every host's verdict on `request`, by host name (what `schedule explain` shows)."""
        self.cache.refresh()
        return self._verdicts(request)

    def _verdicts(self, request: PlacementRequest) -> list[HostVerdict]:
        catalog = self.cache.catalog
        compiled = catalog.compile(request.pci_requests)
        return [
            HostVerdict(
                name,
                state.cell.name,
                host_rejection(catalog, state, self.cache.services.get(name), compiled, request),
                state.summary.free_count,
            )
            for name, state in sorted(self.cache.hosts.items())
        ]

    def select(self, request: PlacementRequest, target: Target | None = None) -> list[HostState]:
        """The hosts that may take `request`, best first (at most `max_attempts`)."""
        catalog = self.cache.catalog
        hosts = self.cache.hosts
        with self._lock:
            index = self._eligible(request)
            if request.pci_requests:
                compiled = catalog.compile(request.pci_requests)
                candidates = index.scan(compiled)
                if request.numa_nodes:
                    candidates = candidates.only(
                        lambda name: any(
                            catalog.support(hosts[name].summary, compiled, cells)
                            for cells in numa_choices(hosts[name], request)
                        )
                    )
            else:
                candidates = index.everyone()
            if target is not None:
                candidates = candidates.only(target.allows)
            best = candidates.best(self.max_attempts, self._random)
        return [hosts[name] for name in best]

    def _eligible(self, request: PlacementRequest) -> SummaryIndex:
        """The hosts passing the service and capability filters for requests like `request`.

        Those filters read neither the PCI requests nor NUMA, so one index
        serves every request of a kind; it follows the cache's changes.
        """
        kind = replace(request, pci_requests=(), numa_nodes=None)
        index = self._indexes.get(kind)
        if index is None:
            index = self._indexes[kind] = SummaryIndex(self.cache.catalog)
            for name in list(self.cache.hosts):
                self._place(index, kind, name)
        return index

    def _host_changed(self, name: str) -> None:
        with self._lock:
            for kind, index in self._indexes.items():
                self._place(index, kind, name)

    def _place(self, index: SummaryIndex, kind: PlacementRequest, name: str) -> None:
        state = self.cache.hosts.get(name)
        if (
            state is not None
            and service_rejection(self.cache.services.get(name), kind) is None
            and capability_rejection(state, kind) is None
        ):
            index.put(name, state.summary)
        else:
            index.remove(name)

    def why_not(self, request: PlacementRequest, target: Target | None = None) -> str:
        """The "why not" summary of a request no host takes, from the picture `select` used."""
        verdicts = self._verdicts(request)
        if target is None:
            return summarize(
                (v.rejection for v in verdicts if v.rejection is not None),
                hosts=len(self.cache.hosts),
            )
        return target.summary(verdicts)

    def schedule_and_claim(
        self,
        request: PlacementRequest,
        *,
        instance_uuid: str,
        on_claimed: Callable[[Session, HostState, Claim], T],
        target: Target | None = None,
    ) -> tuple[Placement, T]:
        """Claim on the best host, else an alternate, else select again; NoValidHost when none.

        `on_claimed` runs in the claim's transaction, so what it writes (the
        instance record) commits with the claim or not at all. A move's
        `target` leaves out its source host, or names the only host wanted.
        """
        lost = 0
        for _ in range(RESELECTIONS):
            self.cache.refresh()
            chosen = self.select(request, target)
            if not chosen:
                raise NoValidHost(self.why_not(request, target))
            for host in chosen:
                try:
                    return self._claim(host, request, instance_uuid, on_claimed)
                except (
                    HostChangedConcurrently,
                    PciDeviceRequestFailed,
                    TransactionConflict,
                ) as exc:
                    lost += 1
                    LOG.info("claim on %s lost (%s); trying the next host", host.host, exc)
                    self.cache.refresh(force_hosts=(host.host,))
        raise NoValidHost(f"{lost} claims lost to concurrent requests; retry")

    def _claim(
        self,
        host: HostState,
        request: PlacementRequest,
        instance_uuid: str,
        on_claimed: Callable[[Session, HostState, Claim], T],
    ) -> tuple[Placement, T]:
        engine = self.cache.cells.engine(host.cell)
        last: PciDeviceRequestFailed | None = None
        for cells in numa_choices(host, request):
            try:
                with writing(engine) as session:
                    claim = claim_devices(
                        session,
                        host.host,
                        request.pci_requests,
                        instance_uuid=instance_uuid,
                        numa_cells=cells or None,
                    )
                    extra = on_claimed(session, host, claim)
                if claim.pools is not None:
                    self.cache.claimed(host.host, claim.generation, claim.pools)
                return Placement(host, claim), extra
            except PciDeviceRequestFailed as exc:
                last = exc
        assert last is not None
        raise last

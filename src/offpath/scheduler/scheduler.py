"""Selecting a host for a request and claiming its devices, with alternates and re-selection.

The hosts that pass every filter are weighed (Nova's PCIWeigher); the best
is claimed in its cell database, the next ones are the alternates tried when
the claim loses a race. After the alternates, the scheduler refreshes its
picture and selects again, a bounded number of times. Equal weights are
shuffled so that concurrent requests spread instead of all racing for one host.
"""

from __future__ import annotations

import heapq
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
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
from offpath.pci.weigher import pci_weight
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

    def select(self, request: PlacementRequest) -> list[HostState]:
        """The hosts that may take `request`, best first (at most `max_attempts`)."""
        catalog = self.cache.catalog
        services = self.cache.services
        eligible = {
            name: state.summary
            for name, state in self.cache.hosts.items()
            if service_rejection(services.get(name), request) is None
            and capability_rejection(state, request) is None
        }
        if request.pci_requests:
            compiled = catalog.compile(request.pci_requests)
            names = catalog.hosts_supporting(eligible, compiled)
            if request.numa_nodes:
                names = [
                    name
                    for name in names
                    if any(
                        catalog.support(self.cache.hosts[name].summary, compiled, cells)
                        for cells in numa_choices(self.cache.hosts[name], request)
                    )
                ]
        else:
            names = list(eligible)
        hosts = self.cache.hosts
        # The few best without sorting every candidate (the same order a full sort gives).
        best = heapq.nlargest(
            self.max_attempts,
            (
                (pci_weight(hosts[name].summary.free_count), self._random.random(), name)
                for name in names
            ),
        )
        return [hosts[name] for _, _, name in best]

    def why_not(self, request: PlacementRequest) -> str:
        """The "why not" summary of a request no host takes, from the picture `select` used."""
        return summarize(
            (v.rejection for v in self._verdicts(request) if v.rejection is not None),
            hosts=len(self.cache.hosts),
        )

    def schedule_and_claim(
        self,
        request: PlacementRequest,
        *,
        instance_uuid: str,
        on_claimed: Callable[[Session, HostState, Claim], T],
    ) -> tuple[Placement, T]:
        """Claim on the best host, else an alternate, else select again; NoValidHost when none.

        `on_claimed` runs in the claim's transaction, so what it writes (the
        instance record) commits with the claim or not at all.
        """
        lost = 0
        for _ in range(RESELECTIONS):
            self.cache.refresh()
            chosen = self.select(request)
            if not chosen:
                raise NoValidHost(self.why_not(request))
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
                return Placement(host, claim), extra
            except PciDeviceRequestFailed as exc:
                last = exc
        assert last is not None
        raise last

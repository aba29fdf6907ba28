"""Why a host cannot take a request: each filter's verdict, in the order Nova runs them.

Service up and enabled, service version, the remote-managed capability
(Nova's request filter plus trait), then PCI pools with NUMA fitting. The
first filter that rejects a host gives its reason; `None` means it passes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from enum import StrEnum
from itertools import combinations

from offpath.pci.numa import NumaCell
from offpath.pci.summary import CompiledRequests, SummaryCatalog
from offpath.scheduler.host_state import HostState
from offpath.scheduler.request import PlacementRequest
from offpath.scheduler.service_liveness import ServiceState


class Rejection(StrEnum):
    """Why a host was left out; the words the "why not" summary shows."""

    SERVICE_DOWN = "compute service down"
    SERVICE_DISABLED = "compute service disabled"
    NO_SERVICE = "no compute service"
    VERSION = "compute service version too old"
    CAPABILITY = "no remote-managed pool"
    NO_POOL = "no pool matches"
    TOO_FEW = "too few free devices"
    NUMA = "NUMA policy: no cell has the devices"


def service_rejection(service: ServiceState | None, request: PlacementRequest) -> Rejection | None:
    """The service filters' verdict."""
    if service is None:
        return Rejection.NO_SERVICE
    if not service.up:
        return Rejection.SERVICE_DOWN
    if service.disabled:
        return Rejection.SERVICE_DISABLED
    if service.version < request.minimum_version:
        return Rejection.VERSION
    return None


def capability_rejection(host: HostState, request: PlacementRequest) -> Rejection | None:
    """The remote-managed capability filter's verdict (Nova's request filter and trait)."""
    if request.remote_managed and not host.supports_remote_managed:
        return Rejection.CAPABILITY
    return None


def numa_choices(host: HostState, request: PlacementRequest) -> list[tuple[NumaCell, ...]]:
    """The host cell sets a guest with `hw:numa_nodes` could sit on; [()] without NUMA."""
    if not request.numa_nodes:
        return [()]
    return list(combinations(host.numa_cells, request.numa_nodes))


def pci_rejection(
    catalog: SummaryCatalog,
    host: HostState,
    compiled: CompiledRequests,
    request: PlacementRequest,
) -> Rejection | None:
    """The PCI filter's verdict, NUMA fitting included."""
    if not compiled.requests:
        return None
    if not catalog.support(host.summary, compiled):
        if catalog.matches_any(host.summary, compiled):
            return Rejection.TOO_FEW
        return Rejection.NO_POOL
    if request.numa_nodes and not any(
        catalog.support(host.summary, compiled, cells) for cells in numa_choices(host, request)
    ):
        return Rejection.NUMA
    return None


def host_rejection(
    catalog: SummaryCatalog,
    host: HostState,
    service: ServiceState | None,
    compiled: CompiledRequests,
    request: PlacementRequest,
) -> Rejection | None:
    """The first filter that rejects `host`, or None when it may take the request."""
    return (
        service_rejection(service, request)
        or capability_rejection(host, request)
        or pci_rejection(catalog, host, compiled, request)
    )


def summarize(rejections: Iterable[Rejection], *, hosts: int) -> str:
    """ "3 hosts: 2 no remote-managed pool, 1 NUMA policy: ..." for a failed boot's fault."""
    counts = Counter(rejections)
    if hosts == 0:
        return "0 hosts: no compute node has reported to any cell"
    parts = ", ".join(f"{n} {reason.value}" for reason, n in counts.most_common())
    noun = "host" if hosts == 1 else "hosts"
    return f"{hosts} {noun}: {parts}" if parts else f"{hosts} {noun}"

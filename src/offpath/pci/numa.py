"""NUMA affinity of PCI pools: Nova's required, legacy, preferred and socket policies.

The filter works on any sequence of items that have a NUMA node and a free
count, so the full pools and the scheduler's compact summaries share it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from offpath.pci.request import NumaPolicy

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class NumaCell:
    """A host NUMA cell: its id and the socket it sits on (None when the host does not say)."""

    id: int
    socket: int | None = None


def socket_nodes(cells: Sequence[NumaCell], host_cells: Sequence[NumaCell]) -> frozenset[int]:
    """The host NUMA nodes sharing a socket with `cells`; none if a host cell lacks its socket."""
    if any(cell.socket is None for cell in host_cells):
        return frozenset()
    wanted = {cell.id for cell in cells}
    sockets = {cell.socket for cell in host_cells if cell.id in wanted}
    return frozenset(cell.id for cell in host_cells if cell.socket in sockets)


def fit_numa(
    items: Sequence[T],
    *,
    node_of: Callable[[T], object],
    count_of: Callable[[T], int],
    requested: int,
    policy: NumaPolicy,
    cells: Sequence[NumaCell] | None,
    host_cells: Sequence[NumaCell] = (),
) -> list[T]:
    """The items whose NUMA node suits `policy` for the instance's `cells`, in taking order.

    Stricter affinity is used whenever it yields `requested` devices, whatever
    the policy; no cells means no NUMA constraint.
    """
    if not cells:
        return list(items)
    ids: list[object] = [cell.id for cell in cells]
    local = [item for item in items if node_of(item) in ids]
    if policy is NumaPolicy.REQUIRED or sum(map(count_of, local)) >= requested:
        return local
    if policy is NumaPolicy.SOCKET:
        allowed = socket_nodes(cells, host_cells)
        # A device without a NUMA node is on no socket: never socket-local.
        return [item for item in items if node_of(item) in allowed]
    # Devices whose node the host does not report may serve legacy requests.
    ids.append(None)
    near = [item for item in items if node_of(item) in ids]
    if policy is NumaPolicy.LEGACY or sum(map(count_of, near)) >= requested:
        return near
    return sorted(items, key=lambda item: node_of(item) not in ids)

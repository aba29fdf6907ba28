"""NUMA affinity of PCI pools (spec §3.3): required, legacy, preferred, socket."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from offpath.pci.numa import NumaCell, fit_numa, socket_nodes
from offpath.pci.request import NumaPolicy

# (name, numa node, free count): node 0 and 1 on socket 0, node 2 on socket 1.
Item = tuple[str, int | None, int]
N0: Item = ("n0", 0, 1)
N1: Item = ("n1", 1, 2)
N2: Item = ("n2", 2, 4)
NONE: Item = ("none", None, 1)
ITEMS = (N2, NONE, N1, N0)
HOST = (NumaCell(0, socket=0), NumaCell(1, socket=0), NumaCell(2, socket=1))

REQUIRED, LEGACY = NumaPolicy.REQUIRED, NumaPolicy.LEGACY
PREFERRED, SOCKET = NumaPolicy.PREFERRED, NumaPolicy.SOCKET


def fit(
    policy: NumaPolicy,
    requested: int,
    cells: Sequence[int] | None,
    host: Sequence[NumaCell] = HOST,
) -> list[str]:
    chosen = fit_numa(
        ITEMS,
        node_of=lambda item: item[1],
        count_of=lambda item: item[2],
        requested=requested,
        policy=policy,
        cells=None if cells is None else [NumaCell(i) for i in cells],
        host_cells=host,
    )
    return [name for name, _, _ in chosen]


@pytest.mark.parametrize("policy", list(NumaPolicy))
def test_without_cells_every_item_stays_in_order(policy: NumaPolicy) -> None:
    assert fit(policy, 99, None) == ["n2", "none", "n1", "n0"]


@pytest.mark.parametrize("policy", list(NumaPolicy))
def test_an_empty_cell_list_means_no_constraint(policy: NumaPolicy) -> None:
    assert fit(policy, 99, []) == ["n2", "none", "n1", "n0"]


@pytest.mark.parametrize(
    ("policy", "requested", "cells", "names"),
    [
        pytest.param(REQUIRED, 1, [0], ["n0"], id="required-local"),
        pytest.param(REQUIRED, 5, [0], ["n0"], id="required-stays-local-when-short"),
        pytest.param(LEGACY, 1, [0], ["n0"], id="legacy-local-when-enough"),
        pytest.param(LEGACY, 2, [0], ["none", "n0"], id="legacy-adds-unknown-node"),
        pytest.param(LEGACY, 9, [0], ["none", "n0"], id="legacy-never-remote"),
        pytest.param(PREFERRED, 1, [0], ["n0"], id="preferred-local-when-enough"),
        pytest.param(PREFERRED, 2, [0], ["none", "n0"], id="preferred-then-unknown-node"),
        pytest.param(PREFERRED, 9, [0], ["none", "n0", "n2", "n1"], id="preferred-near-first"),
        pytest.param(SOCKET, 1, [0], ["n0"], id="socket-local-when-enough"),
        pytest.param(SOCKET, 3, [0], ["n1", "n0"], id="socket-same-socket-nodes"),
        pytest.param(SOCKET, 3, [2], ["n2"], id="socket-other-socket"),
        pytest.param(SOCKET, 9, [0, 2], ["n2", "n1", "n0"], id="socket-two-sockets"),
        pytest.param(REQUIRED, 3, [0, 1], ["n1", "n0"], id="required-two-cells"),
    ],
)
def test_fit_numa(policy: NumaPolicy, requested: int, cells: list[int], names: list[str]) -> None:
    assert fit(policy, requested, cells) == names


def test_socket_policy_never_takes_a_device_without_a_numa_node() -> None:
    assert "none" not in fit(SOCKET, 9, [0])


def test_socket_policy_finds_nothing_when_a_host_cell_lacks_its_socket() -> None:
    host = (NumaCell(0, socket=0), NumaCell(1, socket=None), NumaCell(2, socket=1))
    assert fit(SOCKET, 3, [0], host) == []


def test_socket_policy_still_prefers_the_local_node_when_a_socket_is_unknown() -> None:
    host = (NumaCell(0, socket=0), NumaCell(1, socket=None))
    assert fit(SOCKET, 1, [0], host) == ["n0"]


@pytest.mark.parametrize(
    ("cells", "host", "nodes"),
    [
        pytest.param([0], HOST, {0, 1}, id="same-socket"),
        pytest.param([2], HOST, {2}, id="alone-on-its-socket"),
        pytest.param([7], HOST, set(), id="unknown-cell"),
        pytest.param([0], (NumaCell(0, socket=None),), set(), id="no-socket-info"),
    ],
)
def test_socket_nodes(cells: list[int], host: tuple[NumaCell, ...], nodes: set[int]) -> None:
    assert socket_nodes([NumaCell(i) for i in cells], host) == nodes

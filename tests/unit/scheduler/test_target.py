"""Where a move may land, and why it landed nowhere."""

from __future__ import annotations

import pytest

from offpath.scheduler.filters import Rejection
from offpath.scheduler.scheduler import HostVerdict, Target

SOURCE, OTHER, THIRD = "compute-00001", "compute-00002", "compute-00003"


@pytest.mark.parametrize(
    ("target", "allowed"),
    [
        pytest.param(Target(), {SOURCE, OTHER, THIRD}, id="any"),
        pytest.param(Target(frozenset({SOURCE})), {OTHER, THIRD}, id="not-the-source"),
        pytest.param(Target(frozenset({SOURCE}), OTHER), {OTHER}, id="named"),
        pytest.param(Target(frozenset({SOURCE}), SOURCE), set(), id="named-is-the-source"),
        pytest.param(Target(host="elsewhere"), set(), id="named-unknown"),
    ],
)
def test_allows(target: Target, allowed: set[str]) -> None:
    assert {h for h in (SOURCE, OTHER, THIRD) if target.allows(h)} == allowed


def _verdict(host: str, rejection: Rejection | None) -> HostVerdict:
    return HostVerdict(host, "cell1", rejection, 0)


VERDICTS = [
    _verdict(SOURCE, None),
    _verdict(OTHER, Rejection.TOO_FEW),
    _verdict(THIRD, Rejection.NO_POOL),
]


@pytest.mark.parametrize(
    ("target", "verdicts", "summary"),
    [
        pytest.param(
            Target(frozenset({SOURCE})),
            VERDICTS,
            f"2 hosts: 1 {Rejection.TOO_FEW.value}, 1 {Rejection.NO_POOL.value}",
            id="others-counted-source-left-out",
        ),
        pytest.param(
            Target(frozenset({SOURCE})),
            VERDICTS[:1],
            "0 hosts besides the server's own",
            id="no-other-host",
        ),
        pytest.param(
            Target(frozenset({SOURCE}), OTHER),
            VERDICTS,
            f"host {OTHER}: {Rejection.TOO_FEW.value}",
            id="named-its-own-reason",
        ),
        pytest.param(
            Target(frozenset({SOURCE}), SOURCE),
            VERDICTS,
            f"host {SOURCE} is the server's own host",
            id="named-the-source",
        ),
        pytest.param(
            Target(frozenset({SOURCE}), "nowhere"),
            VERDICTS,
            "host nowhere is not a compute host of any cell",
            id="named-unknown",
        ),
        pytest.param(
            Target(frozenset({SOURCE}), OTHER),
            [_verdict(OTHER, None)],
            f"host {OTHER}: lost its devices to a race",
            id="named-lost-a-race",
        ),
    ],
)
def test_summary(target: Target, verdicts: list[HostVerdict], summary: str) -> None:
    assert target.summary(verdicts) == summary

"""Simulator options an operator can get wrong: host names and repeated faults."""

from __future__ import annotations

from pathlib import Path

import pytest

from offpath.errors import SimFaultInvalid, SimOptionInvalid
from offpath.sim.faults import parse_fault
from offpath.sim.host import plan_host
from offpath.sim.profile import load_profile


@pytest.mark.parametrize(
    "hostname",
    [
        pytest.param("compute-01", id="plain"),
        pytest.param("compute-dpu-01.rack3.example.org", id="fqdn"),
        pytest.param("node_7", id="underscore"),
        pytest.param("a" * 63, id="63-char-label"),
    ],
)
def test_real_host_names_are_accepted(tmp_path: Path, hostname: str) -> None:
    assert plan_host(load_profile("bluefield2"), tmp_path, hostname=hostname).hostname == hostname


@pytest.mark.parametrize(
    "hostname",
    [
        pytest.param("", id="empty"),
        pytest.param("a" * 64, id="64-char-label"),
        pytest.param(".".join(["a" * 50] * 6), id="over-253"),
        pytest.param("bad host", id="space"),
        pytest.param("a/b", id="slash"),
        pytest.param("-lead", id="leading-dash"),
        pytest.param("trail.", id="trailing-dot"),
        pytest.param("ünï", id="non-ascii"),
    ],
)
def test_bad_host_names_are_refused(tmp_path: Path, hostname: str) -> None:
    with pytest.raises(SimOptionInvalid, match="is not a host name"):
        plan_host(load_profile("bluefield2"), tmp_path, hostname=hostname)


def test_a_fault_given_twice_says_so(tmp_path: Path) -> None:
    faults = [parse_fault("no-vpd"), parse_fault("no-vpd")]
    with pytest.raises(SimFaultInvalid, match=r"is already applied to 0000:03:00\.0"):
        plan_host(load_profile("bluefield2"), tmp_path, faults=faults)


def test_the_same_kind_on_two_pfs_is_fine(tmp_path: Path) -> None:
    faults = [parse_fault("no-vpd@0000:03:00.0"), parse_fault("no-vpd@0000:03:00.1")]
    host = plan_host(load_profile("bluefield2"), tmp_path, faults=faults)
    assert [str(f.address) for f in host.faults] == ["0000:03:00.0", "0000:03:00.1"]

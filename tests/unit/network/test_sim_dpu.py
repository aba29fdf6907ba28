"""The simulated DPU plugs a representor by (PF MAC, VF number), or says why it cannot."""

from __future__ import annotations

import pytest

from offpath.sim.dpu import SimDpu, normalise_mac

DPU = SimDpu("dpu-1", ("52:54:00:00:00:01", "52:54:00:00:00:02"), 4)


@pytest.mark.parametrize(
    ("pf_mac", "vf_num", "representor"),
    [
        pytest.param("52:54:00:00:00:01", 0, "pf0vf0", id="first-pf"),
        pytest.param("52:54:00:00:00:02", 3, "pf1vf3", id="second-pf-last-vf"),
        pytest.param("52:54:00:00:00:02".upper(), 1, "pf1vf1", id="mac-upper-case"),
    ],
)
def test_a_known_vf_is_plugged_with_its_representor_name(
    pf_mac: str, vf_num: int, representor: str
) -> None:
    result = DPU.plug("port-1", pf_mac, vf_num)
    assert result.plugged
    assert result.representor == representor


@pytest.mark.parametrize(
    ("pf_mac", "vf_num", "why"),
    [
        pytest.param("52:54:00:00:00:09", 0, "no PF with MAC 52:54:00:00:00:09", id="unknown-pf"),
        pytest.param("52:54:00:00:00:01", 4, "has no VF 4", id="vf-out-of-range"),
        pytest.param("not-a-mac", 0, "not a MAC address", id="bad-mac"),
    ],
)
def test_an_unknown_vf_is_not_plugged_and_the_reason_says_why(
    pf_mac: str, vf_num: int, why: str
) -> None:
    result = DPU.plug("port-1", pf_mac, vf_num)
    assert not result.plugged
    assert result.reason.startswith("No representor port found for lport: port-1")
    assert why in result.reason


def test_macs_are_normalised_as_the_plug_provider_parses_them() -> None:
    assert normalise_mac("52-54-00-AA-bb-01") == "52:54:00:aa:bb:01"
    assert normalise_mac("52:54:00") is None

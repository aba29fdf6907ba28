"""Parsing `--fault KIND[@ADDRESS]`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.errors import SimFaultInvalid
from offpath.pci.address import PciAddress
from offpath.sim.faults import DESCRIPTIONS, TARGETS, Fault, FaultKind, parse_fault


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("no-vpd", Fault(FaultKind.NO_VPD), id="kind"),
        pytest.param(
            "numa-unknown@0000:81:00.1",
            Fault(FaultKind.NUMA_UNKNOWN, PciAddress(0, 0x81, 0, 1)),
            id="kind-at-address",
        ),
        pytest.param(
            "vf-no-netdev@0000:03:01.0",
            Fault(FaultKind.VF_NO_NETDEV, PciAddress(0, 3, 1, 0)),
            id="vf",
        ),
        pytest.param(" truncated-vpd ", Fault(FaultKind.TRUNCATED_VPD), id="spaces"),
    ],
)
def test_parse_fault(text: str, expected: Fault) -> None:
    assert parse_fault(text) == expected


def test_a_fault_prints_as_it_is_written() -> None:
    assert str(parse_fault("bad-vpd-checksum@0000:03:00.1")) == "bad-vpd-checksum@0000:03:00.1"


def test_every_kind_has_a_target_and_a_description() -> None:
    assert set(TARGETS) == set(DESCRIPTIONS) == set(FaultKind)


def test_an_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(SimFaultInvalid, match="unknown fault kind") as raised:
        parse_fault("no-such-fault")
    assert "vf-vpd-own-serial" in raised.value.hint


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("no-vpd@", id="empty"),
        pytest.param("no-vpd@03:00.0", id="short"),
        pytest.param("no-vpd@0000:03:00.8", id="function"),
        pytest.param("no-vpd@0000:03:*.0", id="glob"),
    ],
)
def test_a_bad_address_is_a_typed_error(text: str) -> None:
    with pytest.raises(SimFaultInvalid, match="is not a PCI address"):
        parse_fault(text)


@given(st.text())
def test_any_text_is_a_fault_or_a_typed_error(text: str) -> None:
    try:
        fault = parse_fault(text)
    except SimFaultInvalid:
        return
    assert isinstance(fault.kind, FaultKind)

"""vnic types and the sets Nova groups them in (spec §4.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.errors import VnicTypeInvalid
from offpath.pci.device import DevType
from offpath.ports.vnic import (
    VnicType,
    is_direct_passthrough,
    is_remote_managed,
    needs_pci_request,
    request_dev_type,
)

V = VnicType

# vnic type, PCI request?, direct passthrough?, dev_type in the request spec
TABLE = [
    (V.NORMAL, False, False, None),
    (V.DIRECT, True, True, None),
    (V.MACVTAP, True, False, None),
    (V.DIRECT_PHYSICAL, True, True, DevType.PF),
    (V.BAREMETAL, False, False, None),
    (V.VIRTIO_FORWARDER, True, False, None),
    (V.VDPA, True, True, DevType.VDPA),
    (V.ACCELERATOR_DIRECT, False, True, None),
    (V.ACCELERATOR_DIRECT_PHYSICAL, False, True, None),
    (V.REMOTE_MANAGED, True, True, None),
]


def test_there_are_the_ten_neutron_vnic_types() -> None:
    assert [v.value for v in VnicType] == [
        "normal",
        "direct",
        "macvtap",
        "direct-physical",
        "baremetal",
        "virtio-forwarder",
        "vdpa",
        "accelerator-direct",
        "accelerator-direct-physical",
        "remote-managed",
    ]


@pytest.mark.parametrize(("vnic", "needs", "_direct", "_dev_type"), TABLE, ids=str)
def test_the_sriov_set_is_what_needs_a_pci_request(
    vnic: VnicType, needs: bool, _direct: bool, _dev_type: DevType | None
) -> None:
    assert needs_pci_request(vnic) is needs


@pytest.mark.parametrize(("vnic", "_needs", "direct", "_dev_type"), TABLE, ids=str)
def test_the_direct_passthrough_set(
    vnic: VnicType, _needs: bool, direct: bool, _dev_type: DevType | None
) -> None:
    assert is_direct_passthrough(vnic) is direct


@pytest.mark.parametrize(("vnic", "_needs", "_direct", "dev_type"), TABLE, ids=str)
def test_the_dev_type_a_request_names(
    vnic: VnicType, _needs: bool, _direct: bool, dev_type: DevType | None
) -> None:
    assert request_dev_type(vnic) is dev_type


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("remote-managed", True, id="exact"),
        pytest.param(V.REMOTE_MANAGED, True, id="enum"),
        pytest.param("Remote-Managed", False, id="other-case"),
        pytest.param("smart-nic", False, id="smart-nic"),
        pytest.param("direct", False, id="direct"),
        pytest.param(None, False, id="none"),
    ],
)
def test_remote_managed_is_exactly_the_remote_managed_string(
    value: str | None, expected: bool
) -> None:
    assert is_remote_managed(value) is expected


@pytest.mark.parametrize("value", [None, ""], ids=["none", "empty"])
def test_a_port_without_vnic_type_is_normal(value: str | None) -> None:
    assert VnicType.parse(value) is V.NORMAL


def test_a_known_vnic_type_parses_to_its_member() -> None:
    assert VnicType.parse("remote-managed") is V.REMOTE_MANAGED


def test_an_unknown_vnic_type_is_a_typed_error_listing_the_known_ones() -> None:
    with pytest.raises(VnicTypeInvalid) as caught:
        VnicType.parse("smart-nic")
    assert caught.value.message == "Invalid binding:vnic_type 'smart-nic'"
    assert "remote-managed" in caught.value.hint
    assert caught.value.code == "port.vnic_type.invalid"


@given(st.one_of(st.text(), st.integers(), st.none(), st.booleans()))
def test_parsing_any_value_gives_a_vnic_type_or_the_typed_error(value: object) -> None:
    try:
        parsed = VnicType.parse(value)
    except VnicTypeInvalid:
        return
    assert parsed.value == (value or "normal")

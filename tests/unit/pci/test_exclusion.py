"""Why a device cannot serve remote-managed ports (decisions D8, D9; network-side §1.3)."""

from __future__ import annotations

import dataclasses

import pytest

from offpath.pci.device import DevType, PciDevice
from offpath.pci.exclusion import Exclusion, discovery_exclusion, remote_managed_exclusion

VF = PciDevice(
    address="0000:03:00.2",
    vendor_id="15b3",
    product_id="101e",
    dev_type=DevType.VF,
    parent_addr="0000:03:00.0",
    vf_num=0,
    pf_mac_address="b8:ce:f6:00:00:10",
    card_serial_number="MT2113X00000",
)


def device(**changes: object) -> PciDevice:
    """The usable VF above with some fields changed."""
    return dataclasses.replace(VF, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        pytest.param({}, None, id="usable-vf"),
        pytest.param(
            {"dev_type": DevType.PF, "parent_addr": None},
            "PF 0000:03:00.2 is tagged remote_managed: tag its VFs instead",
            id="pf",
        ),
        pytest.param(
            {"dev_type": DevType.VDPA},
            "vDPA device 0000:03:00.2 is tagged remote_managed: remote-managed ports take "
            "plain VFs, vDPA devices serve vdpa ports",
            id="vdpa",
        ),
        pytest.param(
            {"dev_type": DevType.PCI, "parent_addr": None},
            "0000:03:00.2 is not a VF: a remote-managed port needs a VF, with its PF's MAC "
            "address and its VF number",
            id="type-pci",
        ),
        pytest.param(
            {"card_serial_number": None},
            "no card serial number in its VPD nor in its PF's",
            id="no-serial",
        ),
        pytest.param(
            {"card_serial_number": ""},
            "no card serial number in its VPD nor in its PF's",
            id="empty-serial",
        ),
        pytest.param(
            {"pf_mac_address": None},
            "the MAC address of its PF 0000:03:00.0 is unknown: the network backend needs it "
            "to find the VF's representor",
            id="no-pf-mac",
        ),
        pytest.param(
            {"vf_num": None},
            "its VF number under PF 0000:03:00.0 is unknown",
            id="no-vf-num",
        ),
        pytest.param(
            {"exclusion": "cannot read its vendor/device ids: vendor is ''"},
            "excluded by discovery: cannot read its vendor/device ids: vendor is ''",
            id="excluded-by-discovery",
        ),
    ],
)
def test_remote_managed_exclusion(changes: dict[str, object], reason: str | None) -> None:
    found = remote_managed_exclusion(device(**changes))
    assert (found.reason if found else None) == reason


def test_an_exclusion_names_the_device() -> None:
    assert remote_managed_exclusion(device(vf_num=None)) == Exclusion(
        "0000:03:00.2", "its VF number under PF 0000:03:00.0 is unknown"
    )


@pytest.mark.parametrize(
    ("exclusion", "expected"),
    [
        pytest.param(None, None, id="read-fully"),
        pytest.param("x", Exclusion("0000:03:00.2", "excluded by discovery: x"), id="excluded"),
    ],
)
def test_discovery_exclusion(exclusion: str | None, expected: Exclusion | None) -> None:
    assert discovery_exclusion(device(exclusion=exclusion)) == expected

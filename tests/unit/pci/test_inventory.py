"""The inventory rows: spec, tags, pool, usable or why not, for every device (decision D9)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from offpath.pci.device import DevType, PciDevice
from offpath.pci.inventory import InventoryRow, group_rows, inventory_row, inventory_rows
from offpath.pci.spec_list import DeviceSpecList
from offpath.pci.vpd import ChecksumStatus, VpdRecord

SERIAL = "MT2113X00000"
RM_VFS = (
    '{"vendor_id": "15b3", "product_id": "101e", "physical_network": null, '
    '"remote_managed": "true"}'
)
PFS = (
    '{"vendor_id": "15b3", "product_id": "a2d6", "physical_network": "physnet-dpu", '
    '"remote_managed": "false"}'
)
ANY_VF = '{"vendor_id": "15b3", "product_id": "101e", "physical_network": "physnet1"}'
RM_EVERYTHING = '{"vendor_id": "15b3", "remote_managed": "true"}'

PF = PciDevice(
    address="0000:03:00.0",
    vendor_id="15b3",
    product_id="a2d6",
    dev_type=DevType.PF,
    device_class="020000",
    numa_node=0,
    netdev="p0",
    mac_address="b8:ce:f6:00:00:10",
    card_serial_number=SERIAL,
    vpd=VpdRecord(serial_number=SERIAL, checksum=ChecksumStatus.VALID),
    sriov_totalvfs=8,
    sriov_numvfs=2,
)


def vf(function: int, **changes: object) -> PciDevice:
    """VF number `function - 2` of the PF above, usable for remote-managed ports."""
    base = PciDevice(
        address=f"0000:03:00.{function}",
        vendor_id="15b3",
        product_id="101e",
        dev_type=DevType.VF,
        device_class="020000",
        parent_addr=PF.address,
        numa_node=0,
        netdev=f"p0v{function - 2}",
        parent_ifname="p0",
        vf_num=function - 2,
        pf_mac_address=PF.mac_address,
        card_serial_number=SERIAL,
        serial_source=PF.address,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def specs(*values: str, root: Path) -> DeviceSpecList:
    """The specs of these config values (no PF in `root`, so no PF detection)."""
    return DeviceSpecList.from_values(values, sysfs_root=root)


def row(dev: PciDevice, *values: str, root: Path) -> InventoryRow:
    """The inventory row of `dev` on a host with the PF above."""
    return inventory_row(dev, specs(*values, root=root), {PF.address: PF, dev.address: dev})


def test_a_vf_with_a_serial_is_usable_as_remote_managed(tmp_path: Path) -> None:
    found = row(vf(2), RM_VFS, PFS, root=tmp_path)
    assert (found.usable, found.spec_index, found.reason) == (True, 0, None)


def test_the_tags_are_the_matching_specs(tmp_path: Path) -> None:
    found = row(vf(2), RM_VFS, PFS, root=tmp_path)
    assert found.tags == {"physical_network": None, "remote_managed": "true"}


def test_vfs_pool_per_parent_pf(tmp_path: Path) -> None:
    assert row(vf(2), RM_VFS, root=tmp_path).pool == {
        "vendor_id": "15b3",
        "product_id": "101e",
        "numa_node": 0,
        "dev_type": "type-VF",
        "physical_network": None,
        "remote_managed": "true",
        "address": "0000:03:00.0",
        "parent_ifname": "p0",
    }


def test_a_pf_tagged_false_is_usable_as_an_ordinary_device(tmp_path: Path) -> None:
    found = row(PF, RM_VFS, PFS, root=tmp_path)
    assert (found.usable, found.spec_index, found.tags["remote_managed"]) == (True, 1, "false")


def test_a_pf_tagged_remote_managed_is_not_usable(tmp_path: Path) -> None:
    found = row(PF, RM_EVERYTHING, root=tmp_path)
    assert (found.usable, found.reason) == (
        False,
        "PF 0000:03:00.0 is tagged remote_managed: tag its VFs instead",
    )


@pytest.mark.parametrize(
    ("pf", "detail"),
    [
        pytest.param(dataclasses.replace(PF, vpd=None), "PF 0000:03:00.0 has no VPD", id="no-vpd"),
        pytest.param(
            dataclasses.replace(
                PF,
                vpd=VpdRecord(serial_number=SERIAL, checksum=ChecksumStatus.INVALID),
                notes=("its VPD serial number 'MT2113X00000' is not trusted: bad checksum",),
            ),
            "PF 0000:03:00.0: its VPD serial number 'MT2113X00000' is not trusted: bad checksum",
            id="damaged",
        ),
        pytest.param(
            dataclasses.replace(PF, vpd=VpdRecord(checksum=ChecksumStatus.VALID)),
            "PF 0000:03:00.0's VPD has no serial number",
            id="no-serial-keyword",
        ),
    ],
)
def test_a_vf_without_serial_says_why(tmp_path: Path, pf: PciDevice, detail: str) -> None:
    dev = vf(5, card_serial_number=None, serial_source=None)
    found = inventory_row(
        dev,
        specs(RM_VFS, root=tmp_path),
        {pf.address: dataclasses.replace(pf, card_serial_number=None), dev.address: dev},
    )
    assert (found.usable, found.spec_index, found.reason) == (
        False,
        None,
        "remote_managed spec #0 rejected 0000:03:00.5: no card serial number in its VPD "
        f"nor in its PF's ({detail})",
    )


def test_a_vf_skipped_by_remote_managed_but_taken_later_is_usable_with_a_note(
    tmp_path: Path,
) -> None:
    dev = vf(5, card_serial_number=None, serial_source=None)
    found = row(dev, RM_VFS, ANY_VF, root=tmp_path)
    assert (found.usable, found.spec_index, found.tags, found.reason) == (
        True,
        1,
        {"physical_network": "physnet1"},
        None,
    )
    assert found.note is not None and found.note.startswith("remote_managed spec #0 rejected")


def test_every_spec_tried_is_kept(tmp_path: Path) -> None:
    dev = vf(5, card_serial_number=None, serial_source=None)
    found = row(dev, PFS, RM_VFS, ANY_VF, root=tmp_path)
    assert [(v.index, v.matched) for v in found.verdicts] == [(0, False), (1, False), (2, True)]


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        pytest.param((), "no [pci] device_spec is configured", id="no-spec"),
        pytest.param((PFS,), "no [pci] device_spec matches it", id="no-match"),
    ],
)
def test_an_unmatched_device_says_so(tmp_path: Path, values: tuple[str, ...], reason: str) -> None:
    found = row(vf(2), *values, root=tmp_path)
    assert (found.usable, found.spec_index, found.pool, found.reason) == (False, None, None, reason)


def test_a_device_excluded_by_discovery_is_not_usable(tmp_path: Path) -> None:
    dev = vf(3, vf_num=None, exclusion="its VF number is unknown: no virtfnN link")
    found = row(dev, RM_VFS, root=tmp_path)
    assert (found.usable, found.pool, found.reason) == (
        False,
        None,
        "excluded by discovery: its VF number is unknown: no virtfnN link",
    )


def test_an_excluded_device_no_spec_selects_gives_the_discovery_reason(tmp_path: Path) -> None:
    dev = PciDevice("0000:05:00.0", "", "", DevType.PCI, exclusion="cannot list it")
    found = row(dev, RM_VFS, root=tmp_path)
    assert found.reason == "excluded by discovery: cannot list it"


def test_a_remote_managed_vf_without_pf_mac_is_not_usable(tmp_path: Path) -> None:
    found = row(vf(2, pf_mac_address=None), RM_VFS, root=tmp_path)
    assert (found.usable, found.reason) == (
        False,
        "remote_managed spec #0 selects it, but the MAC address of its PF 0000:03:00.0 is "
        "unknown: the network backend needs it to find the VF's representor",
    )


def test_a_direct_vf_without_pf_mac_is_usable(tmp_path: Path) -> None:
    assert row(vf(2, pf_mac_address=None), ANY_VF, root=tmp_path).usable


@pytest.mark.parametrize(
    ("dev", "listed"),
    [
        pytest.param(vf(2), True, id="network-class"),
        pytest.param(
            PciDevice("0000:00:02.0", "8086", "2030", DevType.PCI, device_class="060400"),
            False,
            id="bridge",
        ),
        pytest.param(
            PciDevice("0000:00:1f.0", "15b3", "101e", DevType.PCI, device_class="010802"),
            True,
            id="matched-non-network",
        ),
        pytest.param(
            PciDevice("0000:05:00.0", "", "", DevType.PCI, exclusion="unreadable"),
            True,
            id="unreadable-class",
        ),
    ],
)
def test_devices_of_interest(tmp_path: Path, dev: PciDevice, listed: bool) -> None:
    rows = inventory_rows([dev], specs(ANY_VF, root=tmp_path))
    assert bool(rows) is listed


def test_every_device_can_be_asked_for(tmp_path: Path) -> None:
    bridge = PciDevice("0000:00:02.0", "8086", "2030", DevType.PCI, device_class="060400")
    assert len(inventory_rows([bridge], specs(root=tmp_path), every_device=True)) == 1


def test_groups_put_the_pf_first_then_its_vfs_by_number(tmp_path: Path) -> None:
    rows = inventory_rows([vf(4), vf(2), PF, vf(3)], specs(RM_VFS, PFS, root=tmp_path))
    (group,) = group_rows(rows)
    assert [r.device.address for r in group.rows] == [
        "0000:03:00.0",
        "0000:03:00.2",
        "0000:03:00.3",
        "0000:03:00.4",
    ]


def test_groups_carry_the_card_serial_and_pf(tmp_path: Path) -> None:
    (group,) = group_rows(inventory_rows([PF, vf(2)], specs(root=tmp_path)))
    assert (group.card_serial_number, group.pf_address) == (SERIAL, PF.address)


def test_groups_sort_by_card_then_pf_and_put_cards_without_serial_last(tmp_path: Path) -> None:
    other_pf = dataclasses.replace(PF, address="0000:81:00.0", card_serial_number="MT0000X00000")
    bare_pf = dataclasses.replace(PF, address="0000:04:00.0", card_serial_number=None)
    plain = PciDevice("0000:00:1f.6", "8086", "15bb", DevType.PCI, device_class="020000")
    groups = group_rows(inventory_rows([PF, other_pf, bare_pf, plain], specs(root=tmp_path)))
    assert [(g.card_serial_number, g.pf_address) for g in groups] == [
        ("MT0000X00000", "0000:81:00.0"),
        (SERIAL, "0000:03:00.0"),
        (None, None),
        (None, "0000:04:00.0"),
    ]

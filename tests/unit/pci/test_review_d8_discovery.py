"""Review: decision D8 on hostile sysfs trees, and a sysfs root that is not a directory.

D8: a device that cannot be read fully is excluded (or noted) with a reason;
discovery never aborts because of one device. Each case breaks one entry of
one function of a simulated BlueField-2 host (the tree Linux lays out) the
way an unreadable file looks to root: a directory, a dangling link, an empty
file or garbage where a file is expected.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _pytest.mark import ParameterSet

from offpath.errors import SysfsRootInvalid
from offpath.pci.address import PciAddress
from offpath.pci.device import PciDevice
from offpath.pci.discovery.nodedev_xml import devices_from_nodedevs, parse_nodedev
from offpath.pci.discovery.sysfs_reader import check_sysfs_root, discover_sysfs
from offpath.sim.host import SimHost, write_host
from offpath.sim.profile import load_profile

PF0 = "0000:03:00.0"
VF0 = "0000:03:00.2"
# The other PF's family: damage to PF0 or its VF must leave it exactly as it was.
PF1 = "0000:03:00.1"
# What Linux puts in each function's directory that discovery reads.
COMMON = ("vendor", "device", "class", "numa_node", "driver", "iommu_group", "net")
PF_ENTRIES = (*COMMON, "sriov_totalvfs", "sriov_numvfs", "sriov_vf_device", "virtfn0", "vpd")
VF_ENTRIES = (*COMMON, "physfn")
MODES = ("directory", "dangling-link", "empty-file", "garbage")


@pytest.fixture(scope="module")
def clean_host(tmp_path_factory: pytest.TempPathFactory) -> SimHost:
    root = tmp_path_factory.mktemp("clean") / "sys"
    return write_host(load_profile("bluefield2"), root, vfs=2, hostname="compute-dpu-01")


@pytest.fixture(scope="module")
def clean_scan(clean_host: SimHost) -> dict[str, PciDevice]:
    return {dev.address: dev for dev in discover_sysfs(clean_host.root)}


def _break(path: Path, mode: str) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
    if mode == "directory":
        path.mkdir()
    elif mode == "dangling-link":
        path.symlink_to("../no/such/entry")
    elif mode == "empty-file":
        path.write_bytes(b"")
    else:
        path.write_bytes(b"\xff\xfe\x00garbage\n")


def _cases() -> list[ParameterSet]:
    cases = []
    for who, address, entries in (("pf", PF0, PF_ENTRIES), ("vf", VF0, VF_ENTRIES)):
        for entry in entries:
            for mode in MODES:
                cases.append(pytest.param((address, entry, mode), id=f"{who}-{entry}-{mode}"))
    return cases


@pytest.mark.parametrize("case", _cases())
def test_d8_one_broken_entry_never_aborts_the_scan(
    tmp_path: Path,
    clean_host: SimHost,
    clean_scan: dict[str, PciDevice],
    case: tuple[str, str, str],
) -> None:
    address, entry, mode = case
    root = tmp_path / "sys"
    shutil.copytree(clean_host.root, root, symlinks=True)
    relative = clean_host.device_dir(PciAddress.parse(address)).relative_to(clean_host.root)
    _break(root / relative / entry, mode)
    found = {dev.address: dev for dev in discover_sysfs(root)}
    assert found.keys() == clean_scan.keys()
    untouched = [a for a, dev in clean_scan.items() if PF1 in (a, dev.parent_addr)]
    assert untouched
    assert all(found[a] == clean_scan[a] for a in untouched)


def test_d8_a_vf_whose_pf_lost_its_virtfn_link_is_excluded_with_the_reason(
    tmp_path: Path, clean_host: SimHost
) -> None:
    root = tmp_path / "sys"
    shutil.copytree(clean_host.root, root, symlinks=True)
    pf_dir = root / clean_host.device_dir(PciAddress.parse(PF0)).relative_to(clean_host.root)
    _break(pf_dir / "virtfn0", "dangling-link")
    vf = {dev.address: dev for dev in discover_sysfs(root)}[VF0]
    assert vf.exclusion == (
        f"its VF number is unknown: no virtfnN link of its PF {PF0} points to it"
    )


def test_d8_an_unreadable_libvirt_node_device_is_excluded_and_the_rest_read() -> None:
    good = parse_nodedev(
        "<device><name>pci_0000_03_00_1</name><capability type='pci'>"
        "<domain>0</domain><bus>3</bus><slot>0</slot><function>1</function>"
        "<product id='0xa2d6'/><vendor id='0x15b3'/></capability></device>"
    )
    found = devices_from_nodedevs([good], unreadable={"pci_0000_03_00_0": "device vanished"})
    assert [(d.address, d.exclusion) for d in found] == [
        ("0000:03:00.0", "libvirt cannot describe it: device vanished"),
        ("0000:03:00.1", None),
    ]


def test_a_sysfs_root_that_is_a_file_is_not_called_missing(tmp_path: Path) -> None:
    root = tmp_path / "sys"
    root.write_text("")
    with pytest.raises(SysfsRootInvalid, match=r"not a directory$"):
        check_sysfs_root(root)


def test_a_sysfs_root_symlink_loop_says_so(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(SysfsRootInvalid, match=r"too many levels of symbolic links$"):
        discover_sysfs(tmp_path / "a")


def test_a_missing_sysfs_root_is_no_such_directory(tmp_path: Path) -> None:
    with pytest.raises(SysfsRootInvalid, match=r"no such directory$"):
        discover_sysfs(tmp_path / "absent")

"""sysfs lookups of device specs (nova-behaviour.md §1.5, §2; decision D1) on a real-layout tree."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.errors import PciDeviceNotFoundById, SysfsRootInvalid
from offpath.pci.address import PciAddress
from offpath.pci.sysfs import (
    Netdev,
    device_dir,
    function_by_ifname,
    is_physical_function,
    pci_ids,
    sriov_totalvfs,
    vf_product_id,
)

PF0 = PciAddress.parse("0000:03:00.0")


def test_device_dir_is_under_bus_pci_devices(sysfs_root: Path) -> None:
    assert device_dir(sysfs_root, PF0) == sysfs_root / "bus" / "pci" / "devices" / "0000:03:00.0"


def test_device_dir_takes_a_string_address(sysfs_root: Path) -> None:
    assert device_dir(sysfs_root, "0000:03:00.0") == device_dir(sysfs_root, PF0)


@pytest.mark.parametrize(
    ("address", "total"),
    [
        pytest.param("0000:03:00.0", 8, id="pf"),
        pytest.param("0000:81:00.0", 63, id="intel-pf"),
        pytest.param("0000:05:00.0", 0, id="zero"),
        pytest.param("0000:03:00.2", None, id="vf-has-no-file"),
        pytest.param("0000:06:00.0", None, id="garbage"),
        pytest.param("0000:99:00.0", None, id="absent-device"),
    ],
)
def test_sriov_totalvfs(sysfs_root: Path, address: str, total: int | None) -> None:
    assert sriov_totalvfs(sysfs_root, address) == total


@pytest.mark.parametrize(
    ("address", "is_pf"),
    [
        pytest.param("0000:03:00.0", True, id="s2-pf-with-vfs"),
        pytest.param("0000:03:00.1", True, id="s2-pf-without-vfs-enabled"),
        pytest.param("0000:03:00.2", False, id="s2-vf"),
        pytest.param("0000:00:1f.6", False, id="s2-no-sriov-file"),
        pytest.param("0000:05:00.0", False, id="s2-totalvfs-0"),
        pytest.param("0000:06:00.0", False, id="s2-totalvfs-unparsable"),
        pytest.param("0000:99:00.0", False, id="s2-absent-device"),
    ],
)
def test_s2_is_physical_function(sysfs_root: Path, address: str, is_pf: bool) -> None:
    assert is_physical_function(sysfs_root, PciAddress.parse(address)) is is_pf


def test_s2_is_physical_function_of_a_directory_says_the_tree_is_invalid(
    sysfs_root: Path,
) -> None:
    path = device_dir(sysfs_root, PF0) / "sriov_totalvfs"
    path.unlink()
    path.mkdir()
    # The kernel never puts a directory there: the tree is damaged, not the device "no PF".
    with pytest.raises(SysfsRootInvalid, match="sriov_totalvfs is a directory, not a regular"):
        is_physical_function(sysfs_root, PF0)


def test_s1_5_tree_uses_the_kernels_relative_device_link(sysfs_root: Path) -> None:
    link = sysfs_root / "class" / "net" / "p0" / "device"
    assert str(link.readlink()) == "../../../0000:03:00.0"


@pytest.mark.parametrize(
    ("ifname", "found"),
    [
        pytest.param("p0", Netdev(PF0, is_pf=True), id="s1.5-pf"),
        pytest.param(
            "p1", Netdev(PciAddress.parse("0000:03:00.1"), is_pf=True), id="s1.5-pf-no-vfs"
        ),
        pytest.param(
            "enp3s0f0v1", Netdev(PciAddress.parse("0000:03:00.3"), is_pf=False), id="s1.5-vf"
        ),
        pytest.param(
            "eno1", Netdev(PciAddress.parse("0000:00:1f.6"), is_pf=False), id="s1.5-no-sriov"
        ),
        pytest.param(
            "enp5s0", Netdev(PciAddress.parse("0000:05:00.0"), is_pf=False), id="s1.5-totalvfs-0"
        ),
        pytest.param(
            "enp6s0",
            Netdev(PciAddress.parse("0000:06:00.0"), is_pf=False),
            id="s1.5-totalvfs-unreadable-keeps-address",
        ),
        pytest.param("lo", None, id="s1.5-virtual-netdev-has-no-device"),
        pytest.param("nope0", None, id="s1.5-absent"),
        pytest.param("", None, id="empty"),
        pytest.param("..", None, id="dotdot"),
        pytest.param("../net/p0", None, id="path"),
        pytest.param("x" * 5000, None, id="name-too-long"),
        pytest.param("p0\x00", None, id="nul"),
    ],
)
def test_s1_5_function_by_ifname(sysfs_root: Path, ifname: str, found: Netdev | None) -> None:
    assert function_by_ifname(sysfs_root, ifname) == found


def test_s1_5_function_by_ifname_reads_totalvfs_through_the_device_link(
    sysfs_root: Path,
) -> None:
    (device_dir(sysfs_root, PF0) / "sriov_totalvfs").write_text("0\n")
    assert function_by_ifname(sysfs_root, "p0") == Netdev(PF0, is_pf=False)


def test_s1_5_device_link_to_a_non_pci_directory_is_not_resolved(sysfs_root: Path) -> None:
    netdir = sysfs_root / "devices" / "platform" / "soc" / "net" / "end0"
    netdir.mkdir(parents=True)
    (netdir / "device").symlink_to("../../../soc")
    (sysfs_root / "class" / "net" / "end0").symlink_to("../../devices/platform/soc/net/end0")
    assert function_by_ifname(sysfs_root, "end0") is None


def test_s1_5_dangling_device_link_is_not_a_directory(sysfs_root: Path) -> None:
    link = sysfs_root / "class" / "net" / "p0" / "device"
    link.unlink()
    link.symlink_to("../../../0000:0f:00.0")
    assert function_by_ifname(sysfs_root, "p0") is None


def test_s1_5_absolute_device_link_resolves_by_its_last_part(sysfs_root: Path) -> None:
    link = sysfs_root / "class" / "net" / "p0" / "device"
    target = link.resolve()
    link.unlink()
    link.symlink_to(target)
    assert function_by_ifname(sysfs_root, "p0") == Netdev(PF0, is_pf=True)


def test_s1_5_function_by_ifname_on_an_empty_root(empty_sysfs_root: Path) -> None:
    assert function_by_ifname(empty_sysfs_root, "p0") is None


@pytest.mark.parametrize(
    ("pf", "product"),
    [
        pytest.param("0000:03:00.0", "101e", id="s2-bluefield"),
        pytest.param("0000:81:00.0", "10ed", id="s2-intel"),
    ],
)
def test_s2_vf_product_id(sysfs_root: Path, pf: str, product: str) -> None:
    assert vf_product_id(sysfs_root, PciAddress.parse(pf)) == product


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("0x101e\n", id="0x"),
        pytest.param("0X101E\n", id="upper-0X"),
        pytest.param(" 101e \nmore\n", id="first-line-stripped"),
    ],
)
def test_s2_vf_product_id_spellings(sysfs_root: Path, text: str) -> None:
    (device_dir(sysfs_root, PF0) / "sriov_vf_device").write_text(text)
    assert vf_product_id(sysfs_root, PF0) == "101e"


def test_s2_vf_product_id_missing_file_is_device_not_found(sysfs_root: Path) -> None:
    vf = PciAddress.parse("0000:03:00.2")
    with pytest.raises(PciDeviceNotFoundById) as caught:
        vf_product_id(sysfs_root, vf)
    assert str(caught.value) == "PCI device 0000:03:00.2 not found"
    assert "sriov_vf_device" in caught.value.hint


def test_s2_vf_product_id_empty_file_is_device_not_found(sysfs_root: Path) -> None:
    # Nova raises a bare ValueError here; a typed error says which file.
    (device_dir(sysfs_root, PF0) / "sriov_vf_device").write_text("\n")
    with pytest.raises(PciDeviceNotFoundById) as caught:
        vf_product_id(sysfs_root, PF0)
    assert caught.value.hint.endswith("sriov_vf_device is empty")


def test_d1_pci_ids_come_from_vendor_and_device_files(sysfs_root: Path) -> None:
    assert pci_ids(sysfs_root, PF0) == ("15b3", "a2d6")


def test_d1_pci_ids_never_read_a_product_file(sysfs_root: Path) -> None:
    (device_dir(sysfs_root, PF0) / "product").write_text("0xdead\n")
    assert pci_ids(sysfs_root, PF0) == ("15b3", "a2d6")


@pytest.mark.parametrize("name", ["vendor", "device"])
def test_d1_pci_ids_missing_file_is_device_not_found(sysfs_root: Path, name: str) -> None:
    (device_dir(sysfs_root, PF0) / name).unlink()
    with pytest.raises(PciDeviceNotFoundById) as caught:
        pci_ids(sysfs_root, PF0)
    assert name in caught.value.hint


@pytest.mark.parametrize("name", ["vendor", "device"])
def test_d1_pci_ids_empty_file_is_device_not_found(sysfs_root: Path, name: str) -> None:
    (device_dir(sysfs_root, PF0) / name).write_text("")
    with pytest.raises(PciDeviceNotFoundById) as caught:
        pci_ids(sysfs_root, PF0)
    assert caught.value.hint.endswith(f"{name} is empty")


def test_pci_ids_of_an_absent_device(empty_sysfs_root: Path) -> None:
    with pytest.raises(PciDeviceNotFoundById):
        pci_ids(empty_sysfs_root, PF0)


@given(st.text())
def test_function_by_ifname_never_raises(shared_sysfs_root: Path, ifname: str) -> None:
    found = function_by_ifname(shared_sysfs_root, ifname)
    assert found is None or isinstance(found.address, PciAddress)


def test_garbage_in_an_id_file_is_not_found_and_quoted(tmp_path: Path) -> None:
    pf = tmp_path / "bus" / "pci" / "devices" / "0000:03:00.0"
    pf.mkdir(parents=True)
    (pf / "sriov_vf_device").write_bytes(b"\x1b[31mzz\x00\n")
    with pytest.raises(PciDeviceNotFoundById) as info:
        vf_product_id(tmp_path, PciAddress.parse("0000:03:00.0"))
    assert "\x1b" not in info.value.hint
    assert "not a PCI id of 4 hex digits" in info.value.hint

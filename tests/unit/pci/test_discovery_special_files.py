"""Special files planted in a copied sysfs tree neither hang nor swamp discovery (D8)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from offpath.pci.discovery.sysfs_reader import discover_sysfs
from offpath.sim.host import write_host
from offpath.sim.profile import load_profile

PF = "0000:03:00.0"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_host(load_profile("bluefield2"), tmp_path / "sys", vfs=2)
    return tmp_path / "sys"


def replace_with_fifo(path: Path) -> None:
    target = path.resolve()
    target.unlink()
    os.mkfifo(target)


def test_a_fifo_for_a_text_file_reads_as_empty_and_the_scan_goes_on(root: Path) -> None:
    replace_with_fifo(root / "bus/pci/devices" / PF / "numa_node")
    devices = {d.address: d for d in discover_sysfs(root)}
    assert devices[PF].numa_node is None
    assert devices["0000:03:00.2"].card_serial_number is not None


def test_a_fifo_for_vpd_reads_as_no_vpd(root: Path) -> None:
    replace_with_fifo(root / "bus/pci/devices" / PF / "vpd")
    devices = {d.address: d for d in discover_sysfs(root)}
    assert devices[PF].card_serial_number is None
    assert devices["0000:03:00.1"].card_serial_number is not None


def test_a_huge_vpd_file_is_read_only_as_far_as_vpd_reaches(root: Path) -> None:
    vpd = (root / "bus/pci/devices" / PF / "vpd").resolve()
    image = vpd.read_bytes()
    vpd.write_bytes(image + b"\xff" * (4 * 1024 * 1024))
    devices = {d.address: d for d in discover_sysfs(root)}
    assert devices[PF].card_serial_number is not None

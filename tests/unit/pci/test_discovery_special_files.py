"""Special files planted in a copied sysfs tree neither hang nor swamp discovery (D8)."""

from __future__ import annotations

import os
from collections.abc import Callable
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


def replace(path: Path, make: Callable[[Path], None]) -> None:
    target = path.resolve()
    target.unlink()
    make(target)


def sparse_gib(path: Path) -> None:
    with path.open("wb") as handle:
        handle.truncate(1024**3)


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        pytest.param(os.mkfifo, "is a FIFO, not a regular file", id="fifo"),
        pytest.param(
            lambda p: p.symlink_to("/dev/zero"),
            "is a character device, not a regular file",
            id="dev-zero",
        ),
        pytest.param(sparse_gib, "is larger than 4 KiB, more than offpath reads", id="sparse"),
        pytest.param(Path.mkdir, "is a directory, not a regular file", id="directory"),
    ],
)
def test_a_hostile_attribute_is_a_note_and_a_hostile_id_excludes_the_device(
    root: Path, make: Callable[[Path], None], problem: str
) -> None:
    replace(root / "bus/pci/devices" / PF / "numa_node", make)
    replace(root / "bus/pci/devices" / "0000:03:00.3" / "vendor", make)
    devices = {d.address: d for d in discover_sysfs(root)}
    assert f"cannot read numa_node: {problem}" in devices[PF].notes
    assert devices["0000:03:00.3"].exclusion == f"cannot read its vendor/device ids: {problem}"
    assert devices["0000:03:00.2"].exclusion is None


def test_a_sparse_vpd_is_read_only_as_far_as_vpd_reaches(root: Path) -> None:
    replace(root / "bus/pci/devices" / PF / "vpd", sparse_gib)
    devices = {d.address: d for d in discover_sysfs(root)}
    # 32 KiB of zeros: a blank EEPROM, not a gigabyte in memory.
    assert devices[PF].card_serial_number is None
    assert any("its VPD is unusable" in note for note in devices[PF].notes)


def undecodable(path: Path, name: bytes) -> Path:
    """`path/name` for bytes that are no UTF-8 (Python keeps them as lone surrogates)."""
    return Path(os.fsdecode(os.fsencode(path) + b"/" + name))


def test_names_that_are_no_utf8_come_out_escaped_never_as_surrogates(root: Path) -> None:
    pf_dir = (root / "bus/pci/devices" / PF).resolve()
    (netdev,) = (pf_dir / "net").iterdir()
    netdev.rename(undecodable(pf_dir / "net", b"ens\xff"))
    (pf_dir / "driver").unlink()
    (pf_dir / "driver").symlink_to(undecodable(Path("../../../../bus/pci/drivers"), b"mlx\xe9"))
    undecodable(root / "bus/pci/devices", b"0000:03:00.\xff").mkdir()
    devices = {d.address: d for d in discover_sysfs(root)}
    assert (devices[PF].netdev, devices[PF].driver) == ("ens\\xff", "mlx\\xe9")
    assert devices["0000:03:00.\\xff"].exclusion == (
        "its sysfs directory name is not ASCII, so it is no PCI address"
    )
    for device in devices.values():
        for text in (device.address, device.netdev, device.driver, device.parent_ifname):
            assert text is None or text.isascii()

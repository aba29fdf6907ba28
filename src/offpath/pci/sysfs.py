"""Small lookups in a sysfs tree that device specs need (PF detection, devname, VF ids).

Every function takes the directory that plays `/sys` (`Path("/sys")` in
production, a generated tree in tests).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from offpath.errors import OffpathError, PciDeviceNotFoundById
from offpath.pci.address import PciAddress

DEFAULT_SYSFS_ROOT = Path("/sys")
# A vendor, device or subsystem id as sysfs prints it, once lowercased and without "0x".
PCI_ID = re.compile(r"[0-9a-f]{4}")


def device_dir(sysfs_root: Path, address: PciAddress | str) -> Path:
    """`<root>/bus/pci/devices/<address>`."""
    return sysfs_root / "bus" / "pci" / "devices" / str(address)


def _read_first_line(path: Path) -> str:
    with path.open(encoding="ascii", errors="replace") as handle:
        return handle.readline().strip()


def _totalvfs(function_dir: Path) -> int | None:
    try:
        return int(_read_first_line(function_dir / "sriov_totalvfs"))
    except (OSError, ValueError):
        return None


def sriov_totalvfs(sysfs_root: Path, address: PciAddress | str) -> int | None:
    """The PF's `sriov_totalvfs`, or None when absent or unreadable."""
    return _totalvfs(device_dir(sysfs_root, address))


def is_physical_function(sysfs_root: Path, address: PciAddress) -> bool:
    """True when the device exists and its `sriov_totalvfs` is above zero."""
    return (sriov_totalvfs(sysfs_root, address) or 0) > 0


@dataclass(frozen=True, slots=True)
class Netdev:
    """A network interface resolved to the PCI function behind it."""

    address: PciAddress
    is_pf: bool


def function_by_ifname(sysfs_root: Path, ifname: str) -> Netdev | None:
    """The PCI function behind `ifname` (`class/net/IF/device`), or None if there is none."""
    if not ifname or "/" in ifname or ifname in (".", ".."):
        return None
    link = sysfs_root / "class" / "net" / ifname / "device"
    try:
        if not link.is_dir():
            return None
        # The kernel's link is relative (../../../0000:03:00.0); its last part is the address.
        target = link.readlink() if link.is_symlink() else link.resolve()
        address = PciAddress.parse(target.name)
    except (OSError, OffpathError):
        # A name too long for the file system, or a link that is no PCI address.
        return None
    return Netdev(address, (_totalvfs(link) or 0) > 0)


def _read_id(sysfs_root: Path, address: PciAddress, name: str) -> str:
    path = device_dir(sysfs_root, address) / name
    try:
        text = _read_first_line(path)
    except OSError as exc:
        raise PciDeviceNotFoundById(
            str(address), detail=f"cannot read {path}: {exc.strerror or exc}"
        ) from exc
    if not text:
        raise PciDeviceNotFoundById(str(address), detail=f"{path} is empty")
    found = text.lower().removeprefix("0x")
    if not PCI_ID.fullmatch(found):
        # repr() so that control bytes from a damaged tree never reach a terminal raw.
        raise PciDeviceNotFoundById(
            str(address), detail=f"{path} holds {text[:40]!r}, not a PCI id of 4 hex digits"
        )
    return found


def vf_product_id(sysfs_root: Path, pf: PciAddress) -> str:
    """The product id of the PF's VFs, from `sriov_vf_device` (kernel >= 4.15)."""
    return _read_id(sysfs_root, pf, "sriov_vf_device")


def pci_ids(sysfs_root: Path, address: PciAddress) -> tuple[str, str]:
    """(vendor, product) of a device from its `vendor` and `device` files (decision D1)."""
    return _read_id(sysfs_root, address, "vendor"), _read_id(sysfs_root, address, "device")

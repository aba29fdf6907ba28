"""Small lookups in a sysfs tree that device specs need (PF detection, devname, VF ids).

Every function takes the directory that plays `/sys` (`Path("/sys")` in
production, a generated tree in tests). A file the kernel would never put
there (a FIFO, a device, a huge file, bytes that are not ASCII) makes the
tree invalid, SysfsRootInvalid; a missing or unreadable file is what Nova
also meets on a live host, and keeps Nova's answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from offpath.errors import InputFileError, OffpathError, PciDeviceNotFoundById, SysfsRootInvalid
from offpath.pci import regular_file
from offpath.pci.address import PciAddress

DEFAULT_SYSFS_ROOT = Path("/sys")
# A vendor, device or subsystem id as sysfs prints it, once lowercased and without "0x".
PCI_ID = re.compile(r"[0-9a-f]{4}")
# The kernel prints a sysfs attribute into one page.
ATTRIBUTE_LIMIT = 4 * regular_file.KIB


def device_dir(sysfs_root: Path, address: PciAddress | str) -> Path:
    """`<root>/bus/pci/devices/<address>`."""
    return sysfs_root / "bus" / "pci" / "devices" / str(address)


def read_attribute(sysfs_root: Path, path: Path) -> str:
    """The first line of the sysfs attribute at `path`, stripped; SysfsRootInvalid if refused."""
    try:
        text = regular_file.read_text(path, limit=ATTRIBUTE_LIMIT, encoding="ascii")
    except InputFileError as exc:
        where = exc.path.removeprefix(f"{sysfs_root}/")
        raise SysfsRootInvalid(sysfs_root, f"{where} {exc.problem}") from exc
    return text.partition("\n")[0].strip()


def _totalvfs(sysfs_root: Path, function_dir: Path) -> int | None:
    try:
        return int(read_attribute(sysfs_root, function_dir / "sriov_totalvfs"))
    except (OSError, ValueError):
        # As Nova: an absent or unreadable count means "not a PF".
        return None


def sriov_totalvfs(sysfs_root: Path, address: PciAddress | str) -> int | None:
    """The PF's `sriov_totalvfs`, or None when absent or unreadable."""
    return _totalvfs(sysfs_root, device_dir(sysfs_root, address))


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
    return Netdev(address, (_totalvfs(sysfs_root, link) or 0) > 0)


def _read_id(sysfs_root: Path, address: PciAddress, name: str) -> str:
    path = device_dir(sysfs_root, address) / name
    try:
        text = read_attribute(sysfs_root, path)
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
    """(vendor, product) from the `vendor` and `device` files (Nova reads a `product` none has)."""
    return _read_id(sysfs_root, address, "vendor"), _read_id(sysfs_root, address, "device")

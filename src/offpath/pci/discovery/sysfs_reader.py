"""Discovery from a sysfs tree: one PciDevice per PCI function, as Nova builds from libvirt.

Reads `<root>/bus/pci/devices/ADDR/` as Linux lays it out: `vendor`,
`device`, `class`, `numa_node`, `driver` and `iommu_group` links, the SR-IOV
files and `virtfnN`/`physfn` links, `vpd`, and `net/IF/{address,
phys_port_name, compat/devlink/mode}`; `<root>/bus/vdpa/devices/*` marks the
VFs that carry a vDPA device.

sysfs has no view of a netdev's offload features (ethtool reads them over
netlink), so records from here have `network_caps_known` False; the
libvirt reader has them.

Speed matters (thousands of VFs per host): each directory is listed once,
each small file read once with raw os calls, and a PF's VPD, netdev and
`virtfnN` links are read once and shared with its VFs.
"""

# Raw os calls and f-string paths, not pathlib: the reader must stay fast
# (2,048 VFs in well under a second), and pathlib costs several times more.
# ruff: noqa: PTH115, PTH119, PTH120, PTH208

from __future__ import annotations

import contextlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from offpath.errors import InputFileError, OffpathError, SysfsRootInvalid
from offpath.pci import regular_file
from offpath.pci.device import DevType, PciDevice
from offpath.pci.sysfs import ATTRIBUTE_LIMIT, PCI_ID
from offpath.pci.vpd import VPD_MAX_SIZE, VpdRecord, decode_vpd

NO_NUMA: Final = -1
# Representor netdevs share their PF's PCI function; the uplink's
# phys_port_name is "p<N>" (or absent), a representor's "pf0vf3", "c1pf0"...
_UPLINK_PORT: Final = re.compile(r"p\d+")


# What the kernel would never put in sysfs (a FIFO, a device, a huge or
# non-ASCII file) reads as an unreadable file: a note, or the device excluded.
_UNREADABLE: Final = (OSError, InputFileError)


def _read_text(path: str) -> str:
    """The stripped text of a small sysfs file (raises OSError or InputFileError)."""
    return regular_file.read_text(path, limit=ATTRIBUTE_LIMIT, encoding="ascii").strip()


def _link_name(path: str) -> str:
    """The last component of a symlink's target (`../../0000:03:00.2` -> the address)."""
    return _shown(os.path.basename(os.readlink(path).rstrip("/")))


def _shown(name: str) -> str:
    """A name from the tree as it can be printed: bytes outside ASCII as `\\xNN` escapes.

    The kernel's names are ASCII; a copied tree's may hold any bytes, which
    Python keeps as lone surrogates that no strict UTF-8 output can write.
    """
    if name.isascii():
        return name
    return os.fsencode(name).decode("ascii", "backslashreplace")


def _why(exc: Exception) -> str:
    """An OSError's reason without its errno and path, a refused file's without its path."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    if isinstance(exc, InputFileError):
        return exc.problem
    return str(exc)


@dataclass(slots=True)
class _Netdev:
    """The network interface of one PCI function, if any."""

    name: str | None = None
    mac: str | None = None
    mac_problem: str | None = None
    eswitch_mode: str | None = None


@dataclass(slots=True)
class _PfView:
    """What a PF shares with its VFs: read once per PF."""

    address: str
    netdev: _Netdev
    serial: str | None
    vf_numbers: dict[str, int]
    problem: str | None = None


@dataclass(slots=True)
class _Scan:
    """State of one discovery run: caches shared between devices."""

    devices_dir: str
    vdpa: dict[str, str]
    pfs: dict[str, _PfView] = field(default_factory=dict)
    vpd_cache: dict[bytes, tuple[VpdRecord | None, tuple[str, ...]]] = field(default_factory=dict)


def discover_sysfs(sysfs_root: Path) -> tuple[PciDevice, ...]:
    """Every PCI function under `sysfs_root`, by address; unreadable ones carry `exclusion`."""
    devices_dir = f"{sysfs_root}/bus/pci/devices"
    check_sysfs_root(sysfs_root)
    try:
        names = sorted(os.listdir(devices_dir))
    except OSError as exc:
        raise SysfsRootInvalid(sysfs_root, f"cannot list bus/pci/devices: {_why(exc)}") from exc
    scan = _Scan(devices_dir, _vdpa_parents(os.fspath(sysfs_root)))
    return tuple(_device(scan, name) for name in names)


def check_sysfs_root(sysfs_root: Path) -> None:
    """SysfsRootInvalid unless `sysfs_root` is a directory, saying what it is instead."""
    try:
        mode = sysfs_root.stat().st_mode
    except FileNotFoundError:
        raise SysfsRootInvalid(sysfs_root, "no such directory") from None
    except OSError as exc:
        raise SysfsRootInvalid(sysfs_root, _why(exc).lower()) from exc
    if not stat.S_ISDIR(mode):
        raise SysfsRootInvalid(sysfs_root, "not a directory")


def _vdpa_parents(root: str) -> dict[str, str]:
    """VF address -> vDPA device name, from `bus/vdpa/devices/vdpaN` links."""
    found: dict[str, str] = {}
    vdpa_dir = f"{root}/bus/vdpa/devices"
    try:
        names = os.listdir(vdpa_dir)
    except OSError:
        return found
    for name in names:
        try:
            # ../../../devices/pci0000:00/0000:00:02.0/0000:03:00.2/vdpa0
            parent = os.path.basename(os.path.dirname(os.readlink(f"{vdpa_dir}/{name}")))
        except OSError:
            continue
        found[_shown(parent)] = _shown(name)
    return found


def _device(scan: _Scan, address: str) -> PciDevice:
    if not address.isascii():
        return _excluded(
            _shown(address), "its sysfs directory name is not ASCII, so it is no PCI address"
        )
    path = f"{scan.devices_dir}/{address}"
    try:
        entries = frozenset(os.listdir(path))
    except OSError as exc:
        return _excluded(address, f"cannot list its sysfs directory: {_why(exc)}")
    try:
        vendor_id = _read_id(path, "vendor")
        product_id = _read_id(path, "device")
    except (*_UNREADABLE, ValueError) as exc:
        return _excluded(address, f"cannot read its vendor/device ids: {_why(exc)}")
    try:
        return _read_device(
            scan, address, path, entries, vendor_id=vendor_id, product_id=product_id
        )
    except (OSError, ValueError, OffpathError) as exc:
        # Whatever breaks while reading one device excludes that
        # device only, never the whole inventory.
        return _excluded(address, f"cannot be read: {_why(exc)}", vendor_id, product_id)


def _excluded(address: str, reason: str, vendor_id: str = "", product_id: str = "") -> PciDevice:
    return PciDevice(
        address=address,
        vendor_id=vendor_id,
        product_id=product_id,
        dev_type=DevType.PCI,
        exclusion=reason,
        network_caps_known=False,
    )


def _read_id(path: str, name: str) -> str:
    text = _read_text(f"{path}/{name}").lower().removeprefix("0x")
    if not PCI_ID.fullmatch(text):
        raise ValueError(f"{name} is {text!r}, not 4 hex digits")
    return text


@dataclass(frozen=True, slots=True)
class _Place:
    """Where a function sits in the SR-IOV tree, and what it inherits from its PF."""

    dev_type: DevType = DevType.PCI
    parent_addr: str | None = None
    parent_ifname: str | None = None
    vf_num: int | None = None
    pf_mac_address: str | None = None
    card_serial_number: str | None = None
    serial_source: str | None = None
    eswitch_mode: str | None = None
    exclusion: str | None = None


def _read_device(
    scan: _Scan,
    address: str,
    path: str,
    entries: frozenset[str],
    *,
    vendor_id: str,
    product_id: str,
) -> PciDevice:
    notes: list[str] = []
    device_class = _optional(path, "class", entries, notes)
    numa_node = _numa(path, entries, notes)
    driver = _optional_link(path, "driver", entries, notes)
    iommu_text = _optional_link(path, "iommu_group", entries, notes)
    totalvfs = _optional_int(path, "sriov_totalvfs", entries, notes)
    own_vpd, vpd_notes = _own_vpd(scan, path, entries)
    notes.extend(vpd_notes)
    own_serial = own_vpd.card_serial_number if own_vpd else None
    if "physfn" in entries:
        netdev = _netdev(path, entries, read_eswitch=False)
        place = _vf_place(scan, address, path, netdev, own_serial=own_serial, notes=notes)
    elif (totalvfs or 0) > 0 or any(e.startswith("virtfn") for e in entries):
        pf = _pf_view(scan, address, path, entries, own_vpd)
        netdev = pf.netdev
        place = _Place(
            dev_type=DevType.PF,
            card_serial_number=own_serial,
            serial_source=address if own_serial else None,
            eswitch_mode=netdev.eswitch_mode,
        )
    else:
        netdev = _netdev(path, entries, read_eswitch=False)
        place = _Place(card_serial_number=own_serial, serial_source=address if own_serial else None)
    if netdev.mac_problem:
        notes.append(netdev.mac_problem)
    return PciDevice(
        address=address,
        vendor_id=vendor_id,
        product_id=product_id,
        dev_type=place.dev_type,
        device_class=device_class.lower().removeprefix("0x") if device_class else None,
        parent_addr=place.parent_addr,
        numa_node=numa_node,
        driver=driver,
        iommu_group=int(iommu_text) if iommu_text and iommu_text.isdigit() else None,
        netdev=netdev.name,
        mac_address=netdev.mac,
        parent_ifname=place.parent_ifname,
        vf_num=place.vf_num,
        pf_mac_address=place.pf_mac_address,
        card_serial_number=place.card_serial_number,
        vpd=own_vpd,
        eswitch_mode=place.eswitch_mode,
        sriov_totalvfs=totalvfs,
        sriov_numvfs=_optional_int(path, "sriov_numvfs", entries, notes),
        exclusion=place.exclusion,
        serial_source=place.serial_source,
        vdpa_device=scan.vdpa.get(address) if place.dev_type is DevType.VDPA else None,
        network_caps_known=False,
        notes=tuple(notes),
    )


def _vf_place(
    scan: _Scan,
    address: str,
    path: str,
    netdev: _Netdev,
    *,
    own_serial: str | None,
    notes: list[str],
) -> _Place:
    physfn = f"{path}/physfn"
    try:
        parent = _link_name(physfn)
    except OSError as exc:
        return _Place(
            dev_type=DevType.VF,
            exclusion=f"it is a VF whose physfn link cannot be read: {_why(exc)}",
        )
    pf = scan.pfs.get(parent) or _pf_view_from_vf(scan, parent, physfn)
    serial: str | None = own_serial or pf.serial
    source = (address if own_serial else parent) if serial else None
    if pf.netdev.mac is None:
        notes.append(
            f"the MAC address of its PF {parent} cannot be read: "
            f"{pf.netdev.mac_problem or 'the PF has no network interface'}"
        )
    vf_num = pf.vf_numbers.get(address)
    exclusion = None
    if vf_num is None:
        # Nova lets this one failure break the whole report; here it excludes this VF.
        exclusion = f"its VF number is unknown: no virtfnN link of its PF {parent} points to it"
        if pf.problem:
            exclusion += f" ({pf.problem})"
    return _Place(
        dev_type=DevType.VDPA if address in scan.vdpa else DevType.VF,
        parent_addr=parent,
        # Nova names the PF's netdev only for a VF that has a netdev itself.
        parent_ifname=pf.netdev.name if netdev.name else None,
        vf_num=vf_num,
        pf_mac_address=pf.netdev.mac,
        card_serial_number=serial,
        serial_source=source,
        exclusion=exclusion,
    )


def _pf_view(
    scan: _Scan, address: str, path: str, entries: frozenset[str], own_vpd: VpdRecord | None
) -> _PfView:
    view = scan.pfs.get(address)
    if view is not None:
        return view
    numbers: dict[str, int] = {}
    for entry in entries:
        if entry.startswith("virtfn") and entry[6:].isdigit():
            try:
                numbers[_link_name(f"{path}/{entry}")] = int(entry[6:])
            except OSError:
                continue
    view = _PfView(
        address=address,
        netdev=_netdev(path, entries, read_eswitch=True),
        serial=own_vpd.card_serial_number if own_vpd else None,
        vf_numbers=numbers,
    )
    scan.pfs[address] = view
    return view


def _pf_view_from_vf(scan: _Scan, address: str, physfn: str) -> _PfView:
    """The PF of a VF, read through the VF's `physfn` link (the PF may be listed later)."""
    try:
        entries = frozenset(os.listdir(physfn))
    except OSError as exc:
        view = _PfView(address, _Netdev(), None, {}, f"cannot list the PF: {_why(exc)}")
        scan.pfs[address] = view
        return view
    own_vpd, _ = _own_vpd(scan, physfn, entries)
    return _pf_view(scan, address, physfn, entries, own_vpd)


def _own_vpd(
    scan: _Scan, path: str, entries: frozenset[str]
) -> tuple[VpdRecord | None, tuple[str, ...]]:
    if "vpd" not in entries:
        return None, ()
    try:
        # Bytes past what VPD can address are no VPD: older kernels show the EEPROM window.
        data = regular_file.read_bytes(f"{path}/vpd", limit=VPD_MAX_SIZE, truncate=True)
    except _UNREADABLE as exc:
        return None, (f"its VPD cannot be read: {_why(exc)}",)
    cached = scan.vpd_cache.get(data)
    if cached is None:
        cached = _decode(data)
        scan.vpd_cache[data] = cached
    return cached


def _decode(data: bytes) -> tuple[VpdRecord | None, tuple[str, ...]]:
    try:
        record = decode_vpd(data, strict=False)
    except OffpathError as exc:
        return None, (f"its VPD is unusable: {exc.message}",)
    notes = tuple(f"its VPD is damaged: {damage}" for damage in record.damage)
    if record.serial_number and record.card_serial_number is None:
        notes += (
            f"its VPD serial number {record.serial_number!r} is not trusted: "
            f"the read-only section's checksum is {record.checksum}",
        )
    return record, notes


def _netdev(path: str, entries: frozenset[str], *, read_eswitch: bool) -> _Netdev:
    if "net" not in entries:
        return _Netdev()
    net_dir = f"{path}/net"
    try:
        names = sorted(os.listdir(net_dir))
    except OSError:
        return _Netdev()
    if not names:
        return _Netdev()
    name = names[0] if len(names) == 1 else _uplink(net_dir, names)
    found = _Netdev(name=_shown(name))
    try:
        found.mac = _read_text(f"{net_dir}/{name}/address") or None
        if found.mac is None:
            found.mac_problem = f"net/{found.name}/address is empty"
    except _UNREADABLE as exc:
        found.mac_problem = f"cannot read net/{found.name}/address: {_why(exc)}"
    if read_eswitch:
        # mlx5's compat view of devlink's eswitch mode; absent elsewhere.
        with contextlib.suppress(*_UNREADABLE):
            found.eswitch_mode = _read_text(f"{net_dir}/{name}/compat/devlink/mode") or None
    return found


def _uplink(net_dir: str, names: list[str]) -> str:
    """Of several netdevs on one function, the uplink rather than a representor."""
    for name in names:
        try:
            port = _read_text(f"{net_dir}/{name}/phys_port_name")
        except _UNREADABLE:
            return name
        if not port or _UPLINK_PORT.fullmatch(port):
            return name
    return names[0]


def _optional(path: str, name: str, entries: frozenset[str], notes: list[str]) -> str | None:
    if name not in entries:
        return None
    try:
        return _read_text(f"{path}/{name}") or None
    except _UNREADABLE as exc:
        notes.append(f"cannot read {name}: {_why(exc)}")
        return None


def _optional_link(path: str, name: str, entries: frozenset[str], notes: list[str]) -> str | None:
    if name not in entries:
        return None
    try:
        return _link_name(f"{path}/{name}")
    except OSError as exc:
        notes.append(f"cannot read the {name} link: {_why(exc)}")
        return None


def _optional_int(path: str, name: str, entries: frozenset[str], notes: list[str]) -> int | None:
    text = _optional(path, name, entries, notes)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        notes.append(f"{name} is {text!r}, not a number")
        return None


def _numa(path: str, entries: frozenset[str], notes: list[str]) -> int | None:
    node = _optional_int(path, "numa_node", entries, notes)
    return None if node is None or node == NO_NUMA else node

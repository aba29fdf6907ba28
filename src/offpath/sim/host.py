"""The host simulator: writes a sysfs tree laid out as Linux lays it out, plus its manifest.

The directory written plays `/sys`: real device directories under
`devices/pci0000:00/<root port>/`, relative symlinks where the kernel has
them (`bus/pci/devices`, `driver`, `iommu_group`, `physfn`, `virtfnN`,
`class/net`), files holding exactly what the kernel prints. The record
returned (and `offpath-sim.json`) is the ground truth readers are checked
against. See docs/hardware-ids.md for the ids and the layout choices.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Final

from offpath.errors import SimFaultInvalid, SimOptionInvalid, SimOutputInvalid
from offpath.jsonvalue import JsonValue
from offpath.pci.address import MAX_BUS, PciAddress
from offpath.sim.faults import TARGETS, Fault, FaultKind, Target
from offpath.sim.profile import MAX_IFNAME, FunctionIds, HostProfile, expand
from offpath.sim.vpd_image import corrupt_checksum, encode_vpd, truncate

MANIFEST: Final = "offpath-sim.json"
MANIFEST_FORMAT: Final = 1
ROOT_BUS: Final = "pci0000:00"
# The first card sits behind root port 00:02.0, its buses from 03 on.
FIRST_ROOT_PORT_SLOT: Final = 0x02
FIRST_CARD_BUS: Final = 0x03
# Illustrative: readers ignore bridges (docs/hardware-ids.md).
ROOT_PORT: Final = FunctionIds(
    vendor_id="8086",
    device_id="2030",
    subsystem_vendor_id="8086",
    subsystem_device_id="0000",
    device_class=0x060400,
    driver="pcieport",
)
FIRST_IOMMU_GROUP: Final = 16
FIRST_IFINDEX: Final = 4
VFIO_DRIVER: Final = "vfio-pci"
MAX_NUMA_NODES: Final = 64
MAX_PFS: Final = 64
SERIAL_CHARS: Final = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


class VpdState(StrEnum):
    """What a function's `vpd` file holds."""

    VALID = "valid"
    ABSENT = "absent"
    BAD_CHECKSUM = "bad-checksum"
    TRUNCATED = "truncated"


@dataclass(frozen=True, slots=True)
class SimVf:
    """One VF written; `card_serial` is what a reader must find (own VPD, else its PF's)."""

    address: PciAddress
    vf_num: int
    parent: PciAddress
    ifname: str | None
    mac: str | None
    numa_node: int | None
    driver: str
    iommu_group: int
    vpd: VpdState
    vpd_serial: str | None
    card_serial: str | None


@dataclass(frozen=True, slots=True)
class SimPf:
    """One PF written, with its VFs; `card_serial` is None when its VPD cannot give it."""

    address: PciAddress
    card: int
    index: int
    ifname: str
    mac: str
    mac_readable: bool
    numa_node: int | None
    driver: str
    iommu_group: int
    vpd: VpdState
    card_serial: str | None
    sriov_totalvfs: int
    sriov_offset: int
    vfs: tuple[SimVf, ...]


@dataclass(frozen=True, slots=True)
class SimCard:
    """One card: where it sits and the serial its VPD carries (None if the profile has none)."""

    index: int
    slot: int
    root_port: PciAddress
    root_port_group: int
    buses: tuple[int, int]
    numa_node: int
    serial: str | None
    part_number: str | None
    vpd_uuid: str
    pfs: tuple[SimPf, ...]


@dataclass(frozen=True, slots=True)
class SimHost:
    """What `write_host` wrote: the ground truth for readers of the tree."""

    hostname: str
    profile: str
    root: Path
    seed: int
    numa_nodes: int
    cards: tuple[SimCard, ...]
    faults: tuple[Fault, ...]

    @property
    def pfs(self) -> tuple[SimPf, ...]:
        """Every PF, card by card."""
        return tuple(pf for card in self.cards for pf in card.pfs)

    @property
    def vfs(self) -> tuple[SimVf, ...]:
        """Every VF, PF by PF."""
        return tuple(vf for pf in self.pfs for vf in pf.vfs)

    @property
    def functions(self) -> tuple[SimPf | SimVf, ...]:
        """Every PF then every VF."""
        return (*self.pfs, *self.vfs)

    def function(self, address: PciAddress) -> SimPf | SimVf | None:
        """The PF or VF at `address`, or None."""
        for pf in self.pfs:
            if pf.address == address:
                return pf
            for vf in pf.vfs:
                if vf.address == address:
                    return vf
        return None

    def device_dir(self, address: PciAddress) -> Path:
        """The real directory of the function at `address` (under `devices/`)."""
        for card in self.cards:
            if any(pf.address == address or _has_vf(pf, address) for pf in card.pfs):
                return self.root / "devices" / ROOT_BUS / str(card.root_port) / str(address)
        raise KeyError(str(address))

    def manifest(self) -> dict[str, JsonValue]:
        """The JSON document written as `offpath-sim.json`."""
        return {
            "format": MANIFEST_FORMAT,
            "generator": "offpath sim host",
            "note": "simulator manifest, not part of the kernel's sysfs layout",
            "hostname": self.hostname,
            "profile": self.profile,
            "seed": self.seed,
            "numa_nodes": self.numa_nodes,
            "faults": [str(fault) for fault in self.faults],
            "cards": [_card_json(card) for card in self.cards],
        }


def write_host(
    profile: HostProfile,
    out: Path,
    *,
    hostname: str = "sim-host",
    vfs: int | None = None,
    numa_nodes: int = 1,
    seed: int = 0,
    faults: Sequence[Fault] = (),
    pfs: int | None = None,
) -> SimHost:
    """Write a sysfs tree for one host under `out` (which plays `/sys`) and return what it holds."""
    host = plan_host(
        profile,
        out,
        hostname=hostname,
        vfs=vfs,
        numa_nodes=numa_nodes,
        seed=seed,
        faults=faults,
        pfs=pfs,
    )
    _prepare_output(out)
    _TreeWriter(out, profile, host).write()
    (out / MANIFEST).write_text(json.dumps(host.manifest(), indent=2) + "\n", encoding="utf-8")
    return host


def plan_host(
    profile: HostProfile,
    out: Path,
    *,
    hostname: str = "sim-host",
    vfs: int | None = None,
    numa_nodes: int = 1,
    seed: int = 0,
    faults: Sequence[Fault] = (),
    pfs: int | None = None,
) -> SimHost:
    """What `write_host` would write, without touching the disk; invalid options raise."""
    vf_count = profile.default_vfs if vfs is None else vfs
    pf_count = profile.pfs_per_card if pfs is None else pfs
    _check_options(profile, hostname, vf_count, pf_count, numa_nodes)
    planner = _Planner(
        profile,
        hostname=hostname,
        vf_count=vf_count,
        pf_count=pf_count,
        numa_nodes=numa_nodes,
        seed=seed,
    )
    host = planner.plan(out)
    for fault in faults:
        host = _apply_fault(host, fault)
    return host


def _check_options(
    profile: HostProfile, hostname: str, vfs: int, pfs: int, numa_nodes: int
) -> None:
    if not hostname or any(ch.isspace() or ch == "/" for ch in hostname):
        raise SimOptionInvalid(
            "--hostname", repr(hostname), "is not a host name", hint="use e.g. compute-01"
        )
    if not 0 <= vfs <= profile.sriov_totalvfs:
        raise SimOptionInvalid(
            "--vfs",
            vfs,
            f"profile {profile.name} allows 0 to {profile.sriov_totalvfs} VFs per PF "
            "(its sriov_totalvfs)",
            hint=f"give at most {profile.sriov_totalvfs}, or raise sriov.totalvfs in a profile",
        )
    if not 1 <= pfs <= MAX_PFS:
        raise SimOptionInvalid(
            "pfs", pfs, f"a card has 1 to {MAX_PFS} PFs", hint="give a smaller number of PFs"
        )
    if not 1 <= numa_nodes <= MAX_NUMA_NODES:
        raise SimOptionInvalid(
            "--numa-nodes",
            numa_nodes,
            f"a host has 1 to {MAX_NUMA_NODES} NUMA nodes",
            hint="give the number of sockets, usually 1 or 2",
        )


class _Planner:
    """Lays out cards, addresses, names, MACs and serials; draws from one seeded RNG."""

    def __init__(
        self,
        profile: HostProfile,
        *,
        hostname: str,
        vf_count: int,
        pf_count: int,
        numa_nodes: int,
        seed: int,
    ) -> None:
        self.profile = profile
        self.hostname = hostname
        # The host name is drawn in so that hosts of one demo, same seed, get distinct serials.
        self.rng = random.Random(f"{seed}/{hostname}")
        self.vf_count = vf_count
        self.pf_count = pf_count
        self.numa_nodes = numa_nodes
        self.seed = seed
        self.serials: set[str] = set()
        self.macs: set[str] = set()
        self.ifnames: set[str] = set()
        self.iommu_group = FIRST_IOMMU_GROUP

    def plan(self, out: Path) -> SimHost:
        cards = []
        bus = FIRST_CARD_BUS
        for index in range(self.profile.cards):
            card = self._card(index, bus)
            cards.append(card)
            bus = card.buses[1] + 1
        return SimHost(
            hostname=self.hostname,
            profile=self.profile.name,
            root=out,
            seed=self.seed,
            numa_nodes=self.numa_nodes,
            cards=tuple(cards),
            faults=(),
        )

    def _card(self, index: int, bus: int) -> SimCard:
        profile = self.profile
        first_offset = max(profile.first_vf_offset or 0, self.pf_count)
        last_rid = (bus << 8) + first_offset + self.pf_count * profile.sriov_totalvfs - 1
        if last_rid >> 8 > MAX_BUS:
            raise SimOptionInvalid(
                "cards x PFs x sriov_totalvfs",
                f"{profile.cards} x {self.pf_count} x {profile.sriov_totalvfs}",
                f"card {index} would need buses up to {last_rid >> 8:#x}, beyond {MAX_BUS:#x}",
                hint="use fewer cards or PFs, or a profile with a smaller sriov.totalvfs",
            )
        serial = self._serial(profile.vpd.serial_prefix) if profile.vpd.serial_prefix else None
        mac_base = int(profile.netdev.pf_mac_oui.replace(":", ""), 16) << 24
        mac_base |= self.rng.randrange(0, 1 << 24) & ~0xFF
        # Shaped like the V3 of real NVIDIA cards: a version-1 UUID whose node is the base MAC.
        uuid = (
            f"{self.rng.getrandbits(32):08x}{self.rng.getrandbits(16):04x}"
            f"e{self.rng.choice('abcdef')}118000{mac_base:012x}"
        )
        slot = index + 1
        root_port_group = self._next_group()
        pfs = []
        for pf_index in range(self.pf_count):
            global_pf = index * self.pf_count + pf_index
            numa = global_pf * self.numa_nodes // (profile.cards * self.pf_count)
            pf_address = _rid_address(bus, pf_index)
            offset = first_offset + pf_index * profile.sriov_totalvfs - pf_index
            names = {"slot": slot, "card": index, "pf": pf_index}
            pf_group = self._next_group()
            vfs = tuple(
                self._vf(
                    pf_address, offset=offset, vf_num=vf_num, numa=numa, names=names, serial=serial
                )
                for vf_num in range(self.vf_count)
            )
            mac = _format_mac(mac_base + pf_index)
            self.macs.add(mac)
            pfs.append(
                _settle_serials(
                    SimPf(
                        address=pf_address,
                        card=index,
                        index=pf_index,
                        ifname=self._ifname(expand(profile.netdev.pf_ifname, names)),
                        mac=mac,
                        mac_readable=True,
                        numa_node=numa,
                        driver=profile.pf.driver,
                        iommu_group=pf_group,
                        vpd=VpdState.VALID,
                        card_serial=serial,
                        sriov_totalvfs=profile.sriov_totalvfs,
                        sriov_offset=offset,
                        vfs=vfs,
                    )
                )
            )
        part_number = dict(profile.vpd.read_only).get("PN")
        return SimCard(
            index=index,
            slot=slot,
            root_port=PciAddress(0, 0, FIRST_ROOT_PORT_SLOT + index, 0),
            root_port_group=root_port_group,
            buses=(bus, last_rid >> 8),
            numa_node=pfs[0].numa_node or 0,
            serial=serial,
            part_number=part_number,
            vpd_uuid=uuid,
            pfs=tuple(pfs),
        )

    def _vf(
        self,
        pf: PciAddress,
        *,
        offset: int,
        vf_num: int,
        numa: int,
        names: dict[str, int],
        serial: str | None,
    ) -> SimVf:
        rid = _rid(pf) + offset + vf_num
        return SimVf(
            address=_rid_address(rid >> 8, rid & 0xFF),
            vf_num=vf_num,
            parent=pf,
            ifname=self._ifname(expand(self.profile.netdev.vf_ifname, {**names, "vf": vf_num})),
            mac=self._vf_mac(),
            numa_node=numa,
            driver=self.profile.vf.driver,
            iommu_group=self._next_group(),
            vpd=VpdState.VALID if self.profile.vpd.on_vfs else VpdState.ABSENT,
            vpd_serial=serial if self.profile.vpd.on_vfs else None,
            card_serial=None,
        )

    def _next_group(self) -> int:
        self.iommu_group += 1
        return self.iommu_group - 1

    def _ifname(self, name: str) -> str:
        if len(name) > MAX_IFNAME or name in self.ifnames:
            raise SimOptionInvalid(
                "profile",
                self.profile.name,
                f"interface name {name!r} is longer than {MAX_IFNAME} characters or repeated",
                hint="use {slot}, {pf} and {vf} in netdev.pf_ifname / vf_ifname",
            )
        self.ifnames.add(name)
        return name

    def _vf_mac(self) -> str:
        while True:
            # Locally administered, unicast: what a hypervisor or the driver makes up.
            value = (self.rng.getrandbits(48) & ~(0x01 << 40)) | (0x02 << 40)
            mac = _format_mac(value)
            if mac not in self.macs:
                self.macs.add(mac)
                return mac

    def _serial(self, prefix: str) -> str:
        while True:
            serial = prefix + "".join(self.rng.choice(SERIAL_CHARS) for _ in range(5))
            if serial not in self.serials:
                self.serials.add(serial)
                return serial


def _rid(address: PciAddress) -> int:
    return address.bus << 8 | address.slot << 3 | address.function


def _rid_address(bus: int, devfn: int) -> PciAddress:
    return PciAddress(0, bus + (devfn >> 8), (devfn >> 3) & 0x1F, devfn & 0x7)


def _format_mac(value: int) -> str:
    return ":".join(f"{(value >> shift) & 0xFF:02x}" for shift in range(40, -8, -8))


def _has_vf(pf: SimPf, address: PciAddress) -> bool:
    return any(vf.address == address for vf in pf.vfs)


def _settle_serials(pf: SimPf) -> SimPf:
    """Each VF's reader-visible serial: its own trustworthy VPD's, else its PF's (spec §6.3)."""
    return replace(
        pf,
        vfs=tuple(
            replace(
                vf,
                card_serial=vf.vpd_serial
                if vf.vpd is VpdState.VALID and vf.vpd_serial
                else pf.card_serial,
            )
            for vf in pf.vfs
        ),
    )


def _apply_fault(host: SimHost, fault: Fault) -> SimHost:
    target = TARGETS[fault.kind]
    address = fault.address or _default_target(host, fault, target)
    found = host.function(address)
    if found is None:
        raise SimFaultInvalid(
            str(fault),
            f"no PF or VF at {address} on this host",
            hint=f"the PFs are {', '.join(str(pf.address) for pf in host.pfs)}; "
            "their VFs are listed in offpath-sim.json",
        )
    if target is Target.PF and not isinstance(found, SimPf):
        raise SimFaultInvalid(str(fault), f"{address} is a VF; this fault applies to a PF")
    if target is Target.VF and not isinstance(found, SimVf):
        raise SimFaultInvalid(str(fault), f"{address} is a PF; this fault applies to a VF")
    if target is Target.VPD_HOLDER and found.vpd is VpdState.ABSENT:
        raise SimFaultInvalid(str(fault), f"{address} has no VPD to damage")
    cards = tuple(
        replace(card, pfs=tuple(_fault_pf(pf, fault.kind, address) for pf in card.pfs))
        for card in host.cards
    )
    resolved = Fault(fault.kind, address)
    cards = _new_serial_if_needed(host, cards, resolved)
    return replace(host, cards=cards, faults=(*host.faults, resolved))


def _default_target(host: SimHost, fault: Fault, target: Target) -> PciAddress:
    first_pf = host.cards[0].pfs[0]
    if target is not Target.VF:
        return first_pf.address
    if not first_pf.vfs:
        raise SimFaultInvalid(
            str(fault), "the host has no VF to apply it to", hint="give --vfs 1 or more"
        )
    return first_pf.vfs[0].address


_VPD_DAMAGE: Final = {
    FaultKind.NO_VPD: VpdState.ABSENT,
    FaultKind.BAD_VPD_CHECKSUM: VpdState.BAD_CHECKSUM,
    FaultKind.TRUNCATED_VPD: VpdState.TRUNCATED,
}


def _fault_pf(pf: SimPf, kind: FaultKind, address: PciAddress) -> SimPf:
    if pf.address == address:
        if kind in _VPD_DAMAGE:
            pf = replace(pf, vpd=_VPD_DAMAGE[kind], card_serial=None)
        elif kind is FaultKind.PF_MAC_UNREADABLE:
            pf = replace(pf, mac_readable=False)
        elif kind is FaultKind.NUMA_UNKNOWN:
            # The kernel takes a function's node from the bus, so a PF's VFs follow it.
            pf = replace(
                pf, numa_node=None, vfs=tuple(replace(vf, numa_node=None) for vf in pf.vfs)
            )
    else:
        pf = replace(pf, vfs=tuple(_fault_vf(vf, kind, address) for vf in pf.vfs))
    return _settle_serials(pf)


def _fault_vf(vf: SimVf, kind: FaultKind, address: PciAddress) -> SimVf:
    if vf.address != address:
        return vf
    if kind in _VPD_DAMAGE:
        return replace(vf, vpd=_VPD_DAMAGE[kind])
    if kind is FaultKind.VF_NO_NETDEV:
        return replace(vf, driver=VFIO_DRIVER, ifname=None, mac=None)
    if kind is FaultKind.NUMA_UNKNOWN:
        return replace(vf, numa_node=None)
    if kind is FaultKind.VF_VPD_OWN_SERIAL:
        # The serial itself is drawn once every card is known (_new_serial_if_needed).
        return replace(vf, vpd=VpdState.VALID, vpd_serial="")
    return vf


def _new_serial_if_needed(
    host: SimHost, cards: tuple[SimCard, ...], fault: Fault
) -> tuple[SimCard, ...]:
    if fault.kind is not FaultKind.VF_VPD_OWN_SERIAL:
        return cards
    taken = {card.serial for card in cards} | {vf.vpd_serial for pf in host.pfs for vf in pf.vfs}
    rng = random.Random(f"{host.seed}/{host.hostname}/{fault}")
    prefix = next((card.serial[:-5] for card in cards if card.serial), "SIMVF")
    serial = ""
    while not serial or serial in taken:
        serial = prefix + "".join(rng.choice(SERIAL_CHARS) for _ in range(5))
    return tuple(
        replace(
            card,
            pfs=tuple(
                _settle_serials(
                    replace(
                        pf,
                        vfs=tuple(
                            replace(vf, vpd_serial=serial) if vf.vpd_serial == "" else vf
                            for vf in pf.vfs
                        ),
                    )
                )
                for pf in card.pfs
            ),
        )
        for card in cards
    )


def _prepare_output(out: Path) -> None:
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise SimOutputInvalid(out, "exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MANIFEST).is_file():
            raise SimOutputInvalid(
                out, f"is a non-empty directory without {MANIFEST}; not overwriting it"
            )
        # A tree the simulator wrote before: replace it whole.
        for entry in out.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SimOutputInvalid(out, f"cannot create the directory: {exc.strerror}") from exc


class _TreeWriter:
    """Writes the files and links of a planned host, in the kernel's formats.

    Paths are plain strings and files are written with os.open: a host of
    2048 VFs is some 50,000 creations, and pathlib's overhead doubled the time.
    """

    def __init__(self, root: Path, profile: HostProfile, host: SimHost) -> None:
        self.root = str(root)
        self.profile = profile
        self.host = host
        self.ifindex = FIRST_IFINDEX
        self.drivers: set[str] = set()

    def write(self) -> None:
        for name in (
            "bus",
            "bus/pci",
            "bus/pci/devices",
            "bus/pci/drivers",
            "bus/pci/slots",
            "class",
            "class/net",
            "kernel",
            "kernel/iommu_groups",
            "devices",
            f"devices/{ROOT_BUS}",
        ):
            _mkdir(f"{self.root}/{name}")
        for card in self.host.cards:
            self._card(card)

    def _card(self, card: SimCard) -> None:
        port_dir = self._function(
            card.root_port,
            f"devices/{ROOT_BUS}",
            ROOT_PORT,
            numa_node=card.numa_node,
            driver=ROOT_PORT.driver,
            iommu_group=card.root_port_group,
        )
        _write_files(
            port_dir,
            {
                "secondary_bus_number": f"{card.buses[0]}\n",
                "subordinate_bus_number": f"{card.buses[1]}\n",
            },
        )
        port = f"devices/{ROOT_BUS}/{card.root_port}"
        slot_dir = f"{self.root}/bus/pci/slots/{card.slot}"
        _mkdir(slot_dir)
        _write_files(slot_dir, {"address": f"0000:{card.buses[0]:02x}:00\n"})
        for pf in card.pfs:
            self._pf(card, pf, port)

    def _pf(self, card: SimCard, pf: SimPf, port: str) -> None:
        path = self._function(
            pf.address,
            port,
            self.profile.pf,
            numa_node=pf.numa_node,
            driver=pf.driver,
            iommu_group=pf.iommu_group,
        )
        _write_files(
            path,
            {
                "enable": "1\n",
                "irq": f"{16 + pf.index % 8}\n",
                "sriov_totalvfs": f"{pf.sriov_totalvfs}\n",
                "sriov_numvfs": f"{len(pf.vfs)}\n",
                "sriov_offset": f"{pf.sriov_offset}\n",
                "sriov_stride": "1\n",
                # The kernel prints this one with "%x": no 0x, no zero padding.
                "sriov_vf_device": f"{int(self.profile.vf.device_id, 16):x}\n",
                "sriov_drivers_autoprobe": "1\n",
            },
        )
        self._vpd(path, pf.vpd, self._image(card, pf.index, card.serial))
        for vf in pf.vfs:
            _symlink(f"../{vf.address}", f"{path}/virtfn{vf.vf_num}")
            self._vf(card, pf, vf, port)
        naming = self.profile.netdev
        names = {"slot": card.slot, "card": card.index, "pf": pf.index}
        net = self._netdev(path, pf.address, pf.ifname)
        files = {"dev_id": "0x0\n", "dev_port": "0\n"}
        if pf.mac_readable:
            files["address"] = f"{pf.mac}\n"
        if naming.pf_phys_port_name is not None:
            files["phys_port_name"] = f"{expand(naming.pf_phys_port_name, names)}\n"
        if naming.phys_switch_id:
            files["phys_switch_id"] = f"{_system_guid(card.pfs[0].mac)}\n"
        self.ifindex += 1
        files.update({"ifindex": f"{self.ifindex}\n", "operstate": "up\n", "type": "1\n"})
        _write_files(net, files)
        if naming.eswitch_mode is not None:
            _mkdir(f"{net}/compat")
            _mkdir(f"{net}/compat/devlink")
            _write_files(f"{net}/compat/devlink", {"mode": f"{naming.eswitch_mode}\n"})

    def _vf(self, card: SimCard, pf: SimPf, vf: SimVf, port: str) -> None:
        path = self._function(
            vf.address,
            port,
            self.profile.vf,
            numa_node=vf.numa_node,
            driver=vf.driver,
            iommu_group=vf.iommu_group,
        )
        _symlink(f"../{pf.address}", f"{path}/physfn")
        self._vpd(path, vf.vpd, self._image(card, pf.index, vf.vpd_serial))
        if vf.ifname is None:
            return
        net = self._netdev(path, vf.address, vf.ifname)
        files = {"dev_id": "0x0\n", "dev_port": "0\n", "address": f"{vf.mac}\n"}
        naming = self.profile.netdev.vf_phys_port_name
        if naming is not None:
            names = {"slot": card.slot, "card": card.index, "pf": pf.index, "vf": vf.vf_num}
            files["phys_port_name"] = f"{expand(naming, names)}\n"
        _write_files(net, files)

    def _function(
        self,
        address: PciAddress,
        port: str,
        ids: FunctionIds,
        *,
        numa_node: int | None,
        driver: str,
        iommu_group: int,
    ) -> str:
        device = f"{port}/{address}"
        path = f"{self.root}/{device}"
        _mkdir(path)
        _write_files(
            path,
            {
                "vendor": f"0x{ids.vendor_id}\n",
                "device": f"0x{ids.device_id}\n",
                "subsystem_vendor": f"0x{ids.subsystem_vendor_id}\n",
                "subsystem_device": f"0x{ids.subsystem_device_id}\n",
                "class": f"0x{ids.device_class:06x}\n",
                "numa_node": f"{_numa_text(numa_node)}\n",
            },
        )
        _symlink(f"../../../{device}", f"{self.root}/bus/pci/devices/{address}")
        driver_dir = f"bus/pci/drivers/{driver}"
        if driver not in self.drivers:
            self.drivers.add(driver)
            _mkdir(f"{self.root}/{driver_dir}")
        up = "../" * (device.count("/") + 1)
        _symlink(f"{up}{driver_dir}", f"{path}/driver")
        _symlink(f"../../../../{device}", f"{self.root}/{driver_dir}/{address}")
        group = f"kernel/iommu_groups/{iommu_group}"
        _mkdir(f"{self.root}/{group}")
        _mkdir(f"{self.root}/{group}/devices")
        _symlink(f"../../../../{device}", f"{self.root}/{group}/devices/{address}")
        _symlink(f"{up}{group}", f"{path}/iommu_group")
        return path

    def _netdev(self, device_path: str, address: PciAddress, ifname: str) -> str:
        # A function has at most one netdev here, so net/ is always new.
        _mkdir(f"{device_path}/net")
        net = f"{device_path}/net/{ifname}"
        _mkdir(net)
        _symlink(f"../../../{address}", f"{net}/device")
        _symlink(f"../../{net[len(self.root) + 1 :]}", f"{self.root}/class/net/{ifname}")
        return net

    def _image(self, card: SimCard, pf_index: int, serial: str | None) -> bytes:
        vpd = self.profile.vpd
        values = {"serial": serial or "", "uuid": card.vpd_uuid, "card": card.index, "pf": pf_index}
        read_only = {keyword: expand(value, values) for keyword, value in vpd.read_only}
        if serial:
            # A VF's own serial lands in SN even for a card whose VPD has none.
            read_only["SN"] = serial
        read_write = {keyword: expand(value, values) for keyword, value in vpd.read_write}
        return encode_vpd(
            expand(vpd.card_name, values), read_only, read_write or None, rw_size=vpd.rw_size
        )

    def _vpd(self, path: str, state: VpdState, image: bytes) -> None:
        if state is VpdState.ABSENT:
            return
        if state is VpdState.BAD_CHECKSUM:
            image = corrupt_checksum(image)
        elif state is VpdState.TRUNCATED:
            image = truncate(image, _truncation_point(image))
        _write(f"{path}/vpd", image)


def _mkdir(path: str) -> None:
    os.mkdir(path)  # noqa: PTH102 - see _TreeWriter


def _symlink(target: str, link: str) -> None:
    os.symlink(target, link)  # noqa: PTH211 - see _TreeWriter


def _write(path: str, content: bytes) -> None:
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(handle, content)
    finally:
        os.close(handle)


def _write_files(directory: str, files: dict[str, str]) -> None:
    for name, content in files.items():
        _write(f"{directory}/{name}", content.encode("ascii"))


def _system_guid(mac: str) -> str:
    """The card's GUID as mlx5 derives it from the base MAC: OUI, 0300, the rest."""
    digits = mac.replace(":", "")
    return f"{digits[:6]}0300{digits[6:]}"


def _numa_text(node: int | None) -> str:
    return "-1" if node is None else str(node)


def _truncation_point(image: bytes) -> int:
    """In the middle of the SN value when there is one, else in the middle of VPD-R."""
    at = image.find(b"SN")
    # Walk keywords properly so a value that happens to contain "SN" is not taken for it.
    pos = 3 + (image[1] | image[2] << 8)
    stop = min(len(image), pos + 3 + (image[pos + 1] | image[pos + 2] << 8))
    at = pos + 3
    while at + 3 <= stop:
        length = image[at + 2]
        if image[at : at + 2] == b"SN":
            return at + 3 + max(1, length // 2)
        at += 3 + length
    return (pos + stop) // 2


def _card_json(card: SimCard) -> dict[str, JsonValue]:
    return {
        "index": card.index,
        "slot": card.slot,
        "root_port": str(card.root_port),
        "buses": [f"{card.buses[0]:02x}", f"{card.buses[1]:02x}"],
        "serial": card.serial,
        "part_number": card.part_number,
        "pfs": [_pf_json(pf) for pf in card.pfs],
    }


def _pf_json(pf: SimPf) -> dict[str, JsonValue]:
    return {
        "address": str(pf.address),
        "index": pf.index,
        "ifname": pf.ifname,
        "mac": pf.mac,
        "mac_readable": pf.mac_readable,
        "numa_node": pf.numa_node,
        "driver": pf.driver,
        "iommu_group": pf.iommu_group,
        "vpd": str(pf.vpd),
        "card_serial": pf.card_serial,
        "sriov_totalvfs": pf.sriov_totalvfs,
        "sriov_offset": pf.sriov_offset,
        "vfs": [_vf_json(vf) for vf in pf.vfs],
    }


def _vf_json(vf: SimVf) -> dict[str, JsonValue]:
    return {
        "address": str(vf.address),
        "vf_num": vf.vf_num,
        "parent": str(vf.parent),
        "ifname": vf.ifname,
        "mac": vf.mac,
        "numa_node": vf.numa_node,
        "driver": vf.driver,
        "iommu_group": vf.iommu_group,
        "vpd": str(vf.vpd),
        "vpd_serial": vf.vpd_serial,
        "card_serial": vf.card_serial,
    }

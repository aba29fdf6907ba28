"""The simulated host as written: cards, PFs, VFs and what their VPD holds, the ground truth.

A `SimHost` is what readers of a simulated tree are checked against; its
manifest is the JSON form written beside the tree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Final

from offpath.jsonvalue import JsonValue
from offpath.pci.address import PciAddress
from offpath.sim.faults import Fault

MANIFEST_FORMAT: Final = 1
ROOT_BUS: Final = "pci0000:00"


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


def _has_vf(pf: SimPf, address: PciAddress) -> bool:
    return any(vf.address == address for vf in pf.vfs)


def settle_serials(pf: SimPf) -> SimPf:
    """Each VF's reader-visible serial: its own trustworthy VPD's, else its PF's (as Nova)."""
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

"""The host planner: lays out cards, PCI addresses, interface names, MACs and serials.

Everything drawn comes from one RNG seeded by the seed and the host name, so
a plan is reproducible and hosts of one demo differ. See
docs/hardware-ids.md for the ids and the layout choices.
"""

from __future__ import annotations

import random
from collections.abc import Container
from pathlib import Path
from typing import Final

from offpath.errors import SimOptionInvalid
from offpath.pci.address import MAX_BUS, PciAddress
from offpath.sim.model import SimCard, SimHost, SimPf, SimVf, VpdState, settle_serials
from offpath.sim.profile import MAX_IFNAME, HostProfile, expand

# The first card sits behind root port 00:02.0, its buses from 03 on.
FIRST_ROOT_PORT_SLOT: Final = 0x02
FIRST_CARD_BUS: Final = 0x03
FIRST_IOMMU_GROUP: Final = 16
SERIAL_CHARS: Final = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


def plan_layout(
    profile: HostProfile,
    out: Path,
    *,
    hostname: str,
    vf_count: int,
    pf_count: int,
    numa_nodes: int,
    seed: int,
) -> SimHost:
    """The host `profile` describes, without faults; options are taken as already checked."""
    planner = _Planner(
        profile,
        hostname=hostname,
        vf_count=vf_count,
        pf_count=pf_count,
        numa_nodes=numa_nodes,
        seed=seed,
    )
    return planner.plan(out)


def draw_serial(rng: random.Random, prefix: str, taken: Container[str | None]) -> str:
    """A card serial of `prefix` and five characters drawn from `rng`, not in `taken`."""
    while True:
        serial = prefix + "".join(rng.choice(SERIAL_CHARS) for _ in range(5))
        if serial not in taken:
            return serial


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
                settle_serials(
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
        serial = draw_serial(self.rng, prefix, self.serials)
        self.serials.add(serial)
        return serial


def _rid(address: PciAddress) -> int:
    return address.bus << 8 | address.slot << 3 | address.function


def _rid_address(bus: int, devfn: int) -> PciAddress:
    return PciAddress(0, bus + (devfn >> 8), (devfn >> 3) & 0x1F, devfn & 0x7)


def _format_mac(value: int) -> str:
    return ":".join(f"{(value >> shift) & 0xFF:02x}" for shift in range(40, -8, -8))

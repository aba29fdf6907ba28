"""Fault injection: a planned host changed as one simulator fault says, and nothing else.

A fault without an address hits its kind's default target (see `faults`).
A damaged VPD loses its serial; a VF's reader-visible serial follows (its own, else its PF's).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from typing import Final

from offpath.errors import SimFaultInvalid
from offpath.pci.address import PciAddress
from offpath.sim.faults import TARGETS, Fault, FaultKind, Target
from offpath.sim.model import SimCard, SimHost, SimPf, SimVf, VpdState, settle_serials
from offpath.sim.planner import draw_serial

VFIO_DRIVER: Final = "vfio-pci"


def apply_fault(host: SimHost, fault: Fault) -> SimHost:
    """`host` with `fault` applied at its address or its kind's default; else SimFaultInvalid."""
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
    if Fault(fault.kind, address) in host.faults:
        # Checked first: a repeated fault would otherwise be blamed on the
        # damage its first copy did ("has no VPD to damage").
        raise SimFaultInvalid(
            str(fault),
            f"{fault.kind} is already applied to {address}",
            hint="give each fault once, or name another address with KIND@ADDR",
        )
    if target is Target.PF and not isinstance(found, SimPf):
        raise SimFaultInvalid(str(fault), f"{address} is a VF; this fault applies to a PF")
    if target is Target.VF and not isinstance(found, SimVf):
        raise SimFaultInvalid(str(fault), f"{address} is a PF; this fault applies to a VF")
    if target is Target.VPD_HOLDER and found.vpd is VpdState.ABSENT:
        raise SimFaultInvalid(str(fault), f"{address} has no VPD to damage")
    cards = _map_pfs(host.cards, lambda pf: _fault_pf(pf, fault.kind, address))
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
    return settle_serials(pf)


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
    serial = draw_serial(rng, prefix, taken)

    def give_serial(pf: SimPf) -> SimPf:
        vfs = tuple(replace(vf, vpd_serial=serial) if vf.vpd_serial == "" else vf for vf in pf.vfs)
        return settle_serials(replace(pf, vfs=vfs))

    return _map_pfs(cards, give_serial)


def _map_pfs(cards: tuple[SimCard, ...], change: Callable[[SimPf], SimPf]) -> tuple[SimCard, ...]:
    return tuple(replace(card, pfs=tuple(change(pf) for pf in card.pfs)) for card in cards)

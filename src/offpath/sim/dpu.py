"""A simulated DPU: the representor plug that OVN's `representor` VIF plug provider does.

It plays one card: the MACs of its PFs as the host sees them, and how many
VFs each PF has. Plugging looks up the VF representor by (PF MAC, VF
number), as the provider does from its devlink table, and names it the way
BlueField names representors (`pf0vf3`). An unknown PF MAC or VF number
plugs nothing and says why, with the provider's words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from offpath.sim.model import SimCard

_MAC: Final = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")


@dataclass(frozen=True, slots=True)
class PlugResult:
    """What a plug did: the representor plugged, or why nothing was."""

    representor: str | None
    reason: str = ""

    @property
    def plugged(self) -> bool:
        """True when a representor was plugged."""
        return self.representor is not None


def normalise_mac(text: str) -> str | None:
    """`text` as a lower-case colon MAC; None when it is not a MAC (the provider parses it too)."""
    mac = text.strip().lower().replace("-", ":")
    return mac if _MAC.fullmatch(mac) else None


@dataclass(frozen=True, slots=True)
class SimDpu:
    """A simulated DPU card: its chassis hostname, its PFs' MACs, VFs per PF, its serial."""

    hostname: str
    pf_macs: Sequence[str]
    vfs: int
    serial: str | None = None

    @classmethod
    def of_card(cls, card: SimCard, *, hostname: str) -> SimDpu:
        """The DPU that plays a simulated host's card: the PF MACs the host sees, its serial."""
        return cls(
            hostname,
            tuple(pf.mac for pf in card.pfs),
            max((len(pf.vfs) for pf in card.pfs), default=0),
            card.serial,
        )

    def representor(self, pf_mac: str, vf_num: int) -> PlugResult:
        """The VF representor of (`pf_mac`, `vf_num`) on this card, or why there is none."""
        mac = normalise_mac(pf_mac)
        if mac is None:
            return PlugResult(None, f"invalid pf-mac {pf_mac!r}: not a MAC address")
        macs = [normalise_mac(known) for known in self.pf_macs]
        if mac not in macs:
            return PlugResult(
                None, f"no PF with MAC {mac} on {self.hostname} (PFs: {', '.join(self.pf_macs)})"
            )
        if not 0 <= vf_num < self.vfs:
            return PlugResult(
                None, f"PF {mac} on {self.hostname} has no VF {vf_num} ({self.vfs} VFs per PF)"
            )
        return PlugResult(f"pf{macs.index(mac)}vf{vf_num}")

    def plug(self, port_id: str, pf_mac: str, vf_num: int) -> PlugResult:
        """Plug the representor for `port_id`; the reason says, like OVN, why it did not."""
        found = self.representor(pf_mac, vf_num)
        if found.plugged:
            return found
        return PlugResult(
            None,
            f"No representor port found for lport: {port_id} pf-mac: '{pf_mac}' "
            f"vf-num: '{vf_num}': {found.reason}",
        )

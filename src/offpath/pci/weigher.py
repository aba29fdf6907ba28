"""Nova's PCIWeigher: a host's weight from its number of free PCI devices."""

from __future__ import annotations

from typing import Final

# Hosts with up to this many free devices are told apart.
WEIGHER_MAX_DEVICES: Final = 100


def pci_weight(free_devices: int, *, multiplier: float = 1.0) -> float:
    """Nova's PCIWeigher: fewer free PCI devices weigh more, to pack PCI users."""
    return (WEIGHER_MAX_DEVICES - min(free_devices, WEIGHER_MAX_DEVICES - 1)) * multiplier

"""Nova's PCIWeigher: a host's weight from its number of free PCI devices."""

from __future__ import annotations

from typing import Final, TypeVar

import numpy as np
import numpy.typing as npt

# Hosts with up to this many free devices are told apart.
WEIGHER_MAX_DEVICES: Final = 100

_Free = TypeVar("_Free", int, npt.NDArray[np.int64])


def pci_weight(free_devices: int, *, multiplier: float = 1.0) -> float:
    """Nova's PCIWeigher: fewer free PCI devices weigh more, to pack PCI users."""
    return float(_unscaled(free_devices)) * multiplier


def pci_weights(
    free_devices: npt.NDArray[np.int64], *, multiplier: float = 1.0
) -> npt.NDArray[np.float64]:
    """`pci_weight` of many hosts at once."""
    return _unscaled(free_devices).astype(np.float64) * multiplier


def _unscaled(free: _Free) -> _Free:
    # The one formula both forms share: numpy's minimum works on an int and an array.
    return WEIGHER_MAX_DEVICES - np.minimum(free, WEIGHER_MAX_DEVICES - 1)  # type: ignore[no-any-return]

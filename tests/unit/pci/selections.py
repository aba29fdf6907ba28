"""Pools built as a server builds them: from devices the specs selected once, at discovery."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from offpath.pci.device import PciDevice
from offpath.pci.numa import NumaCell
from offpath.pci.pools import PciPools
from offpath.pci.selection import SelectedDevice, select_devices
from offpath.pci.spec_list import DeviceSpecList


def selected(device: PciDevice, specs: DeviceSpecList) -> SelectedDevice:
    """The selection of a device a spec of `specs` selects."""
    (found,) = select_devices([device], specs)
    return found


def pools_of(
    specs: DeviceSpecList,
    devices: Iterable[PciDevice],
    *,
    taken: Iterable[PciDevice] = (),
    host: str = "",
    host_cells: Sequence[NumaCell] = (),
) -> PciPools:
    """The pools of the devices `specs` select; those in `taken` are in use."""
    return PciPools.build(
        select_devices(devices, specs),
        taken=select_devices(taken, specs),
        host=host,
        host_cells=host_cells,
    )

"""What an agent tells the control plane about its host: the devices its specs selected.

The report is the whole inventory every time, so a lost report is healed by
the next one; the conductor works out what was added, changed or removed.
"""

from __future__ import annotations

from dataclasses import dataclass

from offpath.errors import PrimitiveInvalid
from offpath.jsonvalue import JsonValue
from offpath.pci.numa import NumaCell
from offpath.pci.selection import SelectedDevice


@dataclass(frozen=True, slots=True)
class HostReport:
    """A host's selected devices, NUMA cells, and whether its driver serves remote-managed ports."""

    host: str
    devices: tuple[SelectedDevice, ...]
    numa_cells: tuple[NumaCell, ...] = ()
    driver_supports_remote_managed: bool = True

    def to_primitive(self) -> dict[str, JsonValue]:
        """Its JSON-safe form for RPC, which `from_primitive` reads back equal."""
        return {
            "host": self.host,
            "devices": [device.to_primitive() for device in self.devices],
            "numa_cells": [[cell.id, cell.socket] for cell in self.numa_cells],
            "driver_supports_remote_managed": self.driver_supports_remote_managed,
        }

    @classmethod
    def from_primitive(cls, data: object) -> HostReport:
        """The report `to_primitive` wrote; PrimitiveInvalid if `data` is not one."""
        if not isinstance(data, dict):
            raise PrimitiveInvalid("HostReport", f"expected an object, got {type(data).__name__}")
        host = data.get("host")
        devices = data.get("devices")
        cells = data.get("numa_cells", [])
        supports = data.get("driver_supports_remote_managed", True)
        if not isinstance(host, str) or not host:
            raise PrimitiveInvalid("HostReport", "field 'host' must be a non-empty string")
        if not isinstance(devices, list) or not isinstance(cells, list):
            raise PrimitiveInvalid("HostReport", "fields 'devices' and 'numa_cells' are lists")
        if not isinstance(supports, bool):
            raise PrimitiveInvalid("HostReport", "field 'driver_supports_remote_managed' is a bool")
        return cls(
            host=host,
            devices=tuple(SelectedDevice.from_primitive(item) for item in devices),
            numa_cells=tuple(_cell(item) for item in cells),
            driver_supports_remote_managed=supports,
        )


def _cell(item: object) -> NumaCell:
    if (
        isinstance(item, list)
        and len(item) == 2
        and isinstance(item[0], int)
        and not isinstance(item[0], bool)
        and (item[1] is None or (isinstance(item[1], int) and not isinstance(item[1], bool)))
    ):
        return NumaCell(item[0], item[1])
    raise PrimitiveInvalid("HostReport", f"a NUMA cell is [id, socket or null], not {item!r}")

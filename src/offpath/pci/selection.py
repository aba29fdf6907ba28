"""Which `[pci] device_spec` selected each device: decided once, at discovery.

Matching a spec may read sysfs (a `devname` is looked up again at every
match), so only discovery matches. What it decided travels on as
`SelectedDevice` records (over RPC, into the database), from which pools are
built anywhere without a spec list nor a sysfs tree.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from offpath.errors import OffpathError, PrimitiveInvalid
from offpath.jsonvalue import JsonValue
from offpath.pci.device import PciDevice
from offpath.pci.spec_list import DeviceSpecList
from offpath.primitive import PrimitiveFields

LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SelectedDevice:
    """A device a spec selected: the index of that spec and its tags that become pool keys."""

    device: PciDevice
    spec_index: int
    tags: Mapping[str, JsonValue] = field(default_factory=lambda: MappingProxyType({}))

    def to_primitive(self) -> dict[str, JsonValue]:
        """Its JSON-safe form, which `from_primitive` reads back equal."""
        return {
            "device": self.device.to_primitive(),
            "spec_index": self.spec_index,
            "tags": dict(self.tags),
        }

    @classmethod
    def from_primitive(cls, data: object) -> SelectedDevice:
        """The selection `to_primitive` wrote; PrimitiveInvalid if `data` is not one."""
        read = PrimitiveFields("SelectedDevice", data)
        device = read.nested("device")
        if device is None:
            raise PrimitiveInvalid("SelectedDevice", "field 'device' is missing")
        return cls(
            PciDevice.from_primitive(device),
            read.integer("spec_index"),
            MappingProxyType(read.json_map("tags")),
        )


def select_devices(
    devices: Iterable[PciDevice], specs: DeviceSpecList
) -> tuple[SelectedDevice, ...]:
    """The devices a spec selects (first match wins), in `devices` order; the others left out.

    As Nova's PCI tracker does, a device the specs cannot be checked against
    is skipped with a warning, and the others are still selected.
    """
    selected = []
    for device in devices:
        try:
            spec = specs.first_match(device)
        except OffpathError as exc:
            LOG.warning("PCI device %s skipped: %s", device.address, exc.message)
            continue
        if spec is not None:
            tags = MappingProxyType(spec.pool_tags())
            selected.append(SelectedDevice(device, spec.index, tags))
    return tuple(selected)

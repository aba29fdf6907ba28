"""The key of a PCI pool: what every device of one pool shares, as in Nova's PciDeviceStats.

The device facts (`numa_node`, `dev_type`) win over a spec tag of that name.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from offpath.jsonvalue import JsonValue
from offpath.pci.device import DevType, PciDevice

# Pools of these types get remote_managed "false" unless their spec says otherwise.
REMOTE_MANAGED_DEFAULTED: Final = frozenset({DevType.VF, DevType.PF, DevType.VDPA})
DEVICE_KEYS: Final = ("product_id", "vendor_id", "numa_node", "dev_type")


def _frozen(value: JsonValue) -> Hashable:
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, dict):
        return frozenset((key, _frozen(item)) for key, item in value.items())
    return value


@dataclass(frozen=True, slots=True)
class PoolKey:
    """What every device of one pool shares: Nova's pool dict without count and devices."""

    props: Mapping[str, JsonValue] = field(compare=False, hash=False)
    identity: frozenset[tuple[str, Hashable]] = field(repr=False)

    @classmethod
    def of(cls, props: Mapping[str, JsonValue]) -> PoolKey:
        """The key with these properties; equal properties give equal keys."""
        frozen = MappingProxyType(dict(props))
        return cls(frozen, frozenset((key, _frozen(value)) for key, value in frozen.items()))

    def __len__(self) -> int:
        return len(self.props)

    @property
    def dev_type(self) -> str | None:
        """The `dev_type` of the pool's devices."""
        value = self.props.get("dev_type")
        return None if value is None else str(value)

    @property
    def numa_node(self) -> JsonValue:
        """The NUMA node of the pool's devices (None when the host does not say)."""
        return self.props.get("numa_node")

    @property
    def address(self) -> str | None:
        """The parent PF's address for VFs, the device's own otherwise."""
        value = self.props.get("address")
        return None if value is None else str(value)


# Keys already made, by what they are made of: a host's VFs share a handful
# of keys, and every claim builds its host's pools again. Only tags of
# strings and nulls are reused (the usual ones): elsewhere 1 == True would
# hand out a key that shows the other value.
_MADE: dict[Hashable, PoolKey] = {}
_MADE_MAX = 4096


def pool_key(device: PciDevice, tags: Mapping[str, JsonValue]) -> PoolKey:
    """The key of the pool `device` joins with the pool `tags` of the spec that selected it."""
    if not all(value is None or isinstance(value, str) for value in tags.values()):
        return _make_key(device, tags)
    made_of = (
        device.product_id,
        device.vendor_id,
        device.numa_node,
        device.dev_type,
        device.pool_address,
        device.parent_ifname,
        frozenset(tags.items()),
    )
    found = _MADE.get(made_of)
    if found is None:
        if len(_MADE) >= _MADE_MAX:
            _MADE.clear()
        found = _MADE[made_of] = _make_key(device, tags)
    return found


def _make_key(device: PciDevice, tags: Mapping[str, JsonValue]) -> PoolKey:
    props: dict[str, JsonValue] = {
        "product_id": device.product_id,
        "vendor_id": device.vendor_id,
        "numa_node": device.numa_node,
        "dev_type": device.dev_type.value,
    }
    props.update((k, v) for k, v in tags.items() if k not in DEVICE_KEYS)
    # VFs pool per parent PF: placement sees one provider per PF.
    props["address"] = device.pool_address
    if device.parent_ifname:
        props["parent_ifname"] = device.parent_ifname
    if device.dev_type in REMOTE_MANAGED_DEFAULTED and props.get("remote_managed") is None:
        props["remote_managed"] = "false"
    return PoolKey.of(props)

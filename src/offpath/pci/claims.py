"""The claim state machine of a host's PCI devices: who holds what, PF and VFs kept exclusive.

Behaviour is that of Nova's PciDevice object: a PF in use makes its VFs unclaimable or
unavailable, a VF in use does the same to its PF, and freeing the last user
gives the family back; which members a transition touches is the one rule of
`family`. Every transition returns a new `DeviceStates`; one that fails
raises before anything is built, so it changes nothing. Each also has a
`*_changes` form returning only the states it changes, the device itself
last: what a database layer writes, one conditional UPDATE per state.

Where Nova is silent or inconsistent offpath chooses:

* A removed or deleted device has left the host: it is neither checked nor
  changed as a PF's child or a VF's sibling, and freeing a VF never brings
  back a removed PF (Nova would mark it available again).
* `PciDevicePFInvalidStatus` names the PF's status (Nova prints the VF's).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from offpath.errors import (
    PciDeviceInvalidOwner,
    PciDeviceInvalidStatus,
    PciDeviceNotFound,
    PciDevicePFInvalidStatus,
    PciDeviceVFInvalidStatus,
)
from offpath.pci.device import CHILD_TYPES, DevType, PciDevice
from offpath.pci.family import excluded_by, hangs_from, released_by

LOG = logging.getLogger(__name__)


class DeviceStatus(StrEnum):
    """Nova's PCI device statuses."""

    AVAILABLE = "available"
    CLAIMED = "claimed"
    ALLOCATED = "allocated"
    REMOVED = "removed"
    DELETED = "deleted"
    UNCLAIMABLE = "unclaimable"
    UNAVAILABLE = "unavailable"


IN_USE: Final = frozenset({DeviceStatus.CLAIMED, DeviceStatus.ALLOCATED})
GONE: Final = frozenset({DeviceStatus.REMOVED, DeviceStatus.DELETED})
_PARENT_OK: Final = (DeviceStatus.AVAILABLE, DeviceStatus.UNCLAIMABLE, DeviceStatus.UNAVAILABLE)
_BLOCKED: Final = frozenset({DeviceStatus.UNCLAIMABLE, DeviceStatus.UNAVAILABLE})


@dataclass(frozen=True, slots=True)
class DeviceState:
    """One device's claim state: its status, and the instance and request holding it."""

    address: str
    dev_type: DevType
    parent_addr: str | None = None
    status: DeviceStatus = DeviceStatus.AVAILABLE
    instance_uuid: str | None = None
    request_id: str | None = None

    @classmethod
    def of(cls, device: PciDevice) -> DeviceState:
        """The state of a newly discovered, free device."""
        return cls(device.address, device.dev_type, device.parent_addr)

    @property
    def in_use(self) -> bool:
        """True when claimed or allocated by an instance."""
        return self.status in IN_USE


@dataclass(frozen=True, slots=True)
class DeviceStates:
    """Every tracked device of one host, by address; transitions return a new object."""

    host: str
    devices: Mapping[str, DeviceState] = field(default_factory=dict)

    @classmethod
    def of(cls, host: str, states: Iterable[DeviceState]) -> DeviceStates:
        """Index `states` by address (a later duplicate replaces an earlier one)."""
        return cls(host, MappingProxyType({state.address: state for state in states}))

    def __iter__(self) -> Iterator[DeviceState]:
        return iter(self.devices.values())

    def get(self, address: str) -> DeviceState:
        """The state of `address`; PciDeviceNotFound if the host does not track it."""
        try:
            return self.devices[address]
        except KeyError:
            raise PciDeviceNotFound(self.host, address) from None

    def children(self, address: str) -> tuple[DeviceState, ...]:
        """The VFs and vDPA devices of PF `address` still on the host."""
        return tuple(
            dev
            for dev in self.devices.values()
            if dev.parent_addr == address and dev.dev_type in CHILD_TYPES and dev.status not in GONE
        )

    def parent(self, state: DeviceState) -> DeviceState | None:
        """The tracked PF of a VF or vDPA device still on the host, else None."""
        if state.parent_addr is None:
            return None
        parent = self.devices.get(state.parent_addr)
        if parent is None or parent.status in GONE:
            return None
        return parent if hangs_from(state.dev_type, parent.dev_type) else None

    def apply(self, changes: Iterable[DeviceState]) -> DeviceStates:
        """These states with `changes` (from a `*_changes` method) in place of the old ones."""
        devices = dict(self.devices)
        devices.update((state.address, state) for state in changes)
        return DeviceStates(self.host, MappingProxyType(devices))

    def claim(
        self, address: str, *, instance_uuid: str, request_id: str | None = None
    ) -> DeviceStates:
        """Claim an available device for an instance; its PF or its VFs stop being claimable."""
        return self.apply(
            self.claim_changes(address, instance_uuid=instance_uuid, request_id=request_id)
        )

    def allocate(self, address: str, *, instance_uuid: str) -> DeviceStates:
        """Allocate a free device or one this instance claimed; its family becomes unavailable."""
        return self.apply(self.allocate_changes(address, instance_uuid=instance_uuid))

    def free(self, address: str, *, instance_uuid: str | None = None) -> DeviceStates:
        """Free a claimed or allocated device (owner checked when given); its family follows."""
        return self.apply(self.free_changes(address, instance_uuid=instance_uuid))

    def remove(self, address: str) -> DeviceStates:
        """Mark a device that left the host removed; only an unused, unowned device may go."""
        return self.apply(self.remove_changes(address))

    def delete(self, address: str) -> DeviceStates:
        """Mark a removed device deleted (its record is gone for good)."""
        return self.apply(self.delete_changes(address))

    # -- transitions as changes: what a database writes, one conditional UPDATE each --

    def claim_changes(
        self, address: str, *, instance_uuid: str, request_id: str | None = None
    ) -> tuple[DeviceState, ...]:
        """The states `claim` changes (the device last); raises as `claim` does."""
        dev = self.get(address)
        if dev.status is not DeviceStatus.AVAILABLE:
            raise self._invalid_status(dev, (DeviceStatus.AVAILABLE,))
        excluded = excluded_by(_StatesFamily(self), dev)
        changes: list[DeviceState] = []
        if dev.dev_type is DevType.PF:
            busy = [child for child in excluded if child.status is not DeviceStatus.AVAILABLE]
            if busy and any(child.status not in _BLOCKED for child in busy):
                raise PciDeviceVFInvalidStatus(self.host, address)
            if busy:
                # Nova bug 1969496: such a family is inconsistent but not in use;
                # Nova lets the claim go with a warning, so does offpath.
                LOG.warning(
                    "PF %s:%s is available but some of its VFs are %s; claiming it anyway",
                    self.host,
                    address,
                    ", ".join(sorted({child.status.value for child in busy})),
                )
            changes.extend(replace(c, status=DeviceStatus.UNCLAIMABLE) for c in excluded)
        else:
            self._check_parent(dev)
            changes.extend(
                replace(pf, status=DeviceStatus.UNCLAIMABLE)
                for pf in excluded
                if pf.status is DeviceStatus.AVAILABLE
            )
        changes.append(
            replace(
                dev,
                status=DeviceStatus.CLAIMED,
                instance_uuid=instance_uuid,
                request_id=request_id if request_id is not None else dev.request_id,
            )
        )
        return self._changed(changes)

    def allocate_changes(self, address: str, *, instance_uuid: str) -> tuple[DeviceState, ...]:
        """The states `allocate` changes (the device last); raises as `allocate` does."""
        dev = self.get(address)
        if dev.status not in (DeviceStatus.AVAILABLE, DeviceStatus.CLAIMED):
            raise self._invalid_status(dev, (DeviceStatus.AVAILABLE, DeviceStatus.CLAIMED))
        if dev.status is DeviceStatus.CLAIMED and dev.instance_uuid != instance_uuid:
            raise PciDeviceInvalidOwner(
                self.host, address, owner=dev.instance_uuid, expected=instance_uuid
            )
        excluded = excluded_by(_StatesFamily(self), dev)
        if dev.dev_type is DevType.PF:
            ok = (DeviceStatus.AVAILABLE, DeviceStatus.UNCLAIMABLE)
            if any(child.status not in ok for child in excluded):
                raise PciDeviceVFInvalidStatus(self.host, address)
        else:
            self._check_parent(dev)
        changes = [replace(other, status=DeviceStatus.UNAVAILABLE) for other in excluded]
        changes.append(replace(dev, status=DeviceStatus.ALLOCATED, instance_uuid=instance_uuid))
        return self._changed(changes)

    def free_changes(
        self, address: str, *, instance_uuid: str | None = None
    ) -> tuple[DeviceState, ...]:
        """The states `free` changes (the device last); raises as `free` does."""
        dev = self.get(address)
        if dev.status not in IN_USE:
            raise self._invalid_status(dev, (DeviceStatus.ALLOCATED, DeviceStatus.CLAIMED))
        if instance_uuid is not None and dev.instance_uuid != instance_uuid:
            raise PciDeviceInvalidOwner(
                self.host, address, owner=dev.instance_uuid, expected=instance_uuid
            )
        released = released_by(_StatesFamily(self), dev, free=_available)
        changes = [
            replace(other, status=DeviceStatus.AVAILABLE)
            for other in released
            # A PF gives every child back; a child's PF comes back only from a block.
            if dev.dev_type is DevType.PF or other.status in _BLOCKED
        ]
        changes.append(
            replace(dev, status=DeviceStatus.AVAILABLE, instance_uuid=None, request_id=None)
        )
        return self._changed(changes)

    def remove_changes(self, address: str) -> tuple[DeviceState, ...]:
        """The state `remove` changes; raises as `remove` does."""
        dev = self.get(address)
        if dev.status not in _PARENT_OK:
            raise self._invalid_status(dev, _PARENT_OK)
        if dev.instance_uuid is not None:
            # The status says unused; an owner says otherwise, and the owner wins.
            raise PciDeviceInvalidOwner(self.host, address, owner=dev.instance_uuid, expected=None)
        return self._changed(
            [replace(dev, status=DeviceStatus.REMOVED, instance_uuid=None, request_id=None)]
        )

    def delete_changes(self, address: str) -> tuple[DeviceState, ...]:
        """The state `delete` changes; raises as `delete` does."""
        dev = self.get(address)
        if dev.status is not DeviceStatus.REMOVED:
            raise self._invalid_status(dev, (DeviceStatus.REMOVED,))
        return self._changed([replace(dev, status=DeviceStatus.DELETED)])

    def _changed(self, states: Iterable[DeviceState]) -> tuple[DeviceState, ...]:
        return tuple(state for state in states if self.devices.get(state.address) != state)

    def _check_parent(self, dev: DeviceState) -> None:
        parent = self.parent(dev)
        if parent is not None and parent.status not in _PARENT_OK:
            raise PciDevicePFInvalidStatus(
                self.host,
                parent.address,
                vf_address=dev.address,
                status=parent.status,
                expected=_PARENT_OK,
            )

    def _invalid_status(
        self, dev: DeviceState, expected: tuple[DeviceStatus, ...]
    ) -> PciDeviceInvalidStatus:
        return PciDeviceInvalidStatus(self.host, dev.address, status=dev.status, expected=expected)


def _available(state: DeviceState) -> bool:
    return state.status is DeviceStatus.AVAILABLE


@dataclass(frozen=True, slots=True)
class _StatesFamily:
    """The PF/VF links of claim states, as the exclusivity rule reads them."""

    states: DeviceStates

    def pf_of(self, member: DeviceState, /) -> DeviceState | None:
        return self.states.parent(member)

    def children_of(self, member: DeviceState, /) -> Sequence[DeviceState]:
        if member.dev_type is not DevType.PF:
            return ()
        return self.states.children(member.address)

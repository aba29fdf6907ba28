"""The claim state machine of a host's PCI devices: who holds what, PF and VFs kept exclusive.

Behaviour is Nova's (spec §3.6): a PF in use makes its VFs unclaimable or
unavailable, a VF in use does the same to its PF, and freeing the last user
gives the family back. Every transition returns a new `DeviceStates`; one
that fails raises before anything is built, so it changes nothing.

Where Nova is silent or inconsistent offpath chooses:

* A removed or deleted device has left the host: it is neither checked nor
  changed as a PF's child or a VF's sibling, and freeing a VF never brings
  back a removed PF (Nova would mark it available again).
* `PciDevicePFInvalidStatus` names the PF's status (Nova prints the VF's).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
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
            if dev.parent_addr == address and dev.status not in GONE
        )

    def parent(self, state: DeviceState) -> DeviceState | None:
        """The tracked PF of a VF or vDPA device still on the host, else None."""
        if state.dev_type not in CHILD_TYPES or state.parent_addr is None:
            return None
        parent = self.devices.get(state.parent_addr)
        return None if parent is None or parent.status in GONE else parent

    def claim(
        self, address: str, *, instance_uuid: str, request_id: str | None = None
    ) -> DeviceStates:
        """Claim an available device for an instance; its PF or its VFs stop being claimable."""
        dev = self.get(address)
        if dev.status is not DeviceStatus.AVAILABLE:
            raise self._invalid_status(dev, (DeviceStatus.AVAILABLE,))
        changes: list[DeviceState] = []
        if dev.dev_type is DevType.PF:
            children = self.children(address)
            busy = [child for child in children if child.status is not DeviceStatus.AVAILABLE]
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
            changes.extend(replace(c, status=DeviceStatus.UNCLAIMABLE) for c in children)
        else:
            parent = self._checked_parent(dev)
            if parent is not None and parent.status is DeviceStatus.AVAILABLE:
                changes.append(replace(parent, status=DeviceStatus.UNCLAIMABLE))
        changes.append(
            replace(
                dev,
                status=DeviceStatus.CLAIMED,
                instance_uuid=instance_uuid,
                request_id=request_id if request_id is not None else dev.request_id,
            )
        )
        return self._with(changes)

    def allocate(self, address: str, *, instance_uuid: str) -> DeviceStates:
        """Allocate a free device or one this instance claimed; its family becomes unavailable."""
        dev = self.get(address)
        if dev.status not in (DeviceStatus.AVAILABLE, DeviceStatus.CLAIMED):
            raise self._invalid_status(dev, (DeviceStatus.AVAILABLE, DeviceStatus.CLAIMED))
        if dev.status is DeviceStatus.CLAIMED and dev.instance_uuid != instance_uuid:
            raise PciDeviceInvalidOwner(
                self.host, address, owner=dev.instance_uuid, expected=instance_uuid
            )
        changes: list[DeviceState] = []
        if dev.dev_type is DevType.PF:
            children = self.children(address)
            ok = (DeviceStatus.AVAILABLE, DeviceStatus.UNCLAIMABLE)
            if any(child.status not in ok for child in children):
                raise PciDeviceVFInvalidStatus(self.host, address)
            changes.extend(replace(c, status=DeviceStatus.UNAVAILABLE) for c in children)
        else:
            parent = self._checked_parent(dev)
            if parent is not None:
                changes.append(replace(parent, status=DeviceStatus.UNAVAILABLE))
        changes.append(replace(dev, status=DeviceStatus.ALLOCATED, instance_uuid=instance_uuid))
        return self._with(changes)

    def free(self, address: str, *, instance_uuid: str | None = None) -> DeviceStates:
        """Free a claimed or allocated device (owner checked when given); its family follows."""
        dev = self.get(address)
        if dev.status not in IN_USE:
            raise self._invalid_status(dev, (DeviceStatus.ALLOCATED, DeviceStatus.CLAIMED))
        if instance_uuid is not None and dev.instance_uuid != instance_uuid:
            raise PciDeviceInvalidOwner(
                self.host, address, owner=dev.instance_uuid, expected=instance_uuid
            )
        changes: list[DeviceState] = []
        if dev.dev_type is DevType.PF:
            changes.extend(
                replace(c, status=DeviceStatus.AVAILABLE) for c in self.children(address)
            )
        else:
            parent = self.parent(dev)
            if parent is not None and parent.status in _BLOCKED:
                siblings = self.children(parent.address)
                if all(
                    s.status is DeviceStatus.AVAILABLE for s in siblings if s.address != address
                ):
                    changes.append(replace(parent, status=DeviceStatus.AVAILABLE))
        changes.append(
            replace(dev, status=DeviceStatus.AVAILABLE, instance_uuid=None, request_id=None)
        )
        return self._with(changes)

    def remove(self, address: str) -> DeviceStates:
        """Mark a device that left the host removed; only an unused, unowned device may go."""
        dev = self.get(address)
        if dev.status not in _PARENT_OK:
            raise self._invalid_status(dev, _PARENT_OK)
        if dev.instance_uuid is not None:
            # The status says unused; an owner says otherwise, and the owner wins.
            raise PciDeviceInvalidOwner(self.host, address, owner=dev.instance_uuid, expected=None)
        return self._with(
            [replace(dev, status=DeviceStatus.REMOVED, instance_uuid=None, request_id=None)]
        )

    def delete(self, address: str) -> DeviceStates:
        """Mark a removed device deleted (its record is gone for good)."""
        dev = self.get(address)
        if dev.status is not DeviceStatus.REMOVED:
            raise self._invalid_status(dev, (DeviceStatus.REMOVED,))
        return self._with([replace(dev, status=DeviceStatus.DELETED)])

    def _checked_parent(self, dev: DeviceState) -> DeviceState | None:
        parent = self.parent(dev)
        if parent is not None and parent.status not in _PARENT_OK:
            raise PciDevicePFInvalidStatus(
                self.host,
                parent.address,
                vf_address=dev.address,
                status=parent.status,
                expected=_PARENT_OK,
            )
        return parent

    def _invalid_status(
        self, dev: DeviceState, expected: tuple[DeviceStatus, ...]
    ) -> PciDeviceInvalidStatus:
        return PciDeviceInvalidStatus(self.host, dev.address, status=dev.status, expected=expected)

    def _with(self, changes: Iterable[DeviceState]) -> DeviceStates:
        devices = dict(self.devices)
        devices.update((state.address, state) for state in changes)
        return DeviceStates(self.host, MappingProxyType(devices))

"""Neutron vnic types, and the sets of them Nova treats alike."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from offpath.errors import VnicTypeInvalid
from offpath.pci.device import DevType


class VnicType(StrEnum):
    """A port's `binding:vnic_type`."""

    NORMAL = "normal"
    DIRECT = "direct"
    MACVTAP = "macvtap"
    DIRECT_PHYSICAL = "direct-physical"
    BAREMETAL = "baremetal"
    VIRTIO_FORWARDER = "virtio-forwarder"
    VDPA = "vdpa"
    ACCELERATOR_DIRECT = "accelerator-direct"
    ACCELERATOR_DIRECT_PHYSICAL = "accelerator-direct-physical"
    REMOTE_MANAGED = "remote-managed"

    @classmethod
    def parse(cls, value: object) -> VnicType:
        """The vnic type named by `value`; None or "" mean normal, as for a port without one."""
        if value is None or value == "":
            return cls.NORMAL
        if isinstance(value, str):
            try:
                return cls(value)
            except ValueError:
                pass
        raise VnicTypeInvalid(value, known=[member.value for member in cls])


# Ports of these types need a PCI device, hence a PCI request.
SRIOV_VNIC_TYPES: Final = frozenset(
    {
        VnicType.DIRECT,
        VnicType.MACVTAP,
        VnicType.DIRECT_PHYSICAL,
        VnicType.VIRTIO_FORWARDER,
        VnicType.VDPA,
        VnicType.REMOTE_MANAGED,
    }
)

# The guest sees the device itself: no virtio model, detached around
# suspend, snapshot and live migration.
DIRECT_PASSTHROUGH_VNIC_TYPES: Final = frozenset(
    {
        VnicType.DIRECT,
        VnicType.DIRECT_PHYSICAL,
        VnicType.ACCELERATOR_DIRECT,
        VnicType.ACCELERATOR_DIRECT_PHYSICAL,
        VnicType.REMOTE_MANAGED,
        VnicType.VDPA,
    }
)

_REQUEST_DEV_TYPES: Final = {
    VnicType.DIRECT_PHYSICAL: DevType.PF,
    VnicType.VDPA: DevType.VDPA,
}


def is_remote_managed(vnic_type: str | None) -> bool:
    """True only for exactly `remote-managed`."""
    return vnic_type == VnicType.REMOTE_MANAGED.value


def needs_pci_request(vnic_type: VnicType) -> bool:
    """True for the SR-IOV vnic types, whose ports take a PCI device."""
    return vnic_type in SRIOV_VNIC_TYPES


def is_direct_passthrough(vnic_type: VnicType) -> bool:
    """True when the guest gets the device itself rather than a virtio NIC."""
    return vnic_type in DIRECT_PASSTHROUGH_VNIC_TYPES


def request_dev_type(vnic_type: VnicType) -> DevType | None:
    """The `dev_type` a port's PCI request names; None lets pools pick VFs by elimination."""
    return _REQUEST_DEV_TYPES.get(vnic_type)

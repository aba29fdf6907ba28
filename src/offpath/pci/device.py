"""One PCI function as discovery sees it: the record every later layer reads."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from offpath.pci.vpd import VpdRecord

# PCI base class 0x02: network controllers.
NETWORK_CLASS_PREFIX = "02"


class DevType(StrEnum):
    """Nova's `dev_type` strings."""

    PCI = "type-PCI"
    PF = "type-PF"
    VF = "type-VF"
    VDPA = "vdpa"


# Functions that live under a PF: in use, they exclude it, and it them.
CHILD_TYPES: Final = frozenset({DevType.VF, DevType.VDPA})


@dataclass(frozen=True, slots=True)
class PciDevice:
    """One PCI function; `exclusion` says why it could not be read fully.

    `mac_address` and `netdev` are the function's own network interface;
    `parent_ifname`, `pf_mac_address` and `vf_num` describe a VF's place under
    its PF. `vpd` is the function's own VPD; `card_serial_number` comes from
    it or, for a VF without one, from its PF's (`serial_source` says which).
    `network_caps` are the netdev's offload features; `network_caps_known`
    is False when the source cannot read them (sysfs has no ethtool view).
    `notes` are problems that did not stop the read (damaged VPD, an
    unreadable optional file).
    """

    address: str
    vendor_id: str
    product_id: str
    dev_type: DevType
    device_class: str | None = None
    parent_addr: str | None = None
    numa_node: int | None = None
    driver: str | None = None
    iommu_group: int | None = None
    netdev: str | None = None
    mac_address: str | None = None
    parent_ifname: str | None = None
    vf_num: int | None = None
    pf_mac_address: str | None = None
    card_serial_number: str | None = None
    vpd: VpdRecord | None = None
    network_caps: tuple[str, ...] = ()
    eswitch_mode: str | None = None
    sriov_totalvfs: int | None = None
    sriov_numvfs: int | None = None
    exclusion: str | None = None
    serial_source: str | None = None
    vdpa_device: str | None = None
    network_caps_known: bool = True
    notes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """Nova's `label_<vendor>_<product>`."""
        return f"label_{self.vendor_id}_{self.product_id}"

    @property
    def is_network(self) -> bool:
        """True for a network controller (PCI class 0x02xxxx)."""
        return (self.device_class or "").startswith(NETWORK_CLASS_PREFIX)

    @property
    def pool_address(self) -> str:
        """The `address` pool key: the parent PF's for a VF, else the device's own."""
        return self.parent_addr or self.address

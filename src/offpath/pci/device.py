"""One PCI function as discovery sees it: the record every later layer reads."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from offpath.pci.vpd import VpdRecord


class DevType(StrEnum):
    """Nova's `dev_type` strings."""

    PCI = "type-PCI"
    PF = "type-PF"
    VF = "type-VF"
    VDPA = "vdpa"


@dataclass(frozen=True, slots=True)
class PciDevice:
    """One PCI function; `exclusion` says why it could not be read fully (decision D8)."""

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

    @property
    def label(self) -> str:
        """Nova's `label_<vendor>_<product>`."""
        return f"label_{self.vendor_id}_{self.product_id}"

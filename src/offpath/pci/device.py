"""One PCI function as discovery sees it: the record every later layer reads."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from offpath.jsonvalue import JsonValue
from offpath.pci.vpd import VpdRecord
from offpath.primitive import PrimitiveFields

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

    def to_primitive(self) -> dict[str, JsonValue]:
        """Its JSON-safe form (RPC, database), which `from_primitive` reads back equal."""
        return {
            "address": self.address,
            "vendor_id": self.vendor_id,
            "product_id": self.product_id,
            "dev_type": self.dev_type.value,
            "device_class": self.device_class,
            "parent_addr": self.parent_addr,
            "numa_node": self.numa_node,
            "driver": self.driver,
            "iommu_group": self.iommu_group,
            "netdev": self.netdev,
            "mac_address": self.mac_address,
            "parent_ifname": self.parent_ifname,
            "vf_num": self.vf_num,
            "pf_mac_address": self.pf_mac_address,
            "card_serial_number": self.card_serial_number,
            "vpd": None if self.vpd is None else self.vpd.to_primitive(),
            "network_caps": list(self.network_caps),
            "eswitch_mode": self.eswitch_mode,
            "sriov_totalvfs": self.sriov_totalvfs,
            "sriov_numvfs": self.sriov_numvfs,
            "exclusion": self.exclusion,
            "serial_source": self.serial_source,
            "vdpa_device": self.vdpa_device,
            "network_caps_known": self.network_caps_known,
            "notes": list(self.notes),
        }

    @classmethod
    def from_primitive(cls, data: object) -> PciDevice:
        """The device `to_primitive` wrote; PrimitiveInvalid if `data` is not one."""
        read = PrimitiveFields("PciDevice", data)
        vpd = read.nested("vpd")
        return cls(
            address=read.text("address"),
            vendor_id=read.text("vendor_id"),
            product_id=read.text("product_id"),
            dev_type=read.choice("dev_type", DevType),
            device_class=read.optional_text("device_class"),
            parent_addr=read.optional_text("parent_addr"),
            numa_node=read.optional_int("numa_node"),
            driver=read.optional_text("driver"),
            iommu_group=read.optional_int("iommu_group"),
            netdev=read.optional_text("netdev"),
            mac_address=read.optional_text("mac_address"),
            parent_ifname=read.optional_text("parent_ifname"),
            vf_num=read.optional_int("vf_num"),
            pf_mac_address=read.optional_text("pf_mac_address"),
            card_serial_number=read.optional_text("card_serial_number"),
            vpd=None if vpd is None else VpdRecord.from_primitive(vpd),
            network_caps=read.texts("network_caps"),
            eswitch_mode=read.optional_text("eswitch_mode"),
            sriov_totalvfs=read.optional_int("sriov_totalvfs"),
            sriov_numvfs=read.optional_int("sriov_numvfs"),
            exclusion=read.optional_text("exclusion"),
            serial_source=read.optional_text("serial_source"),
            vdpa_device=read.optional_text("vdpa_device"),
            network_caps_known=read.flag("network_caps_known", default=True),
            notes=read.texts("notes"),
        )

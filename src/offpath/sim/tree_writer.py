"""The tree writer: the files and links of a planned host, laid out and formatted as Linux does.

Real device directories sit under `devices/pci0000:00/<root port>/`, with
relative symlinks where the kernel has them (`bus/pci/devices`, `driver`,
`iommu_group`, `physfn`, `virtfnN`, `class/net`) and files holding exactly
what the kernel prints. See docs/hardware-ids.md for the layout choices.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from offpath.pci.address import PciAddress
from offpath.sim.model import ROOT_BUS, SimCard, SimHost, SimPf, SimVf, VpdState
from offpath.sim.profile import FunctionIds, HostProfile, expand
from offpath.sim.vpd_image import corrupt_checksum, encode_vpd, truncate

# Illustrative: readers ignore bridges (docs/hardware-ids.md).
ROOT_PORT: Final = FunctionIds(
    vendor_id="8086",
    device_id="2030",
    subsystem_vendor_id="8086",
    subsystem_device_id="0000",
    device_class=0x060400,
    driver="pcieport",
)
FIRST_IFINDEX: Final = 4


def write_tree(root: Path, profile: HostProfile, host: SimHost) -> None:
    """Write the sysfs tree of `host` under `root`, an existing empty directory."""
    _TreeWriter(root, profile, host).write()


class _TreeWriter:
    """Writes the files and links of a planned host, in the kernel's formats.

    Paths are plain strings and files are written with os.open: a host of
    2048 VFs is some 50,000 creations, and pathlib's overhead doubled the time.
    """

    def __init__(self, root: Path, profile: HostProfile, host: SimHost) -> None:
        self.root = str(root)
        self.profile = profile
        self.host = host
        self.ifindex = FIRST_IFINDEX
        self.drivers: set[str] = set()

    def write(self) -> None:
        for name in (
            "bus",
            "bus/pci",
            "bus/pci/devices",
            "bus/pci/drivers",
            "bus/pci/slots",
            "class",
            "class/net",
            "kernel",
            "kernel/iommu_groups",
            "devices",
            f"devices/{ROOT_BUS}",
        ):
            _mkdir(f"{self.root}/{name}")
        for card in self.host.cards:
            self._card(card)

    def _card(self, card: SimCard) -> None:
        port_dir = self._function(
            card.root_port,
            f"devices/{ROOT_BUS}",
            ROOT_PORT,
            numa_node=card.numa_node,
            driver=ROOT_PORT.driver,
            iommu_group=card.root_port_group,
        )
        _write_files(
            port_dir,
            {
                "secondary_bus_number": f"{card.buses[0]}\n",
                "subordinate_bus_number": f"{card.buses[1]}\n",
            },
        )
        port = f"devices/{ROOT_BUS}/{card.root_port}"
        slot_dir = f"{self.root}/bus/pci/slots/{card.slot}"
        _mkdir(slot_dir)
        _write_files(slot_dir, {"address": f"0000:{card.buses[0]:02x}:00\n"})
        for pf in card.pfs:
            self._pf(card, pf, port)

    def _pf(self, card: SimCard, pf: SimPf, port: str) -> None:
        path = self._function(
            pf.address,
            port,
            self.profile.pf,
            numa_node=pf.numa_node,
            driver=pf.driver,
            iommu_group=pf.iommu_group,
        )
        _write_files(
            path,
            {
                "enable": "1\n",
                "irq": f"{16 + pf.index % 8}\n",
                "sriov_totalvfs": f"{pf.sriov_totalvfs}\n",
                "sriov_numvfs": f"{len(pf.vfs)}\n",
                "sriov_offset": f"{pf.sriov_offset}\n",
                "sriov_stride": "1\n",
                # The kernel prints this one with "%x": no 0x, no zero padding.
                "sriov_vf_device": f"{int(self.profile.vf.device_id, 16):x}\n",
                "sriov_drivers_autoprobe": "1\n",
            },
        )
        self._vpd(path, pf.vpd, self._image(card, pf.index, card.serial))
        for vf in pf.vfs:
            _symlink(f"../{vf.address}", f"{path}/virtfn{vf.vf_num}")
            self._vf(card, pf, vf, port)
        naming = self.profile.netdev
        names = {"slot": card.slot, "card": card.index, "pf": pf.index}
        net = self._netdev(path, pf.address, pf.ifname)
        files = {"dev_id": "0x0\n", "dev_port": "0\n"}
        if pf.mac_readable:
            files["address"] = f"{pf.mac}\n"
        if naming.pf_phys_port_name is not None:
            files["phys_port_name"] = f"{expand(naming.pf_phys_port_name, names)}\n"
        if naming.phys_switch_id:
            files["phys_switch_id"] = f"{_system_guid(card.pfs[0].mac)}\n"
        self.ifindex += 1
        files.update({"ifindex": f"{self.ifindex}\n", "operstate": "up\n", "type": "1\n"})
        _write_files(net, files)
        if naming.eswitch_mode is not None:
            _mkdir(f"{net}/compat")
            _mkdir(f"{net}/compat/devlink")
            _write_files(f"{net}/compat/devlink", {"mode": f"{naming.eswitch_mode}\n"})

    def _vf(self, card: SimCard, pf: SimPf, vf: SimVf, port: str) -> None:
        path = self._function(
            vf.address,
            port,
            self.profile.vf,
            numa_node=vf.numa_node,
            driver=vf.driver,
            iommu_group=vf.iommu_group,
        )
        _symlink(f"../{pf.address}", f"{path}/physfn")
        self._vpd(path, vf.vpd, self._image(card, pf.index, vf.vpd_serial))
        if vf.ifname is None:
            return
        net = self._netdev(path, vf.address, vf.ifname)
        files = {"dev_id": "0x0\n", "dev_port": "0\n", "address": f"{vf.mac}\n"}
        naming = self.profile.netdev.vf_phys_port_name
        if naming is not None:
            names = {"slot": card.slot, "card": card.index, "pf": pf.index, "vf": vf.vf_num}
            files["phys_port_name"] = f"{expand(naming, names)}\n"
        _write_files(net, files)

    def _function(
        self,
        address: PciAddress,
        port: str,
        ids: FunctionIds,
        *,
        numa_node: int | None,
        driver: str,
        iommu_group: int,
    ) -> str:
        device = f"{port}/{address}"
        path = f"{self.root}/{device}"
        _mkdir(path)
        _write_files(
            path,
            {
                "vendor": f"0x{ids.vendor_id}\n",
                "device": f"0x{ids.device_id}\n",
                "subsystem_vendor": f"0x{ids.subsystem_vendor_id}\n",
                "subsystem_device": f"0x{ids.subsystem_device_id}\n",
                "class": f"0x{ids.device_class:06x}\n",
                "numa_node": f"{_numa_text(numa_node)}\n",
            },
        )
        _symlink(f"../../../{device}", f"{self.root}/bus/pci/devices/{address}")
        driver_dir = f"bus/pci/drivers/{driver}"
        if driver not in self.drivers:
            self.drivers.add(driver)
            _mkdir(f"{self.root}/{driver_dir}")
        up = "../" * (device.count("/") + 1)
        _symlink(f"{up}{driver_dir}", f"{path}/driver")
        _symlink(f"../../../../{device}", f"{self.root}/{driver_dir}/{address}")
        group = f"kernel/iommu_groups/{iommu_group}"
        _mkdir(f"{self.root}/{group}")
        _mkdir(f"{self.root}/{group}/devices")
        _symlink(f"../../../../{device}", f"{self.root}/{group}/devices/{address}")
        _symlink(f"{up}{group}", f"{path}/iommu_group")
        return path

    def _netdev(self, device_path: str, address: PciAddress, ifname: str) -> str:
        # A function has at most one netdev here, so net/ is always new.
        _mkdir(f"{device_path}/net")
        net = f"{device_path}/net/{ifname}"
        _mkdir(net)
        _symlink(f"../../../{address}", f"{net}/device")
        _symlink(f"../../{net[len(self.root) + 1 :]}", f"{self.root}/class/net/{ifname}")
        return net

    def _image(self, card: SimCard, pf_index: int, serial: str | None) -> bytes:
        vpd = self.profile.vpd
        values = {"serial": serial or "", "uuid": card.vpd_uuid, "card": card.index, "pf": pf_index}
        read_only = {keyword: expand(value, values) for keyword, value in vpd.read_only}
        if serial:
            # A VF's own serial lands in SN even for a card whose VPD has none.
            read_only["SN"] = serial
        read_write = {keyword: expand(value, values) for keyword, value in vpd.read_write}
        return encode_vpd(
            expand(vpd.card_name, values), read_only, read_write or None, rw_size=vpd.rw_size
        )

    def _vpd(self, path: str, state: VpdState, image: bytes) -> None:
        if state is VpdState.ABSENT:
            return
        if state is VpdState.BAD_CHECKSUM:
            image = corrupt_checksum(image)
        elif state is VpdState.TRUNCATED:
            image = truncate(image, _truncation_point(image))
        _write(f"{path}/vpd", image)


def _mkdir(path: str) -> None:
    os.mkdir(path)  # noqa: PTH102 - see _TreeWriter


def _symlink(target: str, link: str) -> None:
    os.symlink(target, link)  # noqa: PTH211 - see _TreeWriter


def _write(path: str, content: bytes) -> None:
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(handle, content)
    finally:
        os.close(handle)


def _write_files(directory: str, files: dict[str, str]) -> None:
    for name, content in files.items():
        _write(f"{directory}/{name}", content.encode("ascii"))


def _system_guid(mac: str) -> str:
    """The card's GUID as mlx5 derives it from the base MAC: OUI, 0300, the rest."""
    digits = mac.replace(":", "")
    return f"{digits[:6]}0300{digits[6:]}"


def _numa_text(node: int | None) -> str:
    return "-1" if node is None else str(node)


def _truncation_point(image: bytes) -> int:
    """In the middle of the SN value when there is one, else in the middle of VPD-R."""
    # Walk keywords properly so a value that happens to contain "SN" is not taken for it.
    pos = 3 + (image[1] | image[2] << 8)
    stop = min(len(image), pos + 3 + (image[pos + 1] | image[pos + 2] << 8))
    at = pos + 3
    while at + 3 <= stop:
        length = image[at + 2]
        if image[at : at + 2] == b"SN":
            return at + 3 + max(1, length // 2)
        at += 3 + length
    return (pos + stop) // 2

"""Many simulated hosts at once, as inventory reports: for scale tests and benchmarks.

No sysfs tree is written: each host's devices are made as discovery would
report a BlueField-2 host (2 ports, each PF with its VFs, a card serial per
card) and selected by the real `[pci] device_spec` matcher, so the reports
are what real agents would send, at a fraction of the cost.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from offpath.pci.device import DevType, PciDevice
from offpath.pci.host_report import HostReport
from offpath.pci.numa import NumaCell
from offpath.pci.selection import select_devices
from offpath.pci.spec_list import DeviceSpecList

BLUEFIELD2_VENDOR = "15b3"
BLUEFIELD2_PF = "a2d6"
BLUEFIELD2_VF = "101e"

# The example nova.conf's specs: VFs remote-managed (no physnet), PFs on a physnet.
DPU_DEVICE_SPEC: tuple[str, ...] = (
    '{"vendor_id": "15b3", "product_id": "101e", "physical_network": null, '
    '"remote_managed": "true"}',
    '{"vendor_id": "15b3", "product_id": "a2d6", "physical_network": "physnet-dpu", '
    '"remote_managed": "false"}',
)


def host_devices(index: int, *, pfs: int = 2, vfs: int = 64) -> list[PciDevice]:
    """Host `index`'s PFs and VFs: one card, PF `p` on bus 3+p, NUMA node p % 2."""
    serial = f"MT{index:010d}"
    devices: list[PciDevice] = []
    for p in range(pfs):
        bus = 3 + p
        pf_address = f"0000:{bus:02x}:00.0"
        pf_mac = f"b8:ce:f6:{(index >> 8) & 0xFF:02x}:{index & 0xFF:02x}:{p:02x}"
        devices.append(
            PciDevice(
                address=pf_address,
                vendor_id=BLUEFIELD2_VENDOR,
                product_id=BLUEFIELD2_PF,
                dev_type=DevType.PF,
                device_class="020000",
                numa_node=p % 2,
                netdev=f"p{p}",
                mac_address=pf_mac,
                card_serial_number=serial,
                sriov_totalvfs=vfs,
                sriov_numvfs=vfs,
            )
        )
        for v in range(vfs):
            slot, function = divmod(v + 1, 8)
            devices.append(
                PciDevice(
                    address=f"0000:{bus + 0x40:02x}:{slot:02x}.{function}",
                    vendor_id=BLUEFIELD2_VENDOR,
                    product_id=BLUEFIELD2_VF,
                    dev_type=DevType.VF,
                    device_class="020000",
                    parent_addr=pf_address,
                    numa_node=p % 2,
                    parent_ifname=f"p{p}",
                    vf_num=v,
                    pf_mac_address=pf_mac,
                    card_serial_number=serial,
                    serial_source="pf",
                )
            )
    return devices


def fleet_reports(
    count: int,
    *,
    pfs: int = 2,
    vfs: int = 64,
    prefix: str = "compute",
    device_spec: Sequence[str] = DPU_DEVICE_SPEC,
) -> Iterator[HostReport]:
    """Reports of `count` hosts named `<prefix>-00001`..., devices selected by `device_spec`."""
    # Specs by vendor and product read no sysfs; the root is never consulted.
    specs = DeviceSpecList.from_values(device_spec, sysfs_root=Path("/nonexistent"))
    cells = tuple(NumaCell(node, socket=node) for node in range(2))
    for index in range(1, count + 1):
        yield HostReport(
            host=f"{prefix}-{index:05d}",
            devices=select_devices(host_devices(index, pfs=pfs, vfs=vfs), specs),
            numa_cells=cells,
        )

"""Discovery through libvirt-python and libvirt's test driver: the same records as from sysfs.

The simulator writes a sysfs tree; `nodedev_xml_for` writes the node devices
libvirt would report for that host; libvirt's test driver serves them through
the real API. Both readers must then agree on every field, except where one
source cannot know (see offpath.pci.discovery.nodedev_xml):

* `network_caps_known`: sysfs cannot read netdev features, libvirt can;
* `notes`: each source words (or hides) the problems it met;
* `vpd`: a VPD that sysfs salvaged with damage is not shown by libvirt;
* `eswitch_mode`: libvirt only tells "switchdev" (a netdev feature), so a
  legacy eswitch that sysfs reads is None there;
* `driver`: libvirt's *test driver* drops `<driver>` from the XML it is
  given (real libvirt reports it), so it is compared on the pure path only.

libvirt 9.0's test driver also refuses vDPA node devices, so vDPA is
covered by the pure XML tests.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from offpath.compute.libvirt_nodedev import discover_libvirt, read_nodedev_xml
from offpath.errors import LibvirtUnavailable
from offpath.pci.device import PciDevice
from offpath.pci.discovery.nodedev_xml import devices_from_nodedevs, nodedev_xml_for, parse_nodedev
from offpath.pci.discovery.sysfs_reader import discover_sysfs
from offpath.sim.faults import FaultKind, parse_fault
from offpath.sim.host import write_host
from offpath.sim.profile import load_profile

PROFILES = ("bluefield2", "bluefield3", "cx6dx", "e810")


def comparable(dev: PciDevice, *, driver: bool) -> PciDevice:
    """`dev` without the fields that depend on the source (module docstring)."""
    vpd = dev.vpd if dev.vpd is not None and not dev.vpd.damage else None
    return dataclasses.replace(
        dev,
        network_caps_known=True,
        notes=(),
        vpd=vpd,
        driver=dev.driver if driver else None,
        eswitch_mode=dev.eswitch_mode if dev.eswitch_mode == "switchdev" else None,
    )


def both_readers(root: Path, tmp_path: Path) -> tuple[tuple[PciDevice, ...], tuple[PciDevice, ...]]:
    """(sysfs records, records read back through libvirt's test driver) of one tree."""
    from_sysfs = discover_sysfs(root)
    node_xml = tmp_path / "node.xml"
    node_xml.write_text(nodedev_xml_for(from_sysfs, with_vdpa=False), encoding="utf-8")
    return from_sysfs, discover_libvirt(f"test://{node_xml}")


def pure_path(records: tuple[PciDevice, ...]) -> tuple[PciDevice, ...]:
    """The records read back from the writer's XML without libvirt."""
    node = ET.fromstring(nodedev_xml_for(records))
    return devices_from_nodedevs(parse_nodedev(ET.tostring(d, encoding="unicode")) for d in node)


@pytest.mark.parametrize("profile", PROFILES)
def test_both_readers_agree_on_every_profile(tmp_path: Path, profile: str) -> None:
    host = write_host(load_profile(profile), tmp_path / "sys", vfs=3)
    from_sysfs, from_libvirt = both_readers(host.root, tmp_path)
    assert [comparable(d, driver=False) for d in from_libvirt] == [
        comparable(d, driver=False) for d in from_sysfs
    ]


@pytest.mark.parametrize("fault", [kind.value for kind in FaultKind])
def test_both_readers_agree_under_every_fault(tmp_path: Path, fault: str) -> None:
    host = write_host(
        load_profile("bluefield2"), tmp_path / "sys", vfs=3, faults=[parse_fault(fault)]
    )
    from_sysfs, from_libvirt = both_readers(host.root, tmp_path)
    assert [comparable(d, driver=False) for d in from_libvirt] == [
        comparable(d, driver=False) for d in from_sysfs
    ]


@pytest.mark.parametrize("profile", PROFILES)
def test_the_pure_path_keeps_the_driver_too(tmp_path: Path, profile: str) -> None:
    host = write_host(load_profile(profile), tmp_path / "sys", vfs=2)
    from_sysfs = discover_sysfs(host.root)
    assert [comparable(d, driver=True) for d in pure_path(from_sysfs)] == [
        comparable(d, driver=True) for d in from_sysfs
    ]


def test_a_truncated_pf_vpd_gives_no_serial_in_either_reader(tmp_path: Path) -> None:
    host = write_host(
        load_profile("bluefield2"), tmp_path / "sys", vfs=1, faults=[parse_fault("truncated-vpd")]
    )
    from_sysfs, from_libvirt = both_readers(host.root, tmp_path)
    vf = str(host.pfs[0].vfs[0].address)
    assert {d.card_serial_number for d in (*from_sysfs, *from_libvirt) if d.address == vf} == {None}


def test_network_features_come_through_libvirt(tmp_path: Path) -> None:
    host = write_host(load_profile("cx6dx"), tmp_path / "sys", vfs=1)
    vf_address = str(host.pfs[0].vfs[0].address)
    records = tuple(
        dataclasses.replace(d, network_caps=("rx", "tx", "sg")) if d.address == vf_address else d
        for d in discover_sysfs(host.root)
    )
    node_xml = tmp_path / "node.xml"
    node_xml.write_text(nodedev_xml_for(records), encoding="utf-8")
    vf = next(d for d in discover_libvirt(f"test://{node_xml}") if d.address == vf_address)
    assert (vf.network_caps, vf.network_caps_known) == (("rx", "tx", "sg"), True)


def test_a_switchdev_pf_reads_as_switchdev(tmp_path: Path) -> None:
    host = write_host(load_profile("bluefield2"), tmp_path / "sys", vfs=1)
    pf_address = str(host.pfs[0].address)
    records = tuple(
        dataclasses.replace(d, eswitch_mode="switchdev") if d.address == pf_address else d
        for d in discover_sysfs(host.root)
    )
    node_xml = tmp_path / "node.xml"
    node_xml.write_text(nodedev_xml_for(records), encoding="utf-8")
    pf = next(d for d in discover_libvirt(f"test://{node_xml}") if d.address == pf_address)
    assert pf.eswitch_mode == "switchdev"


def test_the_dump_holds_pci_and_net_node_devices(tmp_path: Path) -> None:
    host = write_host(load_profile("bluefield2"), tmp_path / "sys", vfs=1)
    node_xml = tmp_path / "node.xml"
    node_xml.write_text(nodedev_xml_for(discover_sysfs(host.root)), encoding="utf-8")
    dump = read_nodedev_xml(f"test://{node_xml}")
    assert (sorted(n.split("_")[0] for n in dump.documents), dump.unreadable) == (
        ["net"] * 4 + ["pci"] * 5,
        {},
    )


def test_an_unreachable_libvirt_is_a_typed_error(tmp_path: Path) -> None:
    uri = f"test://{tmp_path}/absent.xml"
    with pytest.raises(LibvirtUnavailable, match=f"libvirt at {uri}: cannot connect"):
        discover_libvirt(uri)

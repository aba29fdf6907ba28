"""Discovery from libvirt node device XML (spec §6.1-6.3): parsing, records, and the writer."""

from __future__ import annotations

import contextlib
import dataclasses
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offpath.errors import NodeDevXmlError, OffpathError
from offpath.pci.device import DevType, PciDevice
from offpath.pci.discovery.nodedev_xml import (
    NodeDevice,
    devices_from_nodedevs,
    nodedev_name,
    nodedev_xml_for,
    parse_nodedev,
)
from offpath.pci.vpd import ChecksumStatus, VpdRecord

PF_XML = """<device>
  <name>pci_0000_82_00_0</name>
  <path>/sys/devices/pci0000:80/0000:80:02.0/0000:82:00.0</path>
  <parent>pci_0000_80_02_0</parent>
  <driver><name>mlx5_core</name></driver>
  <capability type='pci'>
    <class>0x020000</class>
    <domain>0</domain>
    <bus>130</bus>
    <slot>0</slot>
    <function>0</function>
    <product id='0xa2d6'>MT42822 BlueField-2 integrated ConnectX-6 Dx network controller</product>
    <vendor id='0x15b3'>Mellanox Technologies</vendor>
    <capability type='virt_functions' maxCount='16'>
      <address domain='0x0000' bus='0x82' slot='0x00' function='0x2'/>
      <address domain='0x0000' bus='0x82' slot='0x00' function='0x3'/>
    </capability>
    <capability type='vpd'>
      <name>BlueField-2 DPU 25GbE Dual-Port SFP56</name>
      <fields access='readonly'>
        <change_level>B1</change_level>
        <part_number>MBF2H332A-AEEOT</part_number>
        <serial_number>MT2113X00000</serial_number>
        <vendor_field index='0'>PCIeGen4 x8</vendor_field>
      </fields>
    </capability>
    <iommuGroup number='65'>
      <address domain='0x0000' bus='0x82' slot='0x00' function='0x0'/>
    </iommuGroup>
    <numa node='1'/>
    <pci-express>
      <link validity='cap' port='0' speed='16' width='8'/>
    </pci-express>
  </capability>
</device>
"""

VIRT_FUNCTIONS = PF_XML[
    PF_XML.index("<capability type='virt_functions'") : PF_XML.index("<capability type='vpd'>")
]

PF_NET_XML = """<device>
  <name>net_p0_b8_ce_f6_00_00_10</name>
  <path>/sys/devices/pci0000:80/0000:80:02.0/0000:82:00.0/net/p0</path>
  <parent>pci_0000_82_00_0</parent>
  <capability type='net'>
    <interface>p0</interface>
    <address>B8:CE:F6:00:00:10</address>
    <link speed='25000' state='up'/>
    <feature name='rx'/>
    <feature name='tx'/>
    <feature name='switchdev'/>
    <capability type='80203'/>
  </capability>
</device>
"""


def vf_xml(function: int, *, numa: int = 1) -> str:
    """The XML of VF 0000:82:00.<function> of the PF above."""
    return f"""<device>
  <name>pci_0000_82_00_{function}</name>
  <parent>pci_0000_82_00_0</parent>
  <driver><name>mlx5_core</name></driver>
  <capability type='pci'>
    <class>0x020000</class>
    <domain>0</domain>
    <bus>130</bus>
    <slot>0</slot>
    <function>{function}</function>
    <product id='0x101e'>ConnectX Family mlx5Gen Virtual Function</product>
    <vendor id='0x15b3'>Mellanox Technologies</vendor>
    <capability type='phys_function'>
      <address domain='0x0000' bus='0x82' slot='0x00' function='0x0'/>
    </capability>
    <iommuGroup number='{100 + function}'/>
    <numa node='{numa}'/>
  </capability>
</device>
"""


def vf_net_xml(function: int) -> str:
    """The netdev of VF 0000:82:00.<function>, with two offload features."""
    return f"""<device>
  <name>net_enp130s0f0v{function}_52_54_00_00_00_0{function}</name>
  <parent>pci_0000_82_00_{function}</parent>
  <capability type='net'>
    <interface>enp130s0f0v{function}</interface>
    <address>52:54:00:00:00:0{function}</address>
    <feature name='rx'/>
    <feature name='sg'/>
    <capability type='80203'/>
  </capability>
</device>
"""


VDPA_XML = """<device>
  <name>vdpa_vdpa0</name>
  <parent>pci_0000_82_00_3</parent>
  <driver><name>vhost_vdpa</name></driver>
  <capability type='vdpa'>
    <chardev>/dev/vhost-vdpa-0</chardev>
  </capability>
</device>
"""


def read(*documents: str) -> dict[str, PciDevice]:
    """Records of the given documents, by address."""
    devices = devices_from_nodedevs(parse_nodedev(doc) for doc in documents)
    return {dev.address: dev for dev in devices}


HOST = (PF_XML, PF_NET_XML, vf_xml(2), vf_net_xml(2), vf_xml(3))


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        pytest.param("vendor_id", "15b3", id="vendor"),
        pytest.param("product_id", "a2d6", id="product"),
        pytest.param("dev_type", DevType.PF, id="dev-type"),
        pytest.param("device_class", "020000", id="class"),
        pytest.param("numa_node", 1, id="numa"),
        pytest.param("driver", "mlx5_core", id="driver"),
        pytest.param("iommu_group", 65, id="iommu"),
        pytest.param("netdev", "p0", id="netdev"),
        pytest.param("mac_address", "b8:ce:f6:00:00:10", id="mac-lowercased"),
        pytest.param("card_serial_number", "MT2113X00000", id="serial"),
        pytest.param("serial_source", "0000:82:00.0", id="serial-source"),
        pytest.param("eswitch_mode", "switchdev", id="switchdev-feature"),
        pytest.param("sriov_totalvfs", 16, id="max-count"),
        pytest.param("sriov_numvfs", 2, id="listed-vfs"),
        pytest.param("network_caps", ("rx", "tx", "switchdev"), id="features"),
        pytest.param("parent_addr", None, id="no-parent"),
        pytest.param("exclusion", None, id="not-excluded"),
    ],
)
def test_pf_field(field: str, expected: object) -> None:
    assert getattr(read(*HOST)["0000:82:00.0"], field) == expected


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        pytest.param("product_id", "101e", id="product"),
        pytest.param("dev_type", DevType.VF, id="dev-type"),
        pytest.param("parent_addr", "0000:82:00.0", id="parent"),
        pytest.param("vf_num", 0, id="vf-num-from-list-order"),
        pytest.param("pf_mac_address", "b8:ce:f6:00:00:10", id="pf-mac"),
        pytest.param("parent_ifname", "p0", id="parent-ifname"),
        pytest.param("netdev", "enp130s0f0v2", id="netdev"),
        pytest.param("network_caps", ("rx", "sg"), id="features"),
        pytest.param("card_serial_number", "MT2113X00000", id="serial-of-pf"),
        pytest.param("serial_source", "0000:82:00.0", id="serial-source-pf"),
        pytest.param("iommu_group", 102, id="iommu"),
        pytest.param("vpd", None, id="no-own-vpd"),
        pytest.param("eswitch_mode", None, id="vf-has-no-eswitch"),
        pytest.param("exclusion", None, id="not-excluded"),
    ],
)
def test_vf_field(field: str, expected: object) -> None:
    assert getattr(read(*HOST)["0000:82:00.2"], field) == expected


def test_a_vf_without_netdev_gets_no_parent_ifname() -> None:
    vf = read(*HOST)["0000:82:00.3"]
    assert (vf.netdev, vf.parent_ifname, vf.pf_mac_address, vf.vf_num) == (
        None,
        None,
        "b8:ce:f6:00:00:10",
        1,
    )


def test_the_pf_vpd_record_is_kept_whole() -> None:
    vpd = read(*HOST)["0000:82:00.0"].vpd
    assert vpd is not None
    assert (vpd.part_number, vpd.ro_vendor_fields, vpd.checksum) == (
        "MBF2H332A-AEEOT",
        {"0": "PCIeGen4 x8"},
        ChecksumStatus.VALID,
    )


def test_a_vf_with_its_own_vpd_serial_uses_it() -> None:
    own = vf_xml(2).replace(
        "<iommuGroup",
        "<capability type='vpd'><fields access='readonly'>"
        "<serial_number>MT2113XVF002</serial_number></fields></capability><iommuGroup",
    )
    vf = read(PF_XML, own)["0000:82:00.2"]
    assert (vf.card_serial_number, vf.serial_source) == ("MT2113XVF002", "0000:82:00.2")


def test_a_pf_without_vpd_leaves_its_vfs_without_serial() -> None:
    start = PF_XML.index("<capability type='vpd'>")
    stop = PF_XML.index("</capability>", start) + len("</capability>")
    vf = read(PF_XML[:start] + PF_XML[stop:], vf_xml(2))["0000:82:00.2"]
    assert (vf.card_serial_number, vf.serial_source) == (None, None)


def test_a_pf_listing_no_vf_is_still_a_pf() -> None:
    # Nova's rule: the virt_functions capability makes a PF, even with no address in it.
    empty = PF_XML.replace(
        VIRT_FUNCTIONS,
        "<capability type='virt_functions' maxCount='16'/>\n    ",
    )
    pf = read(empty)["0000:82:00.0"]
    assert (pf.dev_type, pf.sriov_numvfs) == (DevType.PF, 0)


def test_a_vf_under_a_vdpa_device_is_vdpa() -> None:
    vf = read(*HOST, VDPA_XML)["0000:82:00.3"]
    assert (vf.dev_type, vf.vdpa_device, vf.vf_num) == (DevType.VDPA, "vdpa0", 1)


def test_without_a_pf_netdev_the_vf_notes_the_missing_mac() -> None:
    vf = read(PF_XML, vf_xml(2))["0000:82:00.2"]
    assert vf.pf_mac_address is None and vf.exclusion is None
    assert vf.notes == (
        "the MAC address of its PF 0000:82:00.0 cannot be read: libvirt shows none",
    )


def test_a_vf_its_pf_does_not_list_is_excluded() -> None:
    vf = read(PF_XML, vf_xml(4))["0000:82:00.4"]
    assert vf.exclusion == "its VF number is unknown: its PF 0000:82:00.0 does not list it"


def test_a_vf_whose_pf_libvirt_does_not_list_is_excluded() -> None:
    vf = read(vf_xml(2))["0000:82:00.2"]
    assert vf.exclusion == "its VF number is unknown: libvirt does not list its PF 0000:82:00.0"


def test_a_negative_numa_node_is_none() -> None:
    assert read(PF_XML, vf_xml(2, numa=-1))["0000:82:00.2"].numa_node is None


def test_a_plain_pci_device_has_no_sriov_fields() -> None:
    plain = PF_XML.replace(
        VIRT_FUNCTIONS,
        "",
    )
    dev = read(plain)["0000:82:00.0"]
    assert (dev.dev_type, dev.sriov_totalvfs, dev.sriov_numvfs) == (DevType.PCI, None, None)


def test_unreadable_pci_node_devices_become_excluded_records() -> None:
    devices = devices_from_nodedevs(
        [], unreadable={"pci_0000_82_00_5": "device vanished", "net_x_00": "gone"}
    )
    assert [(d.address, d.exclusion) for d in devices] == [
        ("0000:82:00.5", "libvirt cannot describe it: device vanished")
    ]


@pytest.mark.parametrize(
    ("address", "name"),
    [
        pytest.param("0000:82:00.0", "pci_0000_82_00_0", id="pf"),
        pytest.param("0001:0a:1f.7", "pci_0001_0a_1f_7", id="hex"),
    ],
)
def test_nodedev_name(address: str, name: str) -> None:
    assert nodedev_name(address) == name


@pytest.mark.parametrize(
    ("xml", "problem"),
    [
        pytest.param("<device>", "not well-formed XML", id="not-xml"),
        pytest.param("<node/>", "the root element is <node>, not <device>", id="root"),
        pytest.param("<device/>", "a <device> without a <name>", id="no-name"),
        pytest.param(
            PF_XML.replace("<bus>130</bus>", "<bus>x</bus>"),
            "pci_0000_82_00_0: bus is 'x', not a number",
            id="bus-not-number",
        ),
        pytest.param(
            PF_XML.replace("<slot>0</slot>", "<slot>32</slot>"),
            "pci_0000_82_00_0: slot 0x20 is out of range",
            id="slot-range",
        ),
        pytest.param(
            PF_XML.replace("<vendor id='0x15b3'>", "<vendor>"),
            "pci_0000_82_00_0: vendor id is '', not a number",
            id="vendor-without-id",
        ),
        pytest.param(
            PF_NET_XML.replace("<interface>p0</interface>", ""),
            "the net capability has no <interface>",
            id="net-without-interface",
        ),
    ],
)
def test_malformed_xml_is_a_typed_error(xml: str, problem: str) -> None:
    with pytest.raises(NodeDevXmlError, match=problem):
        parse_nodedev(xml)


def test_a_nodedev_without_known_capability_carries_nothing() -> None:
    found = parse_nodedev("<device><name>computer</name><capability type='system'/></device>")
    assert found == NodeDevice(name="computer")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_gives_a_node_device_or_a_typed_error(text: str) -> None:
    with contextlib.suppress(OffpathError):
        assert isinstance(parse_nodedev(text), NodeDevice)


_TAGS = st.sampled_from(
    [
        "capability",
        "name",
        "parent",
        "driver",
        "domain",
        "bus",
        "slot",
        "function",
        "product",
        "vendor",
        "numa",
        "iommuGroup",
        "address",
        "interface",
        "feature",
        "class",
        "fields",
        "serial_number",
    ]
)
_ATTRS = st.dictionaries(
    st.sampled_from(
        [
            "type",
            "id",
            "node",
            "number",
            "maxCount",
            "domain",
            "bus",
            "slot",
            "function",
            "name",
            "access",
            "index",
        ]
    ),
    st.one_of(
        st.sampled_from(
            [
                "pci",
                "net",
                "vdpa",
                "virt_functions",
                "phys_function",
                "vpd",
                "readonly",
                "0x1",
                "-1",
                "0x10000",
                "7",
            ]
        ),
        st.text(max_size=5),
    ),
    max_size=3,
)


def _element(children: list[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda tag, attrs, text: "<{t}{a}>{x}{c}</{t}>".format(
            t=tag,
            a="".join(f" {k}='{_quote(v)}'" for k, v in attrs.items()),
            x=_quote(text),
            c="".join(children),
        ),
        _TAGS,
        _ATTRS,
        st.text(alphabet="0123456789abcxX:_-", max_size=6),
    )


def _quote(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace("'", "&apos;")


_TREE = st.recursive(
    _element([]),
    lambda inner: st.lists(inner, max_size=4).flatmap(_element),
    max_leaves=25,
)


@settings(max_examples=120, deadline=None)
@given(st.lists(_TREE, max_size=6))
def test_any_device_shaped_xml_gives_records_or_a_typed_error(children: list[str]) -> None:
    document = "<device><name>pci_0000_82_00_0</name>" + "".join(children) + "</device>"
    with contextlib.suppress(OffpathError):
        devices = devices_from_nodedevs([parse_nodedev(document)])
        assert all(isinstance(device, PciDevice) for device in devices)


# --- the writer: records -> the <node> document the test driver serves -------------------

VPD = VpdRecord(
    card_name="BlueField-2 DPU",
    part_number="MBF2H332A-AEEOT",
    serial_number="MT2113X00000",
    ro_vendor_fields={"0": "PCIeGen4 x8"},
    checksum=ChecksumStatus.VALID,
)

RECORDS = (
    PciDevice(
        address="0000:82:00.0",
        vendor_id="15b3",
        product_id="a2d6",
        dev_type=DevType.PF,
        device_class="020000",
        numa_node=1,
        driver="mlx5_core",
        iommu_group=65,
        netdev="p0",
        mac_address="b8:ce:f6:00:00:10",
        card_serial_number="MT2113X00000",
        vpd=VPD,
        network_caps=("rx", "switchdev"),
        eswitch_mode="switchdev",
        sriov_totalvfs=16,
        sriov_numvfs=2,
        serial_source="0000:82:00.0",
    ),
    PciDevice(
        address="0000:82:00.2",
        vendor_id="15b3",
        product_id="101e",
        dev_type=DevType.VF,
        device_class="020000",
        parent_addr="0000:82:00.0",
        numa_node=1,
        driver="mlx5_core",
        iommu_group=66,
        netdev="enp130s0f0v0",
        mac_address="52:54:00:00:00:02",
        parent_ifname="p0",
        vf_num=0,
        pf_mac_address="b8:ce:f6:00:00:10",
        card_serial_number="MT2113X00000",
        network_caps=("rx", "sg"),
        serial_source="0000:82:00.0",
    ),
    PciDevice(
        address="0000:82:00.3",
        vendor_id="15b3",
        product_id="101e",
        dev_type=DevType.VDPA,
        device_class="020000",
        parent_addr="0000:82:00.0",
        driver="mlx5_core",
        vf_num=1,
        pf_mac_address="b8:ce:f6:00:00:10",
        card_serial_number="MT2113X00000",
        serial_source="0000:82:00.0",
        vdpa_device="vdpa0",
    ),
)


def _round_trip(records: tuple[PciDevice, ...], *, with_vdpa: bool = True) -> tuple[PciDevice, ...]:
    node = ET.fromstring(nodedev_xml_for(records, with_vdpa=with_vdpa))
    return devices_from_nodedevs(
        parse_nodedev(ET.tostring(device, encoding="unicode")) for device in node
    )


def test_written_xml_reads_back_as_the_same_records() -> None:
    assert _round_trip(RECORDS) == RECORDS


def test_without_vdpa_the_vdpa_vf_reads_back_as_a_plain_vf() -> None:
    vf = _round_trip(RECORDS, with_vdpa=False)[2]
    assert (vf.dev_type, vf.vdpa_device) == (DevType.VF, None)


def test_a_damaged_vpd_is_not_written_as_libvirt_would_not_show_it() -> None:
    damaged = dataclasses.replace(
        RECORDS[0], vpd=dataclasses.replace(VPD, damage=("byte 90: no RV keyword",))
    )
    assert "<capability type='vpd'>" not in nodedev_xml_for([damaged])


def test_records_without_ids_are_not_written() -> None:
    blank = PciDevice(address="0000:82:00.7", vendor_id="", product_id="", dev_type=DevType.PCI)
    assert "pci_0000_82_00_7" not in nodedev_xml_for([*RECORDS, blank])

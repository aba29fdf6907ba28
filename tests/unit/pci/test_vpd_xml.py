"""VPD in libvirt node device XML (`<capability type='vpd'>`): reading and writing."""

from __future__ import annotations

import contextlib
import string
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.errors import NodeDevXmlError, OffpathError
from offpath.pci.vpd import ChecksumStatus, VpdRecord, decode_vpd
from offpath.pci.vpd_xml import vpd_from_capability, vpd_from_nodedev_xml, vpd_to_capability_xml

BLUEFIELD2 = Path(__file__).parents[2] / "data" / "vpd" / "bluefield2-mbf2h332a.bin"

# libvirt's documented example (docs/drvnodedev.rst), a BlueField-2 PF.
LIBVIRT_EXAMPLE = """\
<device>
  <name>pci_0000_42_00_0</name>
  <capability type='pci'>
    <class>0x020000</class>
    <domain>0</domain>
    <bus>66</bus>
    <slot>0</slot>
    <function>0</function>
    <product id='0xa2d6'>MT42822 BlueField-2 integrated ConnectX-6 Dx network controller</product>
    <vendor id='0x15b3'>Mellanox Technologies</vendor>
    <capability type='virt_functions' maxCount='16'/>
    <capability type='vpd'>
      <name>BlueField-2 DPU 25GbE Dual-Port SFP56, Crypto Enabled, 16GB on-board DDR, 1GbE OOB \
management, Tall Bracket</name>
      <fields access='readonly'>
        <change_level>B1</change_level>
        <manufacture_id>foobar</manufacture_id>
        <part_number>MBF2H332A-AEEOT</part_number>
        <serial_number>MT2113X00000</serial_number>
        <vendor_field index='0'>PCIeGen4 x8</vendor_field>
        <vendor_field index='2'>MBF2H332A-AEEOT</vendor_field>
        <vendor_field index='3'>3c53d07eec484d8aab34dabd24fe575aa</vendor_field>
        <vendor_field index='A'>MLX:MN=MLNX:CSKU=V2:UUID=V3:PCI=V0:MODL=BF2H332A</vendor_field>
      </fields>
      <fields access='readwrite'>
        <asset_tag>fooasset</asset_tag>
        <vendor_field index='0'>vendorfield0</vendor_field>
        <vendor_field index='2'>vendorfield2</vendor_field>
        <vendor_field index='A'>vendorfieldA</vendor_field>
        <system_field index='B'>systemfieldB</system_field>
        <system_field index='0'>systemfield0</system_field>
      </fields>
    </capability>
    <iommuGroup number='65'>
      <address domain='0x0000' bus='0x42' slot='0x00' function='0x0'/>
    </iommuGroup>
    <numa node='0'/>
  </capability>
</device>
"""


def test_libvirt_example_maps_every_field() -> None:
    assert vpd_from_nodedev_xml(LIBVIRT_EXAMPLE) == VpdRecord(
        card_name="BlueField-2 DPU 25GbE Dual-Port SFP56, Crypto Enabled, 16GB on-board DDR, "
        "1GbE OOB management, Tall Bracket",
        part_number="MBF2H332A-AEEOT",
        change_level="B1",
        manufacture_id="foobar",
        serial_number="MT2113X00000",
        ro_vendor_fields={
            "0": "PCIeGen4 x8",
            "2": "MBF2H332A-AEEOT",
            "3": "3c53d07eec484d8aab34dabd24fe575aa",
            "A": "MLX:MN=MLNX:CSKU=V2:UUID=V3:PCI=V0:MODL=BF2H332A",
        },
        asset_tag="fooasset",
        rw_vendor_fields={"0": "vendorfield0", "2": "vendorfield2", "A": "vendorfieldA"},
        rw_system_fields={"B": "systemfieldB", "0": "systemfield0"},
        checksum=ChecksumStatus.VALID,
    )


def capability(inner: str) -> ET.Element:
    return ET.fromstring(f"<capability type='vpd'>{inner}</capability>")


@pytest.mark.parametrize(
    ("fields", "attribute", "expected"),
    [
        pytest.param(
            "<fields access='readonly'><change_level>A5</change_level></fields>",
            "change_level",
            "A5",
            id="change_level",
        ),
        pytest.param(
            "<fields access='readonly'><manufacture_id>M1</manufacture_id></fields>",
            "manufacture_id",
            "M1",
            id="manufacture_id",
        ),
        pytest.param(
            "<fields access='readonly'><part_number>P1</part_number></fields>",
            "part_number",
            "P1",
            id="part_number",
        ),
        pytest.param(
            "<fields access='readonly'><serial_number>S1</serial_number></fields>",
            "card_serial_number",
            "S1",
            id="serial_number",
        ),
        pytest.param(
            "<fields access='readonly'><vendor_field index='Z'>v</vendor_field></fields>",
            "ro_vendor_fields",
            {"Z": "v"},
            id="readonly-vendor_field",
        ),
        pytest.param(
            "<fields access='readwrite'><asset_tag>T1</asset_tag></fields>",
            "asset_tag",
            "T1",
            id="asset_tag",
        ),
        pytest.param(
            "<fields access='readwrite'><vendor_field index='1'>w</vendor_field></fields>",
            "rw_vendor_fields",
            {"1": "w"},
            id="readwrite-vendor_field",
        ),
        pytest.param(
            "<fields access='readwrite'><system_field index='B'>y</system_field></fields>",
            "rw_system_fields",
            {"B": "y"},
            id="readwrite-system_field",
        ),
    ],
)
def test_field_mapping(fields: str, attribute: str, expected: object) -> None:
    assert getattr(vpd_from_capability(capability(fields)), attribute) == expected


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param("<fields><serial_number>S1</serial_number></fields>", id="no-access"),
        pytest.param(
            "<fields access='writeonly'><serial_number>S1</serial_number></fields>",
            id="other-access",
        ),
        pytest.param(
            "<fields access='readwrite'><serial_number>S1</serial_number></fields>",
            id="serial-in-readwrite",
        ),
        pytest.param(
            "<fields access='readonly'><asset_tag>S1</asset_tag></fields>",
            id="asset-tag-in-readonly",
        ),
        pytest.param(
            "<fields access='readonly'><vendor_field>v</vendor_field></fields>",
            id="vendor-field-without-index",
        ),
        pytest.param(
            "<fields access='readwrite'><system_field>y</system_field></fields>",
            id="system-field-without-index",
        ),
        pytest.param(
            "<fields access='readonly'><fabric_geography>g</fabric_geography></fields>",
            id="unknown-element",
        ),
    ],
)
def test_ignored_fields(fields: str) -> None:
    record = vpd_from_capability(capability(fields))
    assert (
        record.serial_number,
        record.asset_tag,
        record.fabric_geography,
        dict(record.ro_vendor_fields),
        dict(record.rw_system_fields),
    ) == (None, None, None, {}, {})


def test_a_readonly_section_means_libvirt_checked_the_checksum() -> None:
    assert vpd_from_capability(capability("<fields access='readonly'/>")).checksum == "valid"


def test_without_readonly_section_the_checksum_is_absent() -> None:
    assert vpd_from_capability(capability("<name>n</name>")).checksum == "absent"


def test_an_empty_element_is_an_empty_value() -> None:
    record = vpd_from_capability(capability("<fields access='readonly'><serial_number/></fields>"))
    assert (record.serial_number, record.card_serial_number) == ("", None)


def test_no_name_is_no_card_name() -> None:
    assert vpd_from_capability(capability("")).card_name is None


def test_a_device_without_vpd_has_none() -> None:
    xml = "<device><name>pci_0000_82_00_5</name><capability type='pci'><domain>0</domain>"
    assert vpd_from_nodedev_xml(xml + "</capability></device>") is None


def test_vpd_outside_the_pci_capability_is_not_read() -> None:
    xml = "<device><capability type='net'><capability type='vpd'><name>x</name></capability>"
    assert vpd_from_nodedev_xml(xml + "</capability></device>") is None


@pytest.mark.parametrize(
    ("xml", "problem"),
    [
        pytest.param("", "not well-formed XML", id="empty"),
        pytest.param("<device><capability type='pci'>", "not well-formed XML", id="unclosed"),
        pytest.param("<domain/>", "the root element is <domain>, not <device>", id="not-a-device"),
    ],
)
def test_unreadable_xml_is_a_typed_error(xml: str, problem: str) -> None:
    with pytest.raises(NodeDevXmlError, match=f"^libvirt node device XML: {problem}") as caught:
        vpd_from_nodedev_xml(xml)
    assert caught.value.code == "libvirt.nodedev.xml"


def test_an_element_other_than_the_vpd_capability_is_refused() -> None:
    with pytest.raises(NodeDevXmlError, match="expected <capability type='vpd'>"):
        vpd_from_capability(ET.fromstring("<capability type='pci'/>"))


# --- writing ---------------------------------------------------------------------------


def test_capability_xml_is_libvirts_layout() -> None:
    record = VpdRecord(
        card_name="Card",
        part_number="P1",
        change_level="A5",
        serial_number="S1",
        ro_vendor_fields={"0": "PCIeGen4 x8"},
        asset_tag="T1",
        rw_system_fields={"B": "y"},
        checksum=ChecksumStatus.VALID,
    )
    assert vpd_to_capability_xml(record) == (
        "<capability type='vpd'>\n"
        "  <name>Card</name>\n"
        "  <fields access='readonly'>\n"
        "    <change_level>A5</change_level>\n"
        "    <part_number>P1</part_number>\n"
        "    <serial_number>S1</serial_number>\n"
        "    <vendor_field index='0'>PCIeGen4 x8</vendor_field>\n"
        "  </fields>\n"
        "  <fields access='readwrite'>\n"
        "    <asset_tag>T1</asset_tag>\n"
        "    <system_field index='B'>y</system_field>\n"
        "  </fields>\n"
        "</capability>"
    )


def test_capability_xml_leaves_out_what_libvirt_does_not_show() -> None:
    record = VpdRecord(
        card_name="Card",
        fabric_geography="F",
        location="L",
        pci_geography="G",
        damage=("byte 3: x",),
    )
    assert vpd_to_capability_xml(record) == (
        "<capability type='vpd'>\n  <name>Card</name>\n</capability>"
    )


def test_capability_xml_escapes_markup() -> None:
    record = VpdRecord(card_name="A&B <x>", ro_vendor_fields={"'": "'\"&"})
    back = vpd_from_capability(ET.fromstring(vpd_to_capability_xml(record)))
    assert (back.card_name, back.ro_vendor_fields) == ("A&B <x>", {"'": "'\"&"})


def test_binary_vpd_survives_the_libvirt_round_trip() -> None:
    record = decode_vpd(BLUEFIELD2.read_bytes())
    assert vpd_from_capability(ET.fromstring(vpd_to_capability_xml(record))) == record


PRINTABLE = st.text(st.sampled_from(string.printable[:95]), max_size=40)
INDEX = st.sampled_from(string.digits + string.ascii_uppercase)


@st.composite
def libvirt_records(draw: st.DrawFn) -> VpdRecord:
    """Records as libvirt can show them: no FG, LC, PG; checksum VALID with a readonly part."""
    optional = st.none() | PRINTABLE
    readonly = [draw(optional) for _ in range(4)]
    ro_vendor = draw(st.dictionaries(INDEX, PRINTABLE, max_size=5))
    # An empty <fields access='readonly'/> is possible too: libvirt checked an empty VPD-R.
    has_readonly = any(v is not None for v in readonly) or bool(ro_vendor) or draw(st.booleans())
    return VpdRecord(
        card_name=draw(optional),
        part_number=readonly[0],
        change_level=readonly[1],
        manufacture_id=readonly[2],
        serial_number=readonly[3],
        ro_vendor_fields=ro_vendor,
        asset_tag=draw(optional),
        rw_vendor_fields=draw(st.dictionaries(INDEX, PRINTABLE, max_size=5)),
        rw_system_fields=draw(st.dictionaries(INDEX, PRINTABLE, max_size=5)),
        checksum=ChecksumStatus.VALID if has_readonly else ChecksumStatus.ABSENT,
    )


@given(libvirt_records())
def test_any_libvirt_record_round_trips(record: VpdRecord) -> None:
    assert vpd_from_capability(ET.fromstring(vpd_to_capability_xml(record))) == record


@given(st.text(max_size=300))
def test_any_text_raises_only_offpath_errors(text: str) -> None:
    with contextlib.suppress(OffpathError):
        vpd_from_nodedev_xml(text)


@given(st.text(st.sampled_from("<>/='\" abcdefilnoprstuvwxy_&;"), max_size=200))
def test_any_text_inside_a_vpd_capability_raises_only_offpath_errors(inner: str) -> None:
    xml = f"<device><capability type='pci'><capability type='vpd'>{inner}</capability>"
    with contextlib.suppress(OffpathError):
        vpd_from_nodedev_xml(xml + "</capability></device>")

"""The libvirt hostdev interface element: built, and read back (spec §12)."""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.errors import GuestInterfaceXmlInvalid
from offpath.pci.address import PciAddress
from offpath.ports.guest_interface import (
    HostdevInterface,
    build_interface,
    hostdev_interfaces,
    interface_xml,
    parse_interface,
)

MAC = "fa:16:3e:f0:a4:bb"
SLOT = PciAddress.parse("0000:82:00.4")

# Spec §12, as Nova writes it for a remote-managed port.
NOVA_REMOTE_MANAGED = (
    '<interface type="hostdev" managed="yes"><mac address="fa:16:3e:f0:a4:bb"/>'
    '<source><address type="pci" domain="0x0000" bus="0x82" slot="0x00"'
    ' function="0x4"/></source></interface>'
)


def canonical(text: str) -> str:
    return ET.canonicalize(text)


def test_a_remote_managed_interface_is_nova_s_element() -> None:
    built = interface_xml(HostdevInterface(MAC, SLOT))
    assert canonical(built) == canonical(NOVA_REMOTE_MANAGED)


def test_the_interface_is_managed_whatever_the_device_spec_says() -> None:
    assert build_interface(HostdevInterface(MAC, SLOT)).get("managed") == "yes"


def test_the_source_address_fields_are_0x_prefixed_and_padded() -> None:
    element = build_interface(HostdevInterface(MAC, PciAddress.parse("000a:03:1f.7")))
    address = element.find("source/address")
    assert address is not None
    assert address.attrib == {
        "type": "pci",
        "domain": "0x000a",
        "bus": "0x03",
        "slot": "0x1f",
        "function": "0x7",
    }


def test_a_vlan_is_written_as_a_tag() -> None:
    element = build_interface(HostdevInterface(MAC, SLOT, vlan=42))
    tag = element.find("vlan/tag")
    assert tag is not None
    assert tag.get("id") == "42"


@pytest.mark.parametrize("vlan", [None, 0], ids=["none", "zero"])
def test_no_vlan_element_without_a_truthy_vlan(vlan: int | None) -> None:
    assert build_interface(HostdevInterface(MAC, SLOT, vlan=vlan)).find("vlan") is None


def test_nova_s_element_reads_back_as_mac_address_and_no_vlan() -> None:
    assert parse_interface(NOVA_REMOTE_MANAGED) == HostdevInterface(MAC, SLOT, None)


def test_a_vlan_tag_reads_back() -> None:
    text = interface_xml(HostdevInterface(MAC, SLOT, vlan=100))
    assert parse_interface(text).vlan == 100


def test_libvirt_s_live_element_with_guest_address_and_alias_reads_back() -> None:
    live = """
    <interface type='hostdev' managed='yes'>
      <mac address='fa:16:3e:f0:a4:bb'/>
      <driver name='vfio'/>
      <source>
        <address type='pci' domain='0x0000' bus='0x82' slot='0x00' function='0x4'/>
      </source>
      <alias name='hostdev0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
    </interface>"""
    assert parse_interface(live) == HostdevInterface(MAC, SLOT)


def test_every_hostdev_interface_of_a_domain_is_found_in_order() -> None:
    domain = f"""<domain type='kvm'><devices>
      <interface type='bridge'><mac address='fa:16:3e:00:00:01'/></interface>
      {interface_xml(HostdevInterface(MAC, SLOT))}
      <hostdev mode='subsystem' type='pci'/>
      {interface_xml(HostdevInterface("fa:16:3e:00:00:02", PciAddress.parse("0000:82:00.5"), 7))}
    </devices></domain>"""
    assert [i.mac for i in hostdev_interfaces(domain)] == [MAC, "fa:16:3e:00:00:02"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("<interface", "not well-formed XML", id="not-xml"),
        pytest.param(
            "<interface type='bridge'/>", "expected <interface type='hostdev'>", id="bridge"
        ),
        pytest.param("<hostdev/>", "expected <interface type='hostdev'>", id="hostdev"),
        pytest.param(
            "<interface type='hostdev'><source/></interface>", "no <mac address", id="no-mac"
        ),
        pytest.param(
            f"<interface type='hostdev'><mac address='{MAC}'/></interface>",
            "no <source><address type='pci'>",
            id="no-source",
        ),
        pytest.param(
            f"<interface type='hostdev'><mac address='{MAC}'/><source>"
            "<address type='usb' bus='1' device='2'/></source></interface>",
            "no <source><address type='pci'>",
            id="usb-source",
        ),
        pytest.param(
            f"<interface type='hostdev'><mac address='{MAC}'/><source>"
            "<address type='pci' domain='0x0000' bus='0x82' slot='0x00'/></source></interface>",
            "the source address has no function",
            id="no-function",
        ),
        pytest.param(
            f"<interface type='hostdev'><mac address='{MAC}'/><source>"
            "<address type='pci' domain='0x0000' bus='0x82' slot='0x20' function='0x0'/>"
            "</source></interface>",
            "bad source address",
            id="slot-too-big",
        ),
        pytest.param(
            interface_xml(HostdevInterface(MAC, SLOT)).replace(
                "</interface>", "<vlan><tag id='ten'/></vlan></interface>"
            ),
            "vlan tag id 'ten' is not a number",
            id="bad-vlan",
        ),
    ],
)
def test_what_is_not_a_hostdev_interface_is_a_typed_error(text: str, problem: str) -> None:
    with pytest.raises(GuestInterfaceXmlInvalid) as caught:
        parse_interface(text)
    assert problem in caught.value.message
    assert caught.value.code == "libvirt.interface_xml.invalid"


addresses = st.builds(
    PciAddress,
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFF),
    st.integers(0, 0x1F),
    st.integers(0, 7),
)
macs = st.lists(st.integers(0, 255), min_size=6, max_size=6).map(
    lambda octets: ":".join(f"{o:02x}" for o in octets)
)


@given(mac=macs, address=addresses, vlan=st.none() | st.integers(1, 4094))
def test_any_interface_reads_back_as_built(mac: str, address: PciAddress, vlan: int | None) -> None:
    interface = HostdevInterface(mac, address, vlan)
    assert parse_interface(interface_xml(interface)) == interface


@given(st.text())
def test_parsing_any_text_gives_an_interface_or_the_typed_error(text: str) -> None:
    with contextlib.suppress(GuestInterfaceXmlInvalid):
        parsed = parse_interface(text)
        # What parses is an interface that writes back to the same interface.
        assert isinstance(parsed, HostdevInterface)
        assert parse_interface(interface_xml(parsed)) == parsed


@given(
    st.dictionaries(
        st.sampled_from(["domain", "bus", "slot", "function", "type"]), st.text(max_size=8)
    ),
    st.text(max_size=8),
)
def test_parsing_any_source_address_or_vlan_gives_only_the_typed_error(
    attributes: dict[str, str], vlan: str
) -> None:
    element = ET.Element("interface", {"type": "hostdev"})
    ET.SubElement(element, "mac", {"address": MAC})
    ET.SubElement(ET.SubElement(element, "source"), "address", attributes)
    ET.SubElement(ET.SubElement(element, "vlan"), "tag", {"id": vlan})
    with contextlib.suppress(GuestInterfaceXmlInvalid):
        parsed = parse_interface(ET.tostring(element, encoding="unicode"))
        assert isinstance(parsed, HostdevInterface)
        assert parsed.mac == MAC

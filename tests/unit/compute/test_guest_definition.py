"""Editing a domain definition's hostdev interfaces and recorded port ids (pure XML)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from offpath.compute.guest_definition import (
    holds_interface,
    ports_metadata,
    ports_metadata_text,
    recorded_ports,
    same_device,
    with_interface,
    without_interface,
)
from offpath.compute.libvirt_guest import GuestSpec, domain_xml
from offpath.pci.address import PciAddress
from offpath.ports.guest_interface import HostdevInterface, hostdev_interfaces

UUID = "6a1f0c4e-8d52-4a43-9d1b-0c3a2f6e0001"
FIRST = HostdevInterface("fa:16:3e:00:00:01", PciAddress.parse("0000:82:00.4"))
SECOND = HostdevInterface("fa:16:3e:00:00:02", PciAddress.parse("0000:82:00.5"), vlan=100)


def definition(*interfaces: HostdevInterface, ports: tuple[str, ...] = ()) -> str:
    return domain_xml(GuestSpec(UUID, "vm", 64, 1, "kvm", interfaces, ports))


def test_an_added_interface_and_port_come_after_the_others() -> None:
    edited = with_interface(definition(FIRST, ports=("p1",)), SECOND, "p2")
    assert hostdev_interfaces(edited) == (FIRST, SECOND)
    assert recorded_ports(edited) == ("p1", "p2")


def test_adding_what_is_there_changes_nothing() -> None:
    before = definition(FIRST, ports=("p1",))
    edited = with_interface(before, FIRST, "p1")
    assert hostdev_interfaces(edited) == (FIRST,)
    assert recorded_ports(edited) == ("p1",)


def test_a_removed_interface_and_port_are_gone_and_the_rest_stays() -> None:
    edited = without_interface(definition(FIRST, SECOND, ports=("p1", "p2")), FIRST, "p1")
    assert hostdev_interfaces(edited) == (SECOND,)
    assert recorded_ports(edited) == ("p2",)


def test_removing_what_is_not_there_changes_nothing() -> None:
    edited = without_interface(definition(SECOND, ports=("p2",)), FIRST, "p1")
    assert hostdev_interfaces(edited) == (SECOND,)
    assert recorded_ports(edited) == ("p2",)


def test_a_definition_without_metadata_gets_one() -> None:
    bare = f"<domain type='kvm'><uuid>{UUID}</uuid></domain>"
    edited = with_interface(bare, FIRST, "p1")
    assert recorded_ports(bare) == ()
    assert recorded_ports(edited) == ("p1",)
    assert holds_interface(edited, FIRST)


def test_one_device_is_the_same_mac_on_the_same_vf() -> None:
    assert same_device(FIRST, HostdevInterface("FA:16:3E:00:00:01", FIRST.address, vlan=7))
    assert not same_device(FIRST, HostdevInterface(FIRST.mac, SECOND.address))
    assert not same_device(FIRST, HostdevInterface(SECOND.mac, FIRST.address))


def test_set_metadata_gets_the_element_without_a_namespace() -> None:
    assert ports_metadata_text(("p1", "p2")) == (
        '<instance><port id="p1" /><port id="p2" /></instance>'
    )


@given(st.lists(st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1)))
def test_recorded_ports_read_back_what_was_written(ports: list[str]) -> None:
    domain = ET.Element("domain")
    ET.SubElement(domain, "metadata").append(ports_metadata(tuple(ports)))
    assert recorded_ports(ET.tostring(domain, encoding="unicode")) == tuple(ports)

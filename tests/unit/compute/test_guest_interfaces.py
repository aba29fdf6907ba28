"""Hot-plug and live migration on the real path: the exact libvirt calls `LibvirtGuests` makes.

libvirt's test driver refuses both (the last test shows it), so a recording
double stands for the connection and its domains.
"""

from __future__ import annotations

from pathlib import Path

import libvirt
import pytest

from offpath.compute.libvirt_guest import (
    LIVE_MIGRATION_FLAGS,
    DetachRetry,
    GuestSpec,
    LibvirtGuests,
)
from offpath.errors import GuestFailed
from offpath.pci.address import PciAddress
from offpath.ports.guest_interface import HostdevInterface, interface_xml
from tests.unit.compute.libvirt_double import FakeDomain, guests_over, libvirt_error

UUID = "6a1f0c4e-8d52-4a43-9d1b-0c3a2f6e0001"
VF = HostdevInterface("fa:16:3e:f0:a4:bb", PciAddress.parse("0000:82:00.4"))
OTHER = HostdevInterface("fa:16:3e:f0:a4:cc", PciAddress.parse("0000:82:00.5"))
# The element Nova writes for a remote-managed VF: no vlan, no model, managed="yes".
ELEMENT = (
    '<interface type="hostdev" managed="yes"><mac address="fa:16:3e:f0:a4:bb" />'
    '<source><address type="pci" domain="0x0000" bus="0x82" slot="0x00" function="0x4" />'
    "</source></interface>"
)
CONFIG = libvirt.VIR_DOMAIN_AFFECT_CONFIG
LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE
FAST = DetachRetry(attempts=3, timeout=0.01, poll=0.001)


def holding(
    *interfaces: HostdevInterface,
    active: bool = True,
    ports: tuple[str, ...] = (),
    slow_detaches: int = 0,
    refuse: dict[str, libvirt.libvirtError] | None = None,
) -> FakeDomain:
    """A domain that holds `interfaces` and records `ports`, live (when active) and defined."""
    devices = [interface_xml(i) for i in interfaces]
    return FakeDomain(
        UUID,
        active=active,
        live=list(devices) if active else [],
        config=list(devices),
        live_ports=ports if active else (),
        config_ports=ports,
        slow_detaches=slow_detaches,
        refuse=refuse or {},
    )


def test_attach_to_a_running_guest_affects_its_definition_and_itself() -> None:
    domain = holding(active=True)
    guests, _ = guests_over(domain)
    guests.attach_interface(UUID, VF, "port-1")
    assert domain.calls == [
        ("attachDeviceFlags", ELEMENT, CONFIG | LIVE),
        (
            "setMetadata",
            libvirt.VIR_DOMAIN_METADATA_ELEMENT,
            '<instance><port id="port-1" /></instance>',
            "offpath",
            "https://offpath.dev/xmlns/libvirt/instance/1.0",
            CONFIG | LIVE,
        ),
    ]
    assert guests.interfaces(UUID) == (VF,)
    assert guests.guest_ports(UUID) == ("port-1",)


def test_attach_to_a_stopped_guest_affects_its_definition_only() -> None:
    domain = holding(active=False)
    guests, _ = guests_over(domain)
    guests.attach_interface(UUID, VF, "port-1")
    assert [(c[0], c[-1]) for c in domain.calls] == [
        ("attachDeviceFlags", CONFIG),
        ("setMetadata", CONFIG),
    ]


def test_a_retried_attach_plugs_nothing_twice() -> None:
    domain = holding(active=True)
    guests, _ = guests_over(domain)
    guests.attach_interface(UUID, VF, "port-1")
    guests.attach_interface(UUID, VF, "port-1")
    assert domain.names() == ["attachDeviceFlags", "setMetadata"]


def test_a_refused_attach_records_no_port() -> None:
    refusal = libvirt_error(libvirt.VIR_ERR_INTERNAL_ERROR, "PCI device 0000:82:00.4 is in use")
    domain = holding(active=True, refuse={"attachDeviceFlags": refusal})
    guests, _ = guests_over(domain)
    with pytest.raises(GuestFailed) as info:
        guests.attach_interface(UUID, VF, "port-1")
    assert info.value.message == (
        f"libvirt at qemu:///system: cannot attach an interface to the guest of instance {UUID}: "
        "PCI device 0000:82:00.4 is in use"
    )
    assert domain.names() == ["attachDeviceFlags"]


def test_detach_from_a_running_guest_uses_the_same_element_and_flags() -> None:
    domain = holding(VF, OTHER, active=True, ports=("port-1", "port-2"))
    guests, _ = guests_over(domain, detach_retry=FAST)
    guests.detach_interface(UUID, VF, "port-1")
    assert domain.calls[0] == ("detachDeviceFlags", ELEMENT, CONFIG | LIVE)
    assert domain.calls[1][0] == "setMetadata"
    assert domain.calls[1][2] == '<instance><port id="port-2" /></instance>'
    assert guests.interfaces(UUID) == (OTHER,)
    assert guests.guest_ports(UUID) == ("port-2",)


def test_a_guest_slow_to_release_the_device_is_asked_again_live() -> None:
    domain = holding(VF, active=True, slow_detaches=2)
    guests, _ = guests_over(domain, detach_retry=FAST)
    guests.detach_interface(UUID, VF, "port-1")
    detaches = [c[1:] for c in domain.calls if c[0] == "detachDeviceFlags"]
    assert detaches == [(ELEMENT, CONFIG | LIVE), (ELEMENT, LIVE), (ELEMENT, LIVE)]
    assert guests.interfaces(UUID) == ()


def test_a_guest_that_never_releases_the_device_fails_after_the_attempts() -> None:
    domain = holding(VF, active=True, slow_detaches=100)
    guests, _ = guests_over(domain, detach_retry=FAST)
    with pytest.raises(GuestFailed) as info:
        guests.detach_interface(UUID, VF, "port-1")
    assert info.value.message.endswith(
        "the guest still holds fa:16:3e:f0:a4:bb (0000:82:00.4) after 3 detach attempts"
    )
    assert domain.names().count("detachDeviceFlags") == 3


def test_detach_of_an_interface_already_gone_only_forgets_the_port() -> None:
    domain = holding(OTHER, active=True, ports=("port-1",))
    guests, _ = guests_over(domain)
    guests.detach_interface(UUID, VF, "port-1")
    assert domain.names() == ["setMetadata"]
    guests.detach_interface(UUID, VF, "port-1")
    assert domain.names() == ["setMetadata"]
    assert guests.guest_ports(UUID) == ()


def test_a_device_libvirt_no_longer_finds_counts_as_detached() -> None:
    missing = libvirt_error(libvirt.VIR_ERR_DEVICE_MISSING, "device not found")
    domain = holding(VF, active=False, refuse={"detachDeviceFlags": missing})
    guests, _ = guests_over(domain)
    guests.detach_interface(UUID, VF, "port-1")
    assert domain.calls[0] == ("detachDeviceFlags", ELEMENT, CONFIG)


def test_interfaces_of_no_guest_is_a_guest_failure() -> None:
    guests, _ = guests_over()
    with pytest.raises(GuestFailed, match="no such domain"):
        guests.interfaces(UUID)


def test_live_migration_passes_novas_flags_and_the_guest_xml() -> None:
    domain = holding(active=True)
    guests, _ = guests_over(domain)
    xml = domain.XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE)
    assert guests.migrate_live(UUID, destination_uri="qemu+tcp://dst/system") is None
    assert domain.calls == [
        (
            "migrateToURI3",
            "qemu+tcp://dst/system",
            {"bandwidth": 0, "destination_xml": xml, "persistent_xml": xml},
            libvirt.VIR_MIGRATE_LIVE
            | libvirt.VIR_MIGRATE_PEER2PEER
            | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
            | libvirt.VIR_MIGRATE_PERSIST_DEST,
        )
    ]
    assert domain.calls[0][3] == LIVE_MIGRATION_FLAGS


def test_a_refused_live_migration_names_the_step() -> None:
    refusal = libvirt_error(libvirt.VIR_ERR_OPERATION_FAILED, "unable to connect to dst")
    guests, _ = guests_over(holding(active=True, refuse={"migrateToURI3": refusal}))
    with pytest.raises(GuestFailed) as info:
        guests.migrate_live(UUID, destination_uri="qemu+tcp://dst/system")
    assert info.value.step == "live-migrate"


def test_arrival_finds_the_guest_libvirt_moved() -> None:
    guests, _ = guests_over(holding(active=True))
    guests.arrive(UUID, None, running=True)
    empty, _ = guests_over()
    with pytest.raises(GuestFailed) as info:
        empty.arrive(UUID, None, running=True)
    assert info.value.message.endswith("no such domain after the live migration")


def test_a_real_host_takes_no_handed_over_xml() -> None:
    guests, _ = guests_over(holding(active=True))
    with pytest.raises(GuestFailed, match="only libvirt moves a guest here"):
        guests.arrive(UUID, "<domain/>", running=True)


def test_the_real_path_is_not_simulated() -> None:
    guests, conn = guests_over()
    assert guests.simulated is False
    assert conn.opened == []  # nothing connects before the first step


def test_the_test_driver_refuses_the_real_hot_plug(tmp_path: Path) -> None:
    node = tmp_path / "node.xml"
    node.write_text("<node/>\n", encoding="utf-8")
    guests = LibvirtGuests(f"test://{node}")
    guests.define(GuestSpec(UUID, "vm", 64, 1, "test", (), ()))
    guests.start(UUID, paused=False)
    with pytest.raises(GuestFailed) as info:
        guests.attach_interface(UUID, VF, "port-1")
    assert "not supported" in info.value.message
    assert guests.guest_ports(UUID) == ()

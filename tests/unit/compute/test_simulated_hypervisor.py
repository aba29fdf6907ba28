"""The simulated hypervisor on libvirt's real test driver: hot-plug and live migration played,
each host on a test-driver connection of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from offpath.compute.hypervisor_choice import hypervisor_for
from offpath.compute.libvirt_guest import GuestPower, GuestSpec, LibvirtGuests
from offpath.compute.simulated_hypervisor import SimulatedHypervisor
from offpath.errors import GuestFailed
from offpath.pci.address import PciAddress
from offpath.ports.guest_interface import HostdevInterface

UUID = "6a1f0c4e-8d52-4a43-9d1b-0c3a2f6e0001"
BOOTED = HostdevInterface("fa:16:3e:00:00:01", PciAddress.parse("0000:82:00.4"))
PLUGGED = HostdevInterface("fa:16:3e:00:00:02", PciAddress.parse("0000:82:00.5"))


def host(folder: Path) -> SimulatedHypervisor:
    """A simulated host whose guests live in its own test-driver connection."""
    folder.mkdir()
    node = folder / "libvirt.xml"
    node.write_text("<node/>\n", encoding="utf-8")
    return SimulatedHypervisor(f"test://{node}")


@pytest.fixture
def source(tmp_path: Path) -> Iterator[SimulatedHypervisor]:
    hypervisor = host(tmp_path / "src")
    hypervisor.define(GuestSpec(UUID, "vm", 64, 1, "test", (BOOTED,), ("port-1",)))
    hypervisor.start(UUID, paused=False)
    yield hypervisor
    hypervisor.close()


@pytest.fixture
def destination(tmp_path: Path) -> Iterator[SimulatedHypervisor]:
    hypervisor = host(tmp_path / "dst")
    yield hypervisor
    hypervisor.close()


def test_an_attach_shows_in_the_live_xml_and_the_metadata(source: SimulatedHypervisor) -> None:
    source.attach_interface(UUID, PLUGGED, "port-2")
    assert source.interfaces(UUID) == (BOOTED, PLUGGED)
    assert source.guest_ports(UUID) == ("port-1", "port-2")
    assert source.power(UUID) is GuestPower.RUNNING


def test_a_paused_guest_stays_paused_through_a_hot_plug(source: SimulatedHypervisor) -> None:
    source.destroy(UUID)
    source.define(GuestSpec(UUID, "vm", 64, 1, "test", (), ()))
    source.start(UUID, paused=True)
    source.attach_interface(UUID, PLUGGED, "port-2")
    assert source.power(UUID) is GuestPower.PAUSED
    assert source.interfaces(UUID) == (PLUGGED,)


def test_a_detach_removes_the_interface_and_its_port(source: SimulatedHypervisor) -> None:
    source.attach_interface(UUID, PLUGGED, "port-2")
    source.detach_interface(UUID, BOOTED, "port-1")
    assert source.interfaces(UUID) == (PLUGGED,)
    assert source.guest_ports(UUID) == ("port-2",)
    source.detach_interface(UUID, BOOTED, "port-1")
    assert source.interfaces(UUID) == (PLUGGED,)


def test_attach_and_detach_on_a_stopped_guest_show_once_it_starts(
    source: SimulatedHypervisor,
) -> None:
    source.power_off(UUID)
    source.attach_interface(UUID, PLUGGED, "port-2")
    assert source.power(UUID) is GuestPower.SHUTOFF
    source.power_on(UUID)
    assert source.interfaces(UUID) == (BOOTED, PLUGGED)


def test_suspend_and_power_on_keep_the_interfaces(source: SimulatedHypervisor) -> None:
    source.attach_interface(UUID, PLUGGED, "port-2")
    source.suspend(UUID)
    assert source.power(UUID) is GuestPower.SAVED
    source.power_on(UUID)
    assert source.power(UUID) is GuestPower.RUNNING
    assert source.interfaces(UUID) == (BOOTED, PLUGGED)


def test_live_migration_moves_the_guest_its_interfaces_and_ports(
    source: SimulatedHypervisor, destination: SimulatedHypervisor
) -> None:
    source.attach_interface(UUID, PLUGGED, "port-2")
    handoff = source.migrate_live(UUID, destination_uri=destination.uri)
    assert source.power(UUID) is None
    assert destination.power(UUID) is None  # two connections: nothing shared
    destination.arrive(UUID, handoff, running=True)
    assert destination.power(UUID) is GuestPower.RUNNING
    assert destination.interfaces(UUID) == (BOOTED, PLUGGED)
    assert destination.guest_ports(UUID) == ("port-1", "port-2")


def test_a_paused_guest_arrives_paused(
    source: SimulatedHypervisor, destination: SimulatedHypervisor
) -> None:
    handoff = source.migrate_live(UUID, destination_uri=destination.uri)
    destination.arrive(UUID, handoff, running=False)
    assert destination.power(UUID) is GuestPower.PAUSED


def test_a_stopped_guest_does_not_live_migrate(
    source: SimulatedHypervisor, destination: SimulatedHypervisor
) -> None:
    source.power_off(UUID)
    with pytest.raises(GuestFailed, match="the guest is not running"):
        source.migrate_live(UUID, destination_uri=destination.uri)
    assert source.power(UUID) is GuestPower.SHUTOFF


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        pytest.param("qemu+tcp://dst/system", "only to another simulated host", id="real"),
        pytest.param(None, "the destination is this host", id="self"),
    ],
)
def test_a_simulated_guest_moves_only_to_another_simulated_host(
    source: SimulatedHypervisor, uri: str | None, problem: str
) -> None:
    with pytest.raises(GuestFailed, match=problem):
        source.migrate_live(UUID, destination_uri=uri or source.uri)
    assert source.power(UUID) is GuestPower.RUNNING


def test_an_arrival_needs_the_handed_over_xml_of_that_guest(
    source: SimulatedHypervisor, destination: SimulatedHypervisor
) -> None:
    with pytest.raises(GuestFailed, match="no domain XML was handed over"):
        destination.arrive(UUID, None, running=True)
    other = "0b7e4f7e-1111-4c2b-9d1b-0c3a2f6e0002"
    handoff = source.migrate_live(UUID, destination_uri=destination.uri)
    with pytest.raises(GuestFailed, match=f"is the guest of {UUID}"):
        destination.arrive(other, handoff, running=True)


def test_the_simulation_says_so_and_refuses_a_real_host() -> None:
    assert SimulatedHypervisor("test:///default").simulated is True
    with pytest.raises(ValueError, match="test driver"):
        SimulatedHypervisor("qemu:///system")


@pytest.mark.parametrize(
    ("uri", "kind"),
    [
        pytest.param("test:///default", SimulatedHypervisor, id="test-default"),
        pytest.param(
            "test:///var/lib/offpath/hosts/h1/libvirt.xml", SimulatedHypervisor, id="file"
        ),
        pytest.param("qemu:///system", LibvirtGuests, id="qemu"),
        pytest.param("qemu+tcp://h2/system", LibvirtGuests, id="remote"),
    ],
)
def test_the_uri_picks_the_hypervisor(uri: str, kind: type) -> None:
    hypervisor = hypervisor_for(uri)
    assert type(hypervisor) is kind
    assert hypervisor.uri == uri
    assert hypervisor.simulated is (kind is SimulatedHypervisor)

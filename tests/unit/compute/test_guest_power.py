"""Power operations on a guest: the libvirt calls `LibvirtGuests` makes (recorded), then the real
test driver for what it supports (start, reboot, shutdown, managed save)."""

from __future__ import annotations

from pathlib import Path

import libvirt
import pytest

from offpath.compute.libvirt_guest import GuestPower, GuestSpec, LibvirtGuests
from offpath.errors import GuestFailed
from tests.unit.compute.libvirt_double import FakeDomain, guests_over, libvirt_error

UUID = "6a1f0c4e-8d52-4a43-9d1b-0c3a2f6e0001"


@pytest.mark.parametrize(
    ("domain", "power"),
    [
        pytest.param(FakeDomain(UUID, active=True), GuestPower.RUNNING, id="running"),
        pytest.param(FakeDomain(UUID, active=True, paused=True), GuestPower.PAUSED, id="paused"),
        pytest.param(FakeDomain(UUID), GuestPower.SHUTOFF, id="shutoff"),
        pytest.param(FakeDomain(UUID, saved=True), GuestPower.SAVED, id="saved"),
    ],
)
def test_power_reads_active_then_state_then_the_saved_image(
    domain: FakeDomain, power: GuestPower
) -> None:
    guests, _ = guests_over(domain)
    assert guests.power(UUID) is power


def test_no_guest_has_no_power() -> None:
    guests, _ = guests_over()
    assert guests.power(UUID) is None


def test_power_off_asks_the_guest_first() -> None:
    domain = FakeDomain(UUID, active=True)
    guests, _ = guests_over(domain)
    guests.power_off(UUID)
    assert domain.names() == ["shutdown"]
    assert guests.power(UUID) is GuestPower.SHUTOFF


def test_power_off_destroys_a_guest_that_ignores_the_shutdown() -> None:
    domain = FakeDomain(UUID, active=True, obeys_shutdown=False)
    guests, _ = guests_over(domain, shutdown_timeout=0.05)
    guests.power_off(UUID)
    assert domain.names() == ["shutdown", "destroy"]
    assert not domain.active


def test_power_off_destroys_a_paused_guest_at_once() -> None:
    domain = FakeDomain(UUID, active=True, paused=True)
    guests, _ = guests_over(domain)
    guests.power_off(UUID)
    assert domain.names() == ["destroy"]


def test_power_off_of_a_suspended_guest_drops_its_saved_memory() -> None:
    domain = FakeDomain(UUID, saved=True)
    guests, _ = guests_over(domain)
    guests.power_off(UUID)
    assert domain.names() == ["managedSaveRemove"]
    assert guests.power(UUID) is GuestPower.SHUTOFF


def test_power_off_of_a_stopped_guest_calls_nothing() -> None:
    domain = FakeDomain(UUID)
    guests, _ = guests_over(domain)
    guests.power_off(UUID)
    assert domain.calls == []


def test_power_off_without_a_guest_is_a_guest_failure() -> None:
    guests, _ = guests_over()
    with pytest.raises(GuestFailed) as info:
        guests.power_off(UUID)
    assert info.value.step == "power off"
    assert info.value.message.endswith(": no such domain")


def test_power_on_creates_a_stopped_guest_and_leaves_a_running_one() -> None:
    stopped, running = FakeDomain(UUID), FakeDomain(UUID, active=True)
    for domain, calls in ((stopped, ["create"]), (running, [])):
        guests, _ = guests_over(domain)
        guests.power_on(UUID)
        assert domain.names() == calls
        assert domain.active


def test_power_on_of_a_suspended_guest_is_a_create_that_restores_it() -> None:
    domain = FakeDomain(UUID, saved=True)
    guests, _ = guests_over(domain)
    guests.power_on(UUID)
    # virDomainCreate itself restores the managed save image: never removed first.
    assert domain.names() == ["create"]


@pytest.mark.parametrize(
    ("domain", "calls"),
    [
        pytest.param(FakeDomain(UUID, active=True), ["destroy", "create"], id="running"),
        pytest.param(FakeDomain(UUID), ["create"], id="shutoff"),
        pytest.param(FakeDomain(UUID, saved=True), ["managedSaveRemove", "create"], id="saved"),
    ],
)
def test_hard_reboot_destroys_and_creates(domain: FakeDomain, calls: list[str]) -> None:
    guests, _ = guests_over(domain)
    guests.reboot(UUID, hard=True)
    assert domain.names() == calls
    assert guests.power(UUID) is GuestPower.RUNNING


def test_soft_reboot_asks_libvirt_to_reboot() -> None:
    domain = FakeDomain(UUID, active=True)
    guests, _ = guests_over(domain)
    guests.reboot(UUID, hard=False)
    assert domain.calls == [("reboot", 0)]


def test_a_refused_soft_reboot_falls_back_to_a_hard_one() -> None:
    refusal = libvirt_error(libvirt.VIR_ERR_OPERATION_INVALID, "domain is not running")
    domain = FakeDomain(UUID, active=True, refuse={"reboot": refusal})
    guests, _ = guests_over(domain)
    guests.reboot(UUID, hard=False)
    assert domain.names() == ["reboot", "destroy", "create"]


def test_suspend_is_a_managed_save() -> None:
    domain = FakeDomain(UUID, active=True)
    guests, _ = guests_over(domain)
    guests.suspend(UUID)
    assert domain.calls == [("managedSave", 0)]
    assert guests.power(UUID) is GuestPower.SAVED


def test_suspend_of_a_suspended_guest_calls_nothing() -> None:
    domain = FakeDomain(UUID, saved=True)
    guests, _ = guests_over(domain)
    guests.suspend(UUID)
    assert domain.calls == []


def test_suspend_of_a_stopped_guest_is_refused() -> None:
    guests, _ = guests_over(FakeDomain(UUID))
    with pytest.raises(GuestFailed) as info:
        guests.suspend(UUID)
    assert info.value.message == (
        f"libvirt at qemu:///system: cannot suspend the guest of instance {UUID}: "
        "the guest is not running"
    )


def test_a_libvirt_refusal_names_the_step() -> None:
    refusal = libvirt_error(libvirt.VIR_ERR_OPERATION_FAILED, "cannot save: disk full")
    domain = FakeDomain(UUID, active=True, refuse={"managedSave": refusal})
    guests, _ = guests_over(domain)
    with pytest.raises(GuestFailed) as info:
        guests.suspend(UUID)
    assert info.value.step == "suspend"
    assert info.value.message.endswith("cannot save: disk full")


# -- the real test driver ------------------------------------------------------


@pytest.fixture
def guests(tmp_path: Path) -> LibvirtGuests:
    """Guests on a test-driver connection of their own (a node file's state is per connection)."""
    node = tmp_path / "node.xml"
    node.write_text("<node/>\n", encoding="utf-8")
    hypervisor = LibvirtGuests(f"test://{node}")
    hypervisor.define(GuestSpec(UUID, "vm", 64, 1, "test", (), ("port-1",)))
    return hypervisor


def test_a_suspended_guest_powers_on_running(guests: LibvirtGuests) -> None:
    guests.power_on(UUID)
    guests.suspend(UUID)
    assert guests.power(UUID) is GuestPower.SAVED
    guests.power_on(UUID)
    assert guests.power(UUID) is GuestPower.RUNNING


def test_reboots_leave_the_guest_running(guests: LibvirtGuests) -> None:
    guests.start(UUID, paused=True)
    assert guests.power(UUID) is GuestPower.PAUSED
    guests.reboot(UUID, hard=True)
    assert guests.power(UUID) is GuestPower.RUNNING
    guests.reboot(UUID, hard=False)
    assert guests.power(UUID) is GuestPower.RUNNING


def test_power_off_keeps_the_guest_and_its_ports(guests: LibvirtGuests) -> None:
    guests.power_on(UUID)
    guests.power_off(UUID)
    guests.power_off(UUID)
    assert guests.power(UUID) is GuestPower.SHUTOFF
    assert guests.guest_ports(UUID) == ("port-1",)


def test_a_stopped_suspended_guest_boots_afresh(guests: LibvirtGuests) -> None:
    guests.power_on(UUID)
    guests.suspend(UUID)
    guests.power_off(UUID)
    assert guests.power(UUID) is GuestPower.SHUTOFF

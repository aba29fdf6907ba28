"""A boot through the conductor, built by a real agent: bind, os-vif plug, libvirt guest, events."""

from __future__ import annotations

import json
import logging
import time

import pytest

from offpath.compute.build_result import PlugConfirmation
from offpath.pci.address import PciAddress
from offpath.pci.claims import DeviceStatus
from offpath.ports.guest_interface import hostdev_interfaces
from offpath.ports.vnic import VnicType
from tests.agent.conftest import HOST, OVERLAY, VLAN, Rig, wait_until


def _vf_of(rig: Rig, uuid_: str) -> dict[str, object]:
    (row,) = [r for r in rig.cluster.devices() if r.instance_uuid == uuid_]
    return {"address": row.address, "status": row.status}


def test_a_remote_managed_port_is_bound_plugged_with_noop_and_never_awaited(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="os_vif")
    port_id = rig.double.create_port(
        OVERLAY, VnicType.REMOTE_MANAGED, profile={"capabilities": ["switchdev"]}
    )
    view = rig.boot(port_id)
    done = rig.settled(view.uuid)
    assert (done.vm_state, done.host, done.fault) == ("active", HOST, None)
    (address,) = done.devices
    port = rig.double.show_port(port_id)
    # The simulated card numbers VF v at slot.function = divmod(v + 1, 8).
    vf = PciAddress.parse(address)
    vf_num = vf.slot * 8 + vf.function - 1
    # §5.2: exactly the PCI keys with the VF's values, the user's key kept.
    assert port.binding_profile == {
        "capabilities": ["switchdev"],
        "pci_vendor_info": "15b3:101e",
        "pci_slot": address,
        "physical_network": None,
        "card_serial_number": "MT0000000001",
        "pf_mac_address": "b8:ce:f6:00:01:00",  # PF 0: the remote-managed spec's
        "vf_num": vf_num,
    }
    assert (port.status, port.binding_host_id, port.device_id, port.device_owner) == (
        "ACTIVE",
        HOST,
        view.uuid,
        "compute:nova",
    )
    xml = rig.guests.guest_xml(view.uuid)
    assert xml is not None
    (interface,) = hostdev_interfaces(xml)
    assert str(interface.address) == address
    assert interface.vlan is None
    assert "<vlan" not in xml
    assert interface.mac == port.mac_address
    # The real os-vif ran its noop plugin for the port.
    plugged = [r.getMessage() for r in caplog.records if r.name.startswith("os_vif")]
    assert any("Successfully plugged vif" in m and "plugin='noop'" in m for m in plugged)
    details = json.loads(rig.build_details(view.uuid) or "{}")
    (outcome,) = details["ports"]
    assert outcome["plugin"] == "noop"
    assert outcome["waited_for"] is None
    assert outcome["confirmation"] == PlugConfirmation.BIND_ANSWER
    # A wait would have lasted the 2 s timeout (the event came before anyone listened).
    assert details["duration"] < 2
    # The backend's bind-time event came before anyone listened and nobody waited for it.
    events = rig.managers[HOST].events
    assert wait_until(lambda: [(u, e.tag) for u, e in events.buffered()] == [(view.uuid, port_id)])


def test_a_direct_port_waits_for_its_late_plug_event(rig: Rig) -> None:
    port_id = rig.double.create_port(VLAN, VnicType.DIRECT)
    view = rig.boot(port_id)
    done = rig.settled(view.uuid)
    assert done.vm_state == "active"
    details = json.loads(rig.build_details(view.uuid) or "{}")
    (outcome,) = details["ports"]
    assert outcome["plugin"] is None  # hw_veb: the legacy path, no os-vif object
    assert outcome["waited_for"] == "network-vif-plugged"
    assert outcome["confirmation"] == PlugConfirmation.EVENT
    # The VF came up (and its event was posted) only after the bind: a late event, awaited.
    calls = [c for c, p in rig.double.calls if p == port_id]
    assert calls == ["bind", "device_up", "event"]
    xml = rig.guests.guest_xml(view.uuid)
    assert xml is not None
    (interface,) = hostdev_interfaces(xml)
    assert interface.vlan == 100
    assert rig.double.show_port(port_id).binding_profile["physical_network"] == "physnet1"


def test_a_missing_event_with_fatal_plugging_puts_the_server_in_error_and_frees_the_vf(
    rig: Rig,
) -> None:
    rig.double.lose_device_up_events = True
    port_id = rig.double.create_port(VLAN, VnicType.DIRECT)
    started = time.monotonic()
    view = rig.boot(port_id)
    done = rig.settled(view.uuid)
    # The wait was real: the build ended only after the 2 s timeout.
    assert time.monotonic() - started >= 2
    assert done.vm_state == "error"
    assert done.fault == (
        f"Virtual Interface creation failed: no network-vif-plugged event for port {port_id} "
        "within 2 s"
    )
    assert done.devices == ()
    assert {row.status for row in rig.cluster.devices()} == {DeviceStatus.AVAILABLE}
    assert rig.guests.guest_xml(view.uuid) is None
    port = rig.double.show_port(port_id)
    assert (port.binding_host_id, port.device_id, port.binding_profile) == (None, "", {})


def test_a_missing_event_without_fatal_plugging_goes_on(rig: Rig) -> None:
    rig.managers.pop(HOST).close()
    rig.servers.pop().stop()
    rig.add_agent(vif_plugging_timeout=1, vif_plugging_is_fatal=False)
    rig.double.lose_device_up_events = True
    view = rig.boot(rig.double.create_port(VLAN, VnicType.DIRECT))
    done = rig.settled(view.uuid)
    assert done.vm_state == "active"
    (outcome,) = json.loads(rig.build_details(view.uuid) or "{}")["ports"]
    assert outcome["confirmation"] == PlugConfirmation.TIMED_OUT


def test_a_failed_plug_event_fails_the_build(rig: Rig) -> None:
    rig.double.device_up_status = "failed"
    port_id = rig.double.create_port(VLAN, VnicType.DIRECT)
    done = rig.settled(rig.boot(port_id).uuid)
    assert done.vm_state == "error"
    assert done.fault == (
        f"Virtual Interface creation failed: network-vif-plugged came as failed for port {port_id}"
    )


def test_a_remote_managed_plug_the_backend_confirms_later_is_awaited_by_asking_it(
    rig: Rig,
) -> None:
    rig.double.remote_managed_active_after = 0.3
    port_id = rig.double.create_port(OVERLAY, VnicType.REMOTE_MANAGED)
    done = rig.settled(rig.boot(port_id).uuid)
    assert done.vm_state == "active"
    (outcome,) = json.loads(rig.build_details(done.uuid) or "{}")["ports"]
    # No event is awaited (it came at bind time); the port's status is.
    assert outcome["waited_for"] is None
    assert outcome["confirmation"] == PlugConfirmation.BACKEND
    assert outcome["status"] == "ACTIVE"


def test_a_remote_managed_plug_never_confirmed_fails_after_the_timeout(rig: Rig) -> None:
    rig.double.remote_managed_active_after = -1
    port_id = rig.double.create_port(OVERLAY, VnicType.REMOTE_MANAGED)
    started = time.monotonic()
    done = rig.settled(rig.boot(port_id).uuid)
    assert time.monotonic() - started >= 2
    assert done.vm_state == "error"
    assert done.fault == (
        "Virtual Interface creation failed: the backend did not report the port ACTIVE "
        f"for port {port_id} within 2 s"
    )
    assert {row.status for row in rig.cluster.devices()} == {DeviceStatus.AVAILABLE}


def test_a_direct_boot_and_delete_over_rabbitmq(rabbit_rig: Rig) -> None:
    rig = rabbit_rig
    port_id = rig.double.create_port(VLAN, VnicType.DIRECT)
    done = rig.settled(rig.boot(port_id).uuid)
    # The build, its plug event (through the conductor) and its report all crossed the broker.
    assert done.vm_state == "active"
    (outcome,) = json.loads(rig.build_details(done.uuid) or "{}")["ports"]
    assert outcome["confirmation"] == PlugConfirmation.EVENT
    rig.conductor.delete(done.uuid)
    assert wait_until(lambda: rig.guests.guest_xml(done.uuid) is None)
    assert wait_until(lambda: rig.double.show_port(port_id).binding_host_id is None)

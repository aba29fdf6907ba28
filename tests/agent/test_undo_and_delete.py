"""A build that fails at any step leaves nothing behind; delete tears down; a dead host too."""

from __future__ import annotations

import importlib
import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from offpath.compute.libvirt_guest import GuestSpec, domain_xml
from offpath.conductor.build_outcome import fail_builds_on_down_hosts
from offpath.db.cell_schema import ServiceRow
from offpath.db.columns import utcnow
from offpath.db.engine import writing
from offpath.pci.claims import DeviceStatus
from offpath.ports.vnic import VnicType
from tests.agent.conftest import HOST, OVERLAY, VLAN, Rig, wait_until


def _nothing_left(rig: Rig, uuid_: str, *port_ids: str) -> None:
    """No guest, no binding, no claim: what a failed or deleted server must leave."""
    assert rig.guests.guest_xml(uuid_) is None
    assert {row.status for row in rig.cluster.devices()} == {DeviceStatus.AVAILABLE}
    for port_id in port_ids:
        port = rig.double.show_port(port_id)
        assert (port.binding_host_id, port.device_id, port.device_owner) == (None, "", "")
        assert port.binding_profile == {}


def test_a_bind_that_fails_unbinds_the_ports_bound_before_it(rig: Rig) -> None:
    first = rig.double.create_port(OVERLAY, VnicType.REMOTE_MANAGED)
    second = rig.double.create_port(VLAN, VnicType.DIRECT)
    rig.double.fail_bind.add(second)
    done = rig.settled(rig.boot(first, second).uuid)
    assert done.vm_state == "error"
    assert done.fault == (
        f"Binding failed for port {second}, please check neutron logs for more information."
    )
    _nothing_left(rig, done.uuid, first, second)
    assert [c for c, p in rig.double.calls if c in ("bind", "unbind")] == [
        "bind",
        "bind",
        "unbind",
        "unbind",
    ]


def test_a_plug_that_fails_undoes_the_binding(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    # os-vif's own noop plugin (untyped), made to fail as a broken host would.
    noop_plugin = importlib.import_module("vif_plug_noop.noop").NoOpPlugin

    def refuse(self: object, vif: object, instance_info: object) -> None:
        raise RuntimeError("representor not found")

    monkeypatch.setattr(noop_plugin, "plug", refuse)
    port_id = rig.double.create_port(OVERLAY, VnicType.REMOTE_MANAGED)
    done = rig.settled(rig.boot(port_id).uuid)
    assert done.vm_state == "error"
    assert done.fault is not None
    assert done.fault.startswith(f"port {port_id}: os-vif plugin noop failed:")
    assert "representor not found" in done.fault
    _nothing_left(rig, done.uuid, port_id)


def test_a_guest_libvirt_refuses_undoes_plug_and_binding(rig: Rig) -> None:
    port_id = rig.double.create_port(OVERLAY, VnicType.REMOTE_MANAGED)
    # Another domain already holds the name the instance's guest would take.
    uuid_ = "7a5e3c1d-0000-4000-8000-000000000001"
    squatter = "7a5e3c1d-0000-4000-8000-000000000002"
    xml = domain_xml(GuestSpec(squatter, "squatter", 64, 1, "kvm", (), ()))
    rig.guests._connection().defineXML(xml.replace(f"instance-{squatter}", f"instance-{uuid_}"))
    try:
        done = rig.settled(rig.cluster.boot(port_id, uuid_=uuid_).uuid)
    finally:
        rig.guests.destroy(squatter)
    assert done.vm_state == "error"
    assert done.fault is not None
    assert done.fault.startswith(
        f"libvirt at test:///default: cannot define the guest of instance {uuid_}"
    )
    _nothing_left(rig, uuid_, port_id)


def test_delete_destroys_the_guest_unbinds_and_frees(rig: Rig) -> None:
    port_id = rig.double.create_port(OVERLAY, VnicType.REMOTE_MANAGED, profile={"tag": "kept"})
    view = rig.settled(rig.boot(port_id).uuid)
    assert view.vm_state == "active"
    assert rig.conductor.delete(view.uuid).vm_state == "deleted"
    # Once the delete has answered, the port is free to reuse: the agent released it.
    port = rig.double.show_port(port_id)
    assert (port.binding_host_id, port.device_id) == (None, "")
    assert wait_until(lambda: rig.guests.guest_xml(view.uuid) is None)
    # §5.3: the PCI keys go, the user's keys stay.
    assert port.binding_profile == {"tag": "kept"}
    assert {row.status for row in rig.cluster.devices()} == {DeviceStatus.AVAILABLE}


def test_terminating_an_unknown_instance_is_no_error(rig: Rig) -> None:
    manager = rig.managers[HOST]
    assert manager.terminate("7a5e3c1d-0000-4000-8000-0000000000ff") == ()
    assert manager.terminate("7a5e3c1d-0000-4000-8000-0000000000ff") == ()


def test_a_delete_during_the_plug_wait_ends_the_build_at_once(rig: Rig) -> None:
    rig.managers.pop(HOST).close()
    rig.servers.pop().stop()
    rig.add_agent(vif_plugging_timeout=60)
    rig.double.lose_device_up_events = True
    port_id = rig.double.create_port(VLAN, VnicType.DIRECT)
    view = rig.boot(port_id)
    assert wait_until(lambda: rig.guests.guest_xml(view.uuid) is not None)
    rig.conductor.delete(view.uuid)
    # Far sooner than the 60 s timeout: the wait was cancelled.
    assert wait_until(lambda: rig.double.show_port(port_id).device_id == "", timeout=5)
    assert wait_until(lambda: rig.guests.guest_xml(view.uuid) is None, timeout=5)
    assert rig.conductor.show(view.uuid).vm_state == "deleted"
    _nothing_left(rig, view.uuid, port_id)


def test_a_delete_the_agent_does_not_act_on_unbinds_from_the_conductor(rig: Rig) -> None:
    port_id = rig.double.create_port(OVERLAY, VnicType.REMOTE_MANAGED)
    view = rig.settled(rig.boot(port_id).uuid)
    # The agent stops listening, but its host still looks up: the terminate goes unheard.
    rig.managers.pop(HOST).close()
    rig.servers.pop().stop()
    rig.conductor.release_timeout = 0.5
    started = time.monotonic()
    assert rig.conductor.delete(view.uuid).vm_state == "deleted"
    assert 0.5 <= time.monotonic() - started < 5
    port = rig.double.show_port(port_id)
    assert (port.binding_host_id, port.device_id) == (None, "")
    assert {row.status for row in rig.cluster.devices()} == {DeviceStatus.AVAILABLE}


def _host_goes_down(rig: Rig) -> None:
    with writing(rig.cluster.cells.engine(rig.cluster.cell())) as session:
        session.execute(
            update(ServiceRow)
            .where(ServiceRow.host == HOST)
            .values(last_seen_up=utcnow() - timedelta(seconds=120))
        )


def test_a_build_on_a_host_that_went_down_ends_in_error_and_frees_its_vf(rig: Rig) -> None:
    rig.managers.pop(HOST).close()
    rig.servers.pop().stop()  # the agent is gone: nobody builds, nobody reports
    view = rig.boot(rig.double.create_port(OVERLAY, VnicType.REMOTE_MANAGED))
    assert view.vm_state == "building"
    engine = rig.cluster.cells.engine(rig.cluster.cell())
    assert fail_builds_on_down_hosts(engine, service_down_time=60) == ()
    _host_goes_down(rig)
    assert fail_builds_on_down_hosts(engine, service_down_time=60) == (view.uuid,)
    done = rig.conductor.show(view.uuid)
    assert done.vm_state == "error"
    assert done.fault is not None
    assert done.fault.startswith(f"the compute service on {HOST} went down while building")
    assert {row.status for row in rig.cluster.devices()} == {DeviceStatus.AVAILABLE}


def test_a_late_report_for_a_failed_build_makes_the_agent_tear_down(rig: Rig) -> None:
    rig.managers.pop(HOST).close()
    rig.servers.pop().stop()
    # The build waits 1 s in vain, then goes on: it reports ACTIVE late.
    rig.add_agent(vif_plugging_timeout=1, vif_plugging_is_fatal=False)
    rig.double.lose_device_up_events = True
    port_id = rig.double.create_port(VLAN, VnicType.DIRECT)
    view = rig.boot(port_id)
    assert wait_until(lambda: rig.guests.guest_xml(view.uuid) is not None)
    # Meanwhile the conductor gave up on it: its host looked down.
    _host_goes_down(rig)
    engine = rig.cluster.cells.engine(rig.cluster.cell())
    assert fail_builds_on_down_hosts(engine, service_down_time=60) == (view.uuid,)
    assert wait_until(lambda: rig.double.show_port(port_id).device_id == "", timeout=5)
    assert wait_until(lambda: rig.guests.guest_xml(view.uuid) is None, timeout=5)
    assert rig.conductor.show(view.uuid).vm_state == "error"
    _nothing_left(rig, view.uuid, port_id)


def test_deleting_a_server_whose_host_is_down_unbinds_its_ports_from_the_conductor(
    rig: Rig,
) -> None:
    port_id = rig.double.create_port(OVERLAY, VnicType.REMOTE_MANAGED)
    view = rig.settled(rig.boot(port_id).uuid)
    assert view.vm_state == "active"
    rig.managers.pop(HOST).close()
    rig.servers.pop().stop()
    _host_goes_down(rig)
    assert rig.conductor.delete(view.uuid).vm_state == "deleted"
    port = rig.double.show_port(port_id)
    assert (port.binding_host_id, port.device_id, port.binding_profile) == (None, "", {})
    assert {row.status for row in rig.cluster.devices()} == {DeviceStatus.AVAILABLE}

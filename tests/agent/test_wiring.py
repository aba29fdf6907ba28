"""What the agent process wires: its event options, the physnets it reports, old agents' caps."""

from __future__ import annotations

import time
from pathlib import Path

from offpath.compute.agent import event_settings, report_sriov_physnets
from offpath.compute.rpcapi import ComputeAPI
from offpath.ports.events import EventSettings
from offpath.ports.vnic import VnicType
from offpath.rpc.context import RequestContext
from offpath.service_config import load_service_config
from offpath.version import SERVICE_VERSION
from tests.agent.conftest import HOST, VLAN, Rig, specs, wait_until
from tests.agent.network_double import InMemoryNetworkDouble


def test_the_event_options_come_from_the_config(tmp_path: Path) -> None:
    conf = tmp_path / "nova.conf"
    conf.write_text(
        "[DEFAULT]\nvif_plugging_timeout = 30\nvif_plugging_is_fatal = false\n"
        "[libvirt]\nvirt_type = qemu\n"
    )
    config = load_service_config([conf], state_dir=tmp_path)
    assert event_settings(config) == EventSettings(30, False, "qemu")
    assert event_settings(load_service_config([], state_dir=tmp_path)) == EventSettings()


def test_the_agent_reports_the_physnets_of_its_direct_specs() -> None:
    double = InMemoryNetworkDouble()
    report_sriov_physnets(double, HOST, specs())
    assert double.sriov_hosts == {HOST: ("physnet1",)}


def test_a_direct_port_on_an_unmapped_physnet_fails_to_bind(rig: Rig) -> None:
    rig.double.report_sriov_host(HOST, ["physnet2"])
    done = rig.settled(rig.boot(rig.double.create_port(VLAN, VnicType.DIRECT)).uuid)
    assert done.vm_state == "error"
    assert done.fault is not None
    assert done.fault.startswith("Binding failed for port")


def test_events_are_not_sent_to_agents_too_old_to_take_them(rig: Rig) -> None:
    event = {"name": "network-vif-plugged", "tag": "p1"}
    old = ComputeAPI(rig.rpc, minimum_service_version=2)  # capped at 1.1
    old.external_instance_event(RequestContext(), HOST, "i1", [event])
    time.sleep(0.2)
    assert rig.managers[HOST].events.buffered() == ()
    new = ComputeAPI(rig.rpc, minimum_service_version=SERVICE_VERSION)
    new.external_instance_event(RequestContext(), HOST, "i1", [event])
    assert wait_until(lambda: len(rig.managers[HOST].events.buffered()) == 1)

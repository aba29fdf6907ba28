"""The agent's guest steps on a hypervisor double and the network double, without RPC.

Nova's rules for VF ports, which remote-managed ports follow: the VFs leave
the guest before a suspend or a live migration and come back when either
fails; a port arriving with a live migration is plugged (noop for a
remote-managed port) and its VF attached, with no wait for a plug event;
a failed hot-plug undoes the bind and the plug; a detach unbinds with the
PCI part of the profile removed; a shelve-offload unbinds but keeps the
port the server's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import offpath.compute.manager as manager_module
from offpath.compute import vif_plugging
from offpath.compute.build_message import ClaimedVf
from offpath.compute.guest_operations import GuestOperations
from offpath.compute.manager import ComputeManager
from offpath.compute.port_binding import DEVICE_OWNER
from offpath.compute.step_result import StepResult
from offpath.errors import GuestFailed
from offpath.pci.selection import SelectedDevice
from offpath.ports.events import EventSettings
from offpath.ports.guest_interface import HostdevInterface, hostdev_interface
from offpath.ports.profile import PCI_KEYS, profile_for_device
from offpath.ports.vif import vif_from_port
from offpath.ports.vnic import VnicType
from offpath.rpc.context import RequestContext
from offpath.sim.fleet import fleet_reports
from tests.agent.conftest import DEVICE_SPEC, HOST, OVERLAY, VLAN, specs
from tests.agent.hypervisor_double import HypervisorDouble
from tests.agent.network_double import InMemoryNetworkDouble

UUID = "5d8c0b6e-2f1a-4e4b-8d3c-7a9e1f2b3c4d"
(REPORT,) = fleet_reports(1, pfs=2, vfs=4, device_spec=DEVICE_SPEC)
# PF 0's VFs are remote-managed (overlay), PF 1's serve direct ports (physnet1).
REMOTE_VFS = [s for s in REPORT.devices if s.device.address.startswith("0000:43:")]
DIRECT_VFS = [s for s in REPORT.devices if s.device.address.startswith("0000:44:")]


@dataclass
class Agent:
    """One host's guest steps over the doubles, and the os-vif plugs and unplugs made."""

    ops: GuestOperations
    network: InMemoryNetworkDouble
    hypervisor: HypervisorDouble
    plugs: list[tuple[str, str]]

    def port(self, vnic: VnicType = VnicType.REMOTE_MANAGED, **profile: Any) -> str:
        network = OVERLAY if vnic is VnicType.REMOTE_MANAGED else VLAN
        return self.network.create_port(network, vnic, profile=profile)

    def bind(self, port_id: str, selected: SelectedDevice, *, host: str = HOST) -> None:
        """Bind the port to the VF as a build (or a move's binding) left it."""
        port = self.network.show_port(port_id)
        profile = profile_for_device(port, selected.device, specs()[selected.spec_index])
        self.network.bind_port(
            port_id, host=host, profile=profile, device_id=UUID, device_owner=DEVICE_OWNER
        )

    def interface(self, port_id: str) -> HostdevInterface:
        port = self.network.show_port(port_id)
        return hostdev_interface(vif_from_port(port, self.network.show_network(port.network_id)))

    def guest(self, *port_ids: str) -> None:
        """A running guest holding the VFs the ports are bound to."""
        self.hypervisor.add(UUID, {p: self.interface(p) for p in port_ids})

    def addresses(self) -> list[str]:
        return sorted(str(i.address) for i in self.hypervisor.interfaces(UUID))


@pytest.fixture
def agent(monkeypatch: pytest.MonkeyPatch) -> Iterator[Agent]:
    network = InMemoryNetworkDouble([OVERLAY, VLAN])
    hypervisor = HypervisorDouble()
    plugs: list[tuple[str, str]] = []

    def plug(vif: Any, instance: Any) -> None:
        plugs.append(("plug", str(vif.id)))
        vif_plugging.plug(vif, instance)

    def unplug(vif: Any, instance: Any) -> None:
        plugs.append(("unplug", str(vif.id)))
        vif_plugging.unplug(vif, instance)

    monkeypatch.setattr(manager_module, "plug", plug)
    monkeypatch.setattr(manager_module, "unplug", unplug)
    manager = ComputeManager(
        host=HOST,
        network=network,
        hypervisor=hypervisor,
        specs=specs(),
        # Long enough that any wait for a plug event would show.
        settings=EventSettings(vif_plugging_timeout=30),
        confirm_poll_interval=0.02,
    )
    # The NIC agent's events reach this agent as the API would route them.
    network.post_events = lambda uuid, events: manager.deliver_events(
        RequestContext(), uuid, events
    )
    yield Agent(GuestOperations(manager), network, hypervisor, plugs)
    manager.close(timeout=2)


def _changes(agent: Agent) -> list[tuple[str, str]]:
    return list(agent.hypervisor.calls)


# -- suspend -------------------------------------------------------------------------------


def test_suspend_takes_every_vf_out_of_the_guest_first(agent: Agent) -> None:
    first, second = agent.port(), agent.port(VnicType.DIRECT)
    agent.bind(first, REMOTE_VFS[0])
    agent.bind(second, DIRECT_VFS[0])
    agent.guest(first, second)

    result = agent.ops.suspend(UUID)

    assert result.done, result.fault
    assert _changes(agent) == [
        ("detach_interface", first),
        ("detach_interface", second),
        ("suspend", UUID),
    ]
    assert agent.addresses() == []


def test_a_failed_suspend_gives_the_vfs_back(agent: Agent) -> None:
    first, second = agent.port(), agent.port()
    agent.bind(first, REMOTE_VFS[0])
    agent.bind(second, REMOTE_VFS[1])
    agent.guest(first, second)
    before = agent.addresses()
    agent.hypervisor.refuse.add("suspend")

    result = agent.ops.suspend(UUID)

    assert not result.done
    assert result.code == GuestFailed.code
    assert result.fault is not None
    assert "refused by the test" in result.fault
    assert _changes(agent) == [
        ("detach_interface", first),
        ("detach_interface", second),
        ("suspend", UUID),
        ("attach_interface", first),
        ("attach_interface", second),
    ]
    assert agent.addresses() == before


def test_resume_gives_back_the_vfs_the_guest_lacks(agent: Agent) -> None:
    port = agent.port()
    agent.bind(port, REMOTE_VFS[0])
    agent.guest(port)
    assert agent.ops.suspend(UUID).done
    agent.hypervisor.calls.clear()

    result = agent.ops.resume(UUID, port_ids=[port])

    assert result.done, result.fault
    assert _changes(agent) == [("power_on", UUID), ("attach_interface", port)]
    assert agent.addresses() == [REMOTE_VFS[0].device.address]


# -- live migration ---------------------------------------------------------------------------


def test_a_failed_live_migration_gives_the_vfs_back(agent: Agent) -> None:
    port = agent.port()
    agent.bind(port, REMOTE_VFS[0])
    agent.guest(port)
    agent.hypervisor.refuse.add("migrate_live")

    result = agent.ops.live_migrate(UUID, destination="compute-00002")

    assert not result.done
    assert result.handoff is None
    assert _changes(agent) == [
        ("detach_interface", port),
        ("migrate_live", "test:///simulated/compute-00002"),
        ("attach_interface", port),
    ]
    assert agent.addresses() == [REMOTE_VFS[0].device.address]


def test_a_live_migration_hands_the_guest_over_without_its_vfs(agent: Agent) -> None:
    port = agent.port()
    agent.bind(port, REMOTE_VFS[0])
    agent.guest(port)
    agent.hypervisor.simulated = False
    agent.ops.live_migration_uri = "qemu+ssh://%s/system"

    result = agent.ops.live_migrate(UUID, destination="compute-00002")

    assert result.done, result.fault
    assert result.handoff == f"<domain><uuid>{UUID}</uuid></domain>"
    assert result.hypervisor == "libvirt"
    assert _changes(agent) == [
        ("detach_interface", port),
        ("migrate_live", "qemu+ssh://compute-00002/system"),
    ]


def _arrive(agent: Agent, *port_ids: str) -> tuple[StepResult, float]:
    started = time.monotonic()
    result = agent.ops.arrive(
        UUID, handoff="<domain/>", running=True, port_ids=list(port_ids), project_id="demo"
    )
    return result, time.monotonic() - started


def test_arrive_plugs_noop_and_attaches_the_destination_vf_without_waiting(
    agent: Agent,
) -> None:
    port = agent.port()
    # The conductor activated the destination's binding: the profile names this host's VF.
    agent.bind(port, REMOTE_VFS[2])

    result, elapsed = _arrive(agent, port)

    assert result.done, result.fault
    # No network-vif-plugged comes (the backend sent it at bind time) and none is awaited.
    assert elapsed < 5
    (outcome,) = result.ports
    assert (outcome.port_id, outcome.plugin, outcome.waited_for) == (port, "noop", None)
    assert outcome.pci_slot == REMOTE_VFS[2].device.address
    assert agent.plugs == [("plug", port)]
    assert _changes(agent) == [("arrive", "<domain/>"), ("attach_interface", port)]
    assert agent.addresses() == [REMOTE_VFS[2].device.address]
    assert ("device_up", port) not in agent.network.calls


def test_arrive_reports_a_direct_vf_up_and_waits_for_its_event(agent: Agent) -> None:
    # Nova waits for network-vif-plugged of a direct port on a live migration; the
    # NIC agent sends it once the VF is up on the destination.
    port = agent.port(VnicType.DIRECT)
    agent.bind(port, DIRECT_VFS[1])

    result, elapsed = _arrive(agent, port)

    assert result.done, result.fault
    assert elapsed < 5
    (outcome,) = result.ports
    assert (outcome.plugin, outcome.waited_for) == (None, "network-vif-plugged")
    assert outcome.confirmation.value == "event"
    assert agent.plugs == []  # hw_veb: the NIC agent plugs
    assert ("device_up", port) in agent.network.calls
    assert agent.addresses() == [DIRECT_VFS[1].device.address]


def test_a_failed_arrival_undoes_its_plugs(agent: Agent) -> None:
    port = agent.port()
    agent.bind(port, REMOTE_VFS[2])
    agent.hypervisor.refuse.add("attach_interface")

    result, _ = _arrive(agent, port)

    assert not result.done
    assert agent.plugs == [("plug", port), ("unplug", port)]


# -- interfaces -------------------------------------------------------------------------------


def _claimed(port_id: str, selected: SelectedDevice) -> ClaimedVf:
    return ClaimedVf("request-1", port_id, selected)


def test_attach_binds_plugs_and_hot_plugs(agent: Agent) -> None:
    agent.guest()
    port = agent.port()

    result = agent.ops.attach_interface(
        UUID, port, _claimed(port, REMOTE_VFS[1]), project_id="demo"
    )

    assert result.done, result.fault
    bound = agent.network.show_port(port)
    assert (bound.binding_host_id, bound.device_id) == (HOST, UUID)
    assert bound.binding_profile["pci_slot"] == REMOTE_VFS[1].device.address
    assert agent.plugs == [("plug", port)]
    assert _changes(agent) == [("attach_interface", port)]
    assert agent.addresses() == [REMOTE_VFS[1].device.address]


def test_a_failed_hot_plug_undoes_the_plug_and_the_bind(agent: Agent) -> None:
    agent.guest()
    port = agent.port(trusted="true")
    agent.hypervisor.refuse.add("attach_interface")

    result = agent.ops.attach_interface(
        UUID, port, _claimed(port, REMOTE_VFS[1]), project_id="demo"
    )

    assert not result.done
    assert result.code == "compute.interface.attach_failed"
    assert result.fault is not None
    assert result.fault.startswith(f"Failed to attach network adapter device to {UUID}: ")
    assert [c for c in agent.network.calls if c[0] in ("bind", "unbind")] == [
        ("bind", port),
        ("unbind", port),
    ]
    assert agent.plugs == [("plug", port), ("unplug", port)]
    unbound = agent.network.show_port(port)
    assert (unbound.binding_host_id, unbound.device_id, unbound.device_owner) == (None, "", "")
    assert unbound.binding_profile == {"trusted": "true"}
    assert agent.addresses() == []


def test_attach_to_no_guest_binds_nothing(agent: Agent) -> None:
    port = agent.port()

    result = agent.ops.attach_interface(
        UUID, port, _claimed(port, REMOTE_VFS[1]), project_id="demo"
    )

    assert not result.done
    assert agent.network.calls == []
    assert agent.plugs == []


def test_detach_unplugs_and_unbinds_with_the_pci_keys_removed(agent: Agent) -> None:
    port = agent.port(trusted="true")
    agent.bind(port, REMOTE_VFS[0])
    agent.guest(port)
    assert set(PCI_KEYS) & set(agent.network.show_port(port).binding_profile)

    result = agent.ops.detach_interface(UUID, port)

    assert result.done, result.fault
    assert _changes(agent) == [("detach_interface", port)]
    assert agent.plugs == [("unplug", port)]
    unbound = agent.network.show_port(port)
    assert (unbound.binding_host_id, unbound.device_id, unbound.device_owner) == (None, "", "")
    assert unbound.binding_profile == {"trusted": "true"}
    assert agent.addresses() == []


def test_detach_of_another_servers_port_is_refused(agent: Agent) -> None:
    port = agent.port()
    agent.bind(port, REMOTE_VFS[0])
    agent.guest(port)
    other = agent.port()

    result = agent.ops.detach_interface(UUID, other)

    assert not result.done
    assert result.code == "compute.interface.not_attached"
    assert _changes(agent) == []
    assert agent.network.show_port(port).binding_host_id == HOST


# -- shelve-offload -----------------------------------------------------------------------------


def test_shelve_offload_unbinds_but_keeps_the_port_the_servers(agent: Agent) -> None:
    port = agent.port()
    agent.bind(port, REMOTE_VFS[0])
    agent.guest(port)

    result = agent.ops.shelve_offload(UUID, port_ids=[port])

    assert result.done, result.fault
    assert _changes(agent) == [("destroy", UUID)]
    assert agent.hypervisor.guest_xml(UUID) is None
    assert agent.plugs == [("unplug", port)]
    unbound = agent.network.show_port(port)
    assert unbound.binding_host_id is None
    assert (unbound.device_id, unbound.device_owner) == (UUID, DEVICE_OWNER)
    assert not set(PCI_KEYS) & set(unbound.binding_profile)

"""Server actions that keep a server on its host (and shelve/unshelve), port by port.

For a remote-managed and a direct port alike: stop and start keep the VF,
the binding and the guest's interface; a hard reboot plugs again without
waiting; suspend takes the VF out of the guest and resume gives it back;
an attached port gets a VF of the server's own host and a detached one
gives it back; shelve offloads at once (the port unbound but still the
server's, the VF free) and unshelve places the server again.
"""

from __future__ import annotations

from tests.e2e.cloud import PCI_PROFILE_KEYS
from tests.e2e.operations.conftest import DRIVER_AND_VNIC, DRIVER_AND_VNIC_WITH_OVN
from tests.e2e.operations.fleet import (
    HOST_MICROVERSION,
    HOSTS,
    VIF_PLUGGED,
    Fleet,
    host_pair,
    other_host,
)


@DRIVER_AND_VNIC
def test_stop_and_start_keep_the_vf_the_binding_and_the_interface(fleet: Fleet, vnic: str) -> None:
    server, port = fleet.boot(vnic)
    host = server.compute_host
    before = fleet.profiles([port.id])

    fleet.sdk.compute.stop_server(server)
    fleet.settle(server.id, "SHUTOFF")
    fleet.assert_placed(server.id, host, [port], status="SHUTOFF")
    assert fleet.profiles([port.id]) == before
    fleet.assert_waits(server.id, "stop", [port], reported=False)

    fleet.sdk.compute.start_server(server)
    fleet.settle(server.id, "ACTIVE")
    fleet.assert_placed(server.id, host, [port])
    assert fleet.profiles([port.id]) == before
    fleet.assert_waits(server.id, "start", [port], reported=False)


@DRIVER_AND_VNIC_WITH_OVN
def test_a_hard_reboot_plugs_again_and_waits_for_nothing(fleet: Fleet, vnic: str) -> None:
    server, port = fleet.boot(vnic)
    host = server.compute_host
    before = fleet.profiles([port.id])

    fleet.sdk.compute.reboot_server(server, "HARD")
    fleet.settle(server.id, "ACTIVE")
    fleet.assert_placed(server.id, host, [port])
    assert fleet.profiles([port.id]) == before
    # No [workarounds] wait_for_vif_plugged_event_during_hard_reboot: no wait at all.
    fleet.assert_waits(server.id, "reboot", [port])


@DRIVER_AND_VNIC
def test_suspend_takes_the_vf_out_of_the_guest_and_resume_gives_it_back(
    fleet: Fleet, vnic: str
) -> None:
    server, port = fleet.boot(vnic)
    host = server.compute_host
    before = fleet.profiles([port.id])

    fleet.sdk.compute.suspend_server(server)
    fleet.settle(server.id, "SUSPENDED")
    # The VF stays the server's and the port bound: only the guest lost its interface.
    fleet.assert_placed(server.id, host, [port], status="SUSPENDED", interfaces=False)
    assert fleet.profiles([port.id]) == before

    fleet.sdk.compute.resume_server(server)
    fleet.settle(server.id, "ACTIVE")
    fleet.assert_placed(server.id, host, [port])
    assert fleet.profiles([port.id]) == before
    fleet.assert_waits(server.id, "suspend", [port], reported=False)
    fleet.assert_waits(server.id, "resume", [port], reported=False)


@DRIVER_AND_VNIC_WITH_OVN
def test_an_attached_port_gets_a_vf_of_the_servers_host_and_a_detached_one_frees_it(
    fleet: Fleet, vnic: str
) -> None:
    server, first = fleet.boot(vnic)
    host = server.compute_host
    second = fleet.port(vnic)

    attachment = fleet.sdk.compute.create_server_interface(server, port_id=second.id)
    assert (attachment.port_id, attachment.net_id) == (second.id, second.network_id)
    fleet.assert_placed(server.id, host, [first, second])
    listed = {i.port_id for i in fleet.sdk.compute.server_interfaces(server)}
    assert listed == {first.id, second.id}
    fleet.assert_waits(server.id, "attach_interface", [second])

    fleet.sdk.compute.delete_server_interface(second.id, server=server)
    detached = fleet.cloud.unbound(second.id)
    assert not PCI_PROFILE_KEYS & set(detached.binding_profile)
    assert (detached.device_id, detached.device_owner) == ("", "")
    fleet.assert_placed(server.id, host, [first])
    listed = {i.port_id for i in fleet.sdk.compute.server_interfaces(server)}
    assert listed == {first.id}
    fleet.wait_plugs(lambda plugs: not any(p[3] == second.id for p in plugs))


@DRIVER_AND_VNIC_WITH_OVN
def test_shelve_offloads_at_once_and_unshelve_places_the_server_again(
    fleet: Fleet, vnic: str
) -> None:
    server, port = fleet.boot(vnic)

    fleet.sdk.compute.shelve_server(server)
    shelved = fleet.settle(server.id, "SHELVED_OFFLOADED")
    assert shelved.compute_host is None
    assert fleet.held(server.id) == {host: [] for host in HOSTS}
    offloaded = fleet.sdk.network.get_port(port.id)
    # Unbound (no host, no PCI key), and still the server's.
    assert not offloaded.binding_host_id
    assert not PCI_PROFILE_KEYS & set(offloaded.binding_profile)
    assert offloaded.device_id == server.id
    assert not fleet.cloud.guest_exists(server.id)
    fleet.wait_plugs(lambda plugs: not any(p[3] == port.id for p in plugs))

    fleet.sdk.compute.unshelve_server(server)
    unshelved = fleet.settle(server.id, "ACTIVE")
    assert unshelved.compute_host in host_pair(vnic)
    fleet.assert_placed(server.id, unshelved.compute_host, [port])
    # A spawn: the direct port's event is awaited, never a remote-managed port's.
    fleet.assert_waits(server.id, "unshelve", [port], direct=VIF_PLUGGED)


@DRIVER_AND_VNIC
def test_unshelve_to_a_named_host(fleet: Fleet, vnic: str) -> None:
    server, port = fleet.boot(vnic)
    wanted = other_host(vnic, server.compute_host)
    fleet.sdk.compute.shelve_server(server)
    fleet.settle(server.id, "SHELVED_OFFLOADED")

    response = fleet.request(
        "POST",
        f"/compute/v2.1/servers/{server.id}/action",
        {"unshelve": {"host": wanted}},
        **HOST_MICROVERSION,
    )
    assert response.status_code == 202, response.text
    fleet.settle(server.id, "ACTIVE")
    fleet.assert_placed(server.id, wanted, [port])

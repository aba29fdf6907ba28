"""Operations that cannot succeed: refused with nothing changed, or rolled back leaving nothing.

No destination (a host of the wrong kind named, or the only other host
full) is Nova's 400 "No valid host was found." before anything moves. A
destination claim lost to another conductor is retried on the alternate
host, or ends as no valid host when there is none. A destination that
cannot bind the port (its DPU knows no such card, its NIC no physnet)
rolls the move back: the server on its source with its profile, the
migration in error, the destination's VF free. Each test ends with the
leak check like every other.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from tests.e2e.cloud import PCI_PROFILE_KEYS
from tests.e2e.operations.conftest import (
    DRIVER_AND_VNIC,
    DRIVER_AND_VNIC_WITH_OVN,
    REMOTE_MANAGED_ONLY,
)
from tests.e2e.operations.faults import (
    binding_fails_on,
    force_down,
    vfs_taken_behind_the_scheduler,
)
from tests.e2e.operations.fleet import (
    DIRECT,
    HOST_MICROVERSION,
    HOSTS,
    REMOTE_MANAGED,
    Fleet,
    host_pair,
    other_host,
)

NO_VALID_HOST = "No valid host was found."
SCHEDULER_LOG = "offpath.scheduler.scheduler"
LIVE_MIGRATE_ANYWHERE: dict[str, Any] = {
    "os-migrateLive": {"host": None, "block_migration": "auto"}
}


def _action(fleet: Fleet, server_id: str, body: object) -> httpx.Response:
    return fleet.request(
        "POST", f"/compute/v2.1/servers/{server_id}/action", body, **HOST_MICROVERSION
    )


def _refused_for_no_host(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    message = response.json()["badRequest"]["message"]
    assert message.startswith(NO_VALID_HOST), message


def _wrong_kind(vnic: str) -> str:
    """A host with no VF for a port of `vnic` (a NIC host for a remote-managed port, ...)."""
    return host_pair(DIRECT if vnic == REMOTE_MANAGED else REMOTE_MANAGED)[0]


@DRIVER_AND_VNIC
def test_a_move_to_a_host_without_a_vf_of_its_kind_is_refused_and_changes_nothing(
    fleet: Fleet, vnic: str
) -> None:
    server, port = fleet.boot(vnic)
    host = server.compute_host
    before = fleet.profiles([port.id])
    wrong = _wrong_kind(vnic)

    for body in (
        {"migrate": {"host": wrong}},
        {"os-migrateLive": {"host": wrong, "block_migration": "auto"}},
    ):
        _refused_for_no_host(_action(fleet, server.id, body))
        fleet.settle(server.id, "ACTIVE")
        fleet.assert_placed(server.id, host, [port])
        assert fleet.profiles([port.id]) == before
    # Nothing was claimed, so nothing was recorded.
    assert fleet.migrations(server.id) == []


@DRIVER_AND_VNIC
def test_a_move_with_the_other_host_full_is_refused_and_changes_nothing(
    fleet: Fleet, vnic: str
) -> None:
    vfs = sum(len(fleet.cloud.devices(h)) for h in host_pair(vnic))
    booted = [fleet.boot(vnic, f"vm-{i}") for i in range(vfs)]
    server, port = booted[0]
    host = server.compute_host
    before = fleet.profiles([port.id])

    for body in ({"migrate": None}, LIVE_MIGRATE_ANYWHERE):
        _refused_for_no_host(_action(fleet, server.id, body))
        fleet.settle(server.id, "ACTIVE")
        fleet.assert_placed(server.id, host, [port])
        assert fleet.profiles([port.id]) == before
    assert fleet.migrations(server.id) == []


@DRIVER_AND_VNIC
def test_a_destination_claim_lost_to_another_conductor_leaves_no_destination(
    fleet: Fleet, vnic: str, caplog: pytest.LogCaptureFixture
) -> None:
    server, port = fleet.boot(vnic)
    source = server.compute_host
    destination = other_host(vnic, source)
    before = fleet.profiles([port.id])

    with (
        caplog.at_level(logging.INFO, logger=SCHEDULER_LOG),
        vfs_taken_behind_the_scheduler(fleet, destination) as taken,
    ):
        assert len(taken) == len(fleet.cloud.devices(destination))
        # The scheduler still sees them free, picks the destination, and loses the claim.
        _refused_for_no_host(_action(fleet, server.id, {"migrate": None}))
    assert f"claim on {destination} lost" in caplog.text
    fleet.settle(server.id, "ACTIVE")
    fleet.assert_placed(server.id, source, [port])
    assert fleet.profiles([port.id]) == before
    assert fleet.migrations(server.id) == []


@DRIVER_AND_VNIC
def test_a_claim_lost_on_the_first_choice_is_made_on_the_alternate(
    fleet: Fleet, vnic: str, caplog: pytest.LogCaptureFixture
) -> None:
    server, port = fleet.boot(vnic)
    fleet.sdk.compute.shelve_server(server)
    fleet.settle(server.id, "SHELVED_OFFLOADED")
    # Nova's PCIWeigher packs: both land on one host, which the scheduler then prefers.
    fillers = [fleet.boot(vnic, f"filler-{i}")[0] for i in range(2)]
    (first_choice,) = {filler.compute_host for filler in fillers}
    alternate = other_host(vnic, first_choice)

    with (
        caplog.at_level(logging.INFO, logger=SCHEDULER_LOG),
        vfs_taken_behind_the_scheduler(fleet, first_choice),
    ):
        fleet.sdk.compute.unshelve_server(server)
        fleet.settle(server.id, "ACTIVE")
    assert f"claim on {first_choice} lost" in caplog.text
    fleet.assert_placed(server.id, alternate, [port])


@DRIVER_AND_VNIC_WITH_OVN
def test_a_cold_migration_whose_destination_cannot_bind_goes_back_to_the_source(
    fleet: Fleet, vnic: str
) -> None:
    server, port = fleet.boot(vnic)
    source = server.compute_host
    destination = other_host(vnic, source)
    before = fleet.profiles([port.id])

    with binding_fails_on(fleet, vnic, destination):
        fleet.sdk.compute.migrate_server(server)
        fleet.settle(server.id, "ACTIVE")
    fleet.assert_placed(server.id, source, [port])
    assert fleet.profiles([port.id]) == before
    assert fleet.last_migration(server.id) == ("migration", "error", source, destination)


@DRIVER_AND_VNIC_WITH_OVN
def test_a_live_migration_whose_destination_cannot_bind_is_refused(fleet: Fleet, vnic: str) -> None:
    server, port = fleet.boot(vnic)
    source = server.compute_host
    destination = other_host(vnic, source)
    before = fleet.profiles([port.id])

    with binding_fails_on(fleet, vnic, destination):
        response = _action(fleet, server.id, LIVE_MIGRATE_ANYWHERE)
        assert response.status_code == 400, response.text
        message = response.json()["badRequest"]["message"]
        assert message.startswith("Migration pre-check error: "), message
        fleet.settle(server.id, "ACTIVE")
    fleet.assert_placed(server.id, source, [port])
    assert fleet.profiles([port.id]) == before
    assert fleet.last_migration(server.id) == ("live-migration", "error", source, destination)


@DRIVER_AND_VNIC_WITH_OVN
def test_an_unshelve_whose_host_cannot_bind_leaves_the_server_offloaded(
    fleet: Fleet, vnic: str
) -> None:
    server, port = fleet.boot(vnic)
    fleet.sdk.compute.shelve_server(server)
    fleet.settle(server.id, "SHELVED_OFFLOADED")
    target = host_pair(vnic)[0]

    with binding_fails_on(fleet, vnic, target):
        response = _action(fleet, server.id, {"unshelve": {"host": target}})
        assert response.status_code == 202, response.text
        failed = fleet.settle(server.id, "SHELVED_OFFLOADED")
    assert failed.compute_host is None
    assert fleet.held(server.id) == {host: [] for host in HOSTS}
    offloaded = fleet.sdk.network.get_port(port.id)
    assert not offloaded.binding_host_id
    assert not PCI_PROFILE_KEYS & set(offloaded.binding_profile)
    assert offloaded.device_id == server.id
    assert not fleet.cloud.guest_exists(server.id)

    # Once the host binds again, the same server unshelves there.
    response = _action(fleet, server.id, {"unshelve": {"host": target}})
    assert response.status_code == 202, response.text
    fleet.settle(server.id, "ACTIVE")
    fleet.assert_placed(server.id, target, [port])


# One case only: the leak check's delete of a server whose host has no guest of it waits for
# the conductor's port-release timeout (10 s) before it unbinds the port itself.
@REMOTE_MANAGED_ONLY
def test_a_revert_whose_source_cannot_bind_errors_and_leaves_no_destination_claim(
    fleet: Fleet, vnic: str
) -> None:
    server, port = fleet.boot(vnic)
    source = server.compute_host
    destination = other_host(vnic, source)
    fleet.sdk.compute.migrate_server(server)
    fleet.settle(server.id, "VERIFY_RESIZE")

    with binding_fails_on(fleet, vnic, source):
        fleet.sdk.compute.revert_server_resize(server)
        failed = fleet.settle(server.id, "ERROR")
    assert fleet.last_migration(server.id) == ("migration", "error", source, destination)
    # The destination gave everything back; what the source held stays the server's.
    held = fleet.held(server.id)
    assert held[destination] == []
    assert len(held[source]) == 1
    assert failed.compute_host == source
    assert not fleet.cloud.guest_exists(server.id)
    # The port is unbound, and still the server's: a failed move detaches nothing.
    unbound = fleet.sdk.network.get_port(port.id)
    assert not unbound.binding_host_id
    assert not PCI_PROFILE_KEYS & set(unbound.binding_profile)
    assert unbound.device_id == server.id


@DRIVER_AND_VNIC_WITH_OVN
def test_an_evacuation_whose_destination_cannot_bind_fails_and_frees_the_destination(
    fleet: Fleet, vnic: str
) -> None:
    server, port = fleet.boot(vnic)
    source = server.compute_host
    destination = other_host(vnic, source)

    force_down(fleet, source, down=True)
    try:
        with binding_fails_on(fleet, vnic, destination):
            fleet.sdk.compute.evacuate_server(server)
            failed = fleet.settle(server.id, "ERROR")
    finally:
        force_down(fleet, source, down=False)
    assert fleet.last_migration(server.id) == ("evacuation", "failed", source, destination)
    # Nothing of it on the destination; on the source, what it had (its guest, its VF).
    assert failed.compute_host == source
    held = fleet.held(server.id)
    assert (held[destination], len(held[source])) == ([], 1)
    assert fleet.cloud.cloud.hypervisor(destination).guest_xml(server.id) is None
    assert fleet.cloud.cloud.hypervisor(source).guest_xml(server.id) is not None
    # The destination's bind was undone: the port unbound, and still the server's.
    unbound = fleet.sdk.network.get_port(port.id)
    assert not unbound.binding_host_id
    assert not PCI_PROFILE_KEYS & set(unbound.binding_profile)
    assert unbound.device_id == server.id


@DRIVER_AND_VNIC
def test_a_confirm_with_the_source_down_still_frees_the_source_vf(fleet: Fleet, vnic: str) -> None:
    # A confirm cannot fail once begun (the source's clean-up is best effort), so no revert
    # can follow a failed one: the nearest case is a confirm whose source does not answer.
    server, port = fleet.boot(vnic)
    source = server.compute_host
    destination = other_host(vnic, source)
    fleet.sdk.compute.migrate_server(server)
    fleet.settle(server.id, "VERIFY_RESIZE")

    force_down(fleet, source, down=True)
    try:
        fleet.sdk.compute.confirm_server_resize(server)
        fleet.settle(server.id, "ACTIVE")
        fleet.assert_placed(server.id, destination, [port])
        assert fleet.last_migration(server.id) == ("migration", "confirmed", source, destination)
    finally:
        force_down(fleet, source, down=False)

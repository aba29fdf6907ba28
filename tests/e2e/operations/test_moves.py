"""Moves of a server, port by port: cold migrate (confirm, revert), resize, live migrate, evacuate.

Every move claims a VF on the other host of the port's kind, rebuilds the
port's profile wholly from it (Nova's, key for key), moves the guest's
hostdev interface and, for a remote-managed port, the DPU's representor;
the source's VF is freed when the move is final. No step waits for a
remote-managed port's plug event.
"""

from __future__ import annotations

from tests.e2e.cloud import wait_for
from tests.e2e.operations.conftest import DRIVER_AND_VNIC, DRIVER_AND_VNIC_WITH_OVN
from tests.e2e.operations.faults import force_down
from tests.e2e.operations.fleet import OPERATION_WAIT, VIF_PLUGGED, Fleet, other_host


@DRIVER_AND_VNIC
def test_cold_migrate_then_confirm_moves_the_vf_and_frees_the_source(
    fleet: Fleet, vnic: str
) -> None:
    server, port = fleet.boot(vnic)
    source = server.compute_host
    destination = other_host(vnic, source)

    fleet.sdk.compute.migrate_server(server)
    fleet.settle(server.id, "VERIFY_RESIZE")
    # The source's VF stays the server's until the move is confirmed (a revert needs it).
    fleet.assert_placed(server.id, destination, [port], status="VERIFY_RESIZE", source=source)
    assert fleet.last_migration(server.id) == ("migration", "finished", source, destination)
    fleet.assert_waits(server.id, "migrate", [port])

    fleet.sdk.compute.confirm_server_resize(server)
    fleet.settle(server.id, "ACTIVE")
    fleet.assert_placed(server.id, destination, [port])
    assert fleet.last_migration(server.id) == ("migration", "confirmed", source, destination)


@DRIVER_AND_VNIC_WITH_OVN
def test_cold_migrate_then_revert_gives_the_server_back_its_source_vf(
    fleet: Fleet, vnic: str
) -> None:
    server, port = fleet.boot(vnic)
    source = server.compute_host
    destination = other_host(vnic, source)
    before = fleet.profiles([port.id])

    fleet.sdk.compute.migrate_server(server)
    fleet.settle(server.id, "VERIFY_RESIZE")
    fleet.assert_placed(server.id, destination, [port], status="VERIFY_RESIZE", source=source)
    assert fleet.profiles([port.id]) != before

    fleet.sdk.compute.revert_server_resize(server)
    fleet.settle(server.id, "ACTIVE")
    fleet.assert_placed(server.id, source, [port])
    assert fleet.profiles([port.id]) == before
    assert fleet.last_migration(server.id) == ("migration", "reverted", source, destination)
    # The source spawns the guest again: Nova's finish_revert_migration waits for a direct
    # port's event, never for a remote-managed port's.
    fleet.assert_waits(server.id, "revertResize", [port], direct=VIF_PLUGGED)


@DRIVER_AND_VNIC
def test_resize_then_confirm_lands_on_the_other_host_with_the_new_flavor(
    fleet: Fleet, vnic: str
) -> None:
    server, port = fleet.boot(vnic)
    source = server.compute_host
    destination = other_host(vnic, source)

    fleet.sdk.compute.resize_server(server, fleet.resize_flavor_id)
    resized = fleet.settle(server.id, "VERIFY_RESIZE")
    assert resized.flavor.original_name == "m1.medium"
    fleet.assert_placed(server.id, destination, [port], status="VERIFY_RESIZE", source=source)
    assert fleet.last_migration(server.id) == ("resize", "finished", source, destination)
    fleet.assert_waits(server.id, "resize", [port])

    fleet.sdk.compute.confirm_server_resize(server)
    confirmed = fleet.settle(server.id, "ACTIVE")
    assert confirmed.flavor.original_name == "m1.medium"
    fleet.assert_placed(server.id, destination, [port])
    assert fleet.last_migration(server.id) == ("resize", "confirmed", source, destination)


@DRIVER_AND_VNIC_WITH_OVN
def test_live_migration_moves_the_vf_the_binding_and_the_representor(
    fleet: Fleet, vnic: str
) -> None:
    server, port = fleet.boot(vnic)
    source = server.compute_host
    destination = other_host(vnic, source)

    fleet.sdk.compute.live_migrate_server(server, host=None, block_migration="auto")
    fleet.settle(server.id, "ACTIVE", host=destination)
    fleet.assert_placed(server.id, destination, [port])
    assert fleet.last_migration(server.id) == (
        "live-migration",
        "completed",
        source,
        destination,
    )
    # The destination's binding was activated and the source's deleted: one binding left.
    bindings = fleet.cloud.get(f"/network/v2.0/ports/{port.id}/bindings")["bindings"]
    assert [(b["host"], b["status"]) for b in bindings] == [(destination, "ACTIVE")]
    # Nova waits for every port's event in a live migration, except a remote-managed one's.
    fleet.assert_waits(server.id, "live-migration", [port], direct=VIF_PLUGGED)


@DRIVER_AND_VNIC
def test_evacuation_rebuilds_on_the_other_host_and_the_returning_source_is_cleaned(
    fleet: Fleet, vnic: str
) -> None:
    server, port = fleet.boot(vnic)
    source = server.compute_host
    destination = other_host(vnic, source)

    force_down(fleet, source, down=True)
    try:
        fleet.sdk.compute.evacuate_server(server)
        fleet.settle(server.id, "ACTIVE", host=destination)
        # The source is down: its guest and its VF stay until it comes back.
        fleet.assert_placed(server.id, destination, [port], source=source, stale_guest=True)
        assert fleet.last_migration(server.id) == ("evacuation", "done", source, destination)
        fleet.assert_waits(server.id, "evacuate", [port], direct=VIF_PLUGGED)
    finally:
        force_down(fleet, source, down=False)

    wait_for(
        lambda: fleet.last_migration(server.id)[1] == "completed",
        timeout=OPERATION_WAIT,
        what=f"the evacuation of {server.id} to be completed once {source} is back",
    )
    fleet.assert_placed(server.id, destination, [port])

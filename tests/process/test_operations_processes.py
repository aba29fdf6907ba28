"""Server operations across processes: `offpath serve`, two agents, PostgreSQL and RabbitMQ.

An agent killed with SIGKILL in the middle of a move is noticed by its
heartbeat (not by the hour-long RPC timeout of a long step): the move
rolls back, the server runs again on its source with its own VF and
profile, the migration is in `error` and nothing stays claimed on the dead
host. A live migration between the two live agents then moves the server
and its VF, and a delete leaves every VF free.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.process.cluster import wait_until
from tests.process.test_serve import (
    SERVICE_DOWN_TIME,
    TOKEN,
    Deployment,
    admin,
    claimed,
    deployed,
    hosts_up,
    sdk_of,
)

HOST_A, HOST_B = "dpu-a", "dpu-b"
PROFILES = {HOST_A: "bluefield2", HOST_B: "bluefield2"}


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Deployment]:
    """Two BlueField-2 hosts with their DPUs, their agents as processes."""
    with deployed(tmp_path, PROFILES, dpu_hosts=tuple(PROFILES)) as running:
        wait_until(
            lambda: hosts_up(running),
            timeout=40,
            what="both agents registered, up, with their inventory",
            logs=running.logs,
        )
        yield running


def _settled(sdk: Any, server_id: str) -> Any:
    server = sdk.compute.get_server(server_id)
    return server if server.status in ("ACTIVE", "ERROR") and not server.task_state else None


def test_a_destination_killed_mid_move_rolls_back_and_leaks_nothing(pair: Deployment) -> None:
    sdk = sdk_of(pair)
    try:
        flavor = sdk.compute.create_flavor(name="m1.tiny", ram=512, vcpus=1, disk=0)
        image = sdk.image.create_image(
            name="cirros", data=b"\0" * 64, disk_format="raw", container_format="bare"
        )
        overlay = sdk.network.create_network(name="overlay", provider_network_type="geneve")
        sdk.network.create_subnet(network_id=overlay.id, ip_version=4, cidr="10.0.0.0/24")
        port = sdk.network.create_port(network_id=overlay.id, binding_vnic_type="remote-managed")
        server = sdk.compute.create_server(
            name="vm", flavor_id=flavor.id, image_id=image.id, networks=[{"port": port.id}]
        )
        server = sdk.compute.wait_for_server(server, interval=0.25, wait=60)
        source = server.compute_host
        target = HOST_B if source == HOST_A else HOST_A
        before = sdk.network.get_port(port.id).binding_profile
        (source_vf,) = claimed(pair, source, server.id)

        # The destination's agent dies; its heartbeat is still fresh, so it is chosen.
        pair.agents[target].kill()
        sdk.compute.migrate_server(server, host=target)
        wait_until(
            lambda: _settled(sdk, server.id) is not None,
            timeout=SERVICE_DOWN_TIME + 30,
            what="the move to the dead host rolled back",
            logs=pair.logs,
        )
        ended = sdk.compute.get_server(server.id)
        assert (ended.status, ended.compute_host) == ("ACTIVE", source)
        # As in Nova, an ACTIVE server shows no fault: its migrate action says what failed.
        (action,) = [
            a
            for a in sdk.compute.get(f"/servers/{server.id}/os-instance-actions").json()[
                "instanceActions"
            ]
            if a["action"] == "migrate"
        ]
        assert action["message"] == "Error"
        events = sdk.compute.get(
            f"/servers/{server.id}/os-instance-actions/{action['request_id']}",
            headers={"OpenStack-API-Version": "compute 2.84"},
        ).json()["instanceAction"]["events"]
        failed = [e for e in events if e["result"] == "Error"]
        assert failed and target in failed[0]["details"], events
        assert claimed(pair, source, server.id) == [source_vf]
        assert claimed(pair, target, server.id) == []
        port_now = sdk.network.get_port(port.id)
        assert (port_now.binding_host_id, port_now.binding_profile) == (source, before)
        (migration,) = admin_migrations(pair, server.id)
        assert (migration["status"], migration["dest_compute"]) == ("error", target)

        # The agent comes back; a live migration to it now moves the server and its VF.
        pair.restart_agent(target)
        wait_until(lambda: hosts_up(pair), timeout=40, what="the agent back", logs=pair.logs)
        sdk.compute.live_migrate_server(server, host=target, block_migration="auto")
        wait_until(
            lambda: (_settled(sdk, server.id) or ended).compute_host == target,
            timeout=60,
            what="the live migration to the revived host",
            logs=pair.logs,
        )
        moved = sdk.compute.get_server(server.id)
        assert moved.status == "ACTIVE"
        (target_vf,) = claimed(pair, target, server.id)
        assert claimed(pair, source, server.id) == []
        profile = sdk.network.get_port(port.id).binding_profile
        assert profile["pci_slot"] == target_vf
        assert profile["card_serial_number"] != before["card_serial_number"]

        sdk.compute.delete_server(moved)
        sdk.compute.wait_for_delete(moved, interval=0.25, wait=30)
        for host in PROFILES:
            row = admin(pair, f"/hosts/{host}")["host"]
            assert row["free_devices"] == row["devices"], host
        assert sdk.network.get_port(port.id).binding_host_id == ""
    finally:
        sdk.close()


def admin_migrations(deployment: Deployment, server_id: str) -> list[dict[str, Any]]:
    """The server's migrations, as `os-migrations` lists them."""
    response = httpx.get(
        f"{deployment.base}/compute/v2.1/os-migrations",
        params={"instance_uuid": server_id},
        headers={"X-Auth-Token": TOKEN, "OpenStack-API-Version": "compute 2.80"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["migrations"]
    return found

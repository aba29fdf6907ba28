"""A plug event that never comes: fatal to a direct spawn, irrelevant to a remote-managed one.

The cloud's network service posts its events to `[nova] endpoint`, here an
address nobody listens on, so no `network-vif-plugged` reaches any agent.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.cloud import Cloud, closed_port, running_cloud
from tests.e2e.conftest import DPU_HOST, HOSTS, NIC_HOST, Networks

TIMEOUT = 1


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """A cloud whose events go nowhere, with a short fatal plug timeout."""
    config = (
        "[DEFAULT]\n"
        f"vif_plugging_timeout = {TIMEOUT}\n"
        "vif_plugging_is_fatal = true\n"
        "[nova]\n"
        f"endpoint = http://127.0.0.1:{closed_port()}/compute/v2.1\n"
    )
    with running_cloud(tmp_path_factory.mktemp("deaf"), HOSTS, config=config) as running:
        yield running


def test_a_missing_event_fails_the_direct_spawn_after_the_timeout_and_frees_the_vf(
    clean: Cloud, networks: Networks
) -> None:
    cloud = clean
    port = cloud.sdk.network.create_port(network_id=networks.vlan.id, binding_vnic_type="direct")
    started = time.monotonic()
    server = cloud.boot("vm-direct", port)
    took = time.monotonic() - started

    assert server.status == "ERROR"
    assert took >= TIMEOUT
    assert server.fault["message"] == (
        "Virtual Interface creation failed: no network-vif-plugged event "
        f"for port {port.id} within {TIMEOUT} s"
    )
    # Everything the build did is undone: the claim, the guest, the binding.
    assert cloud.claimed(NIC_HOST) == []
    assert not cloud.guest_exists(server.id)
    unbound = cloud.unbound(port.id)
    assert unbound.binding_profile == {}
    details = cloud.build_details(server.id)
    assert (details["state"], details["host"]) == ("error", NIC_HOST)
    (outcome,) = details["ports"]
    assert outcome["waited_for"] == "network-vif-plugged"


def test_a_remote_managed_spawn_does_not_need_the_event(clean: Cloud, networks: Networks) -> None:
    cloud = clean
    port = cloud.sdk.network.create_port(
        network_id=networks.overlay.id, binding_vnic_type="remote-managed"
    )
    server = cloud.boot("vm-rm", port)

    assert (server.status, server.compute_host) == ("ACTIVE", DPU_HOST)
    (outcome,) = cloud.build_details(server.id)["ports"]
    assert (outcome["waited_for"], outcome["confirmation"]) == (None, "bind-answer")
    assert cloud.guest_exists(server.id)

"""Agents as real processes: they report through the conductor; a killed one goes down."""

from __future__ import annotations

from offpath.version import COMPUTE_BINARY, CONDUCTOR_BINARY
from tests.process.cluster import Cluster, wait_until

HOSTS = ("dpu-a", "dpu-b", "dpu-c")
# bluefield2 with --vfs 4: two PFs with four VFs each, all selected by the specs.
DEVICES_PER_HOST = 10


def test_three_agents_report_and_a_killed_one_goes_down(cluster: Cluster) -> None:
    cluster.start_conductor()
    cluster.simulate_hosts(HOSTS)
    agents = {host: cluster.start_agent(host) for host in HOSTS}

    wait_until(
        lambda: cluster.devices_by_host() == dict.fromkeys(HOSTS, DEVICES_PER_HOST),
        timeout=20,
        what="every host's inventory in the cell database",
        logs=cluster.logs,
    )
    listed = cluster.services()
    assert [listed[(COMPUTE_BINARY, host)]["state"] for host in HOSTS] == ["up", "up", "up"]
    assert listed[(CONDUCTOR_BINARY, "conductor-1")]["state"] == "up"

    agents["dpu-a"].kill()
    wait_until(
        lambda: not cluster.compute_states()["dpu-a"],
        timeout=10,
        what="dpu-a down",
        logs=cluster.logs,
    )
    listed = cluster.services()
    states = [listed[(COMPUTE_BINARY, host)]["state"] for host in HOSTS]
    assert states == ["down", "up", "up"]

    # The survivors stop cleanly on SIGTERM: exit 0, within a couple of seconds.
    assert [agents[host].stop(timeout=5) for host in ("dpu-b", "dpu-c")] == [0, 0]

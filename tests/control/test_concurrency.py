"""Many boots at once against too few VFs: exactly one boot per VF succeeds, nothing leaks."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from offpath.pci.claims import DeviceStatus
from offpath.sim.fleet import fleet_reports
from tests.control.cluster import Cluster

BOOTS = 400
HOSTS = 75  # x 1 PF x 4 VFs = 300 remote-managed VFs
THREADS = 16


def test_400_concurrent_boots_get_the_300_vfs_once_each(any_cluster: Cluster) -> None:
    cluster = any_cluster
    cluster.report(fleet_reports(HOSTS, pfs=1, vfs=4))
    ports = [cluster.port() for _ in range(BOOTS)]
    with ThreadPoolExecutor(THREADS) as pool:
        views = list(pool.map(cluster.boot, ports))
    states = Counter(view.vm_state for view in views)
    assert states == {"building": 300, "error": 100}
    failed = [view for view in views if view.vm_state == "error"]
    assert all(view.fault and view.fault.startswith("No valid host was found.") for view in failed)
    assert all(view.devices == () and view.cell == "cell0" for view in failed)
    rows = cluster.devices()
    owners = Counter(row.instance_uuid for row in rows if row.instance_uuid is not None)
    built = {view.uuid for view in views if view.vm_state == "building"}
    # Every VF claimed exactly once, each by one of the instances that built.
    assert set(owners) == built
    assert set(owners.values()) == {1}
    vfs = [row for row in rows if row.dev_type == "type-VF"]
    assert all(row.status == DeviceStatus.CLAIMED for row in vfs)
    # A PF never serves while one of its VFs does.
    pfs = [row for row in rows if row.dev_type == "type-PF"]
    assert {row.status for row in pfs} == {DeviceStatus.UNCLAIMABLE}


def test_deleting_everything_after_a_rush_frees_every_device(any_cluster: Cluster) -> None:
    cluster = any_cluster
    cluster.report(fleet_reports(5, pfs=1, vfs=4))
    ports = [cluster.port() for _ in range(30)]
    with ThreadPoolExecutor(THREADS) as pool:
        views = list(pool.map(cluster.boot, ports))
        list(pool.map(lambda view: cluster.conductor.delete(view.uuid), views))
    assert {row.status for row in cluster.devices()} == {DeviceStatus.AVAILABLE}
    assert all(row.instance_uuid is None for row in cluster.devices())

"""The scheduler's in-memory picture follows claims and service changes without rebuilding."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from offpath.db.cell_schema import ComputeNodeRow, ServiceRow
from offpath.db.columns import utcnow
from offpath.db.engine import reading, writing
from offpath.pci.host_report import HostReport
from offpath.scheduler import host_state
from offpath.scheduler.host_state import HostStateCache
from offpath.scheduler.request import PlacementRequest
from offpath.sim.fleet import fleet_reports
from tests.control.cluster import Cluster


def test_a_claim_leaves_the_picture_a_fresh_read_would_give(any_cluster: Cluster) -> None:
    cluster = any_cluster
    cluster.report(fleet_reports(2, vfs=4))
    view = cluster.boot(cluster.port())
    assert view.host is not None
    with reading(cluster.cells.engine(cluster.cell())) as session:
        generation = session.scalars(
            select(ComputeNodeRow.generation).where(ComputeNodeRow.host == view.host)
        ).one()
    fresh = HostStateCache(cluster.cells, service_down_time=60)
    fresh.refresh()
    mine = cluster.cache.hosts[view.host]
    assert (mine.generation, list(mine.summary.counts)) == (
        generation,
        list(fresh.hosts[view.host].summary.counts),
    )


def test_a_host_whose_service_goes_down_leaves_the_candidates(cluster: Cluster) -> None:
    cluster.report(fleet_reports(3, vfs=4))
    request = PlacementRequest(remote_managed=True)
    cluster.cache.refresh()
    before = {state.host for state in cluster.scheduler.select(request)}
    down = sorted(before)[0]
    with writing(cluster.cells.engine(cluster.cell())) as session:
        session.execute(update(ServiceRow).where(ServiceRow.host == down).values(forced_down=True))
    cluster.cache.service_refresh = 0
    cluster.cache.refresh()
    after = {state.host for state in cluster.scheduler.select(request)}
    assert (len(before), down in after, len(after)) == (3, False, 2)


class _Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


def _set_service(cluster: Cluster, host: str, **values: object) -> None:
    with writing(cluster.cells.engine(cluster.cell())) as session:
        session.execute(update(ServiceRow).where(ServiceRow.host == host).values(**values))


def test_a_service_whose_heartbeats_stop_goes_down_and_comes_back_with_one(
    cluster: Cluster,
) -> None:
    cluster.report(fleet_reports(2, vfs=4))
    clock = _Clock()
    cache = HostStateCache(cluster.cells, service_down_time=60, service_refresh=0, clock=clock)
    cache.refresh()
    assert [s.up for _, s in sorted(cache.services.items())] == [True, True]
    # No row changes: the last heartbeats only age.
    clock.now += timedelta(seconds=61)
    cache.refresh()
    assert [s.up for _, s in sorted(cache.services.items())] == [False, False]
    host = sorted(cache.services)[0]
    _set_service(cluster, host, last_seen_up=clock.now)
    cache.refresh()
    assert {h: s.up for h, s in cache.services.items()} == {
        host: True,
        sorted(cache.services)[1]: False,
    }


def test_flags_set_and_cleared_without_a_heartbeat_are_seen_between_full_reads(
    any_cluster: Cluster,
) -> None:
    cluster = any_cluster
    cluster.report(fleet_reports(3, vfs=4))
    cache = HostStateCache(
        cluster.cells, service_down_time=60, service_refresh=0, service_full_read=1e9
    )
    cache.refresh()
    first, second, _ = sorted(cache.services)
    _set_service(cluster, first, disabled=True)
    _set_service(cluster, second, forced_down=True)
    cache.refresh()
    seen = {h: (s.up, s.disabled) for h, s in cache.services.items()}
    assert (seen[first], seen[second]) == ((True, True), (False, False))
    _set_service(cluster, first, disabled=False)
    _set_service(cluster, second, forced_down=False)
    cache.refresh()
    seen = {h: (s.up, s.disabled) for h, s in cache.services.items()}
    assert (seen[first], seen[second]) == ((True, False), (True, False))


def test_a_refresh_with_nothing_changed_tells_no_listener(cluster: Cluster) -> None:
    cluster.report(fleet_reports(3, vfs=4))
    cache = HostStateCache(cluster.cells, service_down_time=60, service_refresh=0)
    cache.refresh()
    told: list[str] = []
    cache.watch(told.append)
    cache.refresh()
    assert told == []


def test_a_full_read_sees_a_heartbeat_stamped_by_a_lagging_clock(cluster: Cluster) -> None:
    cluster.report(fleet_reports(1, vfs=4))
    clock = _Clock()
    cache = HostStateCache(cluster.cells, service_down_time=60, service_refresh=0, clock=clock)
    cache.refresh()
    clock.now += timedelta(seconds=61)
    cache.refresh()
    (host,) = cache.services
    assert not cache.services[host].up
    # Stamped 30 s behind our clock: older than the margin an incremental read
    # looks back, younger than service_down_time.
    _set_service(cluster, host, last_seen_up=clock.now - timedelta(seconds=30))
    cache.refresh()
    assert not cache.services[host].up
    cache.service_full_read = 0
    cache.refresh()
    assert cache.services[host].up


def test_hosts_changed_by_reports_and_by_other_schedulers_are_seen(any_cluster: Cluster) -> None:
    cluster = any_cluster
    cluster.report(fleet_reports(3, vfs=4))
    cluster.cache.refresh()
    # Another scheduler's claim and a host that now reports fewer VFs.
    other = Cluster(cluster.cells, ports=cluster.ports, seed=7)
    booted = other.boot(cluster.port())
    assert booted.host is not None
    (shrunk,) = [r for r in fleet_reports(3, vfs=2) if r.host != booted.host][:1]
    cluster.report([shrunk])
    cluster.cache.refresh()
    fresh = HostStateCache(cluster.cells, service_down_time=60)
    fresh.refresh()
    mine = {h: (s.generation, list(s.summary.counts)) for h, s in cluster.cache.hosts.items()}
    assert mine == {h: (s.generation, list(s.summary.counts)) for h, s in fresh.hosts.items()}
    untouched = next(h for h in fresh.hosts if h not in (shrunk.host, booted.host))
    assert fresh.hosts[shrunk.host].summary.free_count < fresh.hosts[untouched].summary.free_count


def test_streaming_every_device_gives_the_picture_reading_by_node_gives(
    any_cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = any_cluster
    cluster.report([*fleet_reports(3, vfs=4), HostReport("compute-empty", ())])
    assert cluster.boot(cluster.port()).host is not None

    def picture(cache: HostStateCache) -> dict[str, tuple[int, list[int], bool]]:
        cache.refresh()
        return {
            name: (s.generation, list(s.summary.counts), s.supports_remote_managed)
            for name, s in cache.hosts.items()
        }

    by_node = picture(HostStateCache(cluster.cells, service_down_time=60))
    monkeypatch.setattr(host_state, "_CHUNK", 1)
    streamed = picture(HostStateCache(cluster.cells, service_down_time=60))
    assert (len(streamed), streamed) == (4, by_node)

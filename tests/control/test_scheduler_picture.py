"""The scheduler's in-memory picture follows claims and service changes without rebuilding."""

from __future__ import annotations

from sqlalchemy import select, update

from offpath.db.cell_schema import ComputeNodeRow, ServiceRow
from offpath.db.engine import reading, writing
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

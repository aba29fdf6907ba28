"""The conductor's side of builds: results recorded once, and builds on a dead host ended."""

from __future__ import annotations

import threading
from pathlib import Path

from offpath.compute.build_result import BuildResult, BuildState
from offpath.conductor.rpcapi import ConductorAPI
from offpath.conductor.service import run_conductor
from offpath.db.bootstrap import sync_all
from offpath.db.cells import CellDatabases
from offpath.db.engine import open_engine
from offpath.pci.claims import DeviceStatus
from offpath.ports.vnic import VnicType
from offpath.rpc.context import RequestContext
from offpath.service_config import load_service_config
from offpath.sim.fleet import fleet_reports
from offpath.version import COMPUTE_BINARY, SERVICE_VERSION
from tests.agent.conftest import DEVICE_SPEC, HOST, OVERLAY, Rig, wait_until
from tests.agent.network_double import InMemoryNetworkDouble
from tests.control.cluster import Cluster


def test_a_result_for_an_unknown_or_finished_instance_is_not_wanted(rig: Rig) -> None:
    unknown = BuildResult("7a5e3c1d-0000-4000-8000-0000000000aa", HOST, BuildState.ACTIVE)
    assert rig.conductor.build_finished(unknown) is False
    done = rig.settled(rig.boot(rig.double.create_port(OVERLAY, VnicType.REMOTE_MANAGED)).uuid)
    assert done.vm_state == "active"
    # A second report (a retry) changes nothing and is told so.
    again = BuildResult(done.uuid, HOST, BuildState.ERROR, fault="late")
    assert rig.conductor.build_finished(again) is False
    assert rig.conductor.show(done.uuid).vm_state == "active"


def test_the_conductor_service_ends_builds_on_a_host_that_stopped_heartbeating(
    tmp_path: Path,
) -> None:
    conf = tmp_path / "conductor.conf"
    conf.write_text("[DEFAULT]\nhost = conductor-1\nreport_interval = 1\nservice_down_time = 1\n")
    config = load_service_config([conf], state_dir=tmp_path)
    sync_all(config)
    cells = CellDatabases(open_engine(config.api_database_url))
    double = InMemoryNetworkDouble([OVERLAY])
    cluster = Cluster(cells, ports=double, service_down_time=60)
    # The host registered, was given a build, and was never heard of again.
    cluster.report(fleet_reports(1, pfs=2, vfs=4, device_spec=DEVICE_SPEC))
    view = cluster.boot(double.create_port(OVERLAY, VnicType.REMOTE_MANAGED))
    assert view.vm_state == "building"
    stop = threading.Event()
    conductor = threading.Thread(target=run_conductor, args=(config,), kwargs={"stop": stop})
    conductor.start()
    try:
        assert wait_until(lambda: cluster.conductor.show(view.uuid).vm_state == "error", 10)
    finally:
        stop.set()
        conductor.join(10)
    done = cluster.conductor.show(view.uuid)
    assert done.fault is not None
    assert f"the compute service on {HOST} went down" in done.fault
    assert {row.status for row in cluster.devices()} == {DeviceStatus.AVAILABLE}
    cells.dispose()


def test_an_agent_that_registers_again_ends_the_builds_its_last_process_left(rig: Rig) -> None:
    rig.managers.pop(HOST).close()
    rig.servers.pop().stop()  # the agent process dies with the build in hand
    view = rig.boot(rig.double.create_port(OVERLAY, VnicType.REMOTE_MANAGED))
    assert view.vm_state == "building"
    ConductorAPI(rig.rpc).register_service(
        RequestContext.admin(), host=HOST, binary=COMPUTE_BINARY, version=SERVICE_VERSION
    )
    done = rig.conductor.show(view.uuid)
    assert done.vm_state == "error"
    assert done.fault == f"the compute service on {HOST} restarted while building the instance"
    assert {row.status for row in rig.cluster.devices()} == {DeviceStatus.AVAILABLE}

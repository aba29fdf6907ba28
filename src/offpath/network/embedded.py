"""The embedded network service: simulated DPUs for remote-managed ports, SR-IOV NIC agents."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from offpath.network.chassis import DEFAULT_DOWN_TIME, ChassisRegistry
from offpath.network.drivers.dpu_sim import DpuSimDriver
from offpath.network.drivers.sriov_nic import SriovNicDriver
from offpath.network.nova_notifier import EventSink
from offpath.network.representors import RepresentorPlugs
from offpath.network.service import NetworkService
from offpath.network.sriov_hosts import SriovHosts


def embedded_network_service(
    engine: Engine,
    *,
    events: EventSink | None = None,
    chassis_down_time: timedelta = DEFAULT_DOWN_TIME,
) -> NetworkService:
    """A network service on the API database with the `dpu-sim` and `sriov-nic` drivers."""
    chassis = ChassisRegistry(engine, down_time=chassis_down_time)
    plugs = RepresentorPlugs(engine)
    hosts = SriovHosts(engine)
    return NetworkService(
        engine,
        drivers=(DpuSimDriver(chassis, plugs), SriovNicDriver(hosts)),
        events=events,
        chassis=chassis,
        plugs=plugs,
        sriov_hosts=hosts,
    )

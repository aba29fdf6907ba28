"""A deleted instance's VF is free once its host tore the guest down; a sweep frees leftovers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from sqlalchemy import select, update

from offpath.conductor.build_outcome import free_claims_of_deleted
from offpath.conductor.instances import InstanceConductor
from offpath.db.cell_schema import InstanceRow, PciDeviceRow
from offpath.db.columns import utcnow
from offpath.db.engine import reading, writing
from offpath.jsonvalue import JsonValue
from offpath.ports.network import Network
from offpath.ports.port import Port
from offpath.rpc.context import RequestContext
from offpath.sim.fleet import fleet_reports
from tests.control.cluster import NETWORK, Cluster


class Teardown:
    """Casts: a terminate is only recorded; the host 'tears down' when asked for the ports."""

    def __init__(self) -> None:
        self.terminated: list[str] = []

    def build_instance(
        self,
        ctx: RequestContext,
        host: str,
        build: Mapping[str, object],
        *,
        remote_managed: bool = False,
    ) -> None:
        pass

    def terminate_instance(self, ctx: RequestContext, host: str, instance_uuid: str) -> None:
        self.terminated.append(instance_uuid)

    def external_instance_event(
        self,
        ctx: RequestContext,
        host: str,
        instance_uuid: str,
        events: Sequence[Mapping[str, object]],
    ) -> None:
        pass


class Ports:
    """The network as the conductor reads it; each read notes whether the VF was still held."""

    def __init__(self, cluster: Cluster, instance: str, port_id: str) -> None:
        self.cluster = cluster
        self.instance = instance
        self.port_id = port_id
        self.held_while_host_released: list[bool] = []

    def show_port(self, port_id: str) -> Port:
        self.held_while_host_released.append(_holds(self.cluster, self.instance))
        return Port(port_id, NETWORK.id)  # released: no device_id any more

    def show_network(self, network_id: str) -> Network:
        return NETWORK

    def bind_port(
        self,
        port_id: str,
        *,
        host: str,
        profile: Mapping[str, JsonValue],
        device_id: str,
        device_owner: str,
    ) -> Port:
        raise AssertionError("the conductor never binds")

    def unbind_port(
        self, port_id: str, *, profile: Mapping[str, JsonValue], detach: bool = True
    ) -> Port:
        return Port(port_id, NETWORK.id)

    def device_up(self, host: str, port_id: str) -> None:
        raise AssertionError("the conductor never reports a VF up")


def _holds(cluster: Cluster, instance: str) -> bool:
    with reading(cluster.cells.engine(cluster.cell())) as session:
        return (
            session.scalar(select(PciDeviceRow.id).where(PciDeviceRow.instance_uuid == instance))
            is not None
        )


def test_the_vf_stays_claimed_until_the_host_released_the_ports(cluster: Cluster) -> None:
    cluster.report(fleet_reports(1, vfs=2))
    port_id = cluster.port()
    booted = cluster.boot(port_id)
    assert _holds(cluster, booted.uuid)
    casts = Teardown()
    ports = Ports(cluster, booted.uuid, port_id)
    conductor = InstanceConductor(
        cluster.cells, cluster.scheduler, cluster.ports, compute=casts, binding=ports
    )
    conductor.delete(booted.uuid)
    assert casts.terminated == [booted.uuid]
    # While the conductor waited for the host, the VF was still the instance's.
    assert ports.held_while_host_released == [True]
    assert not _holds(cluster, booted.uuid)


def test_the_sweep_frees_what_a_cut_short_delete_left_held(cluster: Cluster) -> None:
    cluster.report(fleet_reports(1, vfs=4))
    old, recent, alive = (cluster.boot(cluster.port()) for _ in range(3))
    engine = cluster.cells.engine(cluster.cell())
    with writing(engine) as session:
        # Deleted, but the conductor died before freeing: one long ago, one just now.
        for instance, age in ((old, timedelta(hours=1)), (recent, timedelta(seconds=1))):
            session.execute(
                update(InstanceRow)
                .where(InstanceRow.uuid == instance.uuid)
                .values(vm_state="deleted", deleted_at=utcnow() - age)
            )
    assert free_claims_of_deleted(engine, older_than=timedelta(minutes=1)) == (old.uuid,)
    assert not _holds(cluster, old.uuid)
    assert _holds(cluster, recent.uuid) and _holds(cluster, alive.uuid)
    # Nothing left to sweep: a second pass frees nothing.
    assert free_claims_of_deleted(engine, older_than=timedelta(minutes=1)) == ()

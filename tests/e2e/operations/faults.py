"""Faults the failure tests put in the cloud, each undone when the test's block ends.

A DPU that cannot bind (no chassis names its card serial any more), a NIC
host whose agent reaches no physnet, VFs another conductor claimed behind
this scheduler's back, a compute service forced down.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import pytest
from sqlalchemy import select, update

from offpath.db.cell_schema import ComputeNodeRow, PciDeviceRow
from offpath.db.columns import utcnow
from offpath.db.engine import writing
from offpath.pci.claims import DeviceStatus
from offpath.scheduler.filters import Rejection
from offpath.sim.dpu import SimDpu
from tests.e2e.cloud import wait_for
from tests.e2e.operations.fleet import (
    OPERATION_WAIT,
    OVN,
    PHYSNET,
    REMOTE_MANAGED,
    Fleet,
    dpu_of,
)

# A card serial no DPU has.
NO_SUCH_SERIAL: Final = "MT0000X0GONE"
SERVICES_MICROVERSION: Final = {"OpenStack-API-Version": "compute 2.53"}


def _sim_dpu(fleet: Fleet, host: str) -> SimDpu:
    (simulated,) = [h for h in fleet.cloud.cloud.hosts if h.request.name == host]
    (dpu,) = simulated.dpus
    return dpu


def _register(fleet: Fleet, dpu: SimDpu, serial: str | None) -> None:
    body = {
        "hostname": dpu.hostname,
        "serial": serial,
        "pf_macs": list(dpu.pf_macs),
        "vfs": dpu.vfs,
        "physnets": [],
    }
    response = fleet.request("POST", "/network/offpath/chassis", body)
    assert response.status_code == 201, response.text


@contextmanager
def dpu_unable_to_bind(fleet: Fleet, host: str) -> Iterator[None]:
    """The DPU of `host` binds nothing: no chassis names its card serial (then it comes back)."""
    if fleet.driver == OVN:
        with _ovn_chassis_gone(fleet, host):
            yield
        return
    dpu = _sim_dpu(fleet, host)
    # The simulated DPU registers again under another serial: its own names no chassis.
    _register(fleet, dpu, NO_SUCH_SERIAL)
    try:
        yield
    finally:
        _register(fleet, dpu, dpu.serial)


@contextmanager
def _ovn_chassis_gone(fleet: Fleet, host: str) -> Iterator[None]:
    backend = fleet.cloud.cloud.ovn_backend
    assert backend is not None
    (controller,) = [c for c in fleet.cloud.cloud.ovn_dpus if c.name == dpu_of(host)]
    controller.go_down()
    backend.sb.execute([backend.sb.api.chassis_del(controller.name)])
    wait_for(
        lambda: not backend.chassis.by_serial(controller.serial),
        timeout=OPERATION_WAIT,
        what=f"the backend to see chassis {controller.name} gone",
    )
    try:
        yield
    finally:
        # As ovn-controller restarted: it registers its chassis again.
        controller.come_back()
        controller.stop(remove=False)
        controller.start()
        wait_for(
            lambda: backend.chassis.by_serial(controller.serial),
            timeout=OPERATION_WAIT,
            what=f"chassis {controller.name} back in the backend's replica",
        )


@contextmanager
def nic_unable_to_bind(fleet: Fleet, host: str) -> Iterator[None]:
    """The SR-IOV NIC agent of `host` reaches no physnet: direct ports cannot bind there."""

    def report(physnets: list[str]) -> None:
        response = fleet.request(
            "PUT", f"/network/offpath/sriov-hosts/{host}", {"physnets": physnets}
        )
        assert response.status_code == 200, response.text

    report([])
    try:
        yield
    finally:
        report([PHYSNET])


@contextmanager
def vfs_taken_behind_the_scheduler(fleet: Fleet, host: str) -> Iterator[list[str]]:
    """Every free VF of `host` claimed as another conductor would, unseen by this scheduler.

    The host's generation is left as it was, so the scheduler's picture
    still shows those VFs free until a claim there fails: the race of two
    conductors for the same VFs, made deterministic. Afterwards they are
    freed and the generation moves, as that other conductor's delete does.
    """
    owner = str(uuid.uuid4())
    with writing(fleet.databases.cell) as session:
        node = session.scalars(select(ComputeNodeRow.id).where(ComputeNodeRow.host == host)).one()
        taken = session.scalars(
            select(PciDeviceRow.address).where(
                PciDeviceRow.compute_node_id == node,
                PciDeviceRow.dev_type == "type-VF",
                PciDeviceRow.status == DeviceStatus.AVAILABLE.value,
            )
        ).all()
        session.execute(
            update(PciDeviceRow)
            .where(PciDeviceRow.compute_node_id == node, PciDeviceRow.address.in_(taken))
            .values(status=DeviceStatus.CLAIMED.value, instance_uuid=owner)
        )
    try:
        yield list(taken)
    finally:
        with writing(fleet.databases.cell) as session:
            session.execute(
                update(PciDeviceRow)
                .where(PciDeviceRow.instance_uuid == owner)
                .values(status=DeviceStatus.AVAILABLE.value, instance_uuid=None)
            )
            session.execute(
                update(ComputeNodeRow)
                .where(ComputeNodeRow.id == node)
                .values(generation=ComputeNodeRow.generation + 1, updated_at=utcnow())
            )


def _service_id(fleet: Fleet, host: str) -> str:
    services = fleet.sdk.compute.get(
        f"/os-services?binary=offpath-compute&host={host}", headers=SERVICES_MICROVERSION
    ).json()["services"]
    (service,) = services
    service_id: str = service["id"]
    return service_id


def force_down(fleet: Fleet, host: str, *, down: bool) -> None:
    """Set the compute service of `host` forced down (or not), as `openstack compute service set
    --down` does; skips the test when the API does not offer it."""
    response = fleet.sdk.compute.put(
        f"/os-services/{_service_id(fleet, host)}",
        json={"forced_down": down},
        headers=SERVICES_MICROVERSION,
    )
    if response.status_code in (404, 405) and down:
        pytest.skip(
            "PUT /compute/v2.1/os-services/{id} (forced_down, microversion 2.53) is not "
            f"implemented (HTTP {response.status_code}): a compute service cannot be taken "
            "down over the API, so evacuation cannot be tested"
        )
    assert response.status_code == 200, response.text
    # The scheduler re-reads services about once a second: wait until it sees the change.
    wait_for(
        lambda: _scheduler_sees_down(fleet, host) == down,
        timeout=OPERATION_WAIT,
        what=f"the scheduler to see the compute service of {host} {'down' if down else 'up'}",
    )


def _scheduler_sees_down(fleet: Fleet, host: str) -> bool:
    """Whether the scheduler rejects `host` for its compute service being down."""
    explained = fleet.cloud.post("/offpath/v1/schedule/explain", {"vnic_type": "direct"})
    (verdict,) = [v for v in explained["hosts"] if v["host"] == host]
    return bool(verdict["reason"] == Rejection.SERVICE_DOWN.value)


@contextmanager
def binding_fails_on(fleet: Fleet, vnic: str, host: str) -> Iterator[None]:
    """No port of `vnic` can be bound on `host`: its DPU knows no card, or its NIC no physnet."""
    fault = dpu_unable_to_bind if vnic == REMOTE_MANAGED else nic_unable_to_bind
    with fault(fleet, host):
        yield

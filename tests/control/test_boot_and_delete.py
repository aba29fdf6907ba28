"""Boot and delete through the conductor: claims, faults, idempotency, the version gate."""

from __future__ import annotations

from pathlib import Path

import pytest

from offpath.db.cell_schema import PciDeviceRow
from offpath.db.cells import register_cell
from offpath.errors import ForbiddenWithRemoteManagedPorts, NoComputeServices
from offpath.pci.claims import DeviceStatus
from offpath.ports.vnic import VnicType
from offpath.sim.fleet import fleet_reports
from tests.control.cluster import Cluster


def _held(rows: list[PciDeviceRow], instance: str) -> list[PciDeviceRow]:
    return [row for row in rows if row.instance_uuid == instance]


def test_a_remote_managed_port_gets_one_vf_and_its_pf_is_blocked(cluster: Cluster) -> None:
    cluster.report(fleet_reports(2, vfs=4))
    view = cluster.boot(cluster.port())
    assert view.vm_state == "building"
    assert view.host is not None
    rows = cluster.devices()
    (vf,) = _held(rows, view.uuid)
    assert vf.dev_type == "type-VF"
    assert vf.status == DeviceStatus.CLAIMED
    (pf,) = [
        r for r in rows if r.address == vf.parent_addr and r.compute_node_id == vf.compute_node_id
    ]
    assert pf.status == DeviceStatus.UNCLAIMABLE


def test_delete_frees_the_vf_and_its_pf(cluster: Cluster) -> None:
    cluster.report(fleet_reports(1, vfs=2))
    view = cluster.boot(cluster.port())
    assert cluster.conductor.delete(view.uuid).vm_state == "deleted"
    assert {row.status for row in cluster.devices()} == {DeviceStatus.AVAILABLE}
    # Deleting again changes nothing.
    assert cluster.conductor.delete(view.uuid).vm_state == "deleted"


def test_a_retried_boot_never_allocates_twice(cluster: Cluster) -> None:
    cluster.report(fleet_reports(1, vfs=4))
    port = cluster.port()
    first = cluster.boot(port, uuid_="11111111-1111-1111-1111-111111111111")
    again = cluster.boot(port, uuid_="11111111-1111-1111-1111-111111111111")
    assert again == first
    assert len(_held(cluster.devices(), first.uuid)) == 1


def test_a_direct_port_never_gets_a_remote_managed_vf(cluster: Cluster) -> None:
    cluster.report(fleet_reports(2, vfs=4))
    view = cluster.boot(cluster.port(VnicType.DIRECT))
    assert view.vm_state == "error"
    assert view.cell == "cell0"
    assert view.fault is not None
    assert view.fault.startswith("No valid host was found. 2 hosts: 2 no pool matches")
    assert all(row.status == DeviceStatus.AVAILABLE for row in cluster.devices())


def test_when_the_vfs_run_out_the_fault_says_why(cluster: Cluster) -> None:
    cluster.report(fleet_reports(1, vfs=1, pfs=1))
    assert cluster.boot(cluster.port()).vm_state == "building"
    failed = cluster.boot(cluster.port())
    assert failed.vm_state == "error"
    assert failed.fault == "No valid host was found. 1 host: 1 too few free devices"


def test_no_compute_service_anywhere_is_its_own_error(cluster: Cluster) -> None:
    with pytest.raises(NoComputeServices):
        cluster.boot(cluster.port())


def test_an_old_compute_service_refuses_remote_managed_ports(cluster: Cluster) -> None:
    cluster.report(fleet_reports(1, vfs=2, prefix="new"))
    cluster.report(fleet_reports(1, vfs=2, prefix="old"), version=1)
    with pytest.raises(ForbiddenWithRemoteManagedPorts) as caught:
        cluster.boot(cluster.port())
    assert caught.value.message == (
        "Remote-managed ports are not supported until an upgrade is fully finished."
    )
    # A direct port is not gated.
    cluster.boot(cluster.port(VnicType.DIRECT))


def _second_cell(cluster: Cluster, tmp_path: Path, name: str = "cell2") -> Path:
    path = tmp_path / f"{name}.sqlite"
    register_cell(cluster.cells.api, name=name, database_url=f"sqlite:///{path}")
    return path


def test_the_gate_reads_every_cell(cluster: Cluster, tmp_path: Path) -> None:
    cluster.report(fleet_reports(1, vfs=2))
    _second_cell(cluster, tmp_path)
    cluster.report(fleet_reports(1, vfs=2, prefix="old"), cell="cell2", version=1)
    with pytest.raises(ForbiddenWithRemoteManagedPorts):
        cluster.boot(cluster.port())


def test_a_cell_whose_database_is_down_does_not_block_the_gate(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.report(fleet_reports(1, vfs=2))
    path = _second_cell(cluster, tmp_path)
    cluster.report(fleet_reports(1, vfs=2, prefix="old"), cell="cell2", version=1)
    cluster.cells.dispose()
    path.unlink()
    path.mkdir()  # cell2's database can no longer be opened
    view = cluster.boot(cluster.port())
    assert view.vm_state == "building"
    assert view.cell == "cell1"

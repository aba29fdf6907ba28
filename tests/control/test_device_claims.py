"""What an instance holds per host and request, freeing one side or one request, claiming more."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from offpath.conductor.instance_requests import load_requests
from offpath.db.cell_schema import ComputeNodeRow, PciDeviceRow
from offpath.db.device_claims import claim_devices, free_instance_devices, held_devices
from offpath.db.engine import reading, writing
from offpath.pci.claims import DeviceStatus
from offpath.pci.request import PciRequest
from offpath.sim.fleet import fleet_reports
from tests.control.cluster import Cluster

H1, H2 = "compute-00001", "compute-00002"


def _statuses(cluster: Cluster, host: str) -> dict[str, str]:
    with reading(cluster.cells.engine(cluster.cell())) as session:
        rows = session.execute(
            select(PciDeviceRow.address, PciDeviceRow.status)
            .join(ComputeNodeRow, ComputeNodeRow.id == PciDeviceRow.compute_node_id)
            .where(ComputeNodeRow.host == host)
        ).all()
    return {address: status for address, status in rows}


def _booted(cluster: Cluster, *, ports: int = 1) -> tuple[str, list[PciRequest]]:
    """A server on H1 (the only host then), H2 reported after; its uuid and requests."""
    cluster.report(fleet_reports(1, pfs=1, vfs=4))
    view = cluster.boot(*(cluster.port() for _ in range(ports)))
    assert view.host == H1
    cluster.report(fleet_reports(2, pfs=1, vfs=4))
    with reading(cluster.cells.engine(cluster.cell())) as session:
        return view.uuid, load_requests(session, view.uuid)


def _claim_on_h2(cluster: Cluster, uuid_: str, requests: list[PciRequest]) -> list[str]:
    """Claim the requests on H2 as a move's destination would; the addresses claimed."""
    with writing(cluster.cells.engine(cluster.cell())) as session:
        claim = claim_devices(session, H2, requests, instance_uuid=uuid_)
    return [d.address for d in claim.devices]


def test_held_devices_are_those_on_the_host_asked_with_their_requests(cluster: Cluster) -> None:
    uuid_, requests = _booted(cluster, ports=2)
    on_h2 = _claim_on_h2(cluster, uuid_, requests[:1])
    with reading(cluster.cells.engine(cluster.cell())) as session:
        h1 = held_devices(session, uuid_, H1)
        h2 = held_devices(session, uuid_, H2)
        other = held_devices(session, "no-such-instance", H1)
    assert sorted(d.request_id for d in h1) == sorted(r.request_id for r in requests)
    assert [d.address for d in h1] == sorted(d.address for d in h1)
    assert all(d.selected.device.dev_type.value == "type-VF" for d in h1)
    assert [(d.request_id, d.address) for d in h2] == [(requests[0].request_id, on_h2[0])]
    assert other == ()


def test_free_on_one_host_leaves_the_other(cluster: Cluster) -> None:
    uuid_, requests = _booted(cluster)
    on_h1 = {a for a, s in _statuses(cluster, H1).items() if s == DeviceStatus.CLAIMED}
    _claim_on_h2(cluster, uuid_, requests)

    with writing(cluster.cells.engine(cluster.cell())) as session:
        generations = free_instance_devices(session, uuid_, on_host=H2)

    assert list(generations) == [H2]
    assert set(_statuses(cluster, H2).values()) == {DeviceStatus.AVAILABLE}
    assert {a for a, s in _statuses(cluster, H1).items() if s == DeviceStatus.CLAIMED} == on_h1
    with reading(cluster.cells.engine(cluster.cell())) as session:
        node = session.scalars(select(ComputeNodeRow).where(ComputeNodeRow.host == H2)).one()
    assert node.generation == generations[H2]


def test_free_of_one_request_keeps_the_pf_blocked_by_the_other(cluster: Cluster) -> None:
    uuid_, (first, second) = _booted(cluster, ports=2)
    with reading(cluster.cells.engine(cluster.cell())) as session:
        held = {d.request_id: d.address for d in held_devices(session, uuid_, H1)}

    with writing(cluster.cells.engine(cluster.cell())) as session:
        free_instance_devices(session, uuid_, request_id=first.request_id)

    statuses = _statuses(cluster, H1)
    assert statuses[held[first.request_id]] == DeviceStatus.AVAILABLE
    assert statuses[held[second.request_id]] == DeviceStatus.CLAIMED
    assert statuses["0000:03:00.0"] == DeviceStatus.UNCLAIMABLE  # the PF of the VF still held

    with writing(cluster.cells.engine(cluster.cell())) as session:
        free_instance_devices(session, uuid_, request_id=second.request_id)
    assert set(_statuses(cluster, H1).values()) == {DeviceStatus.AVAILABLE}


def test_free_of_one_request_on_one_host(cluster: Cluster) -> None:
    uuid_, (first, second) = _booted(cluster, ports=2)
    _claim_on_h2(cluster, uuid_, [first, second])

    with writing(cluster.cells.engine(cluster.cell())) as session:
        free_instance_devices(session, uuid_, on_host=H2, request_id=first.request_id)

    with reading(cluster.cells.engine(cluster.cell())) as session:
        assert {d.request_id for d in held_devices(session, uuid_, H2)} == {second.request_id}
        assert {d.request_id for d in held_devices(session, uuid_, H1)} == {
            first.request_id,
            second.request_id,
        }


def test_free_of_nothing_held_changes_nothing(cluster: Cluster) -> None:
    uuid_, _ = _booted(cluster)
    before = _statuses(cluster, H2)
    with writing(cluster.cells.engine(cluster.cell())) as session:
        assert free_instance_devices(session, uuid_, on_host=H2) == {}
        assert free_instance_devices(session, "no-such-instance") == {}
    assert _statuses(cluster, H2) == before


def test_an_instance_holding_devices_claims_more_for_another_request(cluster: Cluster) -> None:
    uuid_, (request,) = _booted(cluster)
    with reading(cluster.cells.engine(cluster.cell())) as session:
        (held,) = held_devices(session, uuid_, H1)
    another = replace(request, request_id="attach-1", requester_id="port-2")

    with writing(cluster.cells.engine(cluster.cell())) as session:
        claim = claim_devices(session, H1, [another], instance_uuid=uuid_)

    (claimed,) = claim.devices
    assert claimed.request_id == "attach-1"
    assert claimed.address != held.address
    with reading(cluster.cells.engine(cluster.cell())) as session:
        assert {(d.request_id, d.address) for d in held_devices(session, uuid_, H1)} == {
            (held.request_id, held.address),
            ("attach-1", claimed.address),
        }


def test_a_retried_claim_gets_back_what_the_request_holds(cluster: Cluster) -> None:
    uuid_, (request,) = _booted(cluster)
    with reading(cluster.cells.engine(cluster.cell())) as session:
        (held,) = held_devices(session, uuid_, H1)
        generation = session.scalars(
            select(ComputeNodeRow.generation).where(ComputeNodeRow.host == H1)
        ).one()
    before = _statuses(cluster, H1)

    with writing(cluster.cells.engine(cluster.cell())) as session:
        claim = claim_devices(session, H1, [request], instance_uuid=uuid_)

    assert [(d.request_id, d.address) for d in claim.devices] == [
        (request.request_id, held.address)
    ]
    assert claim.generation == generation
    assert _statuses(cluster, H1) == before

"""Inventory reports applied to a cell database: add, update, remove, keep what is in use."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import Engine, select

from offpath.db.cell_schema import ComputeNodeRow, PciDeviceRow
from offpath.db.device_claims import claim_devices, free_instance_devices
from offpath.db.engine import reading, writing
from offpath.db.inventory import ReportOutcome, report_inventory
from offpath.db.schema_version import SchemaKind, sync
from offpath.pci.host_report import HostReport
from offpath.pci.request import PciRequest
from offpath.sim.fleet import fleet_reports

VF_REQUEST = PciRequest(1, ({"remote_managed": "True", "physical_network": None},), "r1")


@pytest.fixture
def cell(engine: Engine) -> Engine:
    sync(engine, SchemaKind.CELL)
    return engine


def _report(vfs: int = 2) -> HostReport:
    (report,) = fleet_reports(1, pfs=1, vfs=vfs)
    return report


def _rows(engine: Engine) -> dict[str, PciDeviceRow]:
    with reading(engine) as session:
        return {row.address: row for row in session.scalars(select(PciDeviceRow))}


def _node(engine: Engine) -> ComputeNodeRow:
    with reading(engine) as session:
        return session.scalars(select(ComputeNodeRow)).one()


def test_a_first_report_adds_every_device_and_the_capability(cell: Engine) -> None:
    outcome = report_inventory(cell, _report())
    assert (outcome.added, outcome.updated, outcome.removed) == (3, 0, 0)
    assert outcome.generation == 1
    assert outcome.supports_remote_managed
    assert {row.status for row in _rows(cell).values()} == {"available"}
    assert _node(cell).numa_cells == [[0, 0], [1, 1]]


def test_an_unchanged_report_keeps_the_generation(cell: Engine) -> None:
    first = report_inventory(cell, _report())
    again = report_inventory(cell, _report())
    assert again == ReportOutcome(first.host, first.generation, 0, 0, 0, (), True)
    assert _node(cell).generation == first.generation


def test_a_changed_device_is_updated_and_moves_the_generation(cell: Engine) -> None:
    report = _report()
    first = report_inventory(cell, report)
    moved = tuple(
        replace(s, device=replace(s.device, numa_node=1)) if s.device.vf_num == 0 else s
        for s in report.devices
    )
    outcome = report_inventory(cell, replace(report, devices=moved))
    assert (outcome.updated, outcome.generation) == (1, first.generation + 1)
    assert sorted(row.numa_node or 0 for row in _rows(cell).values()) == [0, 0, 1]


def test_a_driver_that_stops_supporting_remote_managed_drops_the_capability(cell: Engine) -> None:
    report_inventory(cell, _report())
    outcome = report_inventory(cell, replace(_report(), driver_supports_remote_managed=False))
    assert not outcome.supports_remote_managed
    assert outcome.generation == 2


def test_a_vanished_free_device_is_removed(cell: Engine) -> None:
    report = _report()
    report_inventory(cell, report)
    outcome = report_inventory(cell, replace(report, devices=report.devices[:-1]))
    assert outcome.removed == 1
    assert len(_rows(cell)) == 2


def test_a_vanished_device_in_use_is_kept_until_freed(cell: Engine) -> None:
    report = _report(vfs=1)
    report_inventory(cell, report)
    with writing(cell) as session:
        (claimed,) = claim_devices(session, report.host, [VF_REQUEST], instance_uuid="i1").devices
    without = tuple(s for s in report.devices if s.device.address != claimed.address)
    outcome = report_inventory(cell, replace(report, devices=without))
    assert outcome.missing == (claimed.address,)
    assert _rows(cell)[claimed.address].missing
    # Reported gone again: nothing new, so the generation stays.
    assert report_inventory(cell, replace(report, devices=without)).generation == outcome.generation
    with writing(cell) as session:
        free_instance_devices(session, "i1")
    assert claimed.address not in _rows(cell)


def test_a_report_after_a_claim_moves_on_from_the_claims_generation(cell: Engine) -> None:
    report = _report()
    first = report_inventory(cell, report)
    with writing(cell) as session:
        claim = claim_devices(session, report.host, [VF_REQUEST], instance_uuid="i1")
    assert claim.generation == first.generation + 1
    changed = replace(report, driver_supports_remote_managed=False)
    assert report_inventory(cell, changed).generation == claim.generation + 1

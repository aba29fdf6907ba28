"""A move's record: statuses changed only from the ones expected, read back whole."""

from __future__ import annotations

import pytest

from offpath.conductor.migration_records import (
    DeviceMove,
    MigrationStatus,
    MigrationType,
    create_migration,
    get_migration,
    latest_migration,
    list_migrations,
    set_status,
)
from offpath.db.engine import reading, writing
from offpath.errors import MigrationNotFoundByStatus
from offpath.sim.fleet import fleet_reports
from tests.control.cluster import Cluster

MAPPING = (DeviceMove("r1", "0000:43:00.1", "0000:43:00.2"),)


def _instance(cluster: Cluster) -> str:
    cluster.report(fleet_reports(1, pfs=1, vfs=2))
    return cluster.boot(cluster.port()).uuid


def _create(cluster: Cluster, uuid_: str, status: MigrationStatus) -> str:
    with writing(cluster.cells.engine(cluster.cell())) as session:
        return create_migration(
            session,
            instance_uuid=uuid_,
            migration_type=MigrationType.RESIZE,
            status=status,
            source="compute-00001",
            destination="compute-00002",
            old_flavor={"name": "small"},
            new_flavor={"name": "large", "id": "f2"},
            previous_vm_state="active",
            pci_mapping=MAPPING,
            new_requests=[{"request_id": "r1", "count": 1}],
        ).uuid


def _status(cluster: Cluster, migration: str) -> MigrationStatus:
    with reading(cluster.cells.engine(cluster.cell())) as session:
        found = get_migration(session, migration)
    assert found is not None
    return found.status


def test_a_migration_reads_back_whole(cluster: Cluster) -> None:
    uuid_ = _instance(cluster)
    migration = _create(cluster, uuid_, MigrationStatus.PRE_MIGRATING)
    with reading(cluster.cells.engine(cluster.cell())) as session:
        found = get_migration(session, migration)
        assert get_migration(session, "no-such-migration") is None
    assert found is not None
    assert (found.instance_uuid, found.migration_type, found.status) == (
        uuid_,
        MigrationType.RESIZE,
        MigrationStatus.PRE_MIGRATING,
    )
    assert (found.source_compute, found.dest_compute) == ("compute-00001", "compute-00002")
    assert found.old_flavor == {"name": "small"}
    assert found.new_flavor == {"name": "large", "id": "f2"}
    assert found.pci_mapping == MAPPING
    assert found.new_requests == ({"request_id": "r1", "count": 1},)
    assert found.previous_vm_state == "active"


@pytest.mark.parametrize(
    ("expected", "changed"),
    [
        pytest.param(None, True, id="unconditional"),
        pytest.param([MigrationStatus.DONE], True, id="expected"),
        pytest.param([MigrationStatus.ERROR, MigrationStatus.DONE], True, id="one-of"),
        pytest.param([MigrationStatus.RUNNING], False, id="not-expected"),
        pytest.param([], False, id="none-expected"),
    ],
)
def test_set_status_moves_only_from_an_expected_status(
    cluster: Cluster, expected: list[MigrationStatus] | None, changed: bool
) -> None:
    uuid_ = _instance(cluster)
    migration = _create(cluster, uuid_, MigrationStatus.DONE)
    with writing(cluster.cells.engine(cluster.cell())) as session:
        done = set_status(session, migration, MigrationStatus.COMPLETED, expected=expected)
    assert done is changed
    assert _status(cluster, migration) is (
        MigrationStatus.COMPLETED if changed else MigrationStatus.DONE
    )


def test_two_conductors_finishing_one_move_one_wins(cluster: Cluster) -> None:
    uuid_ = _instance(cluster)
    migration = _create(cluster, uuid_, MigrationStatus.DONE)
    engine = cluster.cells.engine(cluster.cell())
    with writing(engine) as session:
        first = set_status(
            session, migration, MigrationStatus.COMPLETED, expected=[MigrationStatus.DONE]
        )
    with writing(engine) as session:
        second = set_status(
            session, migration, MigrationStatus.COMPLETED, expected=[MigrationStatus.DONE]
        )
    assert (first, second) == (True, False)


def test_set_status_of_no_migration_is_false(cluster: Cluster) -> None:
    _instance(cluster)
    with writing(cluster.cells.engine(cluster.cell())) as session:
        assert set_status(session, "no-such-migration", MigrationStatus.ERROR) is False


def test_latest_and_list(cluster: Cluster) -> None:
    uuid_ = _instance(cluster)
    old = _create(cluster, uuid_, MigrationStatus.FINISHED)
    new = _create(cluster, uuid_, MigrationStatus.FINISHED)
    error = _create(cluster, uuid_, MigrationStatus.ERROR)
    with reading(cluster.cells.engine(cluster.cell())) as session:
        assert latest_migration(session, uuid_, MigrationStatus.FINISHED).uuid == new
        assert [m.uuid for m in list_migrations(session, instance_uuid=uuid_)] == [
            old,
            new,
            error,
        ]
        assert [m.uuid for m in list_migrations(session, statuses=[MigrationStatus.ERROR])] == [
            error
        ]
        assert list_migrations(session, source="compute-00009") == []
        with pytest.raises(MigrationNotFoundByStatus) as missing:
            latest_migration(session, uuid_, MigrationStatus.REVERTED)
    assert missing.value.message == f"Instance {uuid_} has no migration with status reverted"

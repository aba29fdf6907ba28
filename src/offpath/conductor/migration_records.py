"""A move's migration record: its kind, status, hosts, flavors, source -> destination devices.

Statuses and types are Nova's, as `os-migrations` shows them. A status
change names the status it expects to leave, so two conductors finishing
or rolling back one move cannot both win.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from offpath.db.cell_schema import MigrationRow
from offpath.db.columns import utcnow
from offpath.errors import MigrationNotFoundByStatus


class MigrationType(StrEnum):
    """Nova's migration types."""

    MIGRATION = "migration"
    RESIZE = "resize"
    LIVE_MIGRATION = "live-migration"
    EVACUATION = "evacuation"


class MigrationStatus(StrEnum):
    """Nova's migration statuses that offpath's moves pass through."""

    PRE_MIGRATING = "pre-migrating"
    MIGRATING = "migrating"
    POST_MIGRATING = "post-migrating"
    FINISHED = "finished"
    CONFIRMING = "confirming"
    CONFIRMED = "confirmed"
    REVERTING = "reverting"
    REVERTED = "reverted"
    PREPARING = "preparing"
    RUNNING = "running"
    COMPLETED = "completed"
    REBUILDING = "rebuilding"
    DONE = "done"
    ERROR = "error"
    FAILED = "failed"


# A move in one of these holds nothing any more.
FINAL: Final = frozenset(
    {
        MigrationStatus.CONFIRMED,
        MigrationStatus.REVERTED,
        MigrationStatus.COMPLETED,
        MigrationStatus.ERROR,
        MigrationStatus.FAILED,
    }
)


@dataclass(frozen=True, slots=True)
class DeviceMove:
    """One device of a PCI request and the device that serves the request on the other side."""

    request_id: str
    source: str
    destination: str

    def to_primitive(self) -> dict[str, object]:
        """Its JSON form."""
        return {
            "request_id": self.request_id,
            "source": self.source,
            "destination": self.destination,
        }


@dataclass(frozen=True, slots=True)
class MigrationRecord:
    """One move as recorded."""

    id: int
    uuid: str
    instance_uuid: str
    migration_type: MigrationType
    status: MigrationStatus
    source_compute: str | None
    dest_compute: str | None
    old_flavor: Mapping[str, object]
    new_flavor: Mapping[str, object]
    pci_mapping: tuple[DeviceMove, ...]
    new_requests: tuple[Mapping[str, object], ...] | None
    previous_vm_state: str
    created_at: datetime
    updated_at: datetime


def create_migration(
    session: Session,
    *,
    instance_uuid: str,
    migration_type: MigrationType,
    status: MigrationStatus,
    source: str | None,
    destination: str | None,
    old_flavor: Mapping[str, object],
    new_flavor: Mapping[str, object],
    previous_vm_state: str,
    pci_mapping: Sequence[DeviceMove] = (),
    new_requests: Sequence[Mapping[str, object]] | None = None,
) -> MigrationRecord:
    """Record a new move."""
    now = utcnow()
    row = MigrationRow(
        uuid=str(uuidlib.uuid4()),
        instance_uuid=instance_uuid,
        migration_type=migration_type.value,
        status=status.value,
        source_compute=source,
        dest_compute=destination,
        old_flavor=dict(old_flavor),
        new_flavor=dict(new_flavor),
        pci_mapping=[m.to_primitive() for m in pci_mapping],
        new_requests=None if new_requests is None else [dict(r) for r in new_requests],
        previous_vm_state=previous_vm_state,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return _record(row)


def set_status(
    session: Session,
    migration_uuid: str,
    status: MigrationStatus,
    *,
    expected: Sequence[MigrationStatus] | None = None,
) -> bool:
    """Move the migration to `status`; False when it was not in one of `expected`."""
    query = update(MigrationRow).where(MigrationRow.uuid == migration_uuid)
    if expected is not None:
        query = query.where(MigrationRow.status.in_([s.value for s in expected]))
    done = session.execute(
        query.values(status=status.value, updated_at=utcnow()).execution_options(
            synchronize_session=False
        )
    )
    return bool(getattr(done, "rowcount", 0) == 1)


def latest_migration(
    session: Session, instance_uuid: str, status: MigrationStatus
) -> MigrationRecord:
    """The instance's newest migration in `status`; MigrationNotFoundByStatus if none."""
    row = session.scalars(
        select(MigrationRow)
        .where(MigrationRow.instance_uuid == instance_uuid, MigrationRow.status == status.value)
        .order_by(MigrationRow.id.desc())
    ).first()
    if row is None:
        raise MigrationNotFoundByStatus(instance_uuid, status.value)
    return _record(row)


def get_migration(session: Session, migration_uuid: str) -> MigrationRecord | None:
    """The migration, or None."""
    row = session.scalars(select(MigrationRow).where(MigrationRow.uuid == migration_uuid)).first()
    return None if row is None else _record(row)


def list_migrations(
    session: Session,
    *,
    instance_uuid: str | None = None,
    statuses: Sequence[MigrationStatus] | None = None,
    source: str | None = None,
) -> list[MigrationRecord]:
    """The migrations matching every filter given, oldest first."""
    query = select(MigrationRow).order_by(MigrationRow.id)
    if instance_uuid is not None:
        query = query.where(MigrationRow.instance_uuid == instance_uuid)
    if statuses is not None:
        query = query.where(MigrationRow.status.in_([s.value for s in statuses]))
    if source is not None:
        query = query.where(MigrationRow.source_compute == source)
    return [_record(row) for row in session.scalars(query)]


def _record(row: MigrationRow) -> MigrationRecord:
    return MigrationRecord(
        row.id,
        row.uuid,
        row.instance_uuid,
        MigrationType(row.migration_type),
        MigrationStatus(row.status),
        row.source_compute,
        row.dest_compute,
        dict(row.old_flavor),
        dict(row.new_flavor),
        tuple(
            DeviceMove(str(m["request_id"]), str(m["source"]), str(m["destination"]))
            for m in row.pci_mapping
        ),
        None if row.new_requests is None else tuple(dict(r) for r in row.new_requests),
        row.previous_vm_state,
        row.created_at,
        row.updated_at,
    )

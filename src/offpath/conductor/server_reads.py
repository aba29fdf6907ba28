"""Servers as the compute API reads them, across every cell: records, faults, actions.

Writes stay with `instances.InstanceConductor`; these reads only look. A
list asks each cell in turn and leaves out a cell that fails, with a
warning, as Nova's multi-cell list does. The request spec in the API
database adds what a cell does not keep: the image and flavor asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from offpath.db.api_schema import CellRow, InstanceMappingRow, RequestSpecRow
from offpath.db.cell_schema import (
    InstanceActionEventRow,
    InstanceActionRow,
    InstanceFaultRow,
    InstanceRow,
)
from offpath.db.cells import Cell, CellDatabases
from offpath.db.engine import reading
from offpath.db.instance_metadata import metadata_of
from offpath.errors import InstanceActionNotFound, InstanceNotFound, OffpathError

LOG = logging.getLogger(__name__)

DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class FaultRecord:
    """The latest fault of a server: why it went to ERROR."""

    code: int
    message: str
    details: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ServerRecord:
    """One server with what the compute API shows of it."""

    uuid: str
    name: str
    project_id: str
    cell: str
    host: str | None
    vm_state: str
    task_state: str | None
    flavor: dict[str, object]
    created_at: datetime
    updated_at: datetime
    image_ref: str = ""
    flavor_id: str = ""
    fault: FaultRecord | None = None
    user_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    key_name: str | None = None

    @property
    def deleted(self) -> bool:
        """True once the server is deleted (kept as a record, as Nova soft-deletes)."""
        return self.vm_state == DELETED


@dataclass(frozen=True, slots=True)
class ActionEventRecord:
    """One step of an action and its result."""

    event: str
    result: str | None
    details: str | None
    start_time: datetime
    finish_time: datetime | None


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """One user action on a server, with its steps."""

    action: str
    instance_uuid: str
    request_id: str
    project_id: str
    start_time: datetime
    finish_time: datetime | None
    message: str | None
    events: tuple[ActionEventRecord, ...]


def find_server(cells: CellDatabases, instance_uuid: str) -> ServerRecord:
    """The server, deleted ones included; InstanceNotFound when no cell holds it."""
    cell = cell_of(cells, instance_uuid)
    with reading(cells.engine(cell)) as session:
        row = session.get(InstanceRow, instance_uuid)
        if row is None:
            raise InstanceNotFound(instance_uuid)
        faults = _latest_faults(session, [instance_uuid])
        metadata = metadata_of(session, [instance_uuid])
        records = [_record(row, cell, faults.get(row.uuid), metadata.get(row.uuid))]
    return _with_specs(cells, records)[0]


def list_servers(
    cells: CellDatabases, *, project_id: str | None, include_deleted: bool = False
) -> list[ServerRecord]:
    """The servers of `project_id` (every project's when None), newest first."""
    found: list[ServerRecord] = []
    for cell in cells.cells():
        try:
            found.extend(_cell_servers(cells, cell, project_id, include_deleted))
        except OffpathError as exc:
            LOG.warning("cell %s left out of the server list: %s", cell.name, exc.message)
    found.sort(key=lambda record: (record.created_at, record.uuid), reverse=True)
    return _with_specs(cells, found)


def list_actions(cells: CellDatabases, instance_uuid: str) -> list[ActionRecord]:
    """The server's actions with their events, newest first."""
    cell = cell_of(cells, instance_uuid)
    with reading(cells.engine(cell)) as session:
        actions = list(
            session.scalars(
                select(InstanceActionRow)
                .where(InstanceActionRow.instance_uuid == instance_uuid)
                .order_by(InstanceActionRow.start_time.desc(), InstanceActionRow.id.desc())
            )
        )
        events: dict[int, list[ActionEventRecord]] = {action.id: [] for action in actions}
        if actions:
            for event in session.scalars(
                select(InstanceActionEventRow)
                .where(InstanceActionEventRow.action_id.in_(list(events)))
                .order_by(InstanceActionEventRow.id)
            ):
                events[event.action_id].append(
                    ActionEventRecord(
                        event.event,
                        event.result,
                        event.details,
                        event.start_time,
                        event.finish_time,
                    )
                )
        return [
            ActionRecord(
                row.action,
                row.instance_uuid,
                row.request_id,
                row.project_id,
                row.start_time,
                row.finish_time,
                row.message,
                tuple(events[row.id]),
            )
            for row in actions
        ]


def find_action(cells: CellDatabases, instance_uuid: str, request_id: str) -> ActionRecord:
    """The server's action of `request_id`; InstanceActionNotFound when there is none."""
    for action in list_actions(cells, instance_uuid):
        if action.request_id == request_id:
            return action
    raise InstanceActionNotFound(request_id, instance_uuid)


def cell_of(cells: CellDatabases, instance_uuid: str) -> Cell:
    """The cell that holds the server; InstanceNotFound when none does (yet)."""
    with reading(cells.api) as session:
        found = session.execute(
            select(CellRow)
            .join(InstanceMappingRow, InstanceMappingRow.cell_id == CellRow.id)
            .where(InstanceMappingRow.instance_uuid == instance_uuid)
        ).first()
    if found is None:
        # Unknown, or still being scheduled: neither has anything to show yet.
        raise InstanceNotFound(instance_uuid)
    return Cell.of_row(found[0])


def _cell_servers(
    cells: CellDatabases, cell: Cell, project_id: str | None, include_deleted: bool
) -> list[ServerRecord]:
    query = select(InstanceRow)
    if project_id is not None:
        query = query.where(InstanceRow.project_id == project_id)
    if not include_deleted:
        query = query.where(InstanceRow.vm_state != DELETED)
    with reading(cells.engine(cell)) as session:
        rows = list(session.scalars(query))
        uuids = [row.uuid for row in rows]
        faults = _latest_faults(session, uuids)
        metadata = metadata_of(session, uuids)
        return [_record(row, cell, faults.get(row.uuid), metadata.get(row.uuid)) for row in rows]


def _latest_faults(session: Session, uuids: Sequence[str]) -> dict[str, FaultRecord]:
    if not uuids:
        return {}
    latest: dict[str, FaultRecord] = {}
    for row in session.scalars(
        select(InstanceFaultRow)
        .where(InstanceFaultRow.instance_uuid.in_(list(uuids)))
        .order_by(InstanceFaultRow.id)
    ):
        latest[row.instance_uuid] = FaultRecord(row.code, row.message, row.details, row.created_at)
    return latest


def _record(
    row: InstanceRow, cell: Cell, fault: FaultRecord | None, metadata: dict[str, str] | None
) -> ServerRecord:
    return ServerRecord(
        uuid=row.uuid,
        name=row.name,
        project_id=row.project_id,
        cell=cell.name,
        host=row.host,
        vm_state=row.vm_state,
        task_state=row.task_state,
        flavor=dict(row.flavor),
        created_at=row.created_at,
        updated_at=row.updated_at,
        fault=fault,
        user_id=row.user_id,
        metadata=metadata or {},
        key_name=row.key_name,
    )


def _with_specs(cells: CellDatabases, records: Iterable[ServerRecord]) -> list[ServerRecord]:
    """`records` with the image and flavor ids their request specs hold."""
    records = list(records)
    if not records:
        return records
    with reading(cells.api) as session:
        specs = {
            uuid: spec
            for uuid, spec in session.execute(
                select(RequestSpecRow.instance_uuid, RequestSpecRow.spec).where(
                    RequestSpecRow.instance_uuid.in_([record.uuid for record in records])
                )
            )
        }
    out = []
    for record in records:
        spec = specs.get(record.uuid) or {}
        out.append(
            replace(
                record,
                image_ref=str(spec.get("image_ref") or ""),
                flavor_id=str(spec.get("flavor_id") or ""),
            )
        )
    return out

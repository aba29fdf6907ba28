"""The record a server operation leaves: its instance action, one event per step, its fault.

As `os-instance-actions` shows for Nova: the action (`migrate`,
`live-migration`, `attach_interface`, ...) with the request id, and an
event per step (`compute_prep_resize`, `compute_finish_resize`, ...) with
its result and, in offpath, the step's details as JSON (which host, which
ports, how each was plugged, and whether the hypervisor was simulated).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from offpath.conductor.build_outcome import add_fault
from offpath.db.cell_schema import InstanceActionEventRow, InstanceActionRow
from offpath.db.columns import utcnow
from offpath.db.engine import writing
from offpath.errors import OffpathError
from offpath.jsonvalue import JsonValue

SUCCESS = "Success"
ERROR = "Error"


def open_action(
    session: Session, instance_uuid: str, action: str, *, request_id: str, project_id: str
) -> int:
    """Start the instance action; its id."""
    row = InstanceActionRow(
        instance_uuid=instance_uuid,
        action=action,
        request_id=request_id,
        project_id=project_id,
        start_time=utcnow(),
    )
    session.add(row)
    session.flush()
    return row.id


def add_event(
    engine: Engine,
    action_id: int,
    event: str,
    *,
    ok: bool,
    details: Mapping[str, JsonValue] | str | None = None,
) -> None:
    """Record one step of the action and how it ended."""
    text = details if isinstance(details, str) or details is None else json.dumps(details)
    now = utcnow()
    with writing(engine) as session:
        session.add(
            InstanceActionEventRow(
                action_id=action_id,
                event=event,
                result=SUCCESS if ok else ERROR,
                details=text,
                start_time=now,
                finish_time=now,
            )
        )


def close_action(
    engine: Engine,
    action_id: int,
    *,
    instance_uuid: str,
    error: OffpathError | None = None,
) -> None:
    """End the action; a failed one gets its message, and the instance a fault."""
    with writing(engine) as session:
        session.execute(
            update(InstanceActionRow)
            .where(InstanceActionRow.id == action_id)
            .values(finish_time=utcnow(), message=ERROR if error else None)
        )
        if error is not None:
            add_fault(session, instance_uuid, message=error.message, code=error.code)

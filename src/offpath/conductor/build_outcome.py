"""How a build ends in the cell database: ACTIVE, or ERROR with a fault and its VFs freed.

The agent reports each build's end; the conductor's periodic check ends
the builds of a host whose compute service went down (an agent killed
mid-build never reports). Either way an instance in ERROR holds no device
and no PCI request, and its create action says what happened, with the
agent's details (os-vif plugin, plug wait, duration per port) as JSON.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from offpath.compute.build_result import BuildResult, BuildState
from offpath.db.cell_schema import (
    InstanceActionEventRow,
    InstanceActionRow,
    InstanceFaultRow,
    InstancePciRequestRow,
    InstanceRow,
    PciDeviceRow,
)
from offpath.db.columns import utcnow
from offpath.db.device_claims import free_instance_devices
from offpath.db.engine import write_retrying
from offpath.db.services import list_services
from offpath.errors import (
    ComputeHostDown,
    ComputeHostRestarted,
    HostChangedConcurrently,
    OffpathError,
)
from offpath.version import COMPUTE_BINARY

LOG = logging.getLogger(__name__)

BUILDING: Final = "building"
ACTIVE: Final = "active"
ERROR: Final = "error"
DELETED: Final = "deleted"
BUILD_EVENT: Final = "compute_build_and_run_instance"
# The HTTP status Nova records with a fault that is not the user's.
FAULT_CODE: Final = 500


def release_claims(session: Session, instance_uuid: str) -> None:
    """Free every device the instance holds and drop its PCI requests."""
    free_instance_devices(session, instance_uuid)
    session.execute(
        delete(InstancePciRequestRow).where(InstancePciRequestRow.instance_uuid == instance_uuid)
    )


def free_claims_of_deleted(engine: Engine, *, older_than: timedelta) -> tuple[str, ...]:
    """Free the devices still held by instances deleted more than `older_than` ago.

    A delete frees its instance's devices only after the host tore the guest
    down; a conductor that died in between leaves them held, and this sweep
    (run by every conductor) frees them.
    """
    cutoff = utcnow() - older_than

    def work(session: Session) -> tuple[str, ...]:
        held = tuple(
            session.scalars(
                select(InstanceRow.uuid)
                .where(InstanceRow.vm_state == DELETED, InstanceRow.deleted_at < cutoff)
                .where(
                    InstanceRow.uuid.in_(
                        select(PciDeviceRow.instance_uuid).where(
                            PciDeviceRow.instance_uuid.is_not(None)
                        )
                    )
                )
            )
        )
        for uuid_ in held:
            release_claims(session, uuid_)
        return held

    freed = write_retrying(engine, work, retry_on=HostChangedConcurrently)
    for uuid_ in freed:
        LOG.warning("instance %s: deleted but its devices were still held; freed now", uuid_)
    return freed


def fail_instance(session: Session, instance_uuid: str, *, message: str, code: str | None) -> None:
    """Put the instance in ERROR on no host, with a fault; free its devices and PCI requests."""
    release_claims(session, instance_uuid)
    row = session.get(InstanceRow, instance_uuid)
    if row is not None:
        row.vm_state = ERROR
        row.task_state = None
        row.host = None
        row.updated_at = utcnow()
    add_fault(session, instance_uuid, message=message, code=code)


def add_fault(session: Session, instance_uuid: str, *, message: str, code: str | None) -> None:
    """Record why the instance failed, as the API shows it in `fault`."""
    session.add(
        InstanceFaultRow(
            instance_uuid=instance_uuid,
            code=FAULT_CODE,
            message=message[:255],
            details=f"{code}: {message}" if code else message,
        )
    )


def record_build_result(engine: Engine, result: BuildResult) -> bool:
    """Write how the build ended; True when the instance is now ACTIVE on the result's host.

    An instance deleted, failed by the periodic check, or moved to another
    host meanwhile keeps its state, and the answer is False: the agent then
    undoes what it built.
    """

    def work(session: Session) -> bool:
        row = session.get(InstanceRow, result.instance_uuid)
        if row is None or row.vm_state != BUILDING or row.host != result.host:
            return False
        if result.state is BuildState.ACTIVE:
            row.vm_state = ACTIVE
            row.task_state = None
            row.updated_at = utcnow()
        else:
            fail_instance(
                session,
                result.instance_uuid,
                message=result.fault or "the build failed",
                code=result.code,
            )
        _add_build_event(session, result)
        return True

    wanted = write_retrying(engine, work, retry_on=HostChangedConcurrently)
    LOG.info(
        "build of %s on %s: %s%s",
        result.instance_uuid,
        result.host,
        result.state,
        "" if wanted else " (ignored: the instance no longer waits for it)",
    )
    return wanted and result.state is BuildState.ACTIVE


def _add_build_event(session: Session, result: BuildResult) -> None:
    action = session.scalars(
        select(InstanceActionRow)
        .where(
            InstanceActionRow.instance_uuid == result.instance_uuid,
            InstanceActionRow.action == "create",
        )
        .order_by(InstanceActionRow.id.desc())
    ).first()
    if action is None:
        return
    failed = result.state is BuildState.ERROR
    now = utcnow()
    action.finish_time = now
    if failed:
        action.message = "Error"
    session.add(
        InstanceActionEventRow(
            action_id=action.id,
            event=BUILD_EVENT,
            result="Error" if failed else "Success",
            details=json.dumps(result.to_primitive(), sort_keys=True),
            finish_time=now,
        )
    )


def fail_builds_on_down_hosts(
    engine: Engine, *, service_down_time: int, now: datetime | None = None
) -> tuple[str, ...]:
    """Put in ERROR every instance still building on a host whose compute service is down."""

    def work(session: Session) -> tuple[str, ...]:
        down = {
            service.host
            for service in list_services(session, binary=COMPUTE_BINARY)
            if not service.is_up(service_down_time=service_down_time, now=now)
        }
        if not down:
            return ()
        return _fail_builds(
            session, down, lambda host: ComputeHostDown(host, down_for=service_down_time)
        )

    failed = write_retrying(engine, work, retry_on=HostChangedConcurrently)
    for uuid_ in failed:
        LOG.warning("instance %s: its host went down while building it; now ERROR", uuid_)
    return failed


def fail_builds_of_restarted_host(session: Session, host: str) -> tuple[str, ...]:
    """Put in ERROR every instance building on `host`, whose agent just (re)started.

    A new agent process has no build in progress: one begun by the process
    before it is lost. A build message still queued for the new process is
    built, reported late, and torn down.
    """
    failed = _fail_builds(session, {host}, ComputeHostRestarted)
    for uuid_ in failed:
        LOG.warning("instance %s: its host's agent restarted while building it; now ERROR", uuid_)
    return failed


def _fail_builds(
    session: Session, hosts: set[str], problem: Callable[[str], OffpathError]
) -> tuple[str, ...]:
    stuck = session.execute(
        select(InstanceRow.uuid, InstanceRow.host).where(
            InstanceRow.vm_state == BUILDING, InstanceRow.host.in_(hosts)
        )
    ).all()
    for uuid_, host in stuck:
        error = problem(str(host))
        fail_instance(session, uuid_, message=error.message, code=error.code)
    return tuple(uuid_ for uuid_, _ in stuck)

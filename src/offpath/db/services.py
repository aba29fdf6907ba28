"""Service records: who runs where, at which version, and whether it is up.

A service is up while its last heartbeat is younger than `service_down_time`
and nobody forced it down, as in Nova's database servicegroup driver.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from offpath.db.cell_schema import ServiceRow
from offpath.db.cells import Cell, CellDatabases
from offpath.db.columns import utcnow
from offpath.db.engine import reading
from offpath.errors import OffpathError
from offpath.jsonvalue import JsonValue

LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    """One service as its cell database knows it."""

    host: str
    binary: str
    version: int
    last_seen_up: datetime | None
    disabled: bool
    forced_down: bool
    cell: str = ""
    disabled_reason: str | None = None

    def is_up(self, *, service_down_time: int, now: datetime | None = None) -> bool:
        """True while the last heartbeat is recent enough and the service is not forced down."""
        if self.forced_down or self.last_seen_up is None:
            return False
        age = (now or utcnow()) - self.last_seen_up
        return age <= timedelta(seconds=service_down_time)

    def to_json(
        self, *, service_down_time: int, now: datetime | None = None
    ) -> dict[str, JsonValue]:
        """The service as `offpath service list --json` shows it."""
        return {
            "binary": self.binary,
            "host": self.host,
            "cell": self.cell,
            "version": self.version,
            "state": "up" if self.is_up(service_down_time=service_down_time, now=now) else "down",
            "status": "disabled" if self.disabled else "enabled",
            "last_seen_up": self.last_seen_up.isoformat() if self.last_seen_up else None,
        }


def _record(row: ServiceRow, cell: str = "") -> ServiceRecord:
    return ServiceRecord(
        row.host,
        row.binary,
        row.version,
        row.last_seen_up,
        row.disabled,
        row.forced_down,
        cell,
        row.disabled_reason,
    )


def register_service(
    session: Session, *, host: str, binary: str, topic: str | None, version: int
) -> ServiceRecord:
    """Create the service record, or update its version on restart; it counts as seen now."""
    now = utcnow()
    row = session.scalars(
        select(ServiceRow).where(ServiceRow.host == host, ServiceRow.binary == binary)
    ).first()
    if row is None:
        row = ServiceRow(host=host, binary=binary, topic=topic, version=version, last_seen_up=now)
        session.add(row)
    else:
        row.version = version
        row.topic = topic
        row.last_seen_up = now
    session.flush()
    return _record(row)


def heartbeat(session: Session, *, host: str, binary: str) -> bool:
    """Record that the service is alive; False if it is not registered."""
    result = session.execute(
        update(ServiceRow)
        .where(ServiceRow.host == host, ServiceRow.binary == binary)
        .values(last_seen_up=utcnow(), report_count=ServiceRow.report_count + 1)
    )
    return bool(getattr(result, "rowcount", 0))


@dataclass(frozen=True, slots=True)
class ServiceFlags:
    """An operator's change to a service; None leaves a flag as it is."""

    disabled: bool | None = None
    disabled_reason: str | None = None
    forced_down: bool | None = None


def update_service(
    session: Session, *, host: str, binary: str, flags: ServiceFlags, cell: str = ""
) -> ServiceRecord | None:
    """Set the flags of the service; a service enabled again loses its reason. None if absent."""
    row = session.scalars(
        select(ServiceRow).where(ServiceRow.host == host, ServiceRow.binary == binary)
    ).first()
    if row is None:
        return None
    if flags.disabled is not None:
        row.disabled = flags.disabled
        row.disabled_reason = flags.disabled_reason if flags.disabled else None
    if flags.forced_down is not None:
        row.forced_down = flags.forced_down
    session.flush()
    return _record(row, cell)


def list_services(
    session: Session, *, binary: str | None = None, cell: str = ""
) -> list[ServiceRecord]:
    """The services of one cell database, by host then binary."""
    query = select(ServiceRow).order_by(ServiceRow.host, ServiceRow.binary)
    if binary is not None:
        query = query.where(ServiceRow.binary == binary)
    return [_record(row, cell) for row in session.scalars(query)]


def minimum_version(session: Session, binary: str) -> int:
    """The lowest non-zero version of `binary` in this cell; 0 when there is none."""
    found = session.scalar(
        select(func.min(ServiceRow.version)).where(
            ServiceRow.binary == binary, ServiceRow.version > 0
        )
    )
    return int(found or 0)


@dataclass(frozen=True, slots=True)
class CellAnswer:
    """What one cell answered to a question asked of every cell, or why it did not."""

    cell: Cell
    value: int | None
    problem: str | None = None


def minimum_version_all_cells(
    cells: CellDatabases, binary: str, *, timeout: float
) -> list[CellAnswer]:
    """Each cell's minimum `binary` version, asked concurrently; a cell that fails says why."""
    targets = [cell for cell in cells.cells() if not cell.is_cell0]

    def ask(cell: Cell) -> int:
        with reading(cells.engine(cell)) as session:
            return minimum_version(session, binary)

    answers: list[CellAnswer] = []
    pool = ThreadPoolExecutor(max_workers=max(1, min(len(targets), 16)), thread_name_prefix="cells")
    try:
        futures = [(cell, pool.submit(ask, cell)) for cell in targets]
        deadline = time.monotonic() + timeout
        for cell, future in futures:
            try:
                left = max(0.0, deadline - time.monotonic())
                answers.append(CellAnswer(cell, future.result(timeout=left)))
            except FutureTimeout:
                LOG.warning("cell %s did not answer within %.1f s; skipped", cell.name, timeout)
                answers.append(CellAnswer(cell, None, f"no answer within {timeout:g} s"))
            except OffpathError as exc:
                LOG.warning("cell %s skipped: %s", cell.name, exc.message)
                answers.append(CellAnswer(cell, None, exc.message))
    finally:
        # A hung cell must not hold the caller: its thread is left to finish alone.
        pool.shutdown(wait=False, cancel_futures=True)
    return answers


def global_minimum(answers: list[CellAnswer]) -> int:
    """The minimum over the cells that answered with a version; 0 when none did."""
    found = [a.value for a in answers if a.value]
    return min(found) if found else 0

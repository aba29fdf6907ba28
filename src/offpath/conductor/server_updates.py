"""A user's change to a server's own record: its name, as Nova's server update makes it.

Only the record changes: the guest and its host are not told (Nova keeps
the display name in its database alone too).
"""

from __future__ import annotations

from sqlalchemy import update

from offpath.conductor.server_reads import cell_of
from offpath.db.cell_schema import InstanceRow
from offpath.db.cells import CellDatabases
from offpath.db.columns import utcnow
from offpath.db.engine import writing
from offpath.errors import InstanceNotFound


def rename_server(cells: CellDatabases, instance_uuid: str, name: str) -> None:
    """Give the live server `instance_uuid` the name `name`; InstanceNotFound if it is gone."""
    with writing(cells.engine(cell_of(cells, instance_uuid))) as session:
        result = session.execute(
            update(InstanceRow)
            .where(InstanceRow.uuid == instance_uuid, InstanceRow.deleted_at.is_(None))
            .values(name=name, updated_at=utcnow())
        )
    if getattr(result, "rowcount", 0) != 1:
        raise InstanceNotFound(instance_uuid)

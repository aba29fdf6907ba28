"""A server's metadata changed as Nova's server-metadata API changes it.

A change merges into the metadata or replaces it whole, within Nova's
default `metadata_items` quota (128), and only while the server is idle in
a state Nova allows it (active, paused, suspended, stopped): a change is
refused with Nova's 409 while a task runs. Only the record changes; the
guest and its host are not told.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offpath.conductor.instance_states import hold_for_change
from offpath.conductor.server_reads import cell_of
from offpath.db.cells import CellDatabases
from offpath.db.engine import write_retrying
from offpath.db.instance_metadata import metadata_of, write_metadata
from offpath.errors import MetadataItemNotFound, MetadataLimitExceeded

# Nova's default `metadata_items` quota: offpath has no quota API to change it.
MAX_METADATA_ITEMS: Final = 128


def check_metadata_items(count: int) -> None:
    """MetadataLimitExceeded when a server would hold more than MAX_METADATA_ITEMS items."""
    if count > MAX_METADATA_ITEMS:
        raise MetadataLimitExceeded(MAX_METADATA_ITEMS)


def merged(
    current: Mapping[str, str], items: Mapping[str, str], *, replace: bool
) -> dict[str, str]:
    """The metadata after a change: `items` alone when replacing, else `current` updated."""
    return dict(items) if replace else {**current, **items}


def update_server_metadata(
    cells: CellDatabases, instance_uuid: str, items: Mapping[str, str], *, replace: bool
) -> dict[str, str]:
    """Merge `items` into the server's metadata (or make them all of it); the metadata now."""

    def work(session: Session) -> dict[str, str]:
        hold_for_change(session, instance_uuid, "update metadata")
        current = metadata_of(session, [instance_uuid]).get(instance_uuid, {})
        after = merged(current, items, replace=replace)
        check_metadata_items(len(after))
        write_metadata(session, instance_uuid, after, before=current)
        return after

    # Two merges adding one key at once: the loser's insert breaks the unique key; run it again.
    return write_retrying(
        cells.engine(cell_of(cells, instance_uuid)), work, retry_on=IntegrityError
    )


def delete_server_metadata_item(cells: CellDatabases, instance_uuid: str, key: str) -> None:
    """Remove one key; MetadataItemNotFound when the server has no such key."""

    def work(session: Session) -> None:
        current = metadata_of(session, [instance_uuid]).get(instance_uuid, {})
        if key not in current:
            raise MetadataItemNotFound(instance_uuid, key)
        hold_for_change(session, instance_uuid, "delete metadata")
        kept = {k: v for k, v in current.items() if k != key}
        write_metadata(session, instance_uuid, kept, before=current)

    write_retrying(cells.engine(cell_of(cells, instance_uuid)), work, retry_on=IntegrityError)

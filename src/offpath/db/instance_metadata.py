"""A server's metadata in its cell: one row per key, read for many servers in one query.

Writes take the whole new mapping and change only the rows that differ,
so a merge of one key touches one row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from offpath.db.cell_schema import InstanceMetadataRow


def metadata_of(session: Session, instance_uuids: Sequence[str]) -> dict[str, dict[str, str]]:
    """Each server's metadata, by uuid; a server without any is absent."""
    if not instance_uuids:
        return {}
    row = InstanceMetadataRow
    found: dict[str, dict[str, str]] = {}
    for uuid, key, value in session.execute(
        select(row.instance_uuid, row.key, row.value)
        .where(row.instance_uuid.in_(list(instance_uuids)))
        .order_by(row.id)
    ):
        found.setdefault(uuid, {})[key] = value
    return found


def write_metadata(
    session: Session,
    instance_uuid: str,
    metadata: Mapping[str, str],
    *,
    before: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Make `metadata` the server's whole metadata; what it was before.

    A caller that read the metadata in this transaction passes it as `before`, saving the read.
    """
    if before is None:
        before = metadata_of(session, [instance_uuid]).get(instance_uuid, {})
    gone = [key for key in before if key not in metadata]
    if gone:
        session.execute(
            delete(InstanceMetadataRow).where(
                InstanceMetadataRow.instance_uuid == instance_uuid,
                InstanceMetadataRow.key.in_(gone),
            )
        )
    for key, value in metadata.items():
        if key not in before:
            session.add(InstanceMetadataRow(instance_uuid=instance_uuid, key=key, value=value))
        elif before[key] != value:
            session.execute(
                update(InstanceMetadataRow)
                .where(
                    InstanceMetadataRow.instance_uuid == instance_uuid,
                    InstanceMetadataRow.key == key,
                )
                .values(value=value)
            )
    session.flush()
    return dict(before)

"""Flavors and their extra specs in the API database, read back as records.

Reads and writes take a session (the caller's transaction); a name or id
taken is FlavorExists, an unknown id FlavorNotFound.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offpath.db.api_schema import FlavorExtraSpecRow, FlavorRow
from offpath.errors import FlavorExists, FlavorExtraSpecNotFound, FlavorNotFound
from offpath.pci.flavor import Flavor


@dataclass(frozen=True, slots=True)
class FlavorRecord:
    """A flavor as the compute API shows it."""

    flavorid: str
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int = 0
    ephemeral_gb: int = 0
    swap: int = 0
    is_public: bool = True
    description: str | None = None
    extra_specs: Mapping[str, str] = field(default_factory=dict)

    def flavor(self) -> Flavor:
        """The flavor a boot asks the conductor for."""
        return Flavor(
            self.name,
            vcpus=self.vcpus,
            memory_mb=self.memory_mb,
            root_gb=self.root_gb,
            extra_specs=dict(self.extra_specs),
        )


def _record(row: FlavorRow, specs: Mapping[str, str]) -> FlavorRecord:
    return FlavorRecord(
        flavorid=row.flavorid,
        name=row.name,
        vcpus=row.vcpus,
        memory_mb=row.memory_mb,
        root_gb=row.root_gb,
        ephemeral_gb=row.ephemeral_gb,
        swap=row.swap,
        is_public=row.is_public,
        description=row.description,
        extra_specs=dict(specs),
    )


def _row(session: Session, flavorid: str) -> FlavorRow:
    row = session.scalars(select(FlavorRow).where(FlavorRow.flavorid == flavorid)).first()
    if row is None:
        raise FlavorNotFound(flavorid)
    return row


def _specs(session: Session, flavor_pk: int) -> dict[str, str]:
    return {
        spec.key: spec.value
        for spec in session.scalars(
            select(FlavorExtraSpecRow)
            .where(FlavorExtraSpecRow.flavor_id == flavor_pk)
            .order_by(FlavorExtraSpecRow.key)
        )
    }


def list_flavors(session: Session, *, is_public: bool | None = None) -> list[FlavorRecord]:
    """The flavors by flavor id; only public or private ones when `is_public` says."""
    query = select(FlavorRow).order_by(FlavorRow.flavorid)
    if is_public is not None:
        query = query.where(FlavorRow.is_public == is_public)
    rows = list(session.scalars(query))
    specs: dict[int, dict[str, str]] = {row.id: {} for row in rows}
    if rows:
        for spec in session.scalars(
            select(FlavorExtraSpecRow).where(FlavorExtraSpecRow.flavor_id.in_(list(specs)))
        ):
            specs[spec.flavor_id][spec.key] = spec.value
    return [_record(row, dict(sorted(specs[row.id].items()))) for row in rows]


def get_flavor(session: Session, flavorid: str) -> FlavorRecord:
    """The flavor with that id; FlavorNotFound otherwise."""
    row = _row(session, flavorid)
    return _record(row, _specs(session, row.id))


def create_flavor(session: Session, record: FlavorRecord) -> FlavorRecord:
    """Add the flavor with its extra specs; FlavorExists when its name or id is taken."""
    taken = session.scalars(
        select(FlavorRow).where(
            or_(FlavorRow.name == record.name, FlavorRow.flavorid == record.flavorid)
        )
    ).first()
    if taken is not None:
        if taken.name == record.name:
            raise FlavorExists(name=record.name)
        raise FlavorExists(flavor_id=record.flavorid)
    row = FlavorRow(
        flavorid=record.flavorid,
        name=record.name,
        vcpus=record.vcpus,
        memory_mb=record.memory_mb,
        root_gb=record.root_gb,
        ephemeral_gb=record.ephemeral_gb,
        swap=record.swap,
        is_public=record.is_public,
        description=record.description,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        # Another worker created it between our check and our insert.
        raise FlavorExists(name=record.name) from None
    for key, value in record.extra_specs.items():
        session.add(FlavorExtraSpecRow(flavor_id=row.id, key=key, value=value))
    session.flush()
    return get_flavor(session, record.flavorid)


def delete_flavor(session: Session, flavorid: str) -> None:
    """Remove the flavor and its extra specs; FlavorNotFound when there is none."""
    row = _row(session, flavorid)
    session.execute(delete(FlavorExtraSpecRow).where(FlavorExtraSpecRow.flavor_id == row.id))
    session.delete(row)


def set_extra_specs(session: Session, flavorid: str, specs: Mapping[str, str]) -> dict[str, str]:
    """Add or overwrite extra specs; all of the flavor's extra specs after."""
    row = _row(session, flavorid)
    current = {
        spec.key: spec
        for spec in session.scalars(
            select(FlavorExtraSpecRow).where(FlavorExtraSpecRow.flavor_id == row.id)
        )
    }
    for key, value in specs.items():
        if key in current:
            current[key].value = value
        else:
            session.add(FlavorExtraSpecRow(flavor_id=row.id, key=key, value=value))
    session.flush()
    return _specs(session, row.id)


def delete_extra_spec(session: Session, flavorid: str, key: str) -> None:
    """Remove one extra spec; FlavorExtraSpecNotFound when the flavor has no such key."""
    row = _row(session, flavorid)
    result = session.execute(
        delete(FlavorExtraSpecRow).where(
            FlavorExtraSpecRow.flavor_id == row.id, FlavorExtraSpecRow.key == key
        )
    )
    if not getattr(result, "rowcount", 0):
        raise FlavorExtraSpecNotFound(flavorid, key)

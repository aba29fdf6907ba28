"""Image records of the minimal Glance v2 surface, in the API database.

offpath's hypervisor needs no disk, so an image is its metadata and the
size and checksum of whatever data was uploaded; the data itself is not kept.
A project sees its own images and every image that is not private.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offpath.db.api_schema import ImageRow
from offpath.db.columns import utcnow
from offpath.errors import ImageExists, ImageNotActive, ImageNotFound, ImageProtected

QUEUED = "queued"
ACTIVE = "active"


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """An image's metadata as Glance shows it."""

    id: str
    name: str | None
    owner: str
    status: str = QUEUED
    visibility: str = "shared"
    disk_format: str | None = None
    container_format: str | None = None
    min_disk: int = 0
    min_ram: int = 0
    protected: bool = False
    size: int | None = None
    checksum: str | None = None
    tags: tuple[str, ...] = ()
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True)
class ImageFilter:
    """The list filters the clients send: ids (`id=in:a,b`), name, status, visibility, owner."""

    ids: tuple[str, ...] | None = None
    name: str | None = None
    status: str | None = None
    visibility: str | None = None
    owner: str | None = None


def new_image_id() -> str:
    """A fresh image id."""
    return str(uuid.uuid4())


def _record(row: ImageRow) -> ImageRecord:
    return ImageRecord(
        id=row.id,
        name=row.name,
        owner=row.owner,
        status=row.status,
        visibility=row.visibility,
        disk_format=row.disk_format,
        container_format=row.container_format,
        min_disk=row.min_disk,
        min_ram=row.min_ram,
        protected=row.protected,
        size=row.size,
        checksum=row.checksum,
        tags=tuple(row.tags or ()),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _visible(project_id: str) -> ColumnElement[bool]:
    return or_(ImageRow.owner == project_id, ImageRow.visibility != "private")


def create_image(session: Session, record: ImageRecord) -> ImageRecord:
    """Store a new image record; ImageExists when its id is taken."""
    if session.get(ImageRow, record.id) is not None:
        raise ImageExists(record.id)
    session.add(
        ImageRow(
            id=record.id,
            name=record.name,
            owner=record.owner,
            status=record.status,
            visibility=record.visibility,
            disk_format=record.disk_format,
            container_format=record.container_format,
            min_disk=record.min_disk,
            min_ram=record.min_ram,
            protected=record.protected,
            size=record.size,
            checksum=record.checksum,
            tags=list(record.tags),
            created_at=record.created_at,
            updated_at=record.updated_at,
        )
    )
    try:
        session.flush()
    except IntegrityError:
        raise ImageExists(record.id) from None
    return record


def get_image(session: Session, image_id: str, *, project_id: str) -> ImageRecord:
    """The image if `project_id` may see it; ImageNotFound otherwise."""
    row = session.scalars(
        select(ImageRow).where(ImageRow.id == image_id, _visible(project_id))
    ).first()
    if row is None:
        raise ImageNotFound(image_id)
    return _record(row)


def list_images(session: Session, *, project_id: str, where: ImageFilter) -> list[ImageRecord]:
    """The images `project_id` may see that pass `where`, newest first."""
    query = select(ImageRow).where(_visible(project_id))
    if where.ids is not None:
        query = query.where(ImageRow.id.in_(list(where.ids)))
    for column, value in (
        (ImageRow.name, where.name),
        (ImageRow.status, where.status),
        (ImageRow.visibility, where.visibility),
        (ImageRow.owner, where.owner),
    ):
        if value is not None:
            query = query.where(column == value)
    query = query.order_by(ImageRow.created_at.desc(), ImageRow.id)
    return [_record(row) for row in session.scalars(query)]


def update_image(session: Session, record: ImageRecord, *, project_id: str) -> ImageRecord:
    """Store the metadata of `record` (its owner's image); ImageNotFound for anyone else's."""
    row = session.scalars(
        select(ImageRow).where(ImageRow.id == record.id, ImageRow.owner == project_id)
    ).first()
    if row is None:
        raise ImageNotFound(record.id)
    row.name = record.name
    row.visibility = record.visibility
    row.protected = record.protected
    row.min_disk = record.min_disk
    row.min_ram = record.min_ram
    row.tags = list(record.tags)
    row.disk_format = record.disk_format
    row.container_format = record.container_format
    row.updated_at = utcnow()
    session.flush()
    return _record(row)


def delete_image(session: Session, image_id: str, *, project_id: str) -> None:
    """Remove the image; ImageNotFound when `project_id` cannot see it, ImageProtected if kept."""
    row = session.scalars(
        select(ImageRow).where(ImageRow.id == image_id, _visible(project_id))
    ).first()
    if row is None:
        raise ImageNotFound(image_id)
    if row.protected:
        raise ImageProtected(image_id)
    session.delete(row)


def record_upload(
    session: Session, image_id: str, *, project_id: str, size: int, checksum: str
) -> ImageRecord:
    """Mark a queued image active with its data's size and checksum; ImageNotActive otherwise."""
    row = session.scalars(
        select(ImageRow).where(ImageRow.id == image_id, _visible(project_id))
    ).first()
    if row is None:
        raise ImageNotFound(image_id)
    if row.status != QUEUED:
        raise ImageNotActive(image_id, row.status)
    row.status = ACTIVE
    row.size = size
    row.checksum = checksum
    row.updated_at = utcnow()
    session.flush()
    return _record(row)

"""The API database: cells, flavors, where each instance lives, and request specs.

Like Nova's API database, it knows no host and no device: those live in the
cell databases, one per cell, whose URLs it records.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from offpath.db.columns import UtcDateTime, utcnow

# Constraint names spelled out so Alembic migrations name them the same on
# every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class ApiBase(DeclarativeBase):
    """Tables of the API database."""

    metadata = MetaData(naming_convention=NAMING)


class CellRow(ApiBase):
    """Nova's cell mapping: a cell's name, database and message queue."""

    __tablename__ = "cells"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    database_url: Mapped[str] = mapped_column(String(1024))
    transport_url: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class FlavorRow(ApiBase):
    """A flavor; its extra specs carry `pci_passthrough:alias` and `hw:` NUMA keys."""

    __tablename__ = "flavors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flavorid: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    swap: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    is_public: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    description: Mapped[str | None] = mapped_column(Text)


class FlavorExtraSpecRow(ApiBase):
    """One `key=value` extra spec of a flavor."""

    __tablename__ = "flavor_extra_specs"
    __table_args__ = (UniqueConstraint("flavor_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flavor_id: Mapped[int] = mapped_column(ForeignKey("flavors.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(1024))


class InstanceMappingRow(ApiBase):
    """Which cell holds an instance (None while it is being scheduled)."""

    __tablename__ = "instance_mappings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    cell_id: Mapped[int | None] = mapped_column(ForeignKey("cells.id"))
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RequestSpecRow(ApiBase):
    """What a boot asked for, kept for later moves: flavor, PCI requests, ports, NUMA."""

    __tablename__ = "request_specs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    spec: Mapped[dict[str, object]] = mapped_column(JSON)


class ImageRow(ApiBase):
    """An image record of the minimal Glance v2 surface: metadata, and the size of its data."""

    __tablename__ = "images"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255), index=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(30))
    visibility: Mapped[str] = mapped_column(String(20))
    disk_format: Mapped[str | None] = mapped_column(String(20))
    container_format: Mapped[str | None] = mapped_column(String(20))
    min_disk: Mapped[int] = mapped_column(Integer, default=0)
    min_ram: Mapped[int] = mapped_column(Integer, default=0)
    protected: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    size: Mapped[int | None] = mapped_column(BigInteger)
    checksum: Mapped[str | None] = mapped_column(String(32))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class KeyPairRow(ApiBase):
    """A user's key pair (Nova keeps them in its API database): the public half only."""

    __tablename__ = "key_pairs"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(255))
    public_key: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(8), default="ssh", server_default=text("'ssh'"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

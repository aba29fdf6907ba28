"""A cell database: services, compute nodes and their PCI devices, instances and their history.

A compute node's `generation` grows with every change to its devices, so a
reader that saw generation N knows whether its copy is current, and a
writer that read N can refuse to write over a newer state.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from offpath.db.api_schema import NAMING
from offpath.db.columns import UtcDateTime, utcnow
from offpath.jsonvalue import JsonValue


class CellBase(DeclarativeBase):
    """Tables of a cell database."""

    metadata = MetaData(naming_convention=NAMING)


class ServiceRow(CellBase):
    """A running binary on a host, its version and its last heartbeat."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("host", "binary"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str | None] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer, default=0)
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    forced_down: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_up: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ComputeNodeRow(CellBase):
    """One hypervisor host: what its driver supports, its NUMA cells and its generation."""

    __tablename__ = "compute_nodes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    host: Mapped[str] = mapped_column(String(255), unique=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    driver_supports_remote_managed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Derived at each report: the driver supports it and a remote-managed pool exists.
    supports_remote_managed: Mapped[bool] = mapped_column(Boolean, default=False)
    # [[cell id, socket or null], ...]
    numa_cells: Mapped[list[list[int | None]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class PciDeviceRow(CellBase):
    """A host's PCI function as last reported: its claim state and the spec that chose it."""

    __tablename__ = "pci_devices"
    __table_args__ = (
        UniqueConstraint("compute_node_id", "address"),
        Index("ix_pci_devices_instance_uuid", "instance_uuid"),
        Index("ix_pci_devices_compute_node_id_status", "compute_node_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    compute_node_id: Mapped[int] = mapped_column(ForeignKey("compute_nodes.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(16))
    vendor_id: Mapped[str] = mapped_column(String(4))
    product_id: Mapped[str] = mapped_column(String(4))
    dev_type: Mapped[str] = mapped_column(String(16))
    parent_addr: Mapped[str | None] = mapped_column(String(16))
    parent_ifname: Mapped[str | None] = mapped_column(String(64))
    numa_node: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    instance_uuid: Mapped[str | None] = mapped_column(String(36))
    request_id: Mapped[str | None] = mapped_column(String(36))
    spec_index: Mapped[int] = mapped_column(Integer)
    tags: Mapped[dict[str, JsonValue]] = mapped_column(JSON)
    # The whole discovered record, as the agent sent it.
    device: Mapped[dict[str, JsonValue]] = mapped_column(JSON)
    # Reported gone while in use: kept until freed, then removed.
    missing: Mapped[bool] = mapped_column(Boolean, default=False)


class InstanceRow(CellBase):
    """A server: where it runs, its states and its flavor."""

    __tablename__ = "instances"

    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    # Who booted it; None when no user did (the static token, servers older than the column).
    user_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255), index=True)
    vm_state: Mapped[str] = mapped_column(String(32))
    task_state: Mapped[str | None] = mapped_column(String(32))
    flavor: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The key pair it was booted with, as Nova keeps it: the name and the public key.
    key_name: Mapped[str | None] = mapped_column(String(255))
    key_data: Mapped[str | None] = mapped_column(Text)


class InstanceMetadataRow(CellBase):
    """One key of a server's metadata, as its user set it (Nova's instance_metadata)."""

    __tablename__ = "instance_metadata"
    __table_args__ = (UniqueConstraint("instance_uuid", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(ForeignKey("instances.uuid", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))


class InstancePciRequestRow(CellBase):
    """One PCI request of an instance, from a port or a flavor alias."""

    __tablename__ = "instance_pci_requests"
    __table_args__ = (UniqueConstraint("instance_uuid", "request_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid", ondelete="CASCADE"), index=True
    )
    request_id: Mapped[str] = mapped_column(String(36))
    count: Mapped[int] = mapped_column(Integer)
    spec: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    requester_id: Mapped[str | None] = mapped_column(String(36))
    alias_name: Mapped[str | None] = mapped_column(String(255))
    numa_policy: Mapped[str | None] = mapped_column(String(16))


class InstanceFaultRow(CellBase):
    """Why an instance went to ERROR, as the API shows it in `fault`."""

    __tablename__ = "instance_faults"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid", ondelete="CASCADE"), index=True
    )
    code: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(String(255))
    details: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class InstanceActionRow(CellBase):
    """One user action on an instance (create, delete, ...), as `os-instance-actions` lists."""

    __tablename__ = "instance_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(64))
    start_time: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finish_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    message: Mapped[str | None] = mapped_column(String(255))


class InstanceActionEventRow(CellBase):
    """One step of an action (`conductor_schedule_and_build_instances`, ...), its result."""

    __tablename__ = "instance_actions_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("instance_actions.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(255))
    result: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[str | None] = mapped_column(Text)
    start_time: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finish_time: Mapped[datetime | None] = mapped_column(UtcDateTime)


class MigrationRow(CellBase):
    """One move of an instance (cold migrate, resize, evacuation, live migration) and its devices.

    `pci_mapping` pairs each source device with the destination device
    serving the same PCI request: `[{"request_id", "source", "destination"}]`.
    `new_requests` holds the PCI requests the instance has on the
    destination when they differ (a resize to a flavor with other aliases).
    """

    __tablename__ = "migrations"
    __table_args__ = (
        Index("ix_migrations_instance_uuid_status", "instance_uuid", "status"),
        Index("ix_migrations_source_compute_status", "source_compute", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    instance_uuid: Mapped[str] = mapped_column(ForeignKey("instances.uuid", ondelete="CASCADE"))
    migration_type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    source_compute: Mapped[str | None] = mapped_column(String(255))
    dest_compute: Mapped[str | None] = mapped_column(String(255))
    old_flavor: Mapped[dict[str, object]] = mapped_column(JSON)
    new_flavor: Mapped[dict[str, object]] = mapped_column(JSON)
    pci_mapping: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    new_requests: Mapped[list[dict[str, object]] | None] = mapped_column(JSON)
    # The vm_state to return to when the move ends (a stopped server stays stopped).
    previous_vm_state: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

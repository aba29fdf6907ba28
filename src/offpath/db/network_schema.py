"""The network service's tables, in the API database: networks, subnets, ports, bindings, chassis.

They sit on the API database's metadata (one Alembic branch) because the
network service, like the API, is deployment-wide: every API worker serves
the same ports from here and holds nothing of its own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from offpath.db.api_schema import ApiBase
from offpath.db.columns import UtcDateTime, utcnow
from offpath.jsonvalue import JsonValue


class NetworkRow(ApiBase):
    """A network and its provider attributes (`segments` holds multi-provider segments)."""

    __tablename__ = "networks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    network_type: Mapped[str | None] = mapped_column(String(32))
    physical_network: Mapped[str | None] = mapped_column(String(64))
    segmentation_id: Mapped[int | None] = mapped_column(Integer)
    segments: Mapped[list[JsonValue]] = mapped_column(JSON)
    mtu: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SubnetRow(ApiBase):
    """A subnet of a network: the range ports get their fixed IPs from."""

    __tablename__ = "subnets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255), default="")
    cidr: Mapped[str] = mapped_column(String(64))
    ip_version: Mapped[int] = mapped_column(Integer)
    gateway_ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PortRow(ApiBase):
    """A port, its binding and the LSP options its binding driver recorded."""

    __tablename__ = "ports"
    # Neutron's rule: a MAC address is unique within its network.
    __table_args__ = (UniqueConstraint("network_id", "mac_address"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network_id: Mapped[str] = mapped_column(ForeignKey("networks.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    mac_address: Mapped[str] = mapped_column(String(32))
    device_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    device_owner: Mapped[str] = mapped_column(String(255), default="")
    vnic_type: Mapped[str] = mapped_column(String(32), default="normal")
    host_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    profile: Mapped[dict[str, JsonValue]] = mapped_column(JSON)
    vif_type: Mapped[str] = mapped_column(String(32), default="unbound")
    vif_details: Mapped[dict[str, JsonValue]] = mapped_column(JSON)
    lsp_options: Mapped[dict[str, JsonValue]] = mapped_column(JSON)
    # Why the last bind failed (vif_type binding_failed), for operators.
    binding_failure: Mapped[str] = mapped_column(String(1024), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PortBindingRow(ApiBase):
    """An INACTIVE binding of a port to another host; the port row holds the ACTIVE one."""

    __tablename__ = "port_bindings"
    # Neutron's rule: one binding per host and port.
    __table_args__ = (UniqueConstraint("port_id", "host"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    port_id: Mapped[str] = mapped_column(ForeignKey("ports.id", ondelete="CASCADE"))
    host: Mapped[str] = mapped_column(String(255))
    vnic_type: Mapped[str] = mapped_column(String(32))
    profile: Mapped[dict[str, JsonValue]] = mapped_column(JSON)
    vif_type: Mapped[str] = mapped_column(String(32))
    vif_details: Mapped[dict[str, JsonValue]] = mapped_column(JSON)
    # The Logical_Switch_Port options the driver decided; OVN gets them on activation.
    lsp_options: Mapped[dict[str, JsonValue]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="INACTIVE")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class IpAllocationRow(ApiBase):
    """One fixed IP of a port; unique per subnet, so two workers never hand out one address."""

    __tablename__ = "ip_allocations"
    __table_args__ = (UniqueConstraint("subnet_id", "ip_address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    port_id: Mapped[str] = mapped_column(ForeignKey("ports.id", ondelete="CASCADE"), index=True)
    subnet_id: Mapped[str] = mapped_column(ForeignKey("subnets.id", ondelete="CASCADE"))
    ip_address: Mapped[str] = mapped_column(String(64))


class ChassisRow(ApiBase):
    """A DPU's chassis as OVN's Southbound database would hold it, with the card it plays."""

    __tablename__ = "chassis"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255), unique=True)
    # `ovn-cms-options`, `ovn-bridge-mappings`, `datapath-type`, as in OVN.
    other_config: Mapped[dict[str, JsonValue]] = mapped_column(JSON)
    pf_macs: Mapped[list[JsonValue]] = mapped_column(JSON)
    vfs: Mapped[int] = mapped_column(Integer)
    up: Mapped[bool] = mapped_column(Boolean, default=True)
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RepresentorPlugRow(ApiBase):
    """A VF representor plugged on a DPU for a port; one port per representor."""

    __tablename__ = "representor_plugs"
    __table_args__ = (UniqueConstraint("chassis", "pf_mac", "vf_num"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chassis: Mapped[str] = mapped_column(String(255))
    pf_mac: Mapped[str] = mapped_column(String(32))
    vf_num: Mapped[int] = mapped_column(Integer)
    port_id: Mapped[str] = mapped_column(ForeignKey("ports.id", ondelete="CASCADE"), unique=True)
    representor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SriovHostRow(ApiBase):
    """A host's SR-IOV NIC agent: the physnets its VFs reach."""

    __tablename__ = "sriov_hosts"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    physnets: Mapped[list[JsonValue]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SecurityGroupRow(ApiBase):
    """A project's security group; its rules are rows of their own."""

    __tablename__ = "security_groups"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(255), default="")
    stateful: Mapped[bool] = mapped_column(Boolean, default=True)
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DefaultSecurityGroupRow(ApiBase):
    """Which group is a project's `default`: one per project, so two workers never make two."""

    __tablename__ = "default_security_groups"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), unique=True
    )


class SecurityGroupRuleRow(ApiBase):
    """One rule of a group, as Neutron stores it (a backend translates these to ACLs)."""

    __tablename__ = "security_group_rules"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    direction: Mapped[str] = mapped_column(String(16))
    ethertype: Mapped[str] = mapped_column(String(8))
    protocol: Mapped[str | None] = mapped_column(String(40))
    port_range_min: Mapped[int | None] = mapped_column(Integer)
    port_range_max: Mapped[int | None] = mapped_column(Integer)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(255))
    remote_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), index=True
    )
    # Address groups are not served; the column keeps Neutron's shape for a backend.
    remote_address_group_id: Mapped[str | None] = mapped_column(String(36))
    normalized_cidr: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(String(255), default="")
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PortSecurityGroupRow(ApiBase):
    """A port's membership of a security group."""

    __tablename__ = "port_security_groups"

    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True
    )
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("security_groups.id"), primary_key=True, index=True
    )

"""The identity tables of the API database: Keystone's domains, projects, users and roles.

A user's roles on a project are read at every request, with the user's and
the project's `enabled` and the revocations: what an admin changes holds at
once in every API worker, which share this database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from offpath.db.api_schema import ApiBase
from offpath.db.columns import UtcDateTime, utcnow


class DomainRow(ApiBase):
    """A Keystone domain: a namespace for users and projects."""

    __tablename__ = "domains"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ProjectRow(ApiBase):
    """A tenant: servers, ports and networks belong to one."""

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class UserRow(ApiBase):
    """A user; `tokens_valid_after` ends every token issued before it (password change)."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    default_project_id: Mapped[str | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL")
    )
    tokens_valid_after: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RoleRow(ApiBase):
    """A role name: admin, member, reader, manager, service, or an operator's own."""

    __tablename__ = "roles"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ImpliedRoleRow(ApiBase):
    """Keystone's implied roles: holding `prior` grants `implied` too (admin implies member)."""

    __tablename__ = "implied_roles"

    prior_role_id: Mapped[str] = mapped_column(
        ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True
    )
    implied_role_id: Mapped[str] = mapped_column(
        ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True
    )


class RoleAssignmentRow(ApiBase):
    """A user's role on a project."""

    __tablename__ = "role_assignments"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    role_id: Mapped[str] = mapped_column(
        ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True
    )


class RevokedTokenRow(ApiBase):
    """A revoked token, by its audit id, kept until it would have expired anyway."""

    __tablename__ = "revoked_tokens"

    audit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    revoked_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class TokenKeyRow(ApiBase):
    """A Fernet key tokens are signed and encrypted with; the newest signs, all verify."""

    __tablename__ = "token_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class EndpointRow(ApiBase):
    """One catalog entry: where a service type answers, per interface and region."""

    __tablename__ = "endpoints"
    __table_args__ = (UniqueConstraint("service_type", "interface", "region"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_type: Mapped[str] = mapped_column(String(64))
    service_name: Mapped[str] = mapped_column(String(255))
    interface: Mapped[str] = mapped_column(String(16))
    region: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(String(1024))

"""Identity records as the API and the CLI show them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

# Keystone's default domain: its id and its name differ in case only.
DEFAULT_DOMAIN_ID: Final = "default"
DEFAULT_DOMAIN_NAME: Final = "Default"


@dataclass(frozen=True, slots=True)
class Domain:
    """A namespace of users and projects."""

    id: str
    name: str
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Project:
    """A tenant."""

    id: str
    name: str
    domain: Domain
    enabled: bool = True
    description: str = ""


@dataclass(frozen=True, slots=True)
class User:
    """A person or a service that logs in."""

    id: str
    name: str
    domain: Domain
    enabled: bool = True
    default_project_id: str | None = None


@dataclass(frozen=True, slots=True)
class Role:
    """A role name and its id."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Assignment:
    """A user's role on a project (roles implied by it are not listed)."""

    user: User
    project: Project
    role: Role


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One catalog entry."""

    service_type: str
    service_name: str
    interface: str
    region: str
    url: str


@dataclass(frozen=True, slots=True)
class Token:
    """A valid token and whom it stands for; `roles` include the implied ones."""

    id: str
    user: User
    project: Project | None
    roles: tuple[Role, ...]
    methods: tuple[str, ...]
    audit_ids: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime

    @property
    def role_names(self) -> tuple[str, ...]:
        """The role names, as policy checks them."""
        return tuple(role.name for role in self.roles)

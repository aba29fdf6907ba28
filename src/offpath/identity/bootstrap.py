"""`offpath identity bootstrap`: what `keystone-manage bootstrap` sets up, made idempotent.

The default domain; the roles admin, member, reader, manager and service with
Keystone's implications (admin implies member, member implies reader, manager
implies member); an `admin` user with the admin role on an `admin` project; a
`service` project and, in it, offpath's own service user (admin and service
roles, no password: the API process issues its tokens itself); a token key;
the catalog, when a public endpoint is known.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Engine

from offpath.errors import IdentityNotFound
from offpath.identity.catalog import DEFAULT_REGION, endpoints_at
from offpath.identity.directory import IdentityDirectory
from offpath.identity.records import DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME, Project, User

ROLES: Final = ("admin", "member", "reader", "manager", "service")
IMPLIED: Final = (("admin", "member"), ("member", "reader"), ("manager", "member"))
ADMIN_USER: Final = "admin"
ADMIN_PROJECT: Final = "admin"
SERVICE_PROJECT: Final = "service"
# The user the API process calls its own services as (Nova's and Neutron's service users).
SERVICE_USER: Final = "offpath"


@dataclass(frozen=True, slots=True)
class Bootstrapped:
    """What a bootstrap left: the admin, its project, and the password it set (if any)."""

    admin: User
    project: Project
    # The admin's password when this run set it; None when it kept the one already set.
    password: str | None
    created: bool


def bootstrap(
    engine: Engine,
    *,
    password: str | None,
    public_endpoint: str = "",
    region: str = DEFAULT_REGION,
) -> Bootstrapped:
    """Create what is missing; set the admin's password when one is given (or on creation)."""
    directory = IdentityDirectory(engine)
    directory.ensure_domain(DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME)
    for role in ROLES:
        directory.ensure_role(role)
    for prior, implied in IMPLIED:
        directory.imply(prior, implied)
    project = _ensure_project(directory, ADMIN_PROJECT)
    service = _ensure_project(directory, SERVICE_PROJECT)
    try:
        directory.user(SERVICE_USER)
    except IdentityNotFound:
        directory.create_user(SERVICE_USER, password=None, default_project=service.id)
    for role in ("admin", "service"):
        directory.add_role(role, user=SERVICE_USER, project=service.id)
    created = False
    try:
        admin = directory.user(ADMIN_USER)
        if password is not None:
            directory.set_password(admin.id, password)
    except IdentityNotFound:
        password = password or secrets.token_urlsafe(18)
        admin = directory.create_user(ADMIN_USER, password=password, default_project=project.id)
        created = True
    directory.add_role("admin", user=admin.id, project=project.id)
    directory.ensure_token_key()
    if public_endpoint:
        directory.replace_endpoints(endpoints_at(public_endpoint, region=region))
    return Bootstrapped(admin, project, password, created)


def _ensure_project(directory: IdentityDirectory, name: str) -> Project:
    try:
        return directory.project(name)
    except IdentityNotFound:
        return directory.create_project(name, description=f"Bootstrap project {name}")

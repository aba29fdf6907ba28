"""The identity directory: domains, projects, users, roles and who holds which, in the API database.

What `offpath identity` and the bootstrap write, and what token issue and
validation read. Names are unique per domain, as in Keystone; ids are uuid4
hex, except the default domain's, `default`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Final, TypeVar

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from offpath.db.columns import utcnow
from offpath.db.engine import reading, writing
from offpath.db.identity_schema import (
    DomainRow,
    EndpointRow,
    ImpliedRoleRow,
    ProjectRow,
    RoleAssignmentRow,
    RoleRow,
    TokenKeyRow,
    UserRow,
)
from offpath.errors import IdentityConflict, IdentityInvalid, IdentityNotFound
from offpath.identity.passwords import hash_password
from offpath.identity.records import (
    DEFAULT_DOMAIN_ID,
    Assignment,
    Domain,
    Endpoint,
    Project,
    Role,
    User,
)
from offpath.identity.tokens import new_key

# Keystone's limit on names; control characters make names that logs cannot show.
_NAME_MAX: Final = 255
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_Named = TypeVar("_Named", ProjectRow, UserRow)


def new_id() -> str:
    """A new id, shaped like Keystone's (uuid4 hex)."""
    return uuid.uuid4().hex


def checked_name(kind: str, name: str) -> str:
    """`name` when Keystone would take it for a `kind`; IdentityInvalid otherwise."""
    stripped = name.strip()
    if not stripped or len(stripped) > _NAME_MAX or _CONTROL.search(stripped):
        raise IdentityInvalid(
            f"Invalid {kind} name {name[:80]!r}: 1 to {_NAME_MAX} printable characters, "
            "not only spaces.",
            hint=f"give the {kind} a name of letters, digits and punctuation",
        )
    return stripped


def domain_of(row: DomainRow) -> Domain:
    """The record of a domain row."""
    return Domain(row.id, row.name, row.enabled)


def project_of(row: ProjectRow, domain: DomainRow) -> Project:
    """The record of a project row."""
    return Project(row.id, row.name, domain_of(domain), row.enabled, row.description)


def user_of(row: UserRow, domain: DomainRow) -> User:
    """The record of a user row."""
    return User(row.id, row.name, domain_of(domain), row.enabled, row.default_project_id)


class IdentityDirectory:
    """Reads and writes of the identity records; each call is its own transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- domains -----------------------------------------------------------------

    def ensure_domain(self, domain_id: str, name: str) -> Domain:
        """The domain `domain_id`, created with `name` if missing."""
        with writing(self._engine) as session:
            row = session.get(DomainRow, domain_id)
            if row is None:
                row = DomainRow(id=domain_id, name=name, enabled=True, description="")
                session.add(row)
            return domain_of(row)

    def domain(self, name_or_id: str) -> Domain:
        """The domain by id or name; IdentityNotFound otherwise."""
        with reading(self._engine) as session:
            return domain_of(_domain_row(session, name_or_id))

    # -- projects ----------------------------------------------------------------

    def create_project(
        self, name: str, *, domain: str = DEFAULT_DOMAIN_ID, description: str = ""
    ) -> Project:
        """A new project; IdentityConflict when the domain has one of that name."""
        name = checked_name("project", name)
        with writing(self._engine) as session:
            domain_row = _domain_row(session, domain)
            if _named(session, ProjectRow, name, domain_row.id) is not None:
                raise IdentityConflict("project", name, domain_row.id)
            row = ProjectRow(
                id=new_id(), domain_id=domain_row.id, name=name, description=description
            )
            session.add(row)
            return project_of(row, domain_row)

    def project(self, name_or_id: str, *, domain: str = DEFAULT_DOMAIN_ID) -> Project:
        """The project by id, or by name in `domain`; IdentityNotFound otherwise."""
        with reading(self._engine) as session:
            row = project_row(session, name_or_id, domain)
            return project_of(row, _required(session, DomainRow, row.domain_id, "domain"))

    def projects(self) -> list[Project]:
        """Every project, by domain and name."""
        with reading(self._engine) as session:
            domains = {row.id: row for row in session.scalars(select(DomainRow))}
            rows = session.scalars(
                select(ProjectRow).order_by(ProjectRow.domain_id, ProjectRow.name)
            )
            return [project_of(row, domains[row.domain_id]) for row in rows]

    # -- users -------------------------------------------------------------------

    def create_user(
        self,
        name: str,
        *,
        password: str | None,
        domain: str = DEFAULT_DOMAIN_ID,
        default_project: str | None = None,
        enabled: bool = True,
    ) -> User:
        """A new user; IdentityConflict when the domain has one of that name."""
        name = checked_name("user", name)
        hashed = None if password is None else hash_password(password)
        with writing(self._engine) as session:
            domain_row = _domain_row(session, domain)
            if _named(session, UserRow, name, domain_row.id) is not None:
                raise IdentityConflict("user", name, domain_row.id)
            project_id = (
                None
                if default_project is None
                else project_row(session, default_project, domain_row.id).id
            )
            row = UserRow(
                id=new_id(),
                domain_id=domain_row.id,
                name=name,
                password_hash=hashed,
                enabled=enabled,
                default_project_id=project_id,
            )
            session.add(row)
            return user_of(row, domain_row)

    def user(self, name_or_id: str, *, domain: str = DEFAULT_DOMAIN_ID) -> User:
        """The user by id, or by name in `domain`; IdentityNotFound otherwise."""
        with reading(self._engine) as session:
            row = user_row(session, name_or_id, domain)
            return user_of(row, _required(session, DomainRow, row.domain_id, "domain"))

    def users(self) -> list[User]:
        """Every user, by domain and name."""
        with reading(self._engine) as session:
            domains = {row.id: row for row in session.scalars(select(DomainRow))}
            rows = session.scalars(select(UserRow).order_by(UserRow.domain_id, UserRow.name))
            return [user_of(row, domains[row.domain_id]) for row in rows]

    def set_password(self, user: str, password: str, *, domain: str = DEFAULT_DOMAIN_ID) -> None:
        """Change a user's password; every token issued before now stops working."""
        hashed = hash_password(password)
        with writing(self._engine) as session:
            row = user_row(session, user, domain)
            row.password_hash = hashed
            row.tokens_valid_after = utcnow()

    def set_enabled(self, user: str, enabled: bool, *, domain: str = DEFAULT_DOMAIN_ID) -> None:
        """Enable or disable a user; a disabled user's tokens stop working at once."""
        with writing(self._engine) as session:
            user_row(session, user, domain).enabled = enabled

    # -- roles -------------------------------------------------------------------

    def ensure_role(self, name: str) -> Role:
        """The role `name`, created if missing."""
        name = checked_name("role", name)
        with writing(self._engine) as session:
            row = session.scalars(select(RoleRow).where(RoleRow.name == name)).one_or_none()
            if row is None:
                row = RoleRow(id=new_id(), name=name)
                session.add(row)
            return Role(row.id, row.name)

    def imply(self, prior: str, implied: str) -> None:
        """Holding role `prior` grants `implied` too (idempotent)."""
        with writing(self._engine) as session:
            prior_id = _role_row(session, prior).id
            implied_id = _role_row(session, implied).id
            if session.get(ImpliedRoleRow, (prior_id, implied_id)) is None:
                session.add(ImpliedRoleRow(prior_role_id=prior_id, implied_role_id=implied_id))

    def roles(self) -> list[Role]:
        """Every role, by name."""
        with reading(self._engine) as session:
            rows = session.scalars(select(RoleRow).order_by(RoleRow.name))
            return [Role(row.id, row.name) for row in rows]

    def add_role(
        self, role: str, *, user: str, project: str, domain: str = DEFAULT_DOMAIN_ID
    ) -> Assignment:
        """Grant `role` to `user` on `project` (idempotent, like `openstack role add`)."""
        with writing(self._engine) as session:
            role_row = _role_row(session, role)
            user_found = user_row(session, user, domain)
            project_found = project_row(session, project, domain)
            key = (user_found.id, project_found.id, role_row.id)
            if session.get(RoleAssignmentRow, key) is None:
                session.add(
                    RoleAssignmentRow(
                        user_id=user_found.id, project_id=project_found.id, role_id=role_row.id
                    )
                )
            return Assignment(
                user_of(user_found, _required(session, DomainRow, user_found.domain_id, "domain")),
                project_of(
                    project_found,
                    _required(session, DomainRow, project_found.domain_id, "domain"),
                ),
                Role(role_row.id, role_row.name),
            )

    def remove_role(
        self, role: str, *, user: str, project: str, domain: str = DEFAULT_DOMAIN_ID
    ) -> None:
        """Take `role` from `user` on `project`; their tokens lose it at the next request."""
        with writing(self._engine) as session:
            session.execute(
                delete(RoleAssignmentRow).where(
                    RoleAssignmentRow.user_id == user_row(session, user, domain).id,
                    RoleAssignmentRow.project_id == project_row(session, project, domain).id,
                    RoleAssignmentRow.role_id == _role_row(session, role).id,
                )
            )

    def assignments(self) -> list[Assignment]:
        """Every role assignment, by user, project and role."""
        with reading(self._engine) as session:
            domains = {row.id: row for row in session.scalars(select(DomainRow))}
            found = session.execute(
                select(UserRow, ProjectRow, RoleRow)
                .join(RoleAssignmentRow, RoleAssignmentRow.user_id == UserRow.id)
                .join(ProjectRow, ProjectRow.id == RoleAssignmentRow.project_id)
                .join(RoleRow, RoleRow.id == RoleAssignmentRow.role_id)
                .order_by(UserRow.name, ProjectRow.name, RoleRow.name)
            )
            return [
                Assignment(
                    user_of(user, domains[user.domain_id]),
                    project_of(project, domains[project.domain_id]),
                    Role(role.id, role.name),
                )
                for user, project, role in found
            ]

    # -- catalog and keys ----------------------------------------------------------

    def endpoints(self) -> list[Endpoint]:
        """The catalog's entries; empty when the bootstrap knew no public endpoint."""
        with reading(self._engine) as session:
            rows = session.scalars(
                select(EndpointRow).order_by(EndpointRow.service_type, EndpointRow.interface)
            )
            return [
                Endpoint(row.service_type, row.service_name, row.interface, row.region, row.url)
                for row in rows
            ]

    def replace_endpoints(self, endpoints: Iterable[Endpoint]) -> None:
        """Make the catalog exactly `endpoints`."""
        with writing(self._engine) as session:
            session.execute(delete(EndpointRow))
            for endpoint in endpoints:
                session.add(
                    EndpointRow(
                        id=new_id(),
                        service_type=endpoint.service_type,
                        service_name=endpoint.service_name,
                        interface=endpoint.interface,
                        region=endpoint.region,
                        url=endpoint.url,
                    )
                )

    def token_keys(self) -> list[str]:
        """The token keys, newest first (the first signs, every one verifies)."""
        with reading(self._engine) as session:
            return list(session.scalars(select(TokenKeyRow.key).order_by(TokenKeyRow.id.desc())))

    def ensure_token_key(self) -> None:
        """Create the first token key when there is none."""
        with writing(self._engine) as session:
            if session.scalars(select(TokenKeyRow.id).limit(1)).first() is None:
                session.add(TokenKeyRow(key=new_key()))


def _domain_row(session: Session, name_or_id: str) -> DomainRow:
    row = session.get(DomainRow, name_or_id)
    if row is None:
        row = session.scalars(select(DomainRow).where(DomainRow.name == name_or_id)).one_or_none()
    if row is None:
        raise IdentityNotFound("domain", name_or_id)
    return row


def _named(session: Session, table: type[_Named], name: str, domain_id: str) -> _Named | None:
    found: _Named | None = session.scalars(
        select(table).where(table.name == name, table.domain_id == domain_id)
    ).one_or_none()
    return found


def project_row(session: Session, name_or_id: str, domain: str) -> ProjectRow:
    """The project row by id, else by name in `domain` (id or name); IdentityNotFound otherwise."""
    row = session.get(ProjectRow, name_or_id)
    if row is None:
        domain_id = _domain_row(session, domain).id
        row = _named(session, ProjectRow, name_or_id, domain_id)
    if row is None:
        raise IdentityNotFound("project", name_or_id)
    return row


def user_row(session: Session, name_or_id: str, domain: str) -> UserRow:
    """The user row by id, else by name in `domain` (id or name); IdentityNotFound otherwise."""
    row = session.get(UserRow, name_or_id)
    if row is None:
        domain_id = _domain_row(session, domain).id
        row = _named(session, UserRow, name_or_id, domain_id)
    if row is None:
        raise IdentityNotFound("user", name_or_id)
    return row


def _role_row(session: Session, name_or_id: str) -> RoleRow:
    row = session.get(RoleRow, name_or_id)
    if row is None:
        row = session.scalars(select(RoleRow).where(RoleRow.name == name_or_id)).one_or_none()
    if row is None:
        raise IdentityNotFound("role", name_or_id)
    return row


def _required(session: Session, table: type[DomainRow], key: str, kind: str) -> DomainRow:
    row = session.get(table, key)
    if row is None:
        raise IdentityNotFound(kind, key)
    return row


def role_closure(held: Sequence[str], implications: Iterable[tuple[str, str]]) -> set[str]:
    """The role ids `held` grants, implied roles followed transitively (cycles are harmless)."""
    implied: dict[str, set[str]] = {}
    for prior, then in implications:
        implied.setdefault(prior, set()).add(then)
    closure = set(held)
    frontier = list(held)
    while frontier:
        for then in implied.get(frontier.pop(), ()):
            if then not in closure:
                closure.add(then)
                frontier.append(then)
    return closure

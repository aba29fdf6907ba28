"""Tokens issued, validated and revoked: Keystone's `/v3/auth/tokens` behind the API.

Validation reads the database every time (the user's and project's
`enabled`, the roles, the revocations), so a disabled user, a removed role
or a revoked token stops working at once in every API worker.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import Engine, Select, bindparam, delete, exists, select
from sqlalchemy.orm import Session, aliased

from offpath.db.engine import reading, writing
from offpath.db.identity_schema import (
    DomainRow,
    ImpliedRoleRow,
    ProjectRow,
    RevokedTokenRow,
    RoleAssignmentRow,
    RoleRow,
    UserRow,
)
from offpath.errors import AuthenticationFailed, IdentityNotFound, ScopeRefused, TokenNotFound
from offpath.identity.auth_request import AuthRequest, Named
from offpath.identity.directory import (
    IdentityDirectory,
    project_of,
    project_row,
    role_closure,
    user_of,
    user_row,
)
from offpath.identity.passwords import DECOY_HASH, password_matches
from offpath.identity.records import Project, Role, Token, User
from offpath.identity.tokens import TokenCodec, TokenPayload, new_audit_id

LOG = logging.getLogger(__name__)

# Keystone's `[token] expiration` default: one hour.
DEFAULT_EXPIRATION: Final = timedelta(hours=1)


def _token_query() -> Select[UserRow, DomainRow, bool, ProjectRow, DomainRow]:
    user_domain, project_domain = aliased(DomainRow), aliased(DomainRow)
    revoked = exists().where(RevokedTokenRow.audit_id.in_(bindparam("audit_ids", expanding=True)))
    return (
        select(UserRow, user_domain, revoked.label("revoked"), ProjectRow, project_domain)
        .join(user_domain, user_domain.id == UserRow.domain_id)
        .outerjoin(ProjectRow, ProjectRow.id == bindparam("project_id"))
        .outerjoin(project_domain, project_domain.id == ProjectRow.domain_id)
        .where(UserRow.id == bindparam("user_id"))
    )


# What a token check reads, built once: building a statement costs more than running it.
# The user, its domain, the revocations, the project and its domain, in one round trip.
_TOKEN_QUERY: Final = _token_query()
_HELD_ROLES: Final = (
    select(RoleRow.id, RoleRow.name)
    .join(RoleAssignmentRow, RoleAssignmentRow.role_id == RoleRow.id)
    .where(
        RoleAssignmentRow.user_id == bindparam("user_id"),
        RoleAssignmentRow.project_id == bindparam("project_id"),
    )
)
_IMPLICATIONS: Final = select(ImpliedRoleRow.prior_role_id, RoleRow.id, RoleRow.name).join(
    RoleRow, RoleRow.id == ImpliedRoleRow.implied_role_id
)


class TokenService:
    """Issues tokens for credentials, and answers who a token stands for."""

    def __init__(self, engine: Engine, *, expiration: timedelta = DEFAULT_EXPIRATION) -> None:
        self._engine = engine
        self._expiration = expiration
        self._directory = IdentityDirectory(engine)
        self._codec = self._load_codec()

    def _load_codec(self) -> TokenCodec:
        keys = self._directory.token_keys()
        if not keys:
            # A database whose identity was never bootstrapped still gets one key.
            self._directory.ensure_token_key()
            keys = self._directory.token_keys()
        return TokenCodec(keys)

    def issue(self, request: AuthRequest, *, now: datetime | None = None) -> Token:
        """A new token for `request`'s credentials and scope; AuthenticationFailed otherwise."""
        now = now or datetime.now(UTC)
        parent: Token | None = None
        if request.token is not None:
            parent = self.validate(request.token, now=now)
        user = parent.user if parent is not None else None
        if request.user is not None and request.password is not None:
            by_password = self._password_user(request.user, request.password)
            if user is not None and user.id != by_password.id:
                raise AuthenticationFailed("password and token name two users")
            user = by_password
        if user is None:
            raise AuthenticationFailed("no credential")
        expires = now + self._expiration
        audit_ids: tuple[str, ...] = (new_audit_id(),)
        if parent is not None:
            # A rescoped token ends when its parent does, and carries its audit chain.
            expires = min(expires, parent.expires_at)
            audit_ids += parent.audit_ids[:1]
        project_id = self._scope(user, request.project)
        payload = TokenPayload(
            user_id=user.id,
            project_id=project_id,
            methods=request.methods,
            audit_ids=audit_ids,
            issued_at=now,
            expires_at=expires,
        )
        return self._resolve(self._codec.seal(payload), payload)

    def issue_for(self, user_id: str, project_id: str, *, now: datetime | None = None) -> Token:
        """A token for a user of this process's own (its service user), without a password."""
        now = now or datetime.now(UTC)
        payload = TokenPayload(
            user_id=user_id,
            project_id=project_id,
            methods=("internal",),
            audit_ids=(new_audit_id(),),
            issued_at=now,
            expires_at=now + self._expiration,
        )
        return self._resolve(self._codec.seal(payload), payload)

    def validate(self, token: str, *, now: datetime | None = None) -> Token:
        """Whom `token` stands for now; AuthenticationFailed when it does not (any more)."""
        payload = self._open(token, now or datetime.now(UTC))
        return self._resolve(token, payload)

    def check(self, subject: str) -> Token:
        """`validate` as `GET /v3/auth/tokens` answers it: TokenNotFound for a bad subject."""
        try:
            return self.validate(subject)
        except AuthenticationFailed as exc:
            LOG.info("subject token refused: %s", exc.reason)
            raise TokenNotFound(subject) from None

    def revoke(self, subject: str) -> None:
        """Revoke `subject` (and the tokens rescoped from it); TokenNotFound if not valid."""
        token = self.check(subject)
        now = datetime.now(UTC)
        with writing(self._engine) as session:
            # Revocations of tokens that have expired anyway are only weight.
            session.execute(delete(RevokedTokenRow).where(RevokedTokenRow.expires_at <= now))
            if session.get(RevokedTokenRow, token.audit_ids[0]) is None:
                session.add(
                    RevokedTokenRow(
                        audit_id=token.audit_ids[0], expires_at=token.expires_at, revoked_at=now
                    )
                )

    def _open(self, token: str, now: datetime) -> TokenPayload:
        try:
            return self._codec.open(token, now=now)
        except AuthenticationFailed:
            # Another worker may have added a key since this one started.
            codec = self._load_codec()
            payload = codec.open(token, now=now)
            self._codec = codec
            return payload

    def _password_user(self, named: Named, password: str) -> User:
        with reading(self._engine) as session:
            try:
                row = user_row(session, named.id or named.name or "", named.domain)
            except IdentityNotFound:
                password_matches(password, DECOY_HASH)
                raise AuthenticationFailed(f"no user {named.id or named.name!r}") from None
            if not password_matches(password, row.password_hash):
                raise AuthenticationFailed(f"a wrong password for user {row.id}")
            domain = session.get(DomainRow, row.domain_id)
            if not row.enabled or domain is None or not domain.enabled:
                raise AuthenticationFailed(f"user {row.id} or its domain is disabled")
            return user_of(row, domain)

    def _scope(self, user: User, named: Named | None) -> str | None:
        with reading(self._engine) as session:
            if named is None:
                # Keystone scopes to the default project when there is one with a role.
                project_id = user.default_project_id
                if project_id is None or not _role_ids(session, user.id, project_id):
                    return None
                return project_id
            try:
                row = project_row(session, named.id or named.name or "", named.domain)
            except IdentityNotFound:
                raise ScopeRefused(named.id or named.name or "") from None
            if not row.enabled or not _role_ids(session, user.id, row.id):
                raise ScopeRefused(row.id)
            return row.id

    def _resolve(self, token: str, payload: TokenPayload) -> Token:
        # Three round trips at most, with statements built once (see _TOKEN_QUERY).
        with reading(self._engine) as session:
            found = session.execute(
                _TOKEN_QUERY,
                {
                    "user_id": payload.user_id,
                    "project_id": payload.project_id or "",
                    "audit_ids": list(payload.audit_ids),
                },
            ).first()
            if found is None:
                raise AuthenticationFailed(f"user {payload.user_id} is gone")
            user, domain, was_revoked, row, row_domain = found.tuple()
            if not (user.enabled and domain.enabled):
                raise AuthenticationFailed(f"user {user.id} or its domain is disabled")
            if user.tokens_valid_after is not None and payload.issued_at < user.tokens_valid_after:
                raise AuthenticationFailed(f"user {user.id} changed password since")
            if was_revoked:
                raise AuthenticationFailed(f"token {payload.audit_ids[0]} was revoked")
            project: Project | None = None
            roles: tuple[Role, ...] = ()
            if payload.project_id is not None:
                if row is None or row_domain is None or not row.enabled:
                    raise AuthenticationFailed(f"project {payload.project_id} gone or disabled")
                project = project_of(row, row_domain)
                roles = _effective_roles(session, user.id, row.id)
                if not roles:
                    raise AuthenticationFailed(f"user {user.id} has no role on {row.id} any more")
            return Token(
                id=token,
                user=user_of(user, domain),
                project=project,
                roles=roles,
                methods=payload.methods,
                audit_ids=payload.audit_ids,
                issued_at=payload.issued_at,
                expires_at=payload.expires_at,
            )


def _role_ids(session: Session, user_id: str, project_id: str) -> list[str]:
    return list(
        session.scalars(
            select(RoleAssignmentRow.role_id).where(
                RoleAssignmentRow.user_id == user_id, RoleAssignmentRow.project_id == project_id
            )
        )
    )


def _effective_roles(session: Session, user_id: str, project_id: str) -> tuple[Role, ...]:
    held = session.execute(_HELD_ROLES, {"user_id": user_id, "project_id": project_id}).all()
    if not held:
        return ()
    names = {role_id: name for role_id, name in held}
    implications = []
    for prior, implied, name in session.execute(_IMPLICATIONS):
        implications.append((prior, implied))
        names[implied] = name
    ids = role_closure([role_id for role_id, _ in held], implications)
    return tuple(sorted((Role(i, names[i]) for i in ids), key=lambda role: role.name))

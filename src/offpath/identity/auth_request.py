"""The body of `POST /v3/auth/tokens`, read into what to check and which scope to give.

Keystone's shape: `{"auth": {"identity": {"methods": [...], "password": {"user":
{...}}, "token": {"id": ...}}, "scope": {"project": {...}}}}`. A user or a project
is named by id, or by name with a domain (by id or by name; the default domain
when none is given, as openstacksdk leaves it out without domain flags).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from offpath.errors import AuthenticationFailed, IdentityInvalid
from offpath.identity.records import DEFAULT_DOMAIN_ID

METHODS: Final = ("password", "token")


@dataclass(frozen=True, slots=True)
class Named:
    """A user or a project: by id, or by name in a domain (by id or by name)."""

    id: str | None = None
    name: str | None = None
    domain: str = DEFAULT_DOMAIN_ID


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """What to authenticate with, and the project to scope to (None: unscoped)."""

    methods: tuple[str, ...]
    user: Named | None
    password: str | None
    token: str | None
    project: Named | None


def parse_auth_request(body: object, *, header_token: str | None = None) -> AuthRequest:
    """The request `body` makes; IdentityInvalid, with Keystone's wording, when malformed."""
    auth = _object(_object(body, "request").get("auth"), "auth")
    identity = _object(auth.get("identity"), "identity")
    methods = identity.get("methods")
    if not isinstance(methods, list) or not methods:
        raise _expecting("methods", "identity")
    if not all(isinstance(m, str) for m in methods):
        raise IdentityInvalid("Invalid input for field 'identity/methods': not a list of names.")
    unsupported = [m for m in methods if m not in METHODS]
    if unsupported:
        # Keystone answers an authentication method it lacks with 401.
        raise AuthenticationFailed(f"an unsupported method: {unsupported[0][:40]!r}")
    user: Named | None = None
    password: str | None = None
    token: str | None = None
    if "password" in methods:
        section = _object(identity.get("password"), "password")
        fields = _object(section.get("user"), "user")
        user = _named(fields, "user")
        secret = fields.get("password")
        if not isinstance(secret, str):
            raise _expecting("password", "user")
        password = secret
    if "token" in methods:
        section = _object(identity.get("token"), "token")
        value = section.get("id", header_token)
        if not isinstance(value, str) or not value:
            raise _expecting("id", "token")
        token = value
    return AuthRequest(tuple(methods), user, password, token, _scope(auth.get("scope")))


def _scope(value: object) -> Named | None:
    if value is None or value == {}:
        return None
    scope = _object(value, "scope")
    if "project" in scope:
        return _named(_object(scope["project"], "project"), "project")
    if "system" in scope or "domain" in scope:
        kind = "system" if "system" in scope else "domain"
        raise IdentityInvalid(
            f"offpath gives project-scoped tokens only, not {kind}-scoped ones.",
            hint="scope to a project: --os-project-name",
        )
    raise IdentityInvalid(
        "Expecting to find project in scope.", hint="scope to a project: --os-project-name"
    )


def _named(fields: Mapping[str, object], kind: str) -> Named:
    ident = fields.get("id")
    if ident is not None:
        if not isinstance(ident, str) or not ident:
            raise IdentityInvalid(f"Invalid input for field '{kind}/id': not a string.")
        return Named(id=ident)
    name = fields.get("name")
    if not isinstance(name, str) or not name:
        raise _expecting("id or name", kind)
    domain = fields.get("domain")
    if domain is None:
        return Named(name=name)
    domain_fields = _object(domain, "domain")
    for key in ("id", "name"):
        value = domain_fields.get(key)
        if isinstance(value, str) and value:
            return Named(name=name, domain=value)
    raise _expecting("id or name", "domain")


def _object(value: object, what: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise _expecting(what, "the request" if what == "auth" else "auth")
    return value


def _expecting(what: str, where: str) -> IdentityInvalid:
    return IdentityInvalid(
        f"Expecting to find {what} in {where}. The server could not comply with the request "
        "since it is either malformed or otherwise incorrect. The client is assumed to be in "
        "error.",
        hint="see Keystone's POST /v3/auth/tokens body",
    )

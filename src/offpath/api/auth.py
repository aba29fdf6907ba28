"""Who is calling: the Keystone token in `X-Auth-Token`, as keystonemiddleware finds it.

A token names a user, a project and the user's roles there; the roles are
read again at every request, so what an admin changes holds at once. The
opt-in static token (`[api] auth_token`) acts as admin in the project its
`X-Project-Id` names (the configured default project without one, as
openstacksdk's admin_token plugin sends none). Version discovery and the
token API itself are open, as Nova, Neutron, Glance and Keystone leave them.
"""

from __future__ import annotations

import hmac
import logging
import re
from typing import Annotated, Final

from fastapi import Depends, Request

from offpath.api.deps import ApiDeps, get_deps
from offpath.api.errors import HttpFault
from offpath.errors import AuthenticationFailed
from offpath.rpc.context import RequestContext, new_request_id

LOG = logging.getLogger(__name__)

# Project ids as Keystone makes them, and as names people type.
_PROJECT: Final = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
# What the static token may do: everything, as Keystone's admin_token did.
STATIC_TOKEN_ROLES: Final = ("admin", "member", "reader", "service")


def is_discovery(request: Request, prefixes: frozenset[str]) -> bool:
    """True for a GET of a version document (a service's root or its versioned root)."""
    return request.method in ("GET", "HEAD") and request.url.path.rstrip("/") in prefixes


def authenticate(request: Request, deps: Annotated[ApiDeps, Depends(get_deps)]) -> RequestContext:
    """The caller's context; 401 without a valid token, 400 for a malformed project id."""
    request_id = getattr(request.state, "request_id", None) or new_request_id()
    public: frozenset[str] = request.app.state.discovery_paths
    if is_discovery(request, public):
        return RequestContext(request_id=request_id)
    token = request.headers.get("x-auth-token", "")
    if not token:
        raise AuthenticationFailed("no X-Auth-Token")
    if deps.auth_token and hmac.compare_digest(token.encode(), deps.auth_token.encode()):
        return _static_token_context(request, deps, request_id)
    if deps.tokens is None:
        raise AuthenticationFailed("a token, but no identity service to check it")
    try:
        found = deps.tokens.validate(token)
    except AuthenticationFailed as exc:
        LOG.info("%s %s: token refused: %s", request.method, request.url.path, exc.reason)
        raise
    if found.project is None:
        # An unscoped token lets its user pick a project at the identity service, no more.
        raise HttpFault(403, "A token scoped to a project is required.")
    return RequestContext(
        request_id=request_id,
        project_id=found.project.id,
        user_id=found.user.id,
        roles=found.role_names,
        is_admin="admin" in found.role_names,
    )


def _static_token_context(request: Request, deps: ApiDeps, request_id: str) -> RequestContext:
    project = request.headers.get("x-project-id") or deps.default_project
    if not _PROJECT.fullmatch(project):
        raise HttpFault(400, f"X-Project-Id {project[:80]!r} is not a project id")
    return RequestContext(
        request_id=request_id, project_id=project, roles=STATIC_TOKEN_ROLES, is_admin=True
    )


Ctx = Annotated[RequestContext, Depends(authenticate)]

"""Who is calling: the configured token in `X-Auth-Token`, the project from `X-Project-Id`.

There are no users or roles yet: whoever holds the token is an admin,
acting in the project its `X-Project-Id` names (the configured default
project without one, as openstacksdk's admin_token plugin sends none).
Version discovery is open, as Nova, Neutron and Glance leave it.
"""

from __future__ import annotations

import hmac
import re
from typing import Annotated, Final

from fastapi import Depends, Request

from offpath.api.deps import ApiDeps, get_deps
from offpath.api.errors import HttpFault
from offpath.rpc.context import RequestContext, new_request_id

# Project ids as Keystone makes them, and as names people type.
_PROJECT: Final = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
# The configured token's holder is every persona: the cloud's admin and its services.
STATIC_TOKEN_ROLES: Final = ("admin", "member", "reader", "service")


def is_discovery(request: Request, prefixes: frozenset[str]) -> bool:
    """True for a GET of a version document (a service's root or its versioned root)."""
    return request.method in ("GET", "HEAD") and request.url.path.rstrip("/") in prefixes


def authenticate(request: Request, deps: Annotated[ApiDeps, Depends(get_deps)]) -> RequestContext:
    """The caller's context; 401 without the right token, 400 for a malformed project id."""
    public: frozenset[str] = request.app.state.discovery_paths
    token = request.headers.get("x-auth-token", "")
    if not is_discovery(request, public) and not hmac.compare_digest(
        token.encode(), deps.auth_token.encode()
    ):
        raise HttpFault(401, "The request you have made requires authentication.")
    project = request.headers.get("x-project-id") or deps.default_project
    if not _PROJECT.fullmatch(project):
        raise HttpFault(400, f"X-Project-Id {project[:80]!r} is not a project id")
    request_id = getattr(request.state, "request_id", None) or new_request_id()
    return RequestContext(
        request_id=request_id, project_id=project, roles=STATIC_TOKEN_ROLES, is_admin=True
    )


Ctx = Annotated[RequestContext, Depends(authenticate)]

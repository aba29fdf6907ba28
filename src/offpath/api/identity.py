"""Keystone v3 at `/identity`: version discovery and `/v3/auth/tokens` (issue, check, revoke).

What the `openstack` CLI, openstacksdk, keystoneauth-based services and
Tempest use of Keystone: a password or token login scoped to a project,
answered with `X-Subject-Token` and a token body with the catalog.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Request, Response
from fastapi.responses import JSONResponse

from offpath.api.deps import ApiDeps, Deps, base_url
from offpath.errors import AuthenticationFailed, TokenInspectionForbidden
from offpath.identity.auth_request import parse_auth_request
from offpath.identity.authentication import TokenService
from offpath.identity.catalog import catalog_json, endpoints_at
from offpath.identity.directory import IdentityDirectory
from offpath.identity.records import Domain, Token
from offpath.jsonvalue import JsonValue

router = APIRouter(prefix="/identity", tags=["identity"])

# Who may look at or revoke another user's token (Keystone's identity:validate_token).
_TOKEN_INSPECTORS = frozenset({"admin", "service"})


def _v3(base: str) -> dict[str, Any]:
    return {
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": f"{base}/identity/v3/"}],
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
        ],
    }


@router.get("", status_code=300, response_model=None)
@router.get("/", status_code=300, include_in_schema=False, response_model=None)
def versions(request: Request, deps: Deps) -> JSONResponse:
    """The identity versions: v3 only."""
    return JSONResponse({"versions": {"values": [_v3(base_url(request, deps))]}}, status_code=300)


@router.get("/v3")
@router.get("/v3/", include_in_schema=False)
def version(request: Request, deps: Deps) -> dict[str, Any]:
    """The v3 version document."""
    return {"version": _v3(base_url(request, deps))}


@router.post("/v3/auth/tokens", status_code=201, response_model=None)
def issue(
    request: Request,
    deps: Deps,
    body: Annotated[Any, Body()] = None,
    nocatalog: str | None = None,
    x_auth_token: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Log in: a new token in `X-Subject-Token`, its description in the body."""
    tokens = _tokens(deps)
    token = tokens.issue(parse_auth_request(body, header_token=x_auth_token))
    document = token_document(token, _catalog(request, deps, token, nocatalog))
    return JSONResponse(document, status_code=201, headers={"X-Subject-Token": token.id})


@router.get("/v3/auth/tokens", response_model=None)
def check(
    request: Request,
    deps: Deps,
    x_auth_token: Annotated[str, Header()] = "",
    x_subject_token: Annotated[str, Header()] = "",
    nocatalog: str | None = None,
) -> JSONResponse:
    """Validate `X-Subject-Token`: its description, 404 when it is not valid."""
    subject = _inspected(deps, x_auth_token, x_subject_token, "identity:validate_token")
    document = token_document(subject, _catalog(request, deps, subject, nocatalog))
    return JSONResponse(document, headers={"X-Subject-Token": subject.id})


@router.head("/v3/auth/tokens", status_code=200, response_model=None)
def check_head(
    deps: Deps,
    x_auth_token: Annotated[str, Header()] = "",
    x_subject_token: Annotated[str, Header()] = "",
) -> Response:
    """Validate `X-Subject-Token` without a body."""
    subject = _inspected(deps, x_auth_token, x_subject_token, "identity:check_token")
    return Response(status_code=200, headers={"X-Subject-Token": subject.id})


@router.delete("/v3/auth/tokens", status_code=204, response_model=None)
def revoke(
    deps: Deps,
    x_auth_token: Annotated[str, Header()] = "",
    x_subject_token: Annotated[str, Header()] = "",
) -> Response:
    """Revoke `X-Subject-Token`, in every API worker at once."""
    subject = _inspected(deps, x_auth_token, x_subject_token, "identity:revoke_token")
    _tokens(deps).revoke(subject.id)
    return Response(status_code=204)


def token_document(token: Token, catalog: list[JsonValue] | None) -> dict[str, JsonValue]:
    """Keystone's token body."""
    body: dict[str, JsonValue] = {
        "methods": list(token.methods),
        "user": {
            "id": token.user.id,
            "name": token.user.name,
            "domain": _domain(token.user.domain),
            "password_expires_at": None,
        },
        "audit_ids": list(token.audit_ids),
        "issued_at": _timestamp(token.issued_at),
        "expires_at": _timestamp(token.expires_at),
    }
    if token.project is not None:
        body["project"] = {
            "id": token.project.id,
            "name": token.project.name,
            "domain": _domain(token.project.domain),
        }
        body["is_domain"] = False
        body["roles"] = [{"id": role.id, "name": role.name} for role in token.roles]
        if catalog is not None:
            body["catalog"] = catalog
    return {"token": body}


def _inspected(deps: ApiDeps, caller_token: str, subject_token: str, action: str) -> Token:
    tokens = _tokens(deps)
    if not caller_token:
        raise AuthenticationFailed("no X-Auth-Token")
    caller = tokens.validate(caller_token)
    subject = tokens.check(subject_token)
    if subject.user.id != caller.user.id and not _TOKEN_INSPECTORS & set(caller.role_names):
        # Keystone's token rules: one's own token, or a service's or admin's look; the
        # caller is known, so a refusal is its 403, not a 401.
        raise TokenInspectionForbidden(action)
    return subject


def _tokens(deps: ApiDeps) -> TokenService:
    if deps.tokens is None:
        raise AuthenticationFailed("no identity service in this API")
    return deps.tokens


def _catalog(
    request: Request, deps: ApiDeps, token: Token, nocatalog: str | None
) -> list[JsonValue] | None:
    if nocatalog is not None or token.project is None or deps.tokens is None:
        return None
    stored = IdentityDirectory(deps.cells.api).endpoints()
    return catalog_json(stored or endpoints_at(base_url(request, deps)))


def _domain(domain: Domain) -> dict[str, JsonValue]:
    return {"id": domain.id, "name": domain.name}


def _timestamp(moment: datetime) -> str:
    # Keystone's format: microseconds, and Z for UTC.
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

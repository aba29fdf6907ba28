"""A static Keystone v3 version document: what the `openstack` CLI discovers before it works.

No token API: offpath's token is configured (`[api] auth_token`); the CLI
only needs the identity endpoint to answer discovery.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from offpath.api.deps import Deps, base_url

router = APIRouter(prefix="/identity", tags=["identity"])


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

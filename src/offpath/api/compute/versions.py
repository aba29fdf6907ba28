"""The compute version documents: `/compute` lists them, `/compute/v2` and `/compute/v2.1` describe
each (only v2.1 serves requests, as most Nova deployments)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from offpath.api.deps import Deps, base_url
from offpath.api.microversion import MAX_VERSION, MIN_VERSION

router = APIRouter(tags=["compute"])

UPDATED = "2013-07-23T11:33:21Z"


def _v21(base: str) -> dict[str, Any]:
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": str(MAX_VERSION),
        "min_version": str(MIN_VERSION),
        "updated": UPDATED,
        "links": [{"rel": "self", "href": f"{base}/compute/v2.1/"}],
        "media-types": [
            {
                "base": "application/json",
                "type": "application/vnd.openstack.compute+json;version=2.1",
            }
        ],
    }


def _v20(base: str) -> dict[str, Any]:
    return {
        "id": "v2.0",
        "status": "SUPPORTED",
        "version": "",
        "min_version": "",
        "updated": "2011-01-21T11:33:21Z",
        "links": [{"rel": "self", "href": f"{base}/compute/v2/"}],
    }


@router.get("/compute")
@router.get("/compute/", include_in_schema=False)
def compute_versions(request: Request, deps: Deps) -> dict[str, Any]:
    """Every compute API version: v2.0 (supported, no microversions) and v2.1."""
    base = base_url(request, deps)
    return {"versions": [_v20(base), _v21(base)]}


@router.get("/compute/v2")
@router.get("/compute/v2/", include_in_schema=False)
def compute_v20(request: Request, deps: Deps) -> dict[str, Any]:
    """The v2.0 version document: the list links it, so clients may follow the link."""
    media = {"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2"}
    return {"version": {**_v20(base_url(request, deps)), "media-types": [media]}}


@router.get("/compute/v2.1")
@router.get("/compute/v2.1/", include_in_schema=False)
def compute_version(request: Request, deps: Deps) -> dict[str, Any]:
    """The v2.1 version document, with the microversion range."""
    return {"version": _v21(base_url(request, deps))}

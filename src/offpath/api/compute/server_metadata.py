"""`/compute/v2.1/servers/{id}/metadata`: a server's metadata, as Nova's server-metadata API.

Bodies, statuses and messages are Nova's: the whole metadata answers a
list, merge or replace (200), one item answers as `meta`, a delete is a
204. A server the caller cannot see is a 404, as everywhere in servers.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from offpath.api.auth import Ctx
from offpath.api.compute.server_create import MetadataKey, MetadataValue
from offpath.api.compute.servers import authorized_server
from offpath.api.deps import Deps
from offpath.conductor.server_metadata import delete_server_metadata_item, update_server_metadata
from offpath.errors import MetadataItemNotFound, RequestBodyInvalid

router = APIRouter(prefix="/compute/v2.1/servers/{server_id}/metadata", tags=["compute"])

_RULE = "os_compute_api:server-metadata"


class MetadataBody(BaseModel):
    """`POST` and `PUT /servers/{id}/metadata`: the items to merge, or the whole new metadata."""

    model_config = ConfigDict(extra="forbid")

    metadata: dict[MetadataKey, MetadataValue]


class MetaBody(BaseModel):
    """`PUT /servers/{id}/metadata/{key}`: exactly that one item."""

    model_config = ConfigDict(extra="forbid")

    meta: dict[MetadataKey, MetadataValue]


@router.get("")
def index(server_id: str, ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """The server's whole metadata."""
    server = authorized_server(deps, ctx, server_id, f"{_RULE}:index")
    return {"metadata": dict(server.metadata)}


@router.post("")
def create(server_id: str, body: MetadataBody, ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """Merge the items into the server's metadata; the whole metadata now."""
    server = authorized_server(deps, ctx, server_id, f"{_RULE}:create")
    after = update_server_metadata(deps.cells, server.uuid, body.metadata, replace=False)
    return {"metadata": after}


@router.put("")
def update_all(server_id: str, body: MetadataBody, ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """Make the items the server's whole metadata."""
    server = authorized_server(deps, ctx, server_id, f"{_RULE}:update_all")
    after = update_server_metadata(deps.cells, server.uuid, body.metadata, replace=True)
    return {"metadata": after}


@router.get("/{key}")
def show(server_id: str, key: str, ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """One item; Nova's 404 when the server has no such key."""
    server = authorized_server(deps, ctx, server_id, f"{_RULE}:show")
    if key not in server.metadata:
        raise MetadataItemNotFound(server.uuid, key)
    return {"meta": {key: server.metadata[key]}}


@router.put("/{key}")
def update(server_id: str, key: str, body: MetaBody, ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """Set one item, named both in the path and the body."""
    server = authorized_server(deps, ctx, server_id, f"{_RULE}:update")
    meta = body.meta
    if len(meta) != 1:
        # Nova's schema holds `meta` to one property; its message is jsonschema's.
        problem = "has too many properties" if meta else "does not have enough properties"
        raise RequestBodyInvalid(
            f"Invalid input for field/attribute meta. Value: {meta!r}. {meta!r} {problem}",
            hint="give exactly one item, the one the path names",
        )
    if key not in meta:
        raise RequestBodyInvalid(
            "Request body and URI mismatch", hint="name the same key in the path and the body"
        )
    update_server_metadata(deps.cells, server.uuid, meta, replace=False)
    return {"meta": dict(meta)}


@router.delete("/{key}", status_code=204)
def delete(server_id: str, key: str, ctx: Ctx, deps: Deps) -> Response:
    """Remove one item; Nova's 404 when the server has no such key."""
    server = authorized_server(deps, ctx, server_id, f"{_RULE}:delete")
    delete_server_metadata_item(deps.cells, server.uuid, key)
    return Response(status_code=204)

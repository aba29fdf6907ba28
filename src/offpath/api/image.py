"""A minimal Glance v2 under /image: what `server create --image` and `image list` need.

Image records live in the API database; uploaded data is counted and
hashed, not kept (the simulated hypervisor needs no disk). Single images
are bare objects, lists `{"images": [...], "first", "schema"}`, as Glance.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from offpath.api.auth import Ctx
from offpath.api.compute.server_view import timestamp
from offpath.api.deps import ApiDeps, Deps, base_url
from offpath.api.errors import HttpFault, validation_message
from offpath.api.policy import PolicyDenied, Target, own_project
from offpath.db.engine import reading, writing
from offpath.db.images import (
    ImageFilter,
    ImageRecord,
    create_image,
    delete_image,
    get_image,
    list_images,
    new_image_id,
    record_upload,
    update_image,
)
from offpath.errors import RequestBodyInvalid
from offpath.rpc.context import RequestContext

router = APIRouter(prefix="/image", tags=["image"])

MAX_INT = 2**31 - 1
Tag = Annotated[str, StringConstraints(min_length=1, max_length=255)]
# Glance's default [image_format] lists: any other format is a 400.
DiskFormat = Literal[
    "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"
]
ContainerFormat = Literal["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"]
_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class ImageCreate(BaseModel):
    """`POST /v2/images`: Glance's keys; other properties are accepted and not kept."""

    model_config = ConfigDict(extra="allow")

    id: str | None = Field(default=None, pattern=_UUID)
    name: str | None = Field(default=None, max_length=255)
    visibility: Literal["public", "private", "shared", "community"] = "shared"
    disk_format: DiskFormat | None = None
    container_format: ContainerFormat | None = None
    min_disk: int = Field(default=0, ge=0, le=MAX_INT)
    min_ram: int = Field(default=0, ge=0, le=MAX_INT)
    protected: bool = False
    tags: list[Tag] = Field(default_factory=list, max_length=128)


def image_view(image: ImageRecord) -> dict[str, Any]:
    """An image as Glance v2 shows it."""
    return {
        "id": image.id,
        "name": image.name,
        "status": image.status,
        "visibility": image.visibility,
        "protected": image.protected,
        "os_hidden": False,
        "checksum": image.checksum,
        "os_hash_algo": "sha512" if image.checksum else None,
        "os_hash_value": None,
        "size": image.size,
        "virtual_size": None,
        "disk_format": image.disk_format,
        "container_format": image.container_format,
        "min_disk": image.min_disk,
        "min_ram": image.min_ram,
        "owner": image.owner,
        "tags": list(image.tags),
        "created_at": timestamp(image.created_at),
        "updated_at": timestamp(image.updated_at),
        "self": f"/v2/images/{image.id}",
        "file": f"/v2/images/{image.id}/file",
        "schema": "/v2/schemas/image",
    }


def _project(ctx: RequestContext) -> str:
    return ctx.project_id or ""


def _authorize(deps: ApiDeps, ctx: RequestContext, rule: str, target: Target) -> None:
    if not deps.policy.allows(ctx, rule, target):
        # Glance's words.
        raise PolicyDenied(f"You are not authorized to complete {rule} action.")


def _image_target(image: ImageRecord) -> dict[str, object]:
    return {"project_id": image.owner, "owner": image.owner, "visibility": image.visibility}


def _authorize_image(deps: ApiDeps, ctx: RequestContext, rule: str, image_id: str) -> None:
    """`rule` on an image the caller sees; ImageNotFound for one it does not."""
    with reading(deps.cells.api) as session:
        image = get_image(session, image_id, project_id=_project(ctx))
    _authorize(deps, ctx, rule, _image_target(image))


@router.get("", status_code=300, response_model=None)
@router.get("/", status_code=300, include_in_schema=False, response_model=None)
@router.get("/v2", status_code=300, include_in_schema=False, response_model=None)
@router.get("/v2/", status_code=300, include_in_schema=False, response_model=None)
def versions(request: Request, deps: Deps) -> JSONResponse:
    """Glance's version list: one version, v2."""
    base = base_url(request, deps)
    return JSONResponse(
        {
            "versions": [
                {
                    "id": "v2.16",
                    "status": "CURRENT",
                    "links": [{"rel": "self", "href": f"{base}/image/v2/"}],
                }
            ]
        },
        status_code=300,
    )


@router.post("/v2/images", status_code=201)
def create(body: ImageCreate, ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """Create an image record (queued until its data is uploaded)."""
    _authorize(deps, ctx, "add_image", {**own_project(ctx), "owner": _project(ctx)})
    record = ImageRecord(
        id=body.id or new_image_id(),
        name=body.name,
        owner=_project(ctx),
        visibility=body.visibility,
        disk_format=body.disk_format,
        container_format=body.container_format,
        min_disk=body.min_disk,
        min_ram=body.min_ram,
        protected=body.protected,
        tags=tuple(dict.fromkeys(body.tags)),
    )
    with writing(deps.cells.api) as session:
        return image_view(create_image(session, record))


@router.get("/v2/images")
def index(
    *,
    ctx: Ctx,
    deps: Deps,
    id: str | None = None,
    name: str | None = None,
    status: str | None = None,
    visibility: str | None = None,
    owner: str | None = None,
) -> dict[str, Any]:
    """The images the caller may see, by the filters the clients send (`id=in:a,b` too)."""
    _authorize(deps, ctx, "get_images", own_project(ctx))
    ids: tuple[str, ...] | None = None
    if id is not None:
        ids = tuple(part for part in id.removeprefix("in:").split(",") if part)
    where = ImageFilter(ids=ids, name=name, status=status, visibility=visibility, owner=owner)
    with reading(deps.cells.api) as session:
        images = list_images(session, project_id=_project(ctx), where=where)
    return {
        "images": [image_view(image) for image in images],
        "first": "/v2/images",
        "schema": "/v2/schemas/images",
    }


@router.get("/v2/images/", include_in_schema=False)
@router.delete("/v2/images/", include_in_schema=False)
def no_image(ctx: Ctx) -> Response:
    """An empty image id names no image: Glance's 404, not the list."""
    raise HttpFault(404, "The resource could not be found.")


@router.get("/v2/images/{image_id}")
def show(image_id: str, ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """One image, as a bare object; 404 for a name (what look-ups by name expect)."""
    with reading(deps.cells.api) as session:
        image = get_image(session, image_id, project_id=_project(ctx))
    _authorize(deps, ctx, "get_image", _image_target(image))
    return image_view(image)


# The metadata a patch may change; any other path is a property offpath does not keep.
_PATCHABLE: Final = frozenset(
    {"name", "visibility", "protected", "min_disk", "min_ram", "tags"}
    | {"disk_format", "container_format"}
)
_OPS: Final = ("add", "replace", "remove")


def patched(image: ImageRecord, patch: object) -> ImageRecord:
    """The image with a JSON patch applied: Glance's v2.1 ops, or the v2.0 form Tempest sends."""
    if not isinstance(patch, list):
        raise RequestBodyInvalid("An image update is a JSON patch: a list of operations")
    values: dict[str, Any] = {key: getattr(image, key) for key in _PATCHABLE}
    values["tags"] = list(image.tags)
    for change in patch:
        op, path = _operation(change)
        key = path.removeprefix("/")
        if key not in _PATCHABLE:
            continue
        if op == "remove":
            values[key] = ImageCreate.model_fields[key].get_default(call_default_factory=True)
        else:
            values[key] = change["value"]
    try:
        checked = ImageCreate.model_validate(values)
    except ValidationError as exc:
        raise RequestBodyInvalid(validation_message(exc.errors())) from None
    return replace(
        image,
        name=checked.name,
        visibility=checked.visibility,
        protected=checked.protected,
        min_disk=checked.min_disk,
        min_ram=checked.min_ram,
        tags=tuple(dict.fromkeys(checked.tags)),
        disk_format=checked.disk_format,
        container_format=checked.container_format,
    )


def _operation(change: object) -> tuple[str, str]:
    if isinstance(change, dict):
        if change.get("op") in _OPS and isinstance(change.get("path"), str):
            return str(change["op"]), str(change["path"])
        for op in _OPS:
            if isinstance(change.get(op), str):
                return op, str(change[op])
    raise RequestBodyInvalid(f"Invalid JSON patch operation: {str(change)[:120]}")


@router.patch("/v2/images/{image_id}")
async def update(image_id: str, request: Request, ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """Change an image's metadata with a JSON patch (the owner only)."""
    try:
        patch = json.loads(await request.body())
    except ValueError:
        raise RequestBodyInvalid("An image update is a JSON patch: a list of operations") from None
    await run_in_threadpool(_authorize_image, deps, ctx, "modify_image", image_id)

    def store() -> dict[str, Any]:
        with writing(deps.cells.api) as session:
            image = get_image(session, image_id, project_id=_project(ctx))
            changed = update_image(session, patched(image, patch), project_id=_project(ctx))
            return image_view(changed)

    return await run_in_threadpool(store)


@router.delete("/v2/images/{image_id}", status_code=204)
def delete(image_id: str, ctx: Ctx, deps: Deps) -> Response:
    """Delete an image record."""
    _authorize_image(deps, ctx, "delete_image", image_id)
    with writing(deps.cells.api) as session:
        delete_image(session, image_id, project_id=_project(ctx))
    return Response(status_code=204)


@router.put("/v2/images/{image_id}/file", status_code=204)
async def upload(image_id: str, request: Request, ctx: Ctx, deps: Deps) -> Response:
    """Take the image's data: its size and checksum are kept, and it becomes active."""
    await run_in_threadpool(_authorize_image, deps, ctx, "upload_image", image_id)
    size = 0
    md5 = hashlib.md5(usedforsecurity=False)
    async for chunk in request.stream():
        size += len(chunk)
        md5.update(chunk)

    def record() -> None:
        with writing(deps.cells.api) as session:
            record_upload(
                session, image_id, project_id=_project(ctx), size=size, checksum=md5.hexdigest()
            )

    await run_in_threadpool(record)
    return Response(status_code=204)

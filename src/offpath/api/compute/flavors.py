"""`/compute/v2.1/flavors` and their `os-extra_specs`, in the API database."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Final

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from offpath.api.auth import Ctx
from offpath.api.compute.context import Version, at_least
from offpath.api.compute.names import NAME_PATTERN
from offpath.api.compute.server_view import links
from offpath.api.deps import ApiDeps, Deps, base_url
from offpath.api.microversion import Microversion
from offpath.api.policy import own_project
from offpath.db.engine import reading, writing
from offpath.db.flavors import (
    FlavorRecord,
    create_flavor,
    delete_extra_spec,
    delete_flavor,
    get_flavor,
    list_flavors,
    set_extra_specs,
)
from offpath.errors import FlavorExtraSpecNotFound, FlavorNotFound, RequestBodyInvalid
from offpath.pci.booleans import strict_bool
from offpath.pci.flavor import Flavor
from offpath.rpc.context import RequestContext

router = APIRouter(prefix="/compute/v2.1/flavors", tags=["compute"])

_MANAGE: Final = "os_compute_api:os-flavor-manage"
_SPECS: Final = "os_compute_api:os-flavor-extra-specs"

# Databases store 32-bit integers; Nova's schema has the same bound.
MAX_INT: Final = 2**31 - 1
_ID = r"^[a-zA-Z0-9._-](?:[a-zA-Z0-9. _-]*[a-zA-Z0-9._-])?$"
SpecKey = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9-_:. ]{1,255}$")]
SpecValue = Annotated[str, StringConstraints(max_length=255)]


class FlavorCreate(BaseModel):
    """The `flavor` object of a create (Nova's keys)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=255, pattern=NAME_PATTERN)
    id: str | None = Field(default=None, min_length=1, max_length=255, pattern=_ID)
    ram: int = Field(ge=1, le=MAX_INT)
    vcpus: int = Field(ge=1, le=MAX_INT)
    disk: int = Field(ge=0, le=MAX_INT)
    ephemeral: int = Field(default=0, ge=0, le=MAX_INT, alias="OS-FLV-EXT-DATA:ephemeral")
    swap: int | None = Field(default=0, ge=0, le=MAX_INT)
    rxtx_factor: float | None = Field(default=None, gt=0, le=3.40282e38)
    is_public: bool = Field(default=True, alias="os-flavor-access:is_public")
    description: str | None = Field(default=None, max_length=65535)

    @field_validator("id", mode="before")
    @classmethod
    def _number_id(cls, value: object) -> object:
        # Nova's schema takes a number as well, and keeps it as its text.
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value


class FlavorCreateBody(BaseModel):
    """`POST /flavors`."""

    flavor: FlavorCreate


class ExtraSpecsBody(BaseModel):
    """`POST /flavors/{id}/os-extra_specs`."""

    extra_specs: dict[SpecKey, SpecValue]


def flavor_view(flavor: FlavorRecord, base: str, version: Microversion) -> dict[str, Any]:
    """A flavor as Nova shows it at `version`."""
    body: dict[str, Any] = {
        "id": flavor.flavorid,
        "name": flavor.name,
        "ram": flavor.memory_mb,
        "vcpus": flavor.vcpus,
        "disk": flavor.root_gb,
        "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
        # Before 2.75 Nova shows no swap as "".
        "swap": flavor.swap if flavor.swap or at_least(version, 75) else "",
        "rxtx_factor": 1.0,
        "os-flavor-access:is_public": flavor.is_public,
        "OS-FLV-DISABLED:disabled": False,
        "links": links(base, "flavors", flavor.flavorid),
    }
    if at_least(version, 55):
        body["description"] = flavor.description
    if at_least(version, 61):
        body["extra_specs"] = dict(flavor.extra_specs)
    return body


def visible_flavor(deps: ApiDeps, ctx: RequestContext, flavor_id: str) -> FlavorRecord:
    """The flavor if the caller may use it; FlavorNotFound otherwise.

    offpath has no flavor access lists, so a private flavor is the admin's
    alone: to anyone else Nova answers as if it did not exist.
    """
    with reading(deps.cells.api) as session:
        flavor = get_flavor(session, flavor_id)
    if not flavor.is_public and not ctx.is_admin:
        raise FlavorNotFound(flavor_id)
    return flavor


def _is_public(value: str | None, ctx: RequestContext) -> bool | None:
    if not ctx.is_admin:
        # Nova lists a non-admin the public flavors whatever is_public says.
        return True
    if value is None:
        # Nova's default: public flavors only.
        return True
    if value.strip().lower() == "none":
        return None
    try:
        return strict_bool(value)
    except ValueError:
        raise RequestBodyInvalid(f"Invalid is_public filter [{value}]") from None


def _check_specs(name: str, specs: dict[str, str]) -> None:
    """Refuse extra specs that a boot could not read (FlavorExtraSpecInvalid)."""
    flavor = Flavor(name, extra_specs=specs)
    _ = flavor.numa_nodes, flavor.numa_policy, flavor.alias_counts()


def _listed(deps: ApiDeps, ctx: RequestContext, request: Request) -> list[FlavorRecord]:
    """The flavors a list asks for: Nova's is_public, minRam, minDisk, marker and limit."""
    query = request.query_params
    with reading(deps.cells.api) as session:
        flavors = list_flavors(session, is_public=_is_public(query.get("is_public"), ctx))
    min_ram = _whole(query.get("minRam"), "minRam")
    min_disk = _whole(query.get("minDisk"), "minDisk")
    flavors = [f for f in flavors if f.memory_mb >= min_ram and f.root_gb >= min_disk]
    marker = query.get("marker")
    if marker is not None:
        ids = [f.flavorid for f in flavors]
        if marker not in ids:
            raise RequestBodyInvalid(f"marker [{marker[:80]}] not found")
        flavors = flavors[ids.index(marker) + 1 :]
    limit = query.get("limit")
    if limit is not None:
        flavors = flavors[: _whole(limit, "limit")]
    return flavors


def _whole(value: str | None, name: str) -> int:
    """A non-negative integer query parameter (0 when absent); Nova's 400 otherwise."""
    if value is None:
        return 0
    if not value.isdigit():
        raise RequestBodyInvalid(f"Invalid {name} filter [{value[:40]}]")
    return int(value)


@router.get("")
def index(request: Request, ctx: Ctx, deps: Deps, v: Version) -> dict[str, Any]:
    """The flavors: id, name, links (and description from 2.55)."""
    flavors = _listed(deps, ctx, request)
    base = base_url(request, deps)
    shown = []
    for flavor in flavors:
        entry: dict[str, Any] = {
            "id": flavor.flavorid,
            "name": flavor.name,
            "links": links(base, "flavors", flavor.flavorid),
        }
        if at_least(v, 55):
            entry["description"] = flavor.description
        shown.append(entry)
    return {"flavors": shown}


@router.get("/detail")
def detail(request: Request, ctx: Ctx, deps: Deps, v: Version) -> dict[str, Any]:
    """The flavors with every detail."""
    flavors = _listed(deps, ctx, request)
    base = base_url(request, deps)
    return {"flavors": [flavor_view(flavor, base, v) for flavor in flavors]}


@router.get("/{flavor_id}")
def show(flavor_id: str, request: Request, ctx: Ctx, deps: Deps, v: Version) -> dict[str, Any]:
    """One flavor; 404 itemNotFound when there is none (what a look-up by name expects)."""
    flavor = visible_flavor(deps, ctx, flavor_id)
    return {"flavor": flavor_view(flavor, base_url(request, deps), v)}


@router.post("")
def create(
    body: FlavorCreateBody, request: Request, ctx: Ctx, deps: Deps, v: Version
) -> dict[str, Any]:
    """Create a flavor (`id` null or absent: a new UUID)."""
    deps.policy.authorize(ctx, f"{_MANAGE}:create", {})
    new = body.flavor
    record = FlavorRecord(
        flavorid=new.id or str(uuid.uuid4()),
        name=new.name,
        vcpus=new.vcpus,
        memory_mb=new.ram,
        root_gb=new.disk,
        ephemeral_gb=new.ephemeral,
        swap=new.swap or 0,
        is_public=new.is_public,
        description=new.description,
    )
    with writing(deps.cells.api) as session:
        created = create_flavor(session, record)
    return {"flavor": flavor_view(created, base_url(request, deps), v)}


@router.delete("/{flavor_id}", status_code=202)
def delete(flavor_id: str, ctx: Ctx, deps: Deps) -> Response:
    """Delete a flavor; servers that use it keep their copy."""
    deps.policy.authorize(ctx, f"{_MANAGE}:delete", {})
    with writing(deps.cells.api) as session:
        delete_flavor(session, flavor_id)
    return Response(status_code=202)


@router.get("/{flavor_id}/os-extra_specs")
def list_specs(flavor_id: str, ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """The flavor's extra specs."""
    deps.policy.authorize(ctx, f"{_SPECS}:index", own_project(ctx))
    with reading(deps.cells.api) as session:
        return {"extra_specs": dict(get_flavor(session, flavor_id).extra_specs)}


@router.post("/{flavor_id}/os-extra_specs")
def add_specs(flavor_id: str, body: ExtraSpecsBody, ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """Add or overwrite extra specs; the ones sent back."""
    deps.policy.authorize(ctx, f"{_SPECS}:create", {})
    with writing(deps.cells.api) as session:
        flavor = get_flavor(session, flavor_id)
        _check_specs(flavor.name, {**flavor.extra_specs, **body.extra_specs})
        set_extra_specs(session, flavor_id, body.extra_specs)
    return {"extra_specs": dict(body.extra_specs)}


@router.get("/{flavor_id}/os-extra_specs/{key}")
def show_spec(flavor_id: str, key: str, ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """One extra spec, as `{key: value}`."""
    deps.policy.authorize(ctx, f"{_SPECS}:show", own_project(ctx))
    with reading(deps.cells.api) as session:
        specs = get_flavor(session, flavor_id).extra_specs
    if key not in specs:
        raise FlavorExtraSpecNotFound(flavor_id, key)
    return {key: specs[key]}


@router.put("/{flavor_id}/os-extra_specs/{key}")
def update_spec(
    flavor_id: str,
    key: str,
    ctx: Ctx,
    deps: Deps,
    body: Annotated[dict[SpecKey, SpecValue], Body()],
) -> dict[str, Any]:
    """Set one extra spec; the body is `{key: value}` for the key of the path."""
    deps.policy.authorize(ctx, f"{_SPECS}:update", {})
    if list(body) != [key]:
        raise RequestBodyInvalid("Request body and URI mismatch")
    with writing(deps.cells.api) as session:
        flavor = get_flavor(session, flavor_id)
        _check_specs(flavor.name, {**flavor.extra_specs, **body})
        set_extra_specs(session, flavor_id, body)
    return dict(body)


@router.delete("/{flavor_id}/os-extra_specs/{key}")
def delete_spec(flavor_id: str, key: str, ctx: Ctx, deps: Deps) -> Response:
    """Remove one extra spec."""
    deps.policy.authorize(ctx, f"{_SPECS}:delete", {})
    with writing(deps.cells.api) as session:
        delete_extra_spec(session, flavor_id, key)
    return Response(status_code=200)

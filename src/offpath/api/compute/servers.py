"""`/compute/v2.1/servers`: create, list, detail, show, delete."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any, Final

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import QueryParams

from offpath.api.auth import Ctx
from offpath.api.compute.context import Version, at_least
from offpath.api.compute.names import NAME_PATTERN
from offpath.api.compute.paging import limit_param
from offpath.api.compute.security_groups import (
    DEFAULT_GROUP,
    check_boot_groups,
    group_names,
    requested_groups,
)
from offpath.api.compute.server_create import ServerCreateBody, create_server
from offpath.api.compute.server_status import server_status
from offpath.api.compute.server_view import (
    HostKeys,
    links,
    server_brief,
    server_detail,
    server_ports,
)
from offpath.api.deps import ApiDeps, Deps, base_url
from offpath.api.policy import own_project
from offpath.conductor.server_reads import ServerRecord, find_server, list_servers
from offpath.conductor.server_updates import rename_server
from offpath.errors import InstanceNotFound, RequestBodyInvalid
from offpath.rpc.context import RequestContext

router = APIRouter(prefix="/compute/v2.1/servers", tags=["compute"])


def authorized_server(
    deps: ApiDeps, ctx: RequestContext, server_id: str, rule: str, *, deleted: bool = False
) -> ServerRecord:
    """The server `rule` lets the caller act on.

    As in Nova, a server the caller cannot see is InstanceNotFound (another
    project's to a non-admin, a deleted one unless `deleted`), never a 403;
    one it sees but `rule` refuses is PolicyDenied.
    """
    server = visible_server(deps, ctx, server_id, deleted=deleted)
    deps.policy.authorize(ctx, rule, server_target(server))
    return server


def visible_server(
    deps: ApiDeps, ctx: RequestContext, server_id: str, *, deleted: bool = False
) -> ServerRecord:
    """The server if the caller may see it: its project's, or any to an admin; else not found."""
    server = find_server(deps.cells, server_id)
    if (server.deleted and not deleted) or not (
        ctx.is_admin or server.project_id == ctx.project_id
    ):
        raise InstanceNotFound(server_id)
    return server


def server_target(server: ServerRecord) -> dict[str, object]:
    """What a server rule's checks read of the server."""
    return {"project_id": server.project_id}


def host_keys(deps: ApiDeps, ctx: RequestContext, server: ServerRecord) -> HostKeys:
    """Which host keys of `server` the caller sees: the policy's, as Nova's view asks it."""
    target = server_target(server)
    return HostKeys(
        extended_attributes=deps.policy.allows(
            ctx, "os_compute_api:os-extended-server-attributes", target
        ),
        host_status=deps.policy.allows(ctx, "os_compute_api:servers:show:host_status", target),
    )


@router.post("", status_code=202)
def create(
    body: ServerCreateBody,
    request: Request,
    response: Response,
    *,
    ctx: Ctx,
    deps: Deps,
    v: Version,
) -> dict[str, Any]:
    """Boot a server with existing ports; 202 with its id (it builds in the background)."""
    deps.policy.authorize(ctx, "os_compute_api:servers:create", own_project(ctx))
    groups = requested_groups((body.server.model_extra or {}).get("security_groups"))
    check_boot_groups(deps.ports, ctx, groups)
    view = create_server(deps, ctx, body.server, v)
    base = base_url(request, deps)
    response.headers["Location"] = f"{base}/compute/v2.1/servers/{view.uuid}"
    return {
        "server": {
            "id": view.uuid,
            "links": links(base, "servers", view.uuid),
            "adminPass": body.server.adminPass or secrets.token_urlsafe(9),
            "OS-DCF:diskConfig": "MANUAL",
            "security_groups": [{"name": name} for name in groups or [DEFAULT_GROUP]],
        }
    }


def _listed(
    deps: ApiDeps,
    ctx: RequestContext,
    *,
    name: str | None,
    status: str | None,
    host: str | None,
    deleted: str | None,
    all_tenants: str | None,
    query: QueryParams,
    rule: str,
) -> list[ServerRecord]:
    deps.policy.authorize(ctx, rule, own_project(ctx))
    everyone = all_tenants is not None and all_tenants.lower() not in ("0", "false", "off", "no")
    if everyone:
        deps.policy.authorize(ctx, f"{rule}:get_all_tenants", own_project(ctx))
    include_deleted = deleted is not None and deleted.lower() in ("1", "true", "on", "yes")
    # Nova reads `tenant_id` (or `project_id`) with all_tenants only: alone it is ignored.
    project = (query.get("tenant_id") or query.get("project_id")) if everyone else ctx.project_id
    servers = list_servers(deps.cells, project_id=project, include_deleted=include_deleted)
    if name:
        try:
            # Nova matches names as a regular expression, anywhere in the name.
            pattern = re.compile(name)
        except re.error as exc:
            raise RequestBodyInvalid(f"Invalid input for query parameter name: {exc}") from None
        servers = [s for s in servers if pattern.search(s.name)]
    if status:
        servers = [s for s in servers if server_status(s.vm_state, s.task_state) == status.upper()]
    if host:
        servers = [s for s in servers if s.host == host]
    return _narrowed(servers, query)


def _narrowed(servers: list[ServerRecord], query: QueryParams) -> list[ServerRecord]:
    """Nova's other list filters: flavor, image, changes-since, then the marker and limit."""
    if flavor := query.get("flavor"):
        servers = [s for s in servers if s.flavor_id == flavor.rstrip("/").rsplit("/", 1)[-1]]
    if image := query.get("image"):
        servers = [s for s in servers if s.image_ref == image.rstrip("/").rsplit("/", 1)[-1]]
    if (since := query.get("changes-since")) is not None:
        moment = _moment(since, "changes-since")
        servers = [s for s in servers if _aware(s.updated_at) >= moment]
    if (marker := query.get("marker")) is not None:
        ids = [s.uuid for s in servers]
        if marker not in ids:
            raise RequestBodyInvalid(f"marker [{marker[:80]}] not found")
        servers = servers[ids.index(marker) + 1 :]
    if (limit := limit_param(query.get("limit"))) is not None:
        servers = servers[:limit]
    return servers


def _moment(text: str, name: str) -> datetime:
    try:
        return _aware(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise RequestBodyInvalid(
            f"Invalid input for query parameters {name}. Value: {text[:40]}. "
            "It is not a valid ISO 8601 date-time"
        ) from None


def _aware(moment: datetime) -> datetime:
    # Stored times are UTC, some without their zone.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@router.get("")
def index(
    request: Request,
    *,
    ctx: Ctx,
    deps: Deps,
    name: str | None = None,
    status: str | None = None,
    host: str | None = None,
    deleted: str | None = None,
    all_tenants: str | None = None,
) -> dict[str, Any]:
    """The caller's servers: id, name, links."""
    base = base_url(request, deps)
    servers = _listed(
        deps,
        ctx,
        name=name,
        status=status,
        host=host,
        deleted=deleted,
        all_tenants=all_tenants,
        query=request.query_params,
        rule="os_compute_api:servers:index",
    )
    return {"servers": [server_brief(s, base) for s in servers]}


@router.get("/detail")
def detail(
    request: Request,
    *,
    ctx: Ctx,
    deps: Deps,
    v: Version,
    name: str | None = None,
    status: str | None = None,
    host: str | None = None,
    deleted: str | None = None,
    all_tenants: str | None = None,
) -> dict[str, Any]:
    """The caller's servers with every detail."""
    base = base_url(request, deps)
    servers = _listed(
        deps,
        ctx,
        name=name,
        status=status,
        host=host,
        deleted=deleted,
        all_tenants=all_tenants,
        query=request.query_params,
        rule="os_compute_api:servers:detail",
    )
    read = [(server, *server_ports(deps.ports, server.uuid)) for server in servers]
    # One request for the page's security group names, not one per server.
    groups = group_names(deps.ports, [ports for _, ports, _ in read])
    shown = []
    for server, ports, names in read:
        keys = host_keys(deps, ctx, server)
        entry = server_detail(server, base, v, ports, names, shown=keys, group_names=groups)
        # Nova shows a server's groups on its own, never in a list.
        entry.pop("server_groups", None)
        shown.append(entry)
    return {"servers": shown}


@router.get("/{server_id}")
def show(server_id: str, request: Request, ctx: Ctx, deps: Deps, v: Version) -> dict[str, Any]:
    """One server: status, fault, host, addresses, flavor and image."""
    server = authorized_server(deps, ctx, server_id, "os_compute_api:servers:show")
    ports, names = server_ports(deps.ports, server.uuid)
    shown = host_keys(deps, ctx, server)
    body = server_detail(
        server,
        base_url(request, deps),
        v,
        ports,
        names,
        shown=shown,
        group_names=group_names(deps.ports, [ports]),
    )
    return {"server": body}


class ServerUpdate(BaseModel):
    """The `server` object of an update: offpath keeps a server's name alone."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=255, pattern=NAME_PATTERN)


class ServerUpdateBody(BaseModel):
    """`PUT /servers/{id}`."""

    model_config = ConfigDict(extra="forbid")

    server: ServerUpdate


# What the update answers before 2.75 (from 2.75 on: the whole server, as a show).
_UPDATE_KEYS: Final = frozenset(
    {
        *("id", "name", "status", "tenant_id", "user_id", "metadata", "hostId", "image"),
        *("flavor", "created", "updated", "addresses", "accessIPv4", "accessIPv6", "links"),
        *("OS-DCF:diskConfig", "progress", "fault", "locked", "description", "tags"),
        *("trusted_image_certificates", "server_groups", "locked_reason"),
    }
)


@router.put("/{server_id}")
def update(
    server_id: str, body: ServerUpdateBody, request: Request, *, ctx: Ctx, deps: Deps, v: Version
) -> dict[str, Any]:
    """Rename the server; the server as it is now."""
    authorized_server(deps, ctx, server_id, "os_compute_api:servers:update")
    if body.server.name is not None:
        rename_server(deps.cells, server_id, body.server.name)
    server = visible_server(deps, ctx, server_id)
    ports, names = server_ports(deps.ports, server.uuid)
    keys = host_keys(deps, ctx, server)
    groups = group_names(deps.ports, [ports])
    shown = server_detail(
        server, base_url(request, deps), v, ports, names, shown=keys, group_names=groups
    )
    if not at_least(v, 75):
        shown = {key: value for key, value in shown.items() if key in _UPDATE_KEYS}
    return {"server": shown}


@router.delete("/{server_id}", status_code=204)
def delete(server_id: str, ctx: Ctx, deps: Deps) -> Response:
    """Delete the server: its devices are freed and its host told."""
    authorized_server(deps, ctx, server_id, "os_compute_api:servers:delete")
    deps.conductor.delete(server_id, request_id=ctx.request_id)
    return Response(status_code=204)

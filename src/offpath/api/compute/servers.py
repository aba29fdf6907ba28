"""`/compute/v2.1/servers`: create, list, detail, show, delete."""

from __future__ import annotations

import re
import secrets
from typing import Any

from fastapi import APIRouter, Request, Response

from offpath.api.auth import Ctx
from offpath.api.compute.context import Version
from offpath.api.compute.server_create import ServerCreateBody, create_server
from offpath.api.compute.server_status import server_status
from offpath.api.compute.server_view import links, server_brief, server_detail, server_ports
from offpath.api.deps import ApiDeps, Deps, base_url
from offpath.api.policy import own_project
from offpath.conductor.server_reads import ServerRecord, find_server, list_servers
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
    server = find_server(deps.cells, server_id)
    if (server.deleted and not deleted) or not (
        ctx.is_admin or server.project_id == ctx.project_id
    ):
        raise InstanceNotFound(server_id)
    deps.policy.authorize(ctx, rule, server_target(server))
    return server


def server_target(server: ServerRecord) -> dict[str, object]:
    """What a server rule's checks read of the server."""
    return {"project_id": server.project_id}


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
    view = create_server(deps, ctx, body.server, v)
    base = base_url(request, deps)
    response.headers["Location"] = f"{base}/compute/v2.1/servers/{view.uuid}"
    return {
        "server": {
            "id": view.uuid,
            "links": links(base, "servers", view.uuid),
            "adminPass": secrets.token_urlsafe(9),
            "OS-DCF:diskConfig": "MANUAL",
            "security_groups": [{"name": "default"}],
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
    rule: str,
) -> list[ServerRecord]:
    deps.policy.authorize(ctx, rule, own_project(ctx))
    everyone = all_tenants is not None and all_tenants.lower() not in ("0", "false", "off", "no")
    if everyone:
        deps.policy.authorize(ctx, f"{rule}:get_all_tenants", own_project(ctx))
    include_deleted = deleted is not None and deleted.lower() in ("1", "true", "on", "yes")
    servers = list_servers(
        deps.cells,
        project_id=None if everyone else ctx.project_id,
        include_deleted=include_deleted,
    )
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
    return servers


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
        rule="os_compute_api:servers:detail",
    )
    shown = []
    for server in servers:
        ports, names = server_ports(deps.ports, server.uuid)
        shown.append(server_detail(server, base, v, ports, names))
    return {"servers": shown}


@router.get("/{server_id}")
def show(server_id: str, request: Request, ctx: Ctx, deps: Deps, v: Version) -> dict[str, Any]:
    """One server: status, fault, host, addresses, flavor and image."""
    server = authorized_server(deps, ctx, server_id, "os_compute_api:servers:show")
    ports, names = server_ports(deps.ports, server.uuid)
    return {"server": server_detail(server, base_url(request, deps), v, ports, names)}


@router.delete("/{server_id}", status_code=204)
def delete(server_id: str, ctx: Ctx, deps: Deps) -> Response:
    """Delete the server: its devices are freed and its host told."""
    authorized_server(deps, ctx, server_id, "os_compute_api:servers:delete")
    deps.conductor.delete(server_id, request_id=ctx.request_id)
    return Response(status_code=204)

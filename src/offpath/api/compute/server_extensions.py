"""A server's `os-interface` (its ports) and `os-instance-actions` (its history)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from offpath.api.auth import Ctx
from offpath.api.compute.context import Version, at_least
from offpath.api.compute.server_view import timestamp
from offpath.api.compute.servers import authorized_server, server_target
from offpath.api.deps import Deps
from offpath.api.microversion import Microversion
from offpath.conductor.server_reads import ActionRecord, find_action, list_actions
from offpath.errors import (
    PortNotAttached,
    PortNotFound,
    RequestBodyInvalid,
    ServerOperationsUnavailable,
)
from offpath.ports.port import Port

router = APIRouter(prefix="/compute/v2.1/servers/{server_id}", tags=["compute"])


def interface_view(port: Port) -> dict[str, Any]:
    """A port as an interface attachment."""
    return {
        "port_id": port.id,
        "net_id": port.network_id,
        "mac_addr": port.mac_address,
        "port_state": port.status,
        "fixed_ips": [
            {"ip_address": fixed.ip_address, "subnet_id": fixed.subnet_id}
            for fixed in port.fixed_ips
        ],
        "tag": None,
    }


@router.get("/os-interface")
def interfaces(server_id: str, ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """One interface attachment per port bound to the server."""
    server = authorized_server(deps, ctx, server_id, "os_compute_api:os-attach-interfaces:list")
    ports = deps.ports.list_ports(device_id=server.uuid)
    return {"interfaceAttachments": [interface_view(port) for port in ports]}


class _Attachment(BaseModel):
    model_config = ConfigDict(extra="allow")

    port_id: str | None = None
    net_id: str | None = None


class _AttachBody(BaseModel):
    interfaceAttachment: _Attachment  # noqa: N815 (Nova's key)


@router.post("/os-interface")
def attach_interface(server_id: str, body: _AttachBody, ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """Attach an existing port: a VF claimed on the server's host, bound, plugged, hot-plugged."""
    server = authorized_server(deps, ctx, server_id, "os_compute_api:os-attach-interfaces:create")
    port_id = body.interfaceAttachment.port_id
    if not port_id:
        raise RequestBodyInvalid(
            "offpath attaches existing ports: give interfaceAttachment.port_id",
            hint="create the port first (`openstack port create --vnic-type remote-managed`)",
        )
    if deps.actions is None:
        raise ServerOperationsUnavailable()
    port = deps.ports.show_port(port_id)
    if port.project_id and port.project_id != server.project_id:
        # The port must be the server's project's, whoever attaches it (an admin too).
        raise PortNotFound(port_id)
    deps.actions.attach_interface(server.uuid, port_id, request_id=ctx.request_id)
    return {"interfaceAttachment": interface_view(deps.ports.show_port(port_id))}


@router.get("/os-interface/{port_id}")
def show_interface(server_id: str, port_id: str, ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """One of the server's interface attachments."""
    server = authorized_server(deps, ctx, server_id, "os_compute_api:os-attach-interfaces:show")
    try:
        port = deps.ports.show_port(port_id)
    except PortNotFound:
        raise PortNotAttached(port_id, server.uuid) from None
    if port.device_id != server.uuid:
        raise PortNotAttached(port_id, server.uuid)
    return {"interfaceAttachment": interface_view(port)}


@router.delete("/os-interface/{port_id}", status_code=202)
def detach_interface(server_id: str, port_id: str, ctx: Ctx, deps: Deps) -> Response:
    """Detach the port: hot-unplugged, unbound (its profile's PCI keys removed), its VF freed."""
    server = authorized_server(deps, ctx, server_id, "os_compute_api:os-attach-interfaces:delete")
    if deps.actions is None:
        raise ServerOperationsUnavailable()
    deps.actions.detach_interface(server.uuid, port_id, request_id=ctx.request_id)
    return Response(status_code=202)


def _action_view(action: ActionRecord, version: Microversion) -> dict[str, Any]:
    shown = {
        "action": action.action,
        "instance_uuid": action.instance_uuid,
        "request_id": action.request_id,
        "user_id": action.project_id,
        "project_id": action.project_id,
        "start_time": timestamp(action.start_time),
        "message": action.message,
    }
    if at_least(version, 58):
        shown["updated_at"] = timestamp(action.finish_time or action.start_time)
    return shown


def _event_view(action: ActionRecord, details: bool) -> list[dict[str, Any]]:
    events = []
    for event in action.events:
        shown: dict[str, Any] = {
            "event": event.event,
            "start_time": timestamp(event.start_time),
            "finish_time": timestamp(event.finish_time),
            "result": event.result,
            "traceback": None,
        }
        if details:
            shown["details"] = event.details
        events.append(shown)
    return events


@router.get("/os-instance-actions")
def actions(server_id: str, ctx: Ctx, deps: Deps, v: Version) -> dict[str, Any]:
    """The server's actions, newest first (a deleted server's too, as Nova lists them)."""
    authorized_server(deps, ctx, server_id, "os_compute_api:os-instance-actions:list", deleted=True)
    found = list_actions(deps.cells, server_id)
    return {"instanceActions": [_action_view(a, v) for a in found]}


@router.get("/os-instance-actions/{request_id}")
def action(server_id: str, request_id: str, ctx: Ctx, deps: Deps, v: Version) -> dict[str, Any]:
    """One action with its events (their details from 2.84, to whom the policy shows them)."""
    server = authorized_server(
        deps, ctx, server_id, "os_compute_api:os-instance-actions:show", deleted=True
    )
    found = find_action(deps.cells, server_id, request_id)
    details = at_least(v, 84) and deps.policy.allows(
        ctx, "os_compute_api:os-instance-actions:events:details", server_target(server)
    )
    return {"instanceAction": {**_action_view(found, v), "events": _event_view(found, details)}}

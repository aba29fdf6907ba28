"""`os-server-external-events`: what the network service reports, forwarded to the server's host.

As Nova answers it: each event comes back with its own `code` (200
accepted, 404 unknown server, 422 server with no host, 400 a volume event
without its tag) and the answer is 200 when every event was accepted, 207
when some were, and 404 when none was.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from offpath.api.auth import Ctx
from offpath.api.deps import ApiDeps, Deps
from offpath.conductor.server_reads import find_server
from offpath.errors import InstanceNotFound, NoInstancesForEvents

router = APIRouter(prefix="/compute/v2.1", tags=["compute"])

EventName = Literal[
    "network-changed",
    "network-vif-plugged",
    "network-vif-unplugged",
    "network-vif-deleted",
    "volume-extended",
    "power-update",
    "accelerator-request-bound",
    "volume-reimaged",
]
# Events that name their volume in `tag`.
_TAG_REQUIRED = frozenset({"volume-extended", "volume-reimaged"})
_UUID = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"


class ExternalEvent(BaseModel):
    """One event about one server."""

    model_config = ConfigDict(extra="forbid")

    name: EventName
    server_uuid: str = Field(pattern=_UUID)
    tag: str | None = Field(default=None, max_length=255)
    status: Literal["failed", "completed", "in-progress"] = "completed"


class ExternalEventsBody(BaseModel):
    """`POST /os-server-external-events`."""

    events: list[ExternalEvent] = Field(min_length=1)


@router.post("/os-server-external-events", response_model=None)
def external_events(body: ExternalEventsBody, ctx: Ctx, deps: Deps) -> JSONResponse:
    """Forward each event to the agent of its server's host; per-event codes as Nova."""
    deps.policy.authorize(ctx, "os_compute_api:os-server-external-events:create", {})
    answered: list[dict[str, Any]] = []
    accepted: dict[tuple[str, str], list[dict[str, object]]] = {}
    for event in body.events:
        shown: dict[str, Any] = event.model_dump(exclude_none=True)
        code, host = _verdict(deps, event)
        shown["code"] = code
        if host is not None:
            accepted.setdefault((host, event.server_uuid), []).append(
                event.model_dump(exclude_none=True)
            )
        else:
            shown["status"] = "failed"
        answered.append(shown)
    if not accepted:
        raise NoInstancesForEvents()
    for (host, server_uuid), events in accepted.items():
        deps.events.external_instance_event(ctx, host, server_uuid, events)
    status = 200 if len(answered) == sum(len(e) for e in accepted.values()) else 207
    return JSONResponse({"events": answered}, status_code=status)


def _verdict(deps: ApiDeps, event: ExternalEvent) -> tuple[int, str | None]:
    """The event's code, and the host to forward it to when accepted."""
    if event.name in _TAG_REQUIRED and not event.tag:
        return 400, None
    try:
        server = find_server(deps.cells, event.server_uuid)
    except InstanceNotFound:
        return 404, None
    if server.deleted:
        return 404, None
    if not server.host:
        return 422, None
    return 200, server.host

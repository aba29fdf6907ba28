"""`os-services` and `os-hypervisors`: the cells' service rows and compute nodes.

From 2.53 a compute service is changed by its id (`PUT /os-services/{id}`):
enabled or disabled with a reason, forced down or up, Nova's body and rules.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Final

from fastapi import APIRouter, Body

from offpath.api.auth import Ctx
from offpath.api.compute.context import Version, at_least
from offpath.api.compute.server_view import timestamp
from offpath.api.deps import ApiDeps, Deps
from offpath.api.errors import HttpFault
from offpath.api.microversion import Microversion
from offpath.conductor.host_reads import NodeEntry, ServiceEntry, list_nodes, list_service_entries
from offpath.conductor.server_reads import list_servers
from offpath.conductor.service_updates import update_compute_service
from offpath.db.services import ServiceFlags
from offpath.errors import RequestBodyInvalid, ServiceUpdateInvalid
from offpath.pci.booleans import strict_bool
from offpath.version import COMPUTE_BINARY

router = APIRouter(prefix="/compute/v2.1", tags=["compute"])

# Nova's schema of the 2.53 update: these keys and no others.
_UPDATE_KEYS: Final = frozenset({"status", "disabled_reason", "forced_down"})
_STATUSES: Final = ("enabled", "disabled")
_REASON_MAX: Final = 255


def _service_state(entry: ServiceEntry, down_time: int) -> str:
    return "up" if entry.record.is_up(service_down_time=down_time) else "down"


def service_view(entry: ServiceEntry, *, down_time: int, version: Microversion) -> dict[str, Any]:
    """A service as `os-services` shows it (UUID ids from 2.53)."""
    record = entry.record
    body = {
        # Before 2.53 ids are integers: the UUID's low bits, the same in every worker.
        "id": entry.id if at_least(version, 53) else uuid.UUID(entry.id).int % 2**31,
        "binary": record.binary,
        "host": record.host,
        "zone": "nova" if record.binary == COMPUTE_BINARY else "internal",
        "status": "disabled" if record.disabled else "enabled",
        "state": _service_state(entry, down_time),
        "updated_at": timestamp(record.last_seen_up),
        "disabled_reason": record.disabled_reason,
    }
    # Nova shows forced_down from 2.11 on; a service's version and cell are in
    # offpath's own /offpath/v1/hosts, as Nova's body has no room for them.
    if at_least(version, 11):
        body["forced_down"] = record.forced_down
    return body


@router.get("/os-services")
def services(
    ctx: Ctx, deps: Deps, v: Version, binary: str | None = None, host: str | None = None
) -> dict[str, Any]:
    """Every service of every cell, with its state (up/down)."""
    deps.policy.authorize(ctx, "os_compute_api:os-services:list", {})
    down_time = deps.scheduler.cache.service_down_time
    entries = [
        e
        for e in list_service_entries(deps.cells)
        if (binary is None or e.record.binary == binary) and (host is None or e.record.host == host)
    ]
    return {"services": [service_view(e, down_time=down_time, version=v) for e in entries]}


def service_flags(body: object) -> ServiceFlags:
    """The change a 2.53 update body asks for, checked as Nova checks it."""
    if not isinstance(body, dict) or set(body) - _UPDATE_KEYS:
        extra = sorted(set(body) - _UPDATE_KEYS) if isinstance(body, dict) else []
        raise RequestBodyInvalid(
            "Invalid input for os-services update: "
            + (
                f"Additional properties are not allowed ({', '.join(extra)})"
                if extra
                else "the body must be an object"
            )
        )
    status = body.get("status")
    if "status" in body and status not in _STATUSES:
        raise RequestBodyInvalid(
            f"Invalid input for field/attribute status. Value: {status!r}. "
            "'enabled' or 'disabled' expected"
        )
    reason = body.get("disabled_reason")
    if reason is not None and (not isinstance(reason, str) or not 1 <= len(reason) <= _REASON_MAX):
        raise RequestBodyInvalid(
            f"Invalid input for field/attribute disabled_reason. Value: {reason!r}. "
            f"A string of 1 to {_REASON_MAX} characters expected"
        )
    if status == "enabled" and reason:
        raise ServiceUpdateInvalid("Specifying 'disabled_reason' with status 'enabled' is invalid.")
    forced_down: bool | None = None
    if "forced_down" in body:
        raw = body["forced_down"]
        try:
            if not isinstance(raw, bool | str):
                raise ValueError(f"{raw!r} is not a boolean")
            forced_down = strict_bool(raw)
        except ValueError as exc:
            raise RequestBodyInvalid(
                f"Invalid input for field/attribute forced_down. {exc}"
            ) from None
    if status is None and forced_down is None:
        raise ServiceUpdateInvalid(
            "No updates were requested. Fields 'status' or 'forced_down' should be specified."
        )
    return ServiceFlags(
        disabled=None if status is None else status == "disabled",
        disabled_reason=reason if status == "disabled" else None,
        forced_down=forced_down,
    )


@router.put("/os-services/{service_id}")
def update_service(
    service_id: str, body: Annotated[Any, Body()], ctx: Ctx, deps: Deps, v: Version
) -> dict[str, Any]:
    """Enable or disable a compute service, or force it down or up (2.53 and later, by id)."""
    deps.policy.authorize(ctx, "os_compute_api:os-services:update", {})
    if not at_least(v, 53):
        raise ServiceUpdateInvalid("Updating a service by its id needs microversion 2.53 or later")
    try:
        uuid.UUID(service_id)
    except ValueError:
        raise ServiceUpdateInvalid(f"Invalid uuid {service_id}") from None
    entry = update_compute_service(deps.cells, service_id, service_flags(body))
    down_time = deps.scheduler.cache.service_down_time
    return {"service": service_view(entry, down_time=down_time, version=v)}


def _hypervisor(
    entry: NodeEntry, down_time: int, *, details: bool, version: Microversion
) -> dict[str, Any]:
    service = entry.service
    up = service is not None and service.record.is_up(service_down_time=down_time)
    body: dict[str, Any] = {
        "id": entry.uuid,
        "hypervisor_hostname": entry.host,
        "state": "up" if up else "down",
        "status": "disabled" if service is not None and service.record.disabled else "enabled",
    }
    if not details:
        return body
    body.update(
        {
            "hypervisor_type": "QEMU",
            "hypervisor_version": 1000000,
            # The agent reports no address of its host: the unspecified one says so.
            "host_ip": "0.0.0.0",
            "service": {
                "host": entry.host,
                "id": service.id if service is not None else None,
                "disabled_reason": (
                    service.record.disabled_reason if service is not None else None
                ),
            },
        }
    )
    if at_least(version, 88):
        body["uptime"] = None
        return body
    # Before 2.88 Nova shows the node's resource counters; offpath tracks PCI
    # devices (in /offpath/v1/hosts), not CPU, memory or disk: zeros.
    body.update(dict.fromkeys(_COUNTERS, 0))
    body["disk_available_least"] = None
    body["cpu_info"] = {} if at_least(version, 28) else "{}"
    return body


# The counters Nova's hypervisor detail carries before 2.88.
_COUNTERS: Final = (
    *("current_workload", "free_disk_gb", "free_ram_mb", "local_gb", "local_gb_used"),
    *("memory_mb", "memory_mb_used", "running_vms", "vcpus", "vcpus_used"),
)


@router.get("/os-hypervisors")
def hypervisors(ctx: Ctx, deps: Deps, v: Version) -> dict[str, Any]:
    """Every compute node: id, hostname, state, status."""
    deps.policy.authorize(ctx, "os_compute_api:os-hypervisors:list", {})
    down_time = deps.scheduler.cache.service_down_time
    nodes = list_nodes(deps.cells)
    return {"hypervisors": [_hypervisor(e, down_time, details=False, version=v) for e in nodes]}


@router.get("/os-hypervisors/detail")
def hypervisors_detail(ctx: Ctx, deps: Deps, v: Version) -> dict[str, Any]:
    """Every compute node with its type and service."""
    deps.policy.authorize(ctx, "os_compute_api:os-hypervisors:list-detail", {})
    down_time = deps.scheduler.cache.service_down_time
    nodes = list_nodes(deps.cells)
    return {"hypervisors": [_hypervisor(e, down_time, details=True, version=v) for e in nodes]}


@router.get("/os-hypervisors/statistics")
def hypervisor_statistics(ctx: Ctx, deps: Deps, v: Version) -> dict[str, Any]:
    """The nodes' counters summed (up to 2.87, as Nova): how many nodes, and zeros."""
    deps.policy.authorize(ctx, "os_compute_api:os-hypervisors:statistics", {})
    _until(v, 87)
    stats: dict[str, Any] = {"count": len(list_nodes(deps.cells)), **dict.fromkeys(_COUNTERS, 0)}
    return {"hypervisor_statistics": {**stats, "disk_available_least": 0}}


@router.get("/os-hypervisors/{hypervisor_id}")
def hypervisor(hypervisor_id: str, ctx: Ctx, deps: Deps, v: Version) -> dict[str, Any]:
    """One compute node by its id, in detail; 404 with Nova's message for another id."""
    deps.policy.authorize(ctx, "os_compute_api:os-hypervisors:show", {})
    down_time = deps.scheduler.cache.service_down_time
    entry = _node(deps, hypervisor_id)
    return {"hypervisor": _hypervisor(entry, down_time, details=True, version=v)}


@router.get("/os-hypervisors/{hypervisor_id}/uptime")
def hypervisor_uptime(hypervisor_id: str, ctx: Ctx, deps: Deps, v: Version) -> dict[str, Any]:
    """A node's uptime (up to 2.87): offpath's agents report none."""
    deps.policy.authorize(ctx, "os_compute_api:os-hypervisors:uptime", {})
    _until(v, 87)
    down_time = deps.scheduler.cache.service_down_time
    brief = _hypervisor(_node(deps, hypervisor_id), down_time, details=False, version=v)
    return {"hypervisor": {**brief, "uptime": None}}


@router.get("/os-hypervisors/{hostname}/search")
def hypervisor_search(hostname: str, ctx: Ctx, deps: Deps, v: Version) -> dict[str, Any]:
    """The nodes whose hostname contains `hostname` (up to 2.52); 404 when none does."""
    deps.policy.authorize(ctx, "os_compute_api:os-hypervisors:search", {})
    _until(v, 52)
    down_time = deps.scheduler.cache.service_down_time
    return {
        "hypervisors": [
            _hypervisor(e, down_time, details=False, version=v) for e in _matching(deps, hostname)
        ]
    }


@router.get("/os-hypervisors/{hostname}/servers")
def hypervisor_servers(hostname: str, ctx: Ctx, deps: Deps, v: Version) -> dict[str, Any]:
    """The nodes whose hostname contains `hostname`, each with its servers (up to 2.52)."""
    deps.policy.authorize(ctx, "os_compute_api:os-hypervisors:servers", {})
    _until(v, 52)
    down_time = deps.scheduler.cache.service_down_time
    nodes = _matching(deps, hostname)
    servers = list_servers(deps.cells, project_id=None)
    shown = []
    for entry in nodes:
        on_node = [{"uuid": s.uuid, "name": s.name} for s in servers if s.host == entry.host]
        brief = _hypervisor(entry, down_time, details=False, version=v)
        shown.append({**brief, "servers": on_node} if on_node else brief)
    return {"hypervisors": shown}


def _until(version: Microversion, last_minor: int) -> None:
    # Nova removed these routes after this microversion: a later request finds nothing.
    if at_least(version, last_minor + 1):
        raise HttpFault(404, "The resource could not be found.")


def _node(deps: ApiDeps, hypervisor_id: str) -> NodeEntry:
    for entry in list_nodes(deps.cells):
        if entry.uuid == hypervisor_id:
            return entry
    raise HttpFault(404, f"Hypervisor with ID '{hypervisor_id[:80]}' could not be found.")


def _matching(deps: ApiDeps, hostname: str) -> list[NodeEntry]:
    found = [e for e in list_nodes(deps.cells) if hostname in e.host]
    if not found:
        raise HttpFault(404, f"No hypervisor matching '{hostname[:80]}' could be found.")
    return found

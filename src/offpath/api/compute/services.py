"""`os-services` and `os-hypervisors`: the cells' service rows and compute nodes."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from offpath.api.auth import Ctx
from offpath.api.compute.context import Version, at_least
from offpath.api.compute.server_view import timestamp
from offpath.api.deps import Deps
from offpath.api.microversion import Microversion
from offpath.conductor.host_reads import NodeEntry, ServiceEntry, list_nodes, list_service_entries
from offpath.version import COMPUTE_BINARY

router = APIRouter(prefix="/compute/v2.1", tags=["compute"])


def _service_state(entry: ServiceEntry, down_time: int) -> str:
    return "up" if entry.record.is_up(service_down_time=down_time) else "down"


def service_view(entry: ServiceEntry, *, down_time: int, version: Microversion) -> dict[str, Any]:
    """A service as `os-services` shows it (UUID ids from 2.53)."""
    record = entry.record
    return {
        # Before 2.53 ids are integers: the UUID's low bits, the same in every worker.
        "id": entry.id if at_least(version, 53) else uuid.UUID(entry.id).int % 2**31,
        "binary": record.binary,
        "host": record.host,
        "zone": "nova" if record.binary == COMPUTE_BINARY else "internal",
        "status": "disabled" if record.disabled else "enabled",
        "state": _service_state(entry, down_time),
        "updated_at": timestamp(record.last_seen_up),
        "disabled_reason": None,
        "forced_down": record.forced_down,
        "version": record.version,
        "cell": entry.cell.name,
    }


@router.get("/os-services")
def services(
    ctx: Ctx, deps: Deps, v: Version, binary: str | None = None, host: str | None = None
) -> dict[str, Any]:
    """Every service of every cell, with its state (up/down) and version."""
    down_time = deps.scheduler.cache.service_down_time
    entries = [
        e
        for e in list_service_entries(deps.cells)
        if (binary is None or e.record.binary == binary) and (host is None or e.record.host == host)
    ]
    return {"services": [service_view(e, down_time=down_time, version=v) for e in entries]}


def _hypervisor(entry: NodeEntry, down_time: int, *, details: bool) -> dict[str, Any]:
    service = entry.service
    up = service is not None and service.record.is_up(service_down_time=down_time)
    body: dict[str, Any] = {
        "id": entry.uuid,
        "hypervisor_hostname": entry.host,
        "state": "up" if up else "down",
        "status": "disabled" if service is not None and service.record.disabled else "enabled",
    }
    if details:
        body.update(
            {
                "hypervisor_type": "QEMU",
                "hypervisor_version": 1000000,
                "host_ip": None,
                "service": {
                    "host": entry.host,
                    "id": service.id if service is not None else None,
                    "disabled_reason": None,
                },
                "uptime": None,
                "offpath:cell": entry.cell.name,
                "offpath:supports_remote_managed": entry.supports_remote_managed,
                "offpath:pci_devices": entry.devices,
                "offpath:pci_devices_free": entry.free_devices,
            }
        )
    return body


@router.get("/os-hypervisors")
def hypervisors(ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """Every compute node: id, hostname, state, status."""
    down_time = deps.scheduler.cache.service_down_time
    return {
        "hypervisors": [_hypervisor(e, down_time, details=False) for e in list_nodes(deps.cells)]
    }


@router.get("/os-hypervisors/detail")
def hypervisors_detail(ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """Every compute node with its type, service and PCI device counts."""
    down_time = deps.scheduler.cache.service_down_time
    return {
        "hypervisors": [_hypervisor(e, down_time, details=True) for e in list_nodes(deps.cells)]
    }

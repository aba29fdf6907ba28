"""offpath's own API under /offpath/v1: hosts, their devices (and why not), pools, explain."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from offpath.api.auth import Ctx
from offpath.api.compute.server_view import timestamp
from offpath.api.deps import Deps
from offpath.conductor.host_reads import (
    NodeEntry,
    find_node_entry,
    host_devices,
    host_pools,
    list_nodes,
)
from offpath.network.chassis import ChassisRegistry
from offpath.network.neutron_json import chassis_json
from offpath.network.representors import RepresentorPlugs
from offpath.pci.request import NumaPolicy
from offpath.ports.vnic import VnicType
from offpath.scheduler.filters import summarize
from offpath.scheduler.hypothetical import hypothetical_request, verdict_json

router = APIRouter(prefix="/offpath/v1", tags=["offpath"])


class ExplainRequest(BaseModel):
    """A hypothetical request: `ports` ports of one vnic type, and the flavor's NUMA asks."""

    model_config = ConfigDict(extra="forbid")

    vnic_type: VnicType = VnicType.REMOTE_MANAGED
    physnet: str | None = Field(default=None, min_length=1, max_length=64)
    ports: int = Field(default=1, ge=1, le=64)
    numa_nodes: int | None = Field(default=None, ge=1, le=64)
    numa_policy: NumaPolicy | None = None


def host_view(entry: NodeEntry, *, down_time: int) -> dict[str, Any]:
    """A host: its cell, compute service, capability and device counts."""
    service = entry.service
    return {
        "host": entry.host,
        "cell": entry.cell.name,
        "uuid": entry.uuid,
        "generation": entry.generation,
        "supports_remote_managed": entry.supports_remote_managed,
        "numa_cells": entry.numa_cells,
        "devices": entry.devices,
        "free_devices": entry.free_devices,
        "service": None
        if service is None
        else {
            "binary": service.record.binary,
            "version": service.record.version,
            "state": "up" if service.record.is_up(service_down_time=down_time) else "down",
            "status": "disabled" if service.record.disabled else "enabled",
            "last_seen_up": timestamp(service.record.last_seen_up),
        },
    }


@router.get("/hosts")
def hosts(ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """Every host of every cell with its service and inventory summary."""
    deps.policy.authorize(ctx, "offpath:admin:hosts:get", {})
    down_time = deps.scheduler.cache.service_down_time
    return {"hosts": [host_view(e, down_time=down_time) for e in list_nodes(deps.cells)]}


@router.get("/hosts/{host}")
def host(host: str, ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """One host."""
    deps.policy.authorize(ctx, "offpath:admin:hosts:get", {})
    down_time = deps.scheduler.cache.service_down_time
    return {"host": host_view(find_node_entry(deps.cells, host), down_time=down_time)}


@router.get("/hosts/{host}/devices")
def devices(host: str, ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """The host's tracked devices; each that cannot be claimed now says why not."""
    deps.policy.authorize(ctx, "offpath:admin:hosts:get", {})
    shown = []
    for entry in host_devices(deps.cells, host):
        device = entry.selected.device
        shown.append(
            {
                "address": device.address,
                "dev_type": device.dev_type.value,
                "vendor_id": device.vendor_id,
                "product_id": device.product_id,
                "parent_addr": device.parent_addr,
                "numa_node": device.numa_node,
                "card_serial_number": device.card_serial_number,
                "pf_mac_address": device.pf_mac_address,
                "vf_num": device.vf_num,
                "spec_index": entry.selected.spec_index,
                "tags": dict(entry.selected.tags),
                "status": entry.status,
                "instance_uuid": entry.instance_uuid,
                "usable": entry.why_not is None,
                "why_not": entry.why_not,
            }
        )
    return {"host": host, "devices": shown}


@router.get("/hosts/{host}/pools")
def pools(host: str, ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """The host's PCI pools: what each pool's devices share, and which are free."""
    deps.policy.authorize(ctx, "offpath:admin:hosts:get", {})
    return {
        "host": host,
        "pools": [
            {"properties": p.props, "free": p.free, "free_devices": list(p.free_addresses)}
            for p in host_pools(deps.cells, host)
        ],
    }


@router.get("/pools")
def all_pools(ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """Every host's pools."""
    deps.policy.authorize(ctx, "offpath:admin:pools:get", {})
    shown = []
    for entry in list_nodes(deps.cells):
        for p in host_pools(deps.cells, entry.host):
            shown.append({"host": entry.host, "properties": p.props, "free": p.free})
    return {"pools": shown}


@router.post("/schedule/explain")
def explain(body: ExplainRequest, ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """Each host's verdict on a hypothetical request, as `offpath schedule explain` shows it."""
    deps.policy.authorize(ctx, "offpath:admin:schedule:explain", {})
    request = hypothetical_request(
        body.vnic_type,
        physnet=body.physnet,
        ports=body.ports,
        numa_nodes=body.numa_nodes,
        numa_policy=body.numa_policy,
    )
    verdicts = deps.scheduler.explain(request)
    rejected = [v.rejection for v in verdicts if v.rejection is not None]
    return {
        "hosts": [verdict_json(v) for v in verdicts],
        "fits": len(verdicts) - len(rejected),
        "why_not": summarize(rejected, hosts=len(rejected)) if rejected else None,
    }


@router.get("/chassis")
def chassis(ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """The DPU chassis the embedded network service knows, with the representors plugged."""
    deps.policy.authorize(ctx, "offpath:admin:chassis:get", {})
    if deps.chassis is not None:
        # OVN's chassis: the representors they plugged are known only on the DPUs.
        view = deps.chassis
        return {"chassis": [chassis_json(c, alive=view.alive(c), plugs=()) for c in view.all()]}
    registry = ChassisRegistry(deps.cells.api)
    plugs = RepresentorPlugs(deps.cells.api)
    return {
        "chassis": [
            chassis_json(c, alive=registry.alive(c), plugs=plugs.all(chassis=c.hostname))
            for c in registry.all()
        ]
    }

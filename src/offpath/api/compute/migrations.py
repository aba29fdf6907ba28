"""`/compute/v2.1/os-migrations` and a server's in-progress live migrations, in Nova's shape.

Every cell is read; a migration shows its hosts (offpath's nodes are its
hosts), status, type and times, so `openstack server migration list`
shows where a server went and how the move ended.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from fastapi import APIRouter

from offpath.api.auth import Ctx
from offpath.api.compute.context import Version, at_least
from offpath.api.compute.server_view import timestamp
from offpath.api.compute.servers import authorized_server
from offpath.api.deps import Deps
from offpath.api.microversion import Microversion
from offpath.api.policy import own_project
from offpath.conductor.migration_records import (
    FINAL,
    MigrationRecord,
    MigrationType,
    list_migrations,
)
from offpath.conductor.server_reads import list_servers
from offpath.db.cells import CellDatabases
from offpath.db.engine import reading
from offpath.errors import MigrationNotFoundByStatus, OffpathError

LOG = logging.getLogger(__name__)

router = APIRouter(prefix="/compute/v2.1", tags=["compute"])

_MIGRATIONS: Final = "os_compute_api:os-migrations"
_HOST_KEYS: Final = ("source_node", "dest_node", "source_compute", "dest_compute", "dest_host")


def _all(cells: CellDatabases, *, instance_uuid: str | None = None) -> list[MigrationRecord]:
    found: list[MigrationRecord] = []
    for cell, engine in cells.host_cells():
        try:
            with reading(engine) as session:
                found.extend(list_migrations(session, instance_uuid=instance_uuid))
        except OffpathError as exc:
            LOG.warning("cell %s left out of the migration list: %s", cell.name, exc.message)
    found.sort(key=lambda m: (m.created_at, m.id), reverse=True)
    return found


def migration_view(migration: MigrationRecord, version: Microversion) -> dict[str, Any]:
    """One migration as `os-migrations` shows it."""
    view: dict[str, Any] = {
        "id": migration.id,
        "source_node": migration.source_compute,
        "dest_node": migration.dest_compute,
        "source_compute": migration.source_compute,
        "dest_compute": migration.dest_compute,
        "dest_host": None,
        "status": migration.status.value,
        "instance_uuid": migration.instance_uuid,
        "old_instance_type_id": None,
        "new_instance_type_id": None,
        "created_at": timestamp(migration.created_at),
        "updated_at": timestamp(migration.updated_at),
    }
    if at_least(version, 23):
        view["migration_type"] = migration.migration_type.value
    if at_least(version, 59):
        view["uuid"] = migration.uuid
    if at_least(version, 80):
        view["user_id"] = None
        view["project_id"] = None
    return view


@router.get("/os-migrations")
def index(
    *,
    ctx: Ctx,
    deps: Deps,
    v: Version,
    instance_uuid: str | None = None,
    status: str | None = None,
    migration_type: str | None = None,
    host: str | None = None,
    source_compute: str | None = None,
) -> dict[str, Any]:
    """Every migration, newest first, filtered as Nova filters.

    A project's manager sees its own project's migrations, without hosts;
    the admin sees every project's, with hosts (Nova's three rules).
    """
    deps.policy.authorize(ctx, f"{_MIGRATIONS}:index", own_project(ctx))
    found = _all(deps.cells, instance_uuid=instance_uuid)
    if not deps.policy.allows(ctx, f"{_MIGRATIONS}:index:all_projects", own_project(ctx)):
        mine = {
            s.uuid
            for s in list_servers(deps.cells, project_id=ctx.project_id or "", include_deleted=True)
        }
        found = [m for m in found if m.instance_uuid in mine]
    with_hosts = deps.policy.allows(ctx, f"{_MIGRATIONS}:index:host", own_project(ctx))
    if status:
        found = [m for m in found if m.status.value == status]
    if migration_type:
        found = [m for m in found if m.migration_type.value == migration_type]
    if host:
        found = [m for m in found if host in (m.source_compute, m.dest_compute)]
    if source_compute:
        found = [m for m in found if m.source_compute == source_compute]
    shown = [migration_view(m, v) for m in found]
    if not with_hosts:
        for view in shown:
            view.update(dict.fromkeys(_HOST_KEYS))
    return {"migrations": shown}


def _in_progress_view(migration: MigrationRecord) -> dict[str, Any]:
    return {
        "id": migration.id,
        "uuid": migration.uuid,
        "server_uuid": migration.instance_uuid,
        "source_compute": migration.source_compute,
        "dest_compute": migration.dest_compute,
        "source_node": migration.source_compute,
        "dest_node": migration.dest_compute,
        "dest_host": None,
        "status": migration.status.value,
        "created_at": timestamp(migration.created_at),
        "updated_at": timestamp(migration.updated_at),
        # A guest without disks to copy: only its memory, which libvirt reports, not offpath.
        "memory_total_bytes": None,
        "memory_processed_bytes": None,
        "memory_remaining_bytes": None,
        "disk_total_bytes": None,
        "disk_processed_bytes": None,
        "disk_remaining_bytes": None,
        "user_id": None,
        "project_id": None,
    }


def _live_in_progress(deps: Deps, server_uuid: str) -> list[MigrationRecord]:
    return [
        m
        for m in _all(deps.cells, instance_uuid=server_uuid)
        if m.migration_type is MigrationType.LIVE_MIGRATION and m.status not in FINAL
    ]


@router.get("/servers/{server_id}/migrations")
def server_migrations(server_id: str, ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """The server's live migrations in progress (Nova lists only those)."""
    server = authorized_server(deps, ctx, server_id, "os_compute_api:servers:migrations:index")
    return {"migrations": [_in_progress_view(m) for m in _live_in_progress(deps, server.uuid)]}


@router.get("/servers/{server_id}/migrations/{migration_id}")
def server_migration(server_id: str, migration_id: str, ctx: Ctx, deps: Deps) -> dict[str, Any]:
    """One live migration in progress of the server."""
    server = authorized_server(deps, ctx, server_id, "os_compute_api:servers:migrations:show")
    for migration in _live_in_progress(deps, server.uuid):
        if str(migration.id) == migration_id or migration.uuid == migration_id:
            return {"migration": _in_progress_view(migration)}
    raise MigrationNotFoundByStatus(server.uuid, "running")

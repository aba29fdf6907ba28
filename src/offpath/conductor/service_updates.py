"""An operator's changes to a compute service: disabled (with a reason) or enabled, forced down
or up.

Forcing a service down is how an operator says its host is fenced: it
counts as down at once, whatever its heartbeats, so its servers can be
evacuated (Nova's `forced_down`). Disabled hosts take no new servers. As
Nova's os-services does from 2.53, only compute services can be changed.
"""

from __future__ import annotations

from offpath.conductor.host_reads import ServiceEntry, find_service_entry
from offpath.db.cells import CellDatabases
from offpath.db.engine import writing
from offpath.db.services import ServiceFlags, update_service
from offpath.errors import ServiceNotFound, ServiceUpdateInvalid
from offpath.version import COMPUTE_BINARY


def update_compute_service(cells: CellDatabases, id_: str, flags: ServiceFlags) -> ServiceEntry:
    """Apply `flags` to the compute service `id_`; the service as it is now."""
    entry = find_service_entry(cells, id_)
    binary = entry.record.binary
    if binary != COMPUTE_BINARY:
        raise ServiceUpdateInvalid(
            f"Updating a {binary} service is not supported. "
            f"Only {COMPUTE_BINARY} services can be updated."
        )
    with writing(cells.engine(entry.cell)) as session:
        record = update_service(
            session,
            host=entry.record.host,
            binary=binary,
            flags=flags,
            cell=entry.cell.name,
        )
    if record is None:
        # Deleted between the read and the write.
        raise ServiceNotFound(id_)
    return ServiceEntry(entry.id, entry.cell, record)

"""The remote-managed version gate: refused until every compute service in every cell is new enough.

As Nova checks it: the minimum non-zero compute service version over all
cells, asked concurrently; a cell that errors or does not answer in time is
skipped with a warning. Unlike Nova, no compute service at all is its own
error rather than "upgrade not finished".
"""

from __future__ import annotations

from offpath.db.cells import CellDatabases
from offpath.db.services import global_minimum, minimum_version_all_cells
from offpath.errors import ForbiddenWithRemoteManagedPorts, NoComputeServices
from offpath.version import COMPUTE_BINARY, SUPPORT_VNIC_TYPE_REMOTE_MANAGED


def check_remote_managed_supported(cells: CellDatabases, *, timeout: float) -> int:
    """The minimum compute version when it allows remote-managed ports; raises otherwise."""
    minimum = global_minimum(minimum_version_all_cells(cells, COMPUTE_BINARY, timeout=timeout))
    if minimum == 0:
        raise NoComputeServices()
    if minimum < SUPPORT_VNIC_TYPE_REMOTE_MANAGED:
        raise ForbiddenWithRemoteManagedPorts(minimum, SUPPORT_VNIC_TYPE_REMOTE_MANAGED)
    return minimum

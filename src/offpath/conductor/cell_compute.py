"""Reaching a host's agent through its own cell's message queue.

As in Nova, each cell records its `transport_url`; a host's casts go to the
queue of the cell its compute service is registered in, capped at the
compute RPC version of that cell's oldest compute service. Cells without a
`transport_url` use the deployment's default. The in-process queue
(`fake://`) is one per process, so there each cell gets an exchange of its
own (`in_process_exchange`): two cells never hear each other's conductors
or agents, as with separate RabbitMQ virtual hosts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence

from sqlalchemy import select

from offpath.compute.rpcapi import ComputeAPI
from offpath.compute.step_result import StepResult
from offpath.db.cell_schema import ServiceRow
from offpath.db.cells import Cell, CellDatabases
from offpath.db.engine import reading
from offpath.db.services import minimum_version
from offpath.errors import ComputeHostNotFound
from offpath.rpc.context import RequestContext
from offpath.rpc.transport import IN_PROCESS_SCHEME, Rpc
from offpath.version import COMPUTE_BINARY

# Opens a transport: its URL and, for the in-process queue, the cell's exchange.
OpenRpc = Callable[[str, str | None], Rpc]


def in_process_exchange(cell: Cell) -> str:
    """The exchange that keeps `cell`'s in-process messages apart from other cells'."""
    return f"offpath-{cell.name}"


class CellTransports:
    """One `Rpc` per cell message queue, opened on first use and closed together."""

    def __init__(self, default_url: str, open_rpc: OpenRpc) -> None:
        self.default_url = default_url
        self._open = open_rpc
        self._rpcs: dict[str, Rpc] = {}
        self._lock = threading.Lock()

    def rpc(self, cell: Cell) -> Rpc:
        """The transport of `cell`."""
        url = cell.transport_url or self.default_url
        exchange = None
        if url.startswith(f"{IN_PROCESS_SCHEME}:"):
            exchange = in_process_exchange(cell)
        key = f"{url}#{exchange}"
        with self._lock:
            found = self._rpcs.get(key)
            if found is None:
                found = self._rpcs[key] = self._open(url, exchange)
            return found

    def close(self) -> None:
        """Close every transport opened."""
        with self._lock:
            rpcs, self._rpcs = list(self._rpcs.values()), {}
        for rpc in rpcs:
            rpc.close()


class CellCompute:
    """The conductor's `ComputeCasts` over every cell: each cast goes to the host's cell."""

    def __init__(
        self, cells: CellDatabases, transports: CellTransports, *, long_timeout: float | None = None
    ) -> None:
        self.cells = cells
        self.transports = transports
        self.long_timeout = long_timeout
        self._host_cells: dict[str, Cell] = {}
        self._lock = threading.Lock()

    def cell_of(self, host: str) -> Cell:
        """The cell whose database has `host`'s compute service; ComputeHostNotFound if none."""
        with self._lock:
            known = self._host_cells.get(host)
        if known is not None:
            return known
        for cell, engine in self.cells.host_cells():
            with reading(engine) as session:
                found = session.scalar(
                    select(ServiceRow.id).where(
                        ServiceRow.host == host, ServiceRow.binary == COMPUTE_BINARY
                    )
                )
            if found is not None:
                # A host never moves between cells while its service record lives.
                with self._lock:
                    self._host_cells[host] = cell
                return cell
        raise ComputeHostNotFound(host)

    def for_host(self, host: str) -> ComputeAPI:
        """A client of `host`'s agent, capped at its cell's oldest compute service."""
        cell = self.cell_of(host)
        with reading(self.cells.engine(cell)) as session:
            oldest = minimum_version(session, COMPUTE_BINARY)
        return ComputeAPI(
            self.transports.rpc(cell),
            minimum_service_version=oldest,
            long_timeout=self.long_timeout,
        )

    def build_instance(
        self,
        ctx: RequestContext,
        host: str,
        build: Mapping[str, object],
        *,
        remote_managed: bool = False,
    ) -> None:
        """Cast the build to `host` through its cell's queue."""
        self.for_host(host).build_instance(ctx, host, build, remote_managed=remote_managed)

    def terminate_instance(self, ctx: RequestContext, host: str, instance_uuid: str) -> None:
        """Cast the teardown to `host` through its cell's queue."""
        self.for_host(host).terminate_instance(ctx, host, instance_uuid)

    def external_instance_event(
        self,
        ctx: RequestContext,
        host: str,
        instance_uuid: str,
        events: Sequence[Mapping[str, object]],
    ) -> None:
        """Cast a server's external events to `host`'s agent through its cell's queue."""
        self.for_host(host).external_instance_event(ctx, host, instance_uuid, events)

    def run_step(
        self,
        ctx: RequestContext,
        host: str,
        step: str,
        instance_uuid: str,
        args: Mapping[str, object] | None = None,
        *,
        long: bool = False,
    ) -> StepResult:
        """Call `host` for a step of a server operation through its cell's queue."""
        return self.for_host(host).run_step(ctx, host, step, instance_uuid, args, long=long)

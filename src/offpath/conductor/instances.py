"""Boot and delete, as Nova's conductor runs them: validate, gate, request, schedule, claim, cast.

A boot is keyed by its instance uuid: a retried boot finds the instance
mapping already there and answers with what happened the first time, so it
never allocates twice. The claim, the instance record and its PCI requests
commit in one cell transaction. A boot that fails releases every claim and
leaves the instance in ERROR, in cell0 when no host took it, with a fault
whose message says why each host was rejected.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offpath.compute.build_result import BuildResult
from offpath.compute.port_binding import PortBinding, unbind_instance_ports
from offpath.conductor.build_messages import build_message
from offpath.conductor.build_outcome import (
    BUILDING,
    DELETED,
    ERROR,
    add_fault,
    fail_instance,
    record_build_result,
    release_claims,
)
from offpath.conductor.instance_requests import request_row
from offpath.conductor.port_directory import PortDirectory
from offpath.conductor.version_gate import check_remote_managed_supported
from offpath.db.api_schema import CellRow, InstanceMappingRow, RequestSpecRow
from offpath.db.cell_schema import (
    InstanceActionEventRow,
    InstanceActionRow,
    InstanceFaultRow,
    InstanceRow,
    PciDeviceRow,
)
from offpath.db.cells import Cell, CellDatabases
from offpath.db.columns import utcnow
from offpath.db.device_claims import Claim
from offpath.db.engine import reading, write_retrying, writing
from offpath.db.instance_metadata import write_metadata
from offpath.db.services import list_services
from offpath.errors import (
    HostChangedConcurrently,
    InstanceNotFound,
    OffpathError,
    PortInUse,
    PortNotFound,
)
from offpath.pci.alias import PciAlias
from offpath.pci.flavor import Flavor, flavor_pci_requests
from offpath.pci.request import PciRequest
from offpath.ports.pci_request import request_from_port
from offpath.ports.vnic import VnicType
from offpath.rpc.context import RequestContext, new_request_id
from offpath.scheduler.host_state import HostState
from offpath.scheduler.request import PlacementRequest
from offpath.scheduler.scheduler import Scheduler
from offpath.version import COMPUTE_BINARY

LOG = logging.getLogger(__name__)

SPAWNING = "spawning"


class ComputeCasts(Protocol):
    """What the conductor sends a host's agent; `offpath.compute.rpcapi.ComputeAPI` is one."""

    def build_instance(
        self,
        ctx: RequestContext,
        host: str,
        build: Mapping[str, object],
        *,
        remote_managed: bool = False,
    ) -> None:
        """Cast: build the instance with its claimed devices."""
        ...

    def terminate_instance(self, ctx: RequestContext, host: str, instance_uuid: str) -> None:
        """Cast: tear the instance down."""
        ...

    def external_instance_event(
        self,
        ctx: RequestContext,
        host: str,
        instance_uuid: str,
        events: Sequence[Mapping[str, object]],
    ) -> None:
        """Cast: events about the instance (`network-vif-plugged`, ...) to its host."""
        ...


@dataclass(frozen=True, slots=True)
class BootRequest:
    """A server create: its uuid (the idempotency key), owner, flavor and ports."""

    instance_uuid: str
    name: str
    project_id: str
    flavor: Flavor
    port_ids: tuple[str, ...] = ()
    request_id: str = ""
    # What the API shows of the server later: the image and flavor it was asked with.
    image_ref: str = ""
    flavor_id: str = ""
    # The user whose token asked; None for the static token.
    user_id: str | None = None
    # The server's metadata, kept with its record from the start (in cell0 too).
    metadata: dict[str, str] = field(default_factory=dict)
    # The caller's key pair it boots with: its name and public key (Nova's key_name, key_data).
    key_name: str | None = None
    key_data: str | None = None


@dataclass(frozen=True, slots=True)
class InstanceView:
    """An instance as a caller sees it after a boot or delete."""

    uuid: str
    cell: str
    host: str | None
    vm_state: str
    task_state: str | None
    fault: str | None
    devices: tuple[str, ...] = ()


class InstanceConductor:
    """Boots and deletes instances over the API database, the cells and the scheduler."""

    def __init__(
        self,
        cells: CellDatabases,
        scheduler: Scheduler,
        ports: PortDirectory,
        *,
        aliases: Mapping[str, PciAlias] | None = None,
        compute: ComputeCasts | None = None,
        cell_timeout: float = 10.0,
        binding: PortBinding | None = None,
        service_down_time: int = 60,
        release_timeout: float = 10.0,
        release_poll: float = 0.05,
    ) -> None:
        self.cells = cells
        self.scheduler = scheduler
        self.ports = ports
        self.aliases = dict(aliases or {})
        self.compute = compute
        self.cell_timeout = cell_timeout
        # Unbinds the ports of a server whose host is down (Nova's local delete).
        self.binding = binding
        self.service_down_time = service_down_time
        # How long a delete waits for the host's agent to release the ports, then unbinds them.
        self.release_timeout = release_timeout
        self.release_poll = release_poll

    # -- boot -------------------------------------------------------------

    def boot(self, request: BootRequest) -> InstanceView:
        """Create the instance: placed and claimed, or in ERROR with a fault saying why."""
        # One request id for the action record and the messages it causes.
        request = replace(request, request_id=request.request_id or new_request_id())
        try:
            return self.show(request.instance_uuid)
        except InstanceNotFound:
            pass
        placement, pci_requests = self._prepare(request)
        if not self._map(request, placement):
            return self.show(request.instance_uuid)
        try:
            host, claim = self._schedule(request, placement, pci_requests)
        except OffpathError as exc:
            self._bury(request, exc)
            return self.show(request.instance_uuid)
        self._set_cell(request.instance_uuid, host.cell)
        if self.compute is not None:
            try:
                self.compute.build_instance(
                    _context(request),
                    host.host,
                    _build_message(request, claim, pci_requests),
                    remote_managed=placement.remote_managed,
                )
            except OffpathError as exc:
                self._fail_after_claim(request.instance_uuid, host.cell, exc)
        return self.show(request.instance_uuid)

    def _prepare(self, request: BootRequest) -> tuple[PlacementRequest, list[PciRequest]]:
        """Validate the ports, run the version gate, build every PCI request."""
        pci_requests: list[PciRequest] = []
        remote_managed = False
        flavor_policy = request.flavor.numa_policy
        for port_id in request.port_ids:
            port = self.ports.show_port(port_id)
            if port.device_id and port.device_id != request.instance_uuid:
                raise PortInUse(port_id)
            if port.vnic_type is VnicType.REMOTE_MANAGED:
                remote_managed = True
            network = self.ports.show_network(port.network_id)
            found = request_from_port(port, network, flavor_numa_policy=flavor_policy)
            if found is not None:
                pci_requests.append(found)
        if remote_managed:
            check_remote_managed_supported(self.cells, timeout=self.cell_timeout)
        pci_requests.extend(flavor_pci_requests(request.flavor, self.aliases))
        placement = PlacementRequest(
            tuple(pci_requests), remote_managed=remote_managed, numa_nodes=request.flavor.numa_nodes
        )
        return placement, pci_requests

    def _map(self, request: BootRequest, placement: PlacementRequest) -> bool:
        """Record the mapping and request spec; False when a concurrent retry got there first."""
        try:
            return self._insert_mapping(request, placement)
        except IntegrityError:
            return False

    def _insert_mapping(self, request: BootRequest, placement: PlacementRequest) -> bool:
        with writing(self.cells.api) as session:
            if session.scalars(
                select(InstanceMappingRow).where(
                    InstanceMappingRow.instance_uuid == request.instance_uuid
                )
            ).first():
                return False
            session.add(
                InstanceMappingRow(
                    instance_uuid=request.instance_uuid, project_id=request.project_id
                )
            )
            session.add(
                RequestSpecRow(
                    instance_uuid=request.instance_uuid,
                    spec={
                        "flavor": request.flavor.to_primitive(),
                        "port_ids": list(request.port_ids),
                        "remote_managed": placement.remote_managed,
                        "numa_nodes": placement.numa_nodes,
                        "image_ref": request.image_ref,
                        "flavor_id": request.flavor_id,
                    },
                )
            )
        return True

    def _schedule(
        self, request: BootRequest, placement: PlacementRequest, pci_requests: list[PciRequest]
    ) -> tuple[HostState, Claim]:
        def record(session: Session, host: HostState, claim: Claim) -> None:
            _add_instance(session, request, host=host.host, vm_state=BUILDING, task=SPAWNING)
            for pci in pci_requests:
                session.add(request_row(request.instance_uuid, pci))
            _add_action(session, request, "create", "conductor_schedule_and_build_instances")

        placed, _ = self.scheduler.schedule_and_claim(
            placement, instance_uuid=request.instance_uuid, on_claimed=record
        )
        return placed.host, placed.claim

    def _bury(self, request: BootRequest, exc: OffpathError) -> None:
        """Keep a boot no host took in cell0, in ERROR, with the reason as its fault."""
        cell0 = next(cell for cell in self.cells.cells() if cell.is_cell0)
        with writing(self.cells.engine(cell0)) as session:
            _add_instance(session, request, host=None, vm_state=ERROR, task=None)
            _add_fault(session, request.instance_uuid, exc)
            _add_action(
                session,
                request,
                "create",
                "conductor_schedule_and_build_instances",
                result="Error",
                details=exc.message,
            )
        self._set_cell(request.instance_uuid, cell0)

    def _fail_after_claim(self, instance_uuid: str, cell: Cell, exc: OffpathError) -> None:
        LOG.warning("instance %s: build not sent (%s); releasing its claims", instance_uuid, exc)

        def work(session: Session) -> None:
            fail_instance(session, instance_uuid, message=exc.message, code=exc.code)

        write_retrying(self.cells.engine(cell), work, retry_on=HostChangedConcurrently)

    def _set_cell(self, instance_uuid: str, cell: Cell) -> None:
        with writing(self.cells.api) as session:
            mapping = session.scalars(
                select(InstanceMappingRow).where(InstanceMappingRow.instance_uuid == instance_uuid)
            ).one()
            cell_id = session.scalars(select(CellRow.id).where(CellRow.uuid == cell.uuid)).one()
            mapping.cell_id = cell_id

    # -- delete -----------------------------------------------------------

    def delete(self, instance_uuid: str, *, request_id: str | None = None) -> InstanceView:
        """Tell the host to tear the instance down, then free its devices; idempotent.

        As in Nova, a VF is free again only once its guest is gone: after the
        host released the instance's ports, or after the local delete when the
        host is down or does not answer. The conductor's sweep frees what a
        delete cut short left held.
        """
        ctx = RequestContext(request_id=request_id or new_request_id())
        cell = self.locate(instance_uuid)
        if cell is None:
            # Still being scheduled: there is nothing to free yet.
            raise InstanceNotFound(instance_uuid)

        def work(session: Session) -> tuple[bool, str | None]:
            row = session.get(InstanceRow, instance_uuid)
            if row is None:
                raise InstanceNotFound(instance_uuid)
            if row.vm_state == DELETED:
                return False, None
            host = row.host
            row.vm_state = DELETED
            row.task_state = None
            row.deleted_at = row.updated_at = utcnow()
            session.add(
                InstanceActionRow(
                    instance_uuid=instance_uuid,
                    action="delete",
                    request_id=ctx.request_id,
                    project_id=row.project_id,
                    finish_time=utcnow(),
                )
            )
            return True, host

        deleted_now, host = write_retrying(
            self.cells.engine(cell), work, retry_on=HostChangedConcurrently
        )
        if not deleted_now:
            return self.show(instance_uuid)
        port_ids = self.port_ids(instance_uuid)
        if host is not None and self.compute is not None and self.host_up(cell, host):
            try:
                self.compute.terminate_instance(ctx, host, instance_uuid)
            except OffpathError as exc:
                # The devices are free already; the ports are unbound from here.
                LOG.warning("instance %s: terminate not sent to %s: %s", instance_uuid, host, exc)
            else:
                # A client that saw the server gone may reuse its ports at once (as
                # with Nova, where the server stays until its ports are released).
                if self._released(instance_uuid, port_ids):
                    self._free(cell, instance_uuid)
                    return self.show(instance_uuid)
                LOG.warning(
                    "instance %s: %s did not release its ports within %.1f s; unbinding here",
                    instance_uuid,
                    host,
                    self.release_timeout,
                )
        self._local_delete(instance_uuid, port_ids)
        self._free(cell, instance_uuid)
        return self.show(instance_uuid)

    def _free(self, cell: Cell, instance_uuid: str) -> None:
        """Free a deleted instance's devices and drop its PCI requests."""
        write_retrying(
            self.cells.engine(cell),
            lambda session: release_claims(session, instance_uuid),
            retry_on=HostChangedConcurrently,
        )

    def port_ids(self, instance_uuid: str) -> list[str]:
        """The ports the instance was booted with, from its request spec."""
        with reading(self.cells.api) as session:
            spec = session.scalars(
                select(RequestSpecRow.spec).where(RequestSpecRow.instance_uuid == instance_uuid)
            ).first()
        listed = spec.get("port_ids") if isinstance(spec, dict) else None
        return [p for p in listed if isinstance(p, str)] if isinstance(listed, list) else []

    def _released(self, instance_uuid: str, port_ids: Sequence[str]) -> bool:
        """True once no port names the instance any more; False after `release_timeout`."""
        if self.binding is None:
            return True
        deadline = time.monotonic() + self.release_timeout
        pending = list(port_ids)
        while True:
            pending = [p for p in pending if self._holds(p, instance_uuid)]
            if not pending or time.monotonic() >= deadline:
                return not pending
            time.sleep(self.release_poll)

    def _holds(self, port_id: str, instance_uuid: str) -> bool:
        assert self.binding is not None
        try:
            return self.binding.show_port(port_id).device_id == instance_uuid
        except PortNotFound:
            return False
        except OffpathError as exc:
            # Unreadable now: the unbind from here tries it again, and logs.
            LOG.warning("port %s: cannot read it: %s", port_id, exc.message)
            return True

    def host_up(self, cell: Cell, host: str) -> bool:
        """True while the compute service of `host` heartbeats."""
        with reading(self.cells.engine(cell)) as session:
            services = list_services(session, binary=COMPUTE_BINARY)
        return any(
            s.host == host and s.is_up(service_down_time=self.service_down_time) for s in services
        )

    def _local_delete(self, instance_uuid: str, port_ids: Sequence[str]) -> None:
        """No agent tore the instance down: unbind its ports from here (local delete)."""
        if self.binding is None:
            LOG.warning("instance %s: its ports stay bound (no network service)", instance_uuid)
            return
        unbound = unbind_instance_ports(self.binding, instance_uuid, port_ids)
        LOG.info(
            "instance %s deleted locally; ports unbound: %s",
            instance_uuid,
            ", ".join(unbound) or "none",
        )

    # -- agents' reports and events ----------------------------------------

    def build_finished(self, result: BuildResult) -> bool:
        """Record how a build ended (see `record_build_result`); False if no longer wanted."""
        try:
            cell = self.locate(result.instance_uuid)
        except InstanceNotFound:
            return False
        if cell is None:
            return False
        return record_build_result(self.cells.engine(cell), result)

    def external_instance_events(
        self, instance_uuid: str, events: Sequence[Mapping[str, object]]
    ) -> bool:
        """Send events to the host of the instance; False when it has no host to tell."""
        view = self.show(instance_uuid)
        if view.host is None or self.compute is None:
            return False
        self.compute.external_instance_event(
            RequestContext(), view.host, instance_uuid, list(events)
        )
        return True

    # -- reads ------------------------------------------------------------

    def show(self, instance_uuid: str) -> InstanceView:
        """The instance as its cell records it (still scheduling: in no cell yet)."""
        cell = self.locate(instance_uuid)
        if cell is None:
            return InstanceView(instance_uuid, "", None, BUILDING, "scheduling", None)
        with reading(self.cells.engine(cell)) as session:
            row = session.get(InstanceRow, instance_uuid)
            if row is None:
                raise InstanceNotFound(instance_uuid)
            return _view(row, cell, session)

    def locate(self, instance_uuid: str) -> Cell | None:
        """The cell holding the instance (None while scheduled); InstanceNotFound if unknown."""
        with reading(self.cells.api) as session:
            found = session.execute(
                select(InstanceMappingRow.id, CellRow)
                .outerjoin(CellRow, InstanceMappingRow.cell_id == CellRow.id)
                .where(InstanceMappingRow.instance_uuid == instance_uuid)
            ).first()
        if found is None:
            raise InstanceNotFound(instance_uuid)
        row = found[1]
        return None if row is None else Cell.of_row(row)


def _add_instance(
    session: Session, request: BootRequest, *, host: str | None, vm_state: str, task: str | None
) -> None:
    session.add(
        InstanceRow(
            uuid=request.instance_uuid,
            project_id=request.project_id,
            user_id=request.user_id,
            name=request.name,
            host=host,
            vm_state=vm_state,
            task_state=task,
            flavor=request.flavor.to_primitive(),
            key_name=request.key_name,
            key_data=request.key_data,
        )
    )
    session.flush()
    if request.metadata:
        # A new server has none yet: nothing to read first.
        write_metadata(session, request.instance_uuid, request.metadata, before={})


def _add_fault(session: Session, instance_uuid: str, exc: OffpathError) -> None:
    add_fault(session, instance_uuid, message=exc.message, code=exc.code)


def _add_action(
    session: Session,
    request: BootRequest,
    action: str,
    event: str,
    *,
    result: str = "Success",
    details: str | None = None,
) -> None:
    now = utcnow()
    row = InstanceActionRow(
        instance_uuid=request.instance_uuid,
        action=action,
        request_id=request.request_id,
        project_id=request.project_id,
        finish_time=now,
        message=None if result == "Success" else result,
    )
    session.add(row)
    session.flush()
    session.add(
        InstanceActionEventRow(
            action_id=row.id, event=event, result=result, details=details, finish_time=now
        )
    )


def _context(request: BootRequest) -> RequestContext:
    return RequestContext(request_id=request.request_id, project_id=request.project_id)


def _build_message(
    request: BootRequest, claim: Claim, pci_requests: list[PciRequest]
) -> dict[str, object]:
    return build_message(
        instance_uuid=request.instance_uuid,
        name=request.name,
        flavor=request.flavor.to_primitive(),
        port_ids=request.port_ids,
        devices=claim.devices,
        requesters={pci.request_id: pci.requester_id for pci in pci_requests},
    )


def _view(row: InstanceRow, cell: Cell, session: Session) -> InstanceView:
    fault = session.scalars(
        select(InstanceFaultRow.message)
        .where(InstanceFaultRow.instance_uuid == row.uuid)
        .order_by(InstanceFaultRow.id.desc())
    ).first()
    devices = tuple(
        session.scalars(
            select(PciDeviceRow.address)
            .where(PciDeviceRow.instance_uuid == row.uuid)
            .order_by(PciDeviceRow.address)
        )
    )
    return InstanceView(row.uuid, cell.name, row.host, row.vm_state, row.task_state, fault, devices)

"""Server actions that keep the server on its host: stop/start, reboot, suspend/resume, shelve,
interface attach/detach, and unshelve (which places it again).

Nova's rules, the same for remote-managed and direct ports: stop and
start keep the VFs claimed; shelve-offload unbinds every port (the profile
loses its PCI keys, the host is cleared) and frees the VFs, keeping the
PCI requests that unshelve claims again on the host it lands on; an
attach claims a VF on the server's own host for the port's PCI request
(version gate first for a remote-managed port), and anything that fails
on the way is undone: the port unbound, the VF free, the request gone.
"""

from __future__ import annotations

import logging
from typing import Final

from sqlalchemy.orm import Session

from offpath.compute.step_result import StepResult
from offpath.conductor.build_messages import build_message
from offpath.conductor.instance_requests import drop_request, load_requests, request_row
from offpath.conductor.instance_states import TaskState, VmState, end_action
from offpath.conductor.migration_records import (
    FINAL,
    MigrationStatus,
    list_migrations,
    set_status,
)
from offpath.conductor.operation_base import Operation, OperationBase
from offpath.conductor.operation_log import close_action, open_action
from offpath.conductor.placement import place
from offpath.conductor.version_gate import check_remote_managed_supported
from offpath.db.cell_schema import InstanceRow
from offpath.db.device_claims import claim_devices, free_instance_devices
from offpath.db.engine import writing
from offpath.errors import (
    InstanceNotFound,
    InterfaceAttachFailed,
    InterfaceAttachPciClaimFailed,
    MoveFailed,
    OffpathError,
    PciDeviceRequestFailed,
    PortInUse,
    PortNotAttached,
)
from offpath.pci.flavor import Flavor
from offpath.ports.events import Operation as StepOperation
from offpath.ports.pci_request import request_from_port
from offpath.ports.vnic import VnicType
from offpath.rpc.context import new_request_id
from offpath.scheduler.scheduler import Target

LOG = logging.getLogger(__name__)

# Nova's [DEFAULT] shelved_offload_time: 0 offloads at once, -1 never.
OFFLOAD_AT_ONCE: Final = 0


class ServerActions:
    """The actions of `POST /servers/{id}/action` that move no guest, and `os-interface`."""

    def __init__(self, base: OperationBase, *, shelved_offload_time: int = OFFLOAD_AT_ONCE) -> None:
        self.base = base
        self.shelved_offload_time = shelved_offload_time

    # -- power ---------------------------------------------------------------

    def stop(self, instance_uuid: str, *, request_id: str | None = None) -> None:
        """Power the guest off; its VFs stay claimed (SHUTOFF)."""
        op = self.base.begin(instance_uuid, "stop", request_id=request_id)
        self.base.run(op, lambda op: self._power(op, "power_off", VmState.STOPPED, "stop"))

    def start(self, instance_uuid: str, *, request_id: str | None = None) -> None:
        """Power the stopped guest on (ACTIVE)."""
        op = self.base.begin(instance_uuid, "start", request_id=request_id)
        self.base.run(op, lambda op: self._power(op, "power_on", VmState.ACTIVE, "start"))

    def _power(self, op: Operation, step: str, state: VmState, event: str) -> None:
        self.base.step(op, op.host, step, f"compute_{event}_instance")
        self.base.end(op, vm_state=state)

    def reboot(self, instance_uuid: str, *, hard: bool, request_id: str | None = None) -> None:
        """Reboot; a hard one plugs the ports again (noop for remote-managed) and waits only as
        `[workarounds] wait_for_vif_plugged_event_during_hard_reboot` says."""
        action = "reboot_hard" if hard else "reboot"
        op = self.base.begin(instance_uuid, action, request_id=request_id)

        def work(op: Operation) -> None:
            self.base.step(
                op,
                op.host,
                "reboot",
                "compute_reboot_instance",
                {"hard": hard, "port_ids": list(op.port_ids)},
                long=True,
            )
            self.base.end(op, vm_state=VmState.ACTIVE)

        self.base.run(op, work)

    def suspend(self, instance_uuid: str, *, request_id: str | None = None) -> None:
        """Take the VFs out of the guest and save its memory (SUSPENDED)."""
        op = self.base.begin(instance_uuid, "suspend", request_id=request_id)
        self.base.run(op, lambda op: self._power(op, "suspend", VmState.SUSPENDED, "suspend"))

    def resume(self, instance_uuid: str, *, request_id: str | None = None) -> None:
        """Restore the guest and give it back its VFs (ACTIVE)."""
        op = self.base.begin(instance_uuid, "resume", request_id=request_id)

        def work(op: Operation) -> None:
            self.base.step(
                op, op.host, "resume", "compute_resume_instance", {"port_ids": list(op.port_ids)}
            )
            self.base.end(op, vm_state=VmState.ACTIVE)

        self.base.run(op, work)

    # -- shelve --------------------------------------------------------------

    def shelve(self, instance_uuid: str, *, request_id: str | None = None) -> None:
        """Power off; with `shelved_offload_time` 0 (Nova's default) offload at once."""
        op = self.base.begin(instance_uuid, "shelve", request_id=request_id)

        def work(op: Operation) -> None:
            self.base.step(op, op.host, "power_off", "compute_shelve_instance")
            if self.shelved_offload_time != OFFLOAD_AT_ONCE:
                self.base.end(op, vm_state=VmState.SHELVED)
                return
            self.base.end(op, vm_state=VmState.SHELVED, task=TaskState.SHELVING_OFFLOADING)
            op.fallback = VmState.SHELVED
            self._offload(op)

        self.base.run(op, work)

    def shelve_offload(self, instance_uuid: str, *, request_id: str | None = None) -> None:
        """Destroy the shelved guest, unbind its ports and free its VFs (SHELVED_OFFLOADED)."""
        op = self.base.begin(instance_uuid, "shelveOffload", request_id=request_id)
        self.base.run(op, self._offload)

    def _offload(self, op: Operation) -> None:
        self.base.step(
            op,
            op.host,
            "shelve_offload",
            "compute_shelve_offload_instance",
            {"port_ids": list(op.port_ids)},
        )

        def release(session: Session) -> None:
            # The requests stay: unshelve claims them again wherever it lands.
            free_instance_devices(session, op.uuid)

        self.base.end(op, vm_state=VmState.SHELVED_OFFLOADED, clear_host=True, extra=release)

    def unshelve(
        self, instance_uuid: str, *, host: str | None = None, request_id: str | None = None
    ) -> None:
        """Power a shelved guest on; place, claim and rebuild an offloaded one (on `host`)."""
        op = self.base.begin(instance_uuid, "unshelve", request_id=request_id)
        if op.started.vm_state is VmState.SHELVED:
            self.base.run(op, lambda op: self._power(op, "power_on", VmState.ACTIVE, "unshelve"))
            return
        try:
            placed = place(self.base, op, Target(host=host))
        except OffpathError as exc:
            self.base.abandon(op, exc)
            raise
        destination = placed.host

        def work(op: Operation) -> None:
            message = build_message(
                instance_uuid=op.uuid,
                name=op.started.name,
                flavor=op.started.flavor,
                port_ids=op.port_ids,
                devices=placed.devices,
                requesters=placed.requesters,
                operation=StepOperation.SPAWN,
            )
            self.base.set_host(op, destination)
            try:
                self.base.step(
                    op,
                    destination,
                    "finish",
                    "compute_unshelve_instance",
                    {"message": message, "project_id": op.started.project_id, "name": "unshelve"},
                    long=True,
                )
            except MoveFailed:
                self.base.set_host(op, None)
                with writing(op.engine) as session:
                    free_instance_devices(session, op.uuid, on_host=destination)
                raise
            self.base.end(op, vm_state=VmState.ACTIVE, host=destination)

        self.base.run(op, work)

    # -- recovery --------------------------------------------------------------

    def reset_state(
        self, instance_uuid: str, *, state: VmState, request_id: str | None = None
    ) -> tuple[str, ...]:
        """Nova's os-resetState, for a server an operation left half-way (its conductor died).

        The vm state is set and the task state cleared; every move of the
        server still under way goes to `error` and releases what it holds on
        a host other than the server's own. The uuids of those migrations.
        """
        base = self.base
        cell = base.instances.locate(instance_uuid)
        if cell is None:
            raise InstanceNotFound(instance_uuid)
        engine = base.cells.engine(cell)
        ctx_id = request_id or new_request_id()
        with writing(engine) as session:
            row = session.get(InstanceRow, instance_uuid)
            if row is None or row.vm_state == VmState.DELETED:
                raise InstanceNotFound(instance_uuid)
            stuck = [
                m
                for m in list_migrations(session, instance_uuid=instance_uuid)
                if m.status not in FINAL
            ]
            for migration in stuck:
                set_status(session, migration.uuid, MigrationStatus.ERROR)
                for host in {migration.source_compute, migration.dest_compute} - {row.host, None}:
                    free_instance_devices(session, instance_uuid, on_host=host)
            end_action(session, instance_uuid, vm_state=state)
            action = open_action(
                session,
                instance_uuid,
                "resetState",
                request_id=ctx_id,
                project_id=row.project_id,
            )
        close_action(engine, action, instance_uuid=instance_uuid)
        LOG.warning(
            "instance %s reset to %s; migrations put in error: %s",
            instance_uuid,
            state.value,
            ", ".join(m.uuid for m in stuck) or "none",
        )
        return tuple(m.uuid for m in stuck)

    # -- interfaces ------------------------------------------------------------

    def attach_interface(
        self, instance_uuid: str, port_id: str, *, request_id: str | None = None
    ) -> StepResult:
        """Attach the port: claim a VF on the server's host, bind, plug, hot-plug; all or nothing.

        Runs to its end in the request, as Nova's attach does (the API
        answers with the attachment).
        """
        base = self.base
        instances = base.instances
        port = instances.ports.show_port(port_id)
        if port.device_id and port.device_id != instance_uuid:
            raise PortInUse(port_id)
        if port.vnic_type is VnicType.REMOTE_MANAGED:
            check_remote_managed_supported(base.cells, timeout=instances.cell_timeout)
        network = instances.ports.show_network(port.network_id)
        flavor = None
        op = base.begin(instance_uuid, "attach_interface", request_id=request_id)
        try:
            flavor = Flavor.from_primitive(op.started.flavor)
            pci = request_from_port(port, network, flavor_numa_policy=flavor.numa_policy)
            host = op.host
            device = None
            if pci is not None:
                try:
                    with writing(op.engine) as session:
                        claim = claim_devices(session, host, [pci], instance_uuid=op.uuid)
                        session.add(request_row(op.uuid, pci))
                except PciDeviceRequestFailed as exc:
                    raise InterfaceAttachPciClaimFailed(op.uuid, host, exc.message) from exc
                (claimed,) = claim.devices
                device = {
                    "request_id": claimed.request_id,
                    "requester_id": port_id,
                    "selected": claimed.selected.to_primitive(),
                }
            try:
                result = base.step(
                    op,
                    host,
                    "attach_interface",
                    "compute_attach_interface",
                    {"port_id": port_id, "device": device, "project_id": op.started.project_id},
                )
            except MoveFailed as exc:
                if pci is not None:
                    with writing(op.engine) as session:
                        free_instance_devices(session, op.uuid, request_id=pci.request_id)
                        drop_request(session, op.uuid, pci.request_id)
                raise InterfaceAttachFailed(op.uuid, exc.message) from exc
        except OffpathError as exc:
            base.abandon(op, exc)
            raise
        base.update_spec(op.uuid, port_ids=[*op.port_ids, port_id])
        base.end(op)
        return result

    def detach_interface(
        self, instance_uuid: str, port_id: str, *, request_id: str | None = None
    ) -> None:
        """Hot-unplug, unplug and unbind the port, then free its VF and drop its request."""
        base = self.base
        op = base.begin(instance_uuid, "detach_interface", request_id=request_id)
        if port_id not in op.port_ids:
            error = PortNotAttached(port_id, instance_uuid)
            base.abandon(op, error)
            raise error
        try:
            base.step(
                op, op.host, "detach_interface", "compute_detach_interface", {"port_id": port_id}
            )
        except OffpathError as exc:
            base.abandon(op, exc)
            raise

        def release(session: Session) -> None:
            for pci in load_requests(session, op.uuid):
                if pci.requester_id == port_id:
                    free_instance_devices(session, op.uuid, request_id=pci.request_id)
                    drop_request(session, op.uuid, pci.request_id)

        base.update_spec(op.uuid, port_ids=[p for p in op.port_ids if p != port_id])
        base.end(op, extra=release)
        LOG.info("port %s detached from %s", port_id, instance_uuid)

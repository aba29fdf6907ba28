"""Moving a server: cold migrate and resize (then confirm or revert), evacuate, live migrate.

Each move places the server like a boot (the source host left out, or only
the host asked for), claims its VFs on the destination in the transaction
that records the migration with its source -> destination device
mapping, and then, before anything else changes, builds every port's new
binding profile wholly from the destination device: a destination VF
that lacks a field the backend needs (a remote-managed port's card
serial, PF MAC, VF number) stops the move there, with the claim released.
Nova refreshes a live migration's profile only where the source had a
truthy value (a VF number 0 never), and never its physnet; offpath
rebuilds it whole for every move.

No move waits for a plug event the backend sends at bind time: a
remote-managed port's backend confirms instead. A move whose host fails
(or does not answer: its agent died) is rolled back: the server stays on,
or goes back to, the source; the migration is in `error` and holds
nothing on the destination.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from offpath.compute.multiple_bindings import MultipleBindings, bind_ports_to_host
from offpath.conductor.build_messages import build_message
from offpath.conductor.instance_requests import (
    load_requests,
    replace_requests,
    request_of,
    request_primitive,
)
from offpath.conductor.instance_states import TaskState, VmState
from offpath.conductor.migration_records import (
    DeviceMove,
    MigrationRecord,
    MigrationStatus,
    MigrationType,
    create_migration,
    latest_migration,
    list_migrations,
    set_status,
)
from offpath.conductor.operation_base import Operation, OperationBase
from offpath.conductor.placement import Placed, place
from offpath.db.cell_schema import InstanceRow
from offpath.db.columns import utcnow
from offpath.db.device_claims import Claim, ClaimedDevice, free_instance_devices, held_devices
from offpath.db.engine import reading, writing
from offpath.db.services import list_services
from offpath.errors import (
    CannotResizeToSameFlavor,
    ComputeServiceInUse,
    MigrationPreCheckError,
    MoveFailed,
    OffpathError,
    PortBindingFailed,
)
from offpath.pci.device import PciDevice
from offpath.pci.flavor import Flavor, flavor_pci_requests
from offpath.pci.request import PciRequest
from offpath.ports.events import Operation as StepOperation
from offpath.ports.port import Port
from offpath.ports.profile import Profile, refresh_for_move
from offpath.rpc.context import RequestContext
from offpath.scheduler.scheduler import Target
from offpath.version import COMPUTE_BINARY, SUPPORT_SERVER_OPERATIONS

LOG = logging.getLogger(__name__)


class Moves:
    """Cold migrate, resize, confirm, revert, evacuate and live migrate."""

    def __init__(self, base: OperationBase, *, bindings: MultipleBindings | None = None) -> None:
        self.base = base
        # The network's binding-extended API; without it no live migration (Nova's pre-check).
        self.bindings = bindings

    # -- cold migrate and resize -----------------------------------------------

    def migrate(
        self, instance_uuid: str, *, host: str | None = None, request_id: str | None = None
    ) -> MigrationRecord:
        """Cold-migrate to another host (or `host`); the server ends in VERIFY_RESIZE."""
        op = self.base.begin(instance_uuid, "migrate", request_id=request_id)
        return self._cold(op, MigrationType.MIGRATION, Target(frozenset({op.host}), host), None)

    def resize(
        self,
        instance_uuid: str,
        flavor: Flavor,
        *,
        flavor_id: str = "",
        request_id: str | None = None,
    ) -> MigrationRecord:
        """Resize to `flavor` on another host; its aliases replace the old flavor's requests."""
        op = self.base.begin(instance_uuid, "resize", request_id=request_id)
        old_id = self.base.request_spec(instance_uuid).get("flavor_id")
        if flavor.to_primitive() == dict(op.started.flavor) or (flavor_id and flavor_id == old_id):
            error = CannotResizeToSameFlavor()
            self.base.abandon(op, error)
            raise error
        return self._cold(
            op, MigrationType.RESIZE, Target(frozenset({op.host})), flavor, flavor_id=flavor_id
        )

    def _cold(
        self,
        op: Operation,
        kind: MigrationType,
        target: Target,
        flavor: Flavor | None,
        *,
        flavor_id: str = "",
    ) -> MigrationRecord:
        new_flavor = dict(op.started.flavor)
        if flavor is not None:
            # The flavor's id travels with it: the server shows the new flavor from the finish.
            old_id = self.base.request_spec(op.uuid).get("flavor_id")
            op.started = replace(op.started, flavor={**op.started.flavor, "id": old_id})
            new_flavor = {**flavor.to_primitive(), "id": flavor_id}
        try:
            requests, changed = self._requests(op, flavor)
            migration, placed = self._place(
                op,
                kind,
                target,
                requests=requests,
                new_flavor=new_flavor,
                new_requests=requests if changed else None,
                status=MigrationStatus.PRE_MIGRATING,
            )
        except OffpathError as exc:
            self.base.abandon(op, exc)
            raise
        self.base.run(op, lambda op: self._cold_move(op, migration, placed, new_flavor))
        return migration

    def _cold_move(
        self,
        op: Operation,
        migration: MigrationRecord,
        placed: Placed,
        new_flavor: Mapping[str, object],
    ) -> None:
        source, destination = op.host, placed.host
        running = op.started.vm_state is VmState.ACTIVE
        self._status(op, migration, MigrationStatus.MIGRATING, TaskState.RESIZE_MIGRATING)
        try:
            self.base.step(
                op,
                source,
                "drop_guest",
                "compute_resize_instance",
                {"port_ids": list(op.port_ids), "name": "migrate_out"},
            )
        except MoveFailed as exc:
            self._roll_back(op, migration, destination, exc)
            return
        self._status(op, migration, MigrationStatus.POST_MIGRATING, TaskState.RESIZE_FINISH)
        message = build_message(
            instance_uuid=op.uuid,
            name=op.started.name,
            flavor=new_flavor,
            port_ids=op.port_ids,
            devices=placed.devices,
            requesters=placed.requesters,
            operation=StepOperation.FINISH_MIGRATION,
            power_on=running,
        )
        self.base.set_host(op, destination)
        try:
            self.base.step(
                op,
                destination,
                "finish",
                "compute_finish_resize",
                {"message": message, "project_id": op.started.project_id, "name": "finish_resize"},
                long=True,
            )
        except MoveFailed as exc:
            # The destination undid its part (ports unbound): the server goes back home.
            self.base.set_host(op, source)
            try:
                self._restore_source(op, migration)
            except MoveFailed as lost:
                with writing(op.engine) as session:
                    free_instance_devices(session, op.uuid, on_host=destination)
                    set_status(session, migration.uuid, MigrationStatus.ERROR)
                self.base.fail(op, lost, vm_state=VmState.ERROR)
                return
            self._roll_back(op, migration, destination, exc)
            return

        if "id" in new_flavor:
            self.base.update_spec(op.uuid, flavor_id=new_flavor["id"], flavor=dict(new_flavor))

        def finished(session: Session) -> None:
            set_status(session, migration.uuid, MigrationStatus.FINISHED)
            session.execute(
                update(InstanceRow)
                .where(InstanceRow.uuid == op.uuid)
                .values(flavor=dict(new_flavor))
                .execution_options(synchronize_session=False)
            )

        self.base.end(op, vm_state=VmState.RESIZED, host=destination, extra=finished)

    def confirm_resize(self, instance_uuid: str, *, request_id: str | None = None) -> None:
        """Keep the move: free the source's VFs (the new requests become the instance's)."""
        op = self.base.begin(instance_uuid, "confirmResize", request_id=request_id)
        migration = self._finished(op)
        previous = VmState(migration.previous_vm_state)

        def work(op: Operation) -> None:
            source = migration.source_compute or ""
            with writing(op.engine) as session:
                set_status(session, migration.uuid, MigrationStatus.CONFIRMING)
            if self._service_up(op, source):
                # The guest left at migrate time; this clears anything a crash left there.
                self.base.try_step(
                    op,
                    source,
                    "drop_guest",
                    "compute_confirm_resize",
                    {"port_ids": list(op.port_ids), "name": "confirm_resize"},
                )

            def confirmed(session: Session) -> None:
                free_instance_devices(session, op.uuid, on_host=source)
                if migration.new_requests is not None:
                    replace_requests(
                        session, op.uuid, [request_of(r) for r in migration.new_requests]
                    )
                set_status(session, migration.uuid, MigrationStatus.CONFIRMED)

            self.base.end(op, vm_state=previous, extra=confirmed)

        self.base.run(op, work)

    def revert_resize(self, instance_uuid: str, *, request_id: str | None = None) -> None:
        """Undo the move: the guest back on the source with its old VFs; free the destination's."""
        op = self.base.begin(instance_uuid, "revertResize", request_id=request_id)
        migration = self._finished(op)
        op.fallback = VmState.RESIZED

        def work(op: Operation) -> None:
            destination = migration.dest_compute or ""
            with writing(op.engine) as session:
                set_status(session, migration.uuid, MigrationStatus.REVERTING)
            self.base.try_step(
                op,
                destination,
                "drop_guest",
                "compute_revert_resize",
                {"port_ids": list(op.port_ids), "name": "revert_resize"},
            )
            # As Nova's finish_revert_resize: the server is the source's, in its old
            # flavor, before its guest starts there (and stays so if that fails).
            self.base.set_host(op, migration.source_compute)
            if "id" in migration.old_flavor:
                self.base.update_spec(
                    op.uuid,
                    flavor_id=migration.old_flavor["id"],
                    flavor=dict(migration.old_flavor),
                )

            def back_home(session: Session, status: MigrationStatus) -> None:
                free_instance_devices(session, op.uuid, on_host=destination)
                set_status(session, migration.uuid, status)
                session.execute(
                    update(InstanceRow)
                    .where(InstanceRow.uuid == op.uuid)
                    .values(host=migration.source_compute, flavor=dict(migration.old_flavor))
                    .execution_options(synchronize_session=False)
                )

            try:
                self._restore_source(op, migration)
            except MoveFailed as exc:
                with writing(op.engine) as session:
                    back_home(session, MigrationStatus.ERROR)
                self.base.fail(op, exc, vm_state=VmState.ERROR)
                return

            self.base.end(
                op,
                vm_state=VmState(migration.previous_vm_state),
                host=migration.source_compute,
                extra=lambda session: back_home(session, MigrationStatus.REVERTED),
            )

        self.base.run(op, work)

    def _restore_source(self, op: Operation, migration: MigrationRecord) -> None:
        """Bind the ports to the source's VFs again and start the guest there (revert)."""
        source = migration.source_compute or ""
        with reading(op.engine) as session:
            devices = held_devices(session, op.uuid, source)
            requests = load_requests(session, op.uuid)
        message = build_message(
            instance_uuid=op.uuid,
            name=op.started.name,
            flavor=migration.old_flavor,
            port_ids=op.port_ids,
            devices=devices,
            requesters={r.request_id: r.requester_id for r in requests},
            operation=StepOperation.FINISH_REVERT,
            power_on=migration.previous_vm_state == VmState.ACTIVE.value,
        )
        args = {"message": message, "project_id": op.started.project_id, "name": "finish_revert"}
        self.base.step(op, source, "finish", "compute_finish_revert_resize", args, long=True)

    # -- evacuate ----------------------------------------------------------------

    def evacuate(
        self, instance_uuid: str, *, host: str | None = None, request_id: str | None = None
    ) -> MigrationRecord:
        """Rebuild on another host while the source is down; its VFs are freed when it returns."""
        instances = self.base.instances
        cell = instances.locate(instance_uuid)
        source = instances.show(instance_uuid).host
        if cell is not None and source is not None and instances.host_up(cell, source):
            raise ComputeServiceInUse(source)
        op = self.base.begin(instance_uuid, "evacuate", request_id=request_id)
        try:
            migration, placed = self._place(
                op,
                MigrationType.EVACUATION,
                Target(frozenset({op.host}), host),
                requests=None,
                new_flavor=op.started.flavor,
                new_requests=None,
                status=MigrationStatus.PRE_MIGRATING,
            )
        except OffpathError as exc:
            self.base.abandon(op, exc)
            raise
        stopped = op.started.vm_state is VmState.STOPPED

        def work(op: Operation) -> None:
            destination = placed.host
            message = build_message(
                instance_uuid=op.uuid,
                name=op.started.name,
                flavor=op.started.flavor,
                port_ids=op.port_ids,
                devices=placed.devices,
                requesters=placed.requesters,
                operation=StepOperation.SPAWN,
                power_on=not stopped,
            )
            self.base.set_host(op, destination)
            try:
                self.base.step(
                    op,
                    destination,
                    "finish",
                    "compute_rebuild_instance",
                    {"message": message, "project_id": op.started.project_id, "name": "rebuild"},
                    long=True,
                )
            except MoveFailed as exc:
                self.base.set_host(op, op.host)
                with writing(op.engine) as session:
                    free_instance_devices(session, op.uuid, on_host=destination)
                    set_status(session, migration.uuid, MigrationStatus.FAILED)
                self.base.fail(op, exc, vm_state=VmState.ERROR)
                return

            def done(session: Session) -> None:
                set_status(session, migration.uuid, MigrationStatus.DONE)

            self.base.end(
                op,
                vm_state=VmState.STOPPED if stopped else VmState.ACTIVE,
                host=destination,
                extra=done,
            )

        self.base.run(op, work)
        return migration

    # -- live migration -------------------------------------------------------------

    def live_migrate(
        self, instance_uuid: str, *, host: str | None = None, request_id: str | None = None
    ) -> MigrationRecord:
        """Live-migrate: pre-checks, destination claims and inactive bindings, then the move."""
        op = self.base.begin(instance_uuid, "os-migrateLive", request_id=request_id)
        created: list[tuple[str, str]] = []
        try:
            bindings = self._live_prechecks(op)
            migration, placed = self._place(
                op,
                MigrationType.LIVE_MIGRATION,
                Target(frozenset({op.host}), host),
                requests=None,
                new_flavor=op.started.flavor,
                new_requests=None,
                status=MigrationStatus.PREPARING,
            )
            try:
                self._check_version(op, placed.host)
                profiles = self._profiles(op, migration, placed)
                self._bind_destination(op, bindings, placed.host, profiles, created)
            except OffpathError:
                self._release(op, migration, placed.host, created, bindings)
                raise
        except OffpathError as exc:
            self.base.abandon(op, exc)
            raise
        self.base.run(op, lambda op: self._live(op, migration, placed, bindings, created))
        return migration

    def _live_prechecks(self, op: Operation) -> MultipleBindings | None:
        if self.bindings is None and op.port_ids:
            raise MigrationPreCheckError(
                "the network service does not offer the binding-extended API"
            )
        self._check_version(op, op.host)
        with reading(op.engine) as session:
            requests = load_requests(session, op.uuid)
        # As Nova: a flavor's PCI devices move live only if every alias says they can.
        stuck = sorted(
            {
                r.alias_name
                for r in requests
                if r.alias_name is not None
                and not all(str(s.get("live_migratable", "")).lower() == "true" for s in r.spec)
            }
        )
        if stuck:
            raise MigrationPreCheckError(
                f"the flavor's PCI devices of alias {', '.join(stuck)} are not live-migratable "
                '(their alias lacks "live_migratable": "true")'
            )
        return self.bindings

    def _check_version(self, op: Operation, host: str) -> None:
        with reading(op.engine) as session:
            services = list_services(session, binary=COMPUTE_BINARY)
        found = next((s for s in services if s.host == host), None)
        if found is None or found.version < SUPPORT_SERVER_OPERATIONS:
            raise MigrationPreCheckError(
                f"the compute service on {host} is older than service version "
                f"{SUPPORT_SERVER_OPERATIONS} and cannot take part in a live migration"
            )

    def _bind_destination(
        self,
        op: Operation,
        bindings: MultipleBindings | None,
        destination: str,
        profiles: Mapping[str, Profile],
        created: list[tuple[str, str]],
    ) -> None:
        """Inactive bindings on the destination, each with the profile of its new VF."""
        ports = self._ports(op)
        if bindings is None or not ports:
            return
        try:
            made = bind_ports_to_host(bindings, ports, destination, profiles=profiles)
        except PortBindingFailed as exc:
            raise MigrationPreCheckError(exc.message) from exc
        created.extend((port_id, destination) for port_id in made)

    def _live(
        self,
        op: Operation,
        migration: MigrationRecord,
        placed: Placed,
        bindings: MultipleBindings | None,
        created: list[tuple[str, str]],
    ) -> None:
        source, destination = op.host, placed.host
        self._status(op, migration, MigrationStatus.RUNNING, TaskState.MIGRATING)
        try:
            moved = self.base.step(
                op,
                source,
                "live_migrate",
                "compute_live_migration",
                {"destination": destination},
                long=True,
            )
        except MoveFailed as exc:
            # The source gave the guest its VFs back; nothing of the destination stays.
            self._release(op, migration, destination, created, bindings)
            self.base.fail(op, exc)
            return
        try:
            if bindings is not None:
                for port_id, host in created:
                    bindings.activate_port_binding(port_id, host)
                for port_id, _ in created:
                    bindings.delete_port_binding(port_id, source)
            # From here events about the guest go to the destination.
            self.base.set_host(op, destination)
            self.base.step(
                op,
                destination,
                "arrive",
                "compute_post_live_migration_at_destination",
                {
                    "handoff": moved.handoff,
                    "running": op.started.vm_state is VmState.ACTIVE,
                    "port_ids": list(op.port_ids),
                    "project_id": op.started.project_id,
                },
                long=True,
            )
        except OffpathError as exc:
            # The guest left the source already: it is the destination's now, in ERROR.
            with writing(op.engine) as session:
                free_instance_devices(session, op.uuid, on_host=source)
                set_status(session, migration.uuid, MigrationStatus.ERROR)
            self.base.fail(op, exc, vm_state=VmState.ERROR)
            return

        def completed(session: Session) -> None:
            free_instance_devices(session, op.uuid, on_host=source)
            set_status(session, migration.uuid, MigrationStatus.COMPLETED)

        self.base.end(op, vm_state=op.started.vm_state, host=destination, extra=completed)

    def _release(
        self,
        op: Operation,
        migration: MigrationRecord,
        destination: str,
        created: Sequence[tuple[str, str]],
        bindings: MultipleBindings | None,
    ) -> None:
        """A failed live migration: its destination bindings and claims go, it is in error."""
        if bindings is not None:
            for port_id, host in created:
                bindings.delete_port_binding(port_id, host)
        with writing(op.engine) as session:
            free_instance_devices(session, op.uuid, on_host=destination)
            set_status(session, migration.uuid, MigrationStatus.ERROR)

    # -- shared ---------------------------------------------------------------

    def _requests(self, op: Operation, flavor: Flavor | None) -> tuple[list[PciRequest], bool]:
        """The requests to claim on the destination, and whether they differ (a resize)."""
        with reading(op.engine) as session:
            current = load_requests(session, op.uuid)
        if flavor is None:
            return current, False
        ports = [r for r in current if r.alias_name is None]
        aliases = flavor_pci_requests(flavor, self.base.instances.aliases)
        old = [r for r in current if r.alias_name is not None]
        if not aliases and not old:
            return current, False
        return [*ports, *aliases], True

    def _place(
        self,
        op: Operation,
        kind: MigrationType,
        target: Target,
        *,
        requests: Sequence[PciRequest] | None,
        new_flavor: Mapping[str, object],
        new_requests: Sequence[PciRequest] | None,
        status: MigrationStatus,
    ) -> tuple[MigrationRecord, Placed]:
        """Claim on a destination, record the migration beside the claim, pre-check profiles."""
        source = op.host
        recorded: list[MigrationRecord] = []

        def record(session: Session, host: str, claim: Claim) -> None:
            mapping = _device_moves(held_devices(session, op.uuid, source), claim.devices)
            recorded.append(
                create_migration(
                    session,
                    instance_uuid=op.uuid,
                    migration_type=kind,
                    status=status,
                    source=source,
                    destination=host,
                    old_flavor=op.started.flavor,
                    new_flavor=new_flavor,
                    previous_vm_state=op.started.vm_state.value,
                    pci_mapping=mapping,
                    new_requests=None
                    if new_requests is None
                    else [request_primitive(r) for r in new_requests],
                )
            )

        placed = place(self.base, op, target, requests=requests, flavor=new_flavor, record=record)
        migration = recorded[-1]
        if kind is not MigrationType.LIVE_MIGRATION:
            try:
                self._profiles(op, migration, placed)
            except OffpathError:
                with writing(op.engine) as session:
                    free_instance_devices(session, op.uuid, on_host=placed.host)
                    set_status(session, migration.uuid, MigrationStatus.ERROR)
                raise
        return migration, placed

    def _profiles(
        self, op: Operation, migration: MigrationRecord, placed: Placed
    ) -> dict[str, Profile]:
        """Every SR-IOV port's profile on its destination VF, built whole; raises before change."""
        by_address = {d.address: d for d in placed.devices}
        mapping: dict[str, PciDevice] = {}
        physnets: dict[str, str | None] = {}
        for move in migration.pci_mapping:
            claimed = by_address.get(move.destination)
            if claimed is None:
                continue
            mapping[move.source] = claimed.selected.device
            physnet = claimed.selected.tags.get("physical_network")
            physnets[move.destination] = physnet if isinstance(physnet, str) else None
        return refresh_for_move(
            self._ports(op), mapping, physnet_for=lambda device: physnets.get(device.address)
        )

    def _ports(self, op: Operation) -> list[Port]:
        return [self.base.instances.ports.show_port(p) for p in op.port_ids]

    def _status(
        self, op: Operation, migration: MigrationRecord, status: MigrationStatus, task: TaskState
    ) -> None:
        """The move's next stage; MoveFailed when an operator reset it meanwhile (it is final)."""
        with writing(op.engine) as session:
            if not set_status(
                session, migration.uuid, status, expected=list(_UNDER_WAY - {status})
            ):
                raise MoveFailed(
                    op.action, op.uuid, "conductor", "the migration was reset by an operator"
                )
            session.execute(
                update(InstanceRow)
                .where(InstanceRow.uuid == op.uuid, InstanceRow.task_state.is_not(None))
                .values(task_state=task.value, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )

    def _roll_back(
        self, op: Operation, migration: MigrationRecord, destination: str, error: MoveFailed
    ) -> None:
        with writing(op.engine) as session:
            free_instance_devices(session, op.uuid, on_host=destination)
            set_status(session, migration.uuid, MigrationStatus.ERROR)
        self.base.fail(op, error, vm_state=VmState(migration.previous_vm_state))

    def _finished(self, op: Operation) -> MigrationRecord:
        try:
            with reading(op.engine) as session:
                return latest_migration(session, op.uuid, MigrationStatus.FINISHED)
        except OffpathError as exc:
            self.base.abandon(op, exc)
            raise

    def _service_up(self, op: Operation, host: str) -> bool:
        return self.base.instances.host_up(op.cell, host)

    # -- the evacuated host comes back -----------------------------------------------

    def finish_evacuations(self, *, older_than: timedelta = timedelta(0)) -> tuple[str, ...]:
        """Clean the sources of done evacuations whose compute service is up again.

        As Nova's compute does at start-up: the stale guest is destroyed
        (its ports are the destination's, left bound) and the source's
        VFs freed; the migration is then `completed`.
        """
        finished: list[str] = []
        for cell in self.base.cells.cells():
            if cell.is_cell0:
                continue
            engine = self.base.cells.engine(cell)
            with reading(engine) as session:
                done = list_migrations(
                    session,
                    statuses=[MigrationStatus.DONE],
                )
            for migration in done:
                if migration.migration_type is not MigrationType.EVACUATION:
                    continue
                source = migration.source_compute
                if source is None or not self.base.instances.host_up(cell, source):
                    continue
                if utcnow() - migration.updated_at < older_than:
                    continue
                if self._clean_source(migration, source):
                    finished.append(migration.instance_uuid)
        return tuple(finished)

    def _clean_source(self, migration: MigrationRecord, source: str) -> bool:
        """Destroy the stale guest on `source` and free its VFs; False when not done yet."""
        ports = self.base.instances.port_ids(migration.instance_uuid)
        try:
            result = self.base.steps.run_step(
                RequestContext(),
                source,
                "drop_guest",
                migration.instance_uuid,
                {"port_ids": ports, "name": "destroy_evacuated"},
            )
        except OffpathError as exc:
            LOG.warning(
                "evacuated %s: %s not cleaned yet: %s", migration.instance_uuid, source, exc
            )
            return False
        if not result.done:
            LOG.warning("evacuated %s: %s: %s", migration.instance_uuid, source, result.fault)
            return False
        cell = self.base.instances.locate(migration.instance_uuid)
        if cell is None:
            return False
        with writing(self.base.cells.engine(cell)) as session:
            free_instance_devices(session, migration.instance_uuid, on_host=source)
            set_status(
                session, migration.uuid, MigrationStatus.COMPLETED, expected=[MigrationStatus.DONE]
            )
        LOG.info(
            "evacuated %s: its guest on %s destroyed, VFs freed", migration.instance_uuid, source
        )
        return True


# The statuses a move passes through before its end; a reset moves it out of them.
_UNDER_WAY = frozenset(
    {
        MigrationStatus.PRE_MIGRATING,
        MigrationStatus.MIGRATING,
        MigrationStatus.POST_MIGRATING,
        MigrationStatus.PREPARING,
        MigrationStatus.RUNNING,
    }
)


def _device_moves(
    source: Sequence[ClaimedDevice], destination: Sequence[ClaimedDevice]
) -> list[DeviceMove]:
    """Pair each source device with the destination device of the same request, in order."""
    queues: dict[str, list[str]] = {}
    for device in destination:
        queues.setdefault(device.request_id, []).append(device.address)
    moves = []
    for device in source:
        queue = queues.get(device.request_id)
        if queue:
            moves.append(DeviceMove(device.request_id, device.address, queue.pop(0)))
    return moves

"""The agent's steps of every server operation other than build and delete.

The conductor runs an operation (a move, an attach, a reboot) as a few
steps on one or two hosts and asks each host for its step by an RPC call;
each step here runs under the instance's lock, answers a `StepResult`, and
undoes what it did when it fails. The rules are Nova's for direct SR-IOV
ports, which remote-managed ports follow:

* the hostdev interfaces of VFs leave the guest before a suspend or a live
  migration and come back after (on the destination, or on the source
  when the migration is rolled back);
* a port is plugged with os-vif (`noop` for remote-managed: the DPU plugs)
  and never waits for a plug event the backend sends at bind time; where
  an operation waits at all, a remote-managed port is confirmed by the
  backend instead;
* a guest moved away (confirmed resize, evacuation) is destroyed without
  unbinding its ports, which belong to the destination by then.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Final

from offpath.compute.build_message import BuildMessage, ClaimedVf
from offpath.compute.libvirt_guest import domain_name
from offpath.compute.manager import BuildWork, ComputeManager
from offpath.compute.port_binding import unbind_instance_ports
from offpath.compute.step_result import StepResult
from offpath.compute.vif_plugging import instance_info
from offpath.errors import (
    GuestFailed,
    InterfaceAttachFailed,
    OffpathError,
    PortNotAttached,
    PortNotFound,
)
from offpath.ports.events import Operation, wait_plan
from offpath.ports.guest_interface import HostdevInterface, hostdev_interface
from offpath.ports.vif import Vif, vif_from_port
from offpath.ports.vnic import VnicType
from offpath.rpc.context import RequestContext

LOG = logging.getLogger(__name__)

# How the hypervisor is named in a step's record.
LIBVIRT: Final = "libvirt"
SIMULATED: Final = "simulated"


class GuestOperations:
    """One host's part of stop/start, reboot, suspend/resume, attach/detach and every move."""

    def __init__(self, manager: ComputeManager, *, live_migration_uri: str = "") -> None:
        self.manager = manager
        # Nova's [libvirt] live_migration_uri: "%s" is the destination host.
        self.live_migration_uri = live_migration_uri or "qemu+tcp://%s/system"

    @property
    def host(self) -> str:
        """The host this agent runs on."""
        return self.manager.host

    @property
    def hypervisor_kind(self) -> str:
        """`simulated` when the hypervisor plays what the test driver cannot, else `libvirt`."""
        return SIMULATED if self.manager.hypervisor.simulated else LIBVIRT

    # -- power ----------------------------------------------------------------

    def power_off(self, instance_uuid: str) -> StepResult:
        """Stop the guest, keeping its definition, VFs and bindings (Nova's stop)."""
        return self._step(instance_uuid, "power_off", lambda: self._power_off(instance_uuid))

    def _power_off(self, instance_uuid: str) -> None:
        self._require_guest(instance_uuid, "power off")
        self.manager.hypervisor.power_off(instance_uuid)

    def power_on(self, instance_uuid: str) -> StepResult:
        """Start the stopped guest."""
        return self._step(instance_uuid, "power_on", lambda: self._power_on(instance_uuid))

    def _power_on(self, instance_uuid: str) -> None:
        self._require_guest(instance_uuid, "power on")
        self.manager.hypervisor.power_on(instance_uuid)

    def reboot(self, instance_uuid: str, *, hard: bool, port_ids: Sequence[str]) -> StepResult:
        """Reboot; a hard reboot plugs every port again and waits only as the workaround says."""
        started = time.monotonic()
        with self.manager.instance_lock(instance_uuid):
            work = self._work(instance_uuid, port_ids)
            try:
                self._require_guest(instance_uuid, "reboot")
                if hard:
                    self._hard_reboot(work)
                else:
                    self.manager.hypervisor.reboot(instance_uuid, hard=False)
            except OffpathError as exc:
                return self._failed(work, "reboot", exc, started)
            return self._done(work, "reboot", started)

    def _hard_reboot(self, work: BuildWork) -> None:
        info = self._info(work.uuid)
        for port_id in work.message.port_ids:
            vif = self._vif(port_id)
            work.vifs.append(vif)
            self.manager.plug_vif(work, vif, info)
        work.undo.clear()
        plan = wait_plan(
            Operation.HARD_REBOOT, work.vifs, self.manager.settings, backend_confirms=True
        )
        work.plan = plan
        waiter = self.manager.events.prepare(work.uuid, plan.events)
        try:
            self.manager.hypervisor.reboot(work.uuid, hard=True)
            for vif in work.vifs:
                if vif.vnic_type is not VnicType.REMOTE_MANAGED:
                    # The NIC agent sees the VF come back up and the event follows.
                    self.manager.device_up(vif.id)
            self.manager.wait(work, plan, waiter)
        finally:
            self.manager.events.forget(waiter)

    def suspend(self, instance_uuid: str) -> StepResult:
        """Take the VFs out of the guest, then save its memory (libvirt's managed save)."""

        def work() -> None:
            self._require_guest(instance_uuid, "suspend")
            detached = self._detach_all(instance_uuid)
            try:
                self.manager.hypervisor.suspend(instance_uuid)
            except OffpathError:
                self._attach_all(instance_uuid, detached)
                raise

        return self._step(instance_uuid, "suspend", work)

    def resume(self, instance_uuid: str, *, port_ids: Sequence[str]) -> StepResult:
        """Restore the guest, then give it back the VFs its ports are bound to."""

        def work() -> None:
            self._require_guest(instance_uuid, "resume")
            self.manager.hypervisor.power_on(instance_uuid)
            self._attach_ports(instance_uuid, port_ids)

        return self._step(instance_uuid, "resume", work)

    # -- interfaces -----------------------------------------------------------

    def attach_interface(
        self, instance_uuid: str, port_id: str, device: ClaimedVf | None, *, project_id: str
    ) -> StepResult:
        """Bind the port with its VF's profile, plug it (noop for remote-managed), hot-plug it."""
        started = time.monotonic()
        message = BuildMessage(
            instance_uuid, "", 1, 512, (port_id,), (device,) if device is not None else ()
        )
        with self.manager.instance_lock(instance_uuid):
            work = BuildWork(message, project_id)
            try:
                self._require_guest(instance_uuid, "attach an interface to")
                vif = self.manager.bind(work, port_id)
                work.vifs.append(vif)
                self.manager.plug_vif(work, vif, self._info(instance_uuid))
                self.manager.hypervisor.attach_interface(
                    instance_uuid, hostdev_interface(vif), port_id
                )
                if vif.vnic_type is VnicType.DIRECT:
                    # As after a spawn: the NIC agent sees the VF in use and the port goes up.
                    self.manager.device_up(vif.id)
            except OffpathError as exc:
                failure = InterfaceAttachFailed(instance_uuid, exc.message)
                return self._failed(work, "attach_interface", failure, started)
            work.undo.clear()
            return self._done(work, "attach_interface", started)

    def detach_interface(self, instance_uuid: str, port_id: str) -> StepResult:
        """Hot-unplug the port's VF, unplug the port and unbind it (profile PCI keys removed)."""

        def work() -> None:
            try:
                port = self.manager.network.show_port(port_id)
            except PortNotFound:
                raise PortNotAttached(port_id, instance_uuid) from None
            if port.device_id != instance_uuid:
                raise PortNotAttached(port_id, instance_uuid)
            vif = self._vif(port_id)
            if self.manager.hypervisor.guest_xml(instance_uuid) is not None:
                self.manager.hypervisor.detach_interface(
                    instance_uuid, hostdev_interface(vif), port_id
                )
            self.manager.unplug_port(instance_uuid, port_id)
            unbind_instance_ports(self.manager.network, instance_uuid, [port_id])

        return self._step(instance_uuid, "detach_interface", work)

    # -- cold moves and shelve ----------------------------------------------------

    def finish(self, message: BuildMessage, *, project_id: str, step: str) -> StepResult:
        """Bind, plug and create the guest here: a move's destination, unshelve, rebuild."""
        result = self.manager.build(RequestContext(project_id=project_id), message)
        return StepResult.of_build(result, step, self.hypervisor_kind)

    def drop_guest(self, instance_uuid: str, *, port_ids: Sequence[str], step: str) -> StepResult:
        """Destroy the guest and unplug its ports, leaving the bindings to whoever holds them now.

        A confirmed resize's source, a reverted resize's destination and an
        evacuated host's stale guest all end this way.
        """

        def work() -> None:
            self.manager.events.end_waits(instance_uuid)
            self.manager.hypervisor.destroy(instance_uuid)
            for port_id in port_ids:
                self._unplug_if_here(instance_uuid, port_id)

        return self._step(instance_uuid, step, work)

    def shelve_offload(self, instance_uuid: str, *, port_ids: Sequence[str]) -> StepResult:
        """Destroy the guest and unbind its ports from this host; the ports stay the server's."""

        def work() -> None:
            self.manager.events.end_waits(instance_uuid)
            self.manager.hypervisor.destroy(instance_uuid)
            for port_id in port_ids:
                self.manager.unplug_port(instance_uuid, port_id)
            unbind_instance_ports(self.manager.network, instance_uuid, port_ids, detach=False)

        return self._step(instance_uuid, "shelve_offload", work)

    # -- live migration -----------------------------------------------------------

    def live_migrate(self, instance_uuid: str, *, destination: str) -> StepResult:
        """The source: take the VFs out of the guest, migrate it; on failure give them back."""
        started = time.monotonic()
        with self.manager.instance_lock(instance_uuid):
            try:
                self._require_guest(instance_uuid, "live migrate")
                detached = self._detach_all(instance_uuid)
                uri = self._destination_uri(destination)
                try:
                    handoff = self.manager.hypervisor.migrate_live(
                        instance_uuid, destination_uri=uri
                    )
                except OffpathError:
                    self._attach_all(instance_uuid, detached)
                    raise
            except OffpathError as exc:
                return StepResult.failed(
                    instance_uuid,
                    self.host,
                    "live_migrate",
                    exc,
                    hypervisor=self.hypervisor_kind,
                )
            LOG.info("instance %s live-migrated from %s to %s", instance_uuid, self.host, uri)
            return StepResult(
                instance_uuid,
                self.host,
                "live_migrate",
                True,
                duration=time.monotonic() - started,
                hypervisor=self.hypervisor_kind,
                handoff=handoff,
            )

    def _destination_uri(self, destination: str) -> str:
        if self.manager.hypervisor.simulated:
            # A simulated guest only ever goes to the simulated host of that name.
            return f"test:///simulated/{destination}"
        template = self.live_migration_uri
        return template % destination if "%s" in template else template

    def arrive(
        self,
        instance_uuid: str,
        *,
        handoff: str | None,
        running: bool,
        port_ids: Sequence[str],
        project_id: str,
    ) -> StepResult:
        """The destination of a live migration: take the guest, plug its ports, give it its VFs.

        The ports' active bindings are this host's by now, so their profiles
        name this host's VFs.
        """
        started = time.monotonic()
        with self.manager.instance_lock(instance_uuid):
            work = self._work(instance_uuid, port_ids, project_id=project_id)
            try:
                self.manager.hypervisor.arrive(instance_uuid, handoff, running=running)
                info = self._info(instance_uuid)
                for port_id in port_ids:
                    vif = self._vif(port_id)
                    work.vifs.append(vif)
                    self.manager.plug_vif(work, vif, info)
                # A direct port's event comes once its VF is up here; a remote-managed
                # port is confirmed by its backend (ACTIVE once this host's DPU plugs it).
                plan = wait_plan(
                    Operation.LIVE_MIGRATION,
                    work.vifs,
                    self.manager.settings,
                    backend_confirms=True,
                )
                work.plan = plan
                waiter = self.manager.events.prepare(instance_uuid, plan.events)
                try:
                    for vif in work.vifs:
                        self.manager.hypervisor.attach_interface(
                            instance_uuid, hostdev_interface(vif), vif.id
                        )
                        if vif.vnic_type is not VnicType.REMOTE_MANAGED:
                            self.manager.device_up(vif.id)
                    self.manager.wait(work, plan, waiter)
                finally:
                    self.manager.events.forget(waiter)
            except OffpathError as exc:
                return self._failed(work, "post_live_migration", exc, started)
            work.undo.clear()
            return self._done(work, "post_live_migration", started)

    def restore_interfaces(self, instance_uuid: str, *, port_ids: Sequence[str]) -> StepResult:
        """A rolled back live migration's source: the guest gets its VFs back."""
        return self._step(
            instance_uuid,
            "rollback_live_migration",
            lambda: self._attach_ports(instance_uuid, port_ids),
        )

    # -- helpers --------------------------------------------------------------

    def _step(self, instance_uuid: str, step: str, work: Callable[[], None]) -> StepResult:
        started = time.monotonic()
        with self.manager.instance_lock(instance_uuid):
            try:
                work()
            except OffpathError as exc:
                LOG.warning("%s of %s failed: [%s] %s", step, instance_uuid, exc.code, exc.message)
                return StepResult.failed(
                    instance_uuid, self.host, step, exc, hypervisor=self.hypervisor_kind
                )
        LOG.info("%s of %s done on %s", step, instance_uuid, self.host)
        return StepResult(
            instance_uuid,
            self.host,
            step,
            True,
            duration=time.monotonic() - started,
            hypervisor=self.hypervisor_kind,
        )

    def _work(
        self, instance_uuid: str, port_ids: Sequence[str], *, project_id: str = ""
    ) -> BuildWork:
        return BuildWork(BuildMessage(instance_uuid, "", 1, 512, tuple(port_ids), ()), project_id)

    def _done(self, work: BuildWork, step: str, started: float) -> StepResult:
        return StepResult(
            work.uuid,
            self.host,
            step,
            True,
            self.manager.outcomes(work),
            time.monotonic() - started,
            hypervisor=self.hypervisor_kind,
        )

    def _failed(self, work: BuildWork, step: str, exc: OffpathError, started: float) -> StepResult:
        undone = work.undo.run()
        LOG.warning(
            "%s of %s failed: [%s] %s; undone: %s",
            step,
            work.uuid,
            exc.code,
            exc.message,
            "; ".join(undone) or "nothing",
        )
        return StepResult(
            work.uuid,
            self.host,
            step,
            False,
            self.manager.outcomes(work),
            time.monotonic() - started,
            exc.message,
            exc.code,
            self.hypervisor_kind,
        )

    def _require_guest(self, instance_uuid: str, action: str) -> None:
        if self.manager.hypervisor.guest_xml(instance_uuid) is None:
            raise GuestFailed(
                self.manager.hypervisor.uri,
                instance_uuid,
                action,
                f"no guest of the instance on {self.host}",
            )

    def _info(self, instance_uuid: str) -> object:
        return instance_info(instance_uuid, name=domain_name(instance_uuid), project_id="-")

    def _vif(self, port_id: str) -> Vif:
        network = self.manager.network
        port = network.show_port(port_id)
        return vif_from_port(port, network.show_network(port.network_id))

    def _detach_all(self, instance_uuid: str) -> list[tuple[HostdevInterface, str]]:
        """Hot-unplug every VF of the guest; what was detached, to give back on failure."""
        hypervisor = self.manager.hypervisor
        by_address = {str(i.address): i for i in hypervisor.interfaces(instance_uuid)}
        ports = hypervisor.guest_ports(instance_uuid) or ()
        detached: list[tuple[HostdevInterface, str]] = []
        for port_id in ports:
            try:
                vif = self._vif(port_id)
                interface = hostdev_interface(vif)
            except OffpathError as exc:
                LOG.warning("port %s of %s: not detached: %s", port_id, instance_uuid, exc.message)
                continue
            if str(interface.address) not in by_address:
                continue
            try:
                hypervisor.detach_interface(instance_uuid, interface, port_id)
            except OffpathError:
                self._attach_all(instance_uuid, detached)
                raise
            detached.append((interface, port_id))
        return detached

    def _attach_all(
        self, instance_uuid: str, detached: Sequence[tuple[HostdevInterface, str]]
    ) -> None:
        for interface, port_id in detached:
            try:
                self.manager.hypervisor.attach_interface(instance_uuid, interface, port_id)
            except OffpathError as exc:
                LOG.error(
                    "port %s of %s: VF %s not given back: %s",
                    port_id,
                    instance_uuid,
                    interface.address,
                    exc.message,
                )

    def _attach_ports(self, instance_uuid: str, port_ids: Sequence[str]) -> None:
        """Give the guest the VF of each port it lacks, from the port's current profile."""
        present = {str(i.address) for i in self.manager.hypervisor.interfaces(instance_uuid)}
        for port_id in port_ids:
            vif = self._vif(port_id)
            interface = hostdev_interface(vif)
            if str(interface.address) in present:
                continue
            self.manager.hypervisor.attach_interface(instance_uuid, interface, port_id)

    def _unplug_if_here(self, instance_uuid: str, port_id: str) -> None:
        try:
            port = self.manager.network.show_port(port_id)
        except OffpathError as exc:
            LOG.warning("port %s of %s not unplugged: %s", port_id, instance_uuid, exc.message)
            return
        if port.binding_host_id in (None, self.host):
            self.manager.unplug_port(instance_uuid, port_id)
        else:
            # Bound elsewhere now (the move's other side): that host plugs it.
            LOG.info(
                "port %s is bound to %s now; not unplugged here", port_id, port.binding_host_id
            )

"""The agent's work on instances: build, terminate, and the external events builds wait for.

A build binds each port to its claimed VF (Nova's binding profile), plugs it
through os-vif, defines and starts the guest with one hostdev interface
per VF, and waits for what `offpath.ports.events.wait_plan` says: a
`network-vif-plugged` event for a direct port, never one for a
remote-managed port (its backend sends it at bind time), whose plug the
backend confirms instead (its port is ACTIVE). The waiter is registered
before the guest starts and before the host's NIC agent reports a direct
VF up, so a late event is never missed, and an early one is buffered.

Every step that succeeds pushes its undo; a failure undoes them in
reverse, so a failed build leaves no guest, no plug and no binding, and
reports ERROR; the conductor then frees the claim. Builds and deletes run
on the manager's own threads: an RPC server thread only hands work over.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from offpath.compute.build_message import BuildMessage
from offpath.compute.build_result import BuildResult, BuildState, PlugConfirmation, PortOutcome
from offpath.compute.instance_events import (
    EventWaiter,
    InstanceEvents,
    WaitEnd,
    WaitOutcome,
    parse_events,
)
from offpath.compute.libvirt_guest import GuestSpec, Hypervisor, domain_name
from offpath.compute.port_binding import (
    BINDING_FAILED,
    DEVICE_OWNER,
    PortBinding,
    unbind_instance_ports,
)
from offpath.compute.undo import UndoStack
from offpath.compute.vif_plugging import initialize, instance_info, plug, unplug
from offpath.errors import (
    BuildAborted,
    OffpathError,
    PciDeviceNotFound,
    PortBindingFailed,
    PrimitiveInvalid,
    Unavailable,
    VirtualInterfaceCreateFailed,
)
from offpath.pci.selection import SelectedDevice
from offpath.pci.spec import DeviceSpec
from offpath.pci.spec_list import DeviceSpecList
from offpath.ports.events import VIF_PLUGGED, EventSettings, WaitPlan, wait_plan
from offpath.ports.guest_interface import hostdev_interface
from offpath.ports.osvif import os_vif_object
from offpath.ports.profile import profile_for_device
from offpath.ports.vif import ACTIVE, Vif, vif_from_port
from offpath.ports.vnic import VnicType, needs_pci_request
from offpath.rpc.context import RequestContext

LOG = logging.getLogger(__name__)

# Nova's `[DEFAULT] max_concurrent_builds` default.
MAX_CONCURRENT_BUILDS: Final = 10
MAX_CONCURRENT_DELETES: Final = 4
# How often a remote-managed port's status is read while the backend confirms its plug.
CONFIRM_POLL_INTERVAL: Final = 0.2
# Reporting a build's end: attempts, and the pause between them (seconds).
REPORT_ATTEMPTS: Final = 3
REPORT_PAUSE: Final = 1.0


class BuildReporter(Protocol):
    """Where the agent reports a build's end; `offpath.conductor.rpcapi.ConductorAPI` is one."""

    def build_finished(self, ctx: RequestContext, result: BuildResult) -> bool:
        """Record `result`; False when the instance is no longer wanted (deleted, failed)."""
        ...


@dataclass
class BuildWork:
    """One build in progress: what it bound and plugged, and how each port ended up."""

    message: BuildMessage
    project_id: str
    undo: UndoStack = field(default_factory=UndoStack)
    vifs: list[Vif] = field(default_factory=list)
    plugins: dict[str, str | None] = field(default_factory=dict)
    confirmations: dict[str, PlugConfirmation] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    plan: WaitPlan | None = None

    @property
    def uuid(self) -> str:
        return self.message.instance_uuid


class ComputeManager:
    """One host's builds, deletes and the events they wait for (`ComputeEndpoints` serves them)."""

    def __init__(
        self,
        *,
        host: str,
        network: PortBinding,
        hypervisor: Hypervisor,
        specs: DeviceSpecList,
        settings: EventSettings,
        reporter: BuildReporter | None = None,
        events: InstanceEvents | None = None,
        max_concurrent_builds: int = MAX_CONCURRENT_BUILDS,
        confirm_poll_interval: float = CONFIRM_POLL_INTERVAL,
        report_pause: float = REPORT_PAUSE,
    ) -> None:
        self.host = host
        self.network = network
        self.hypervisor = hypervisor
        self.specs = specs
        self.settings = settings
        self.reporter = reporter
        self.events = events or InstanceEvents()
        self._confirm_poll = confirm_poll_interval
        self._report_pause = report_pause
        self._builds = ThreadPoolExecutor(max_concurrent_builds, thread_name_prefix="build")
        self._deletes = ThreadPoolExecutor(MAX_CONCURRENT_DELETES, thread_name_prefix="delete")
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._closed = threading.Event()
        # Loading os-vif's plugins takes seconds: done at start, not in the first build.
        initialize()

    # -- what the RPC endpoints hand over: each returns at once ------------

    def submit_build(self, ctx: RequestContext, build: object) -> None:
        """Build the instance (a `build_instance` message) on a build thread, then report it."""
        if self._closed.is_set():
            LOG.warning("build not started: the agent is stopping [%s]", ctx.request_id)
            return
        self._builds.submit(self._build_and_report, ctx, build)

    def submit_terminate(self, ctx: RequestContext, instance_uuid: object) -> None:
        """Tear the instance down on a delete thread; a build of it in progress stops."""
        if not isinstance(instance_uuid, str) or not instance_uuid:
            LOG.warning("terminate_instance ignored: no instance uuid [%s]", ctx.request_id)
            return
        # A build still waiting for its plug events stops now rather than at its timeout.
        self.events.cancel(instance_uuid)
        if self._closed.is_set():
            LOG.warning("terminate of %s not started: the agent is stopping", instance_uuid)
            return
        self._deletes.submit(self._terminate_logged, instance_uuid, ctx.request_id)

    def deliver_events(self, ctx: RequestContext, instance_uuid: object, events: object) -> None:
        """Hand events about one of this host's instances to its waiters (or keep them)."""
        try:
            if not isinstance(instance_uuid, str) or not instance_uuid:
                raise PrimitiveInvalid("ExternalEvent", "instance_uuid must be a non-empty string")
            parsed = parse_events(events)
        except PrimitiveInvalid as exc:
            LOG.warning("external events ignored: %s [%s]", exc.message, ctx.request_id)
            return
        for event in parsed:
            taken = self.events.deliver(instance_uuid, event)
            LOG.info(
                "event %s:%s (%s) for %s %s [%s]",
                event.name,
                event.tag,
                event.status,
                instance_uuid,
                "delivered" if taken else "kept for a waiter to come",
                ctx.request_id,
            )

    # -- the work -----------------------------------------------------------

    def build(self, ctx: RequestContext, message: BuildMessage) -> BuildResult:
        """Build the instance on this host: ACTIVE, or ERROR with every step undone."""
        started = time.monotonic()
        work = BuildWork(message, ctx.project_id or "")
        with self.instance_lock(message.instance_uuid):
            try:
                self._spawn(work)
            except OffpathError as exc:
                LOG.warning("build of %s failed: [%s] %s", work.uuid, exc.code, exc.message)
                return self._undone(work, started, fault=exc.message, code=exc.code)
            except Exception as exc:
                # Whatever failed, the steps before it are undone and ERROR is reported.
                LOG.exception("build of %s failed unexpectedly", work.uuid)
                return self._undone(work, started, fault=f"unexpected error: {exc}", code=None)
            work.undo.clear()
        return BuildResult(
            work.uuid,
            self.host,
            BuildState.ACTIVE,
            self.outcomes(work),
            time.monotonic() - started,
        )

    def terminate(self, instance_uuid: str) -> tuple[str, ...]:
        """Destroy the guest, unplug and unbind its ports; the ports unbound. Idempotent."""
        self.events.cancel(instance_uuid)
        with self.instance_lock(instance_uuid):
            ports = self.hypervisor.guest_ports(instance_uuid)
            destroyed = self.hypervisor.destroy(instance_uuid)
            for port_id in ports or ():
                self.unplug_port(instance_uuid, port_id)
            unbound = unbind_instance_ports(self.network, instance_uuid, ports or ())
        with self._locks_lock:
            self._locks.pop(instance_uuid, None)
        if destroyed or unbound:
            LOG.info(
                "instance %s terminated: guest destroyed %s, ports unbound: %s",
                instance_uuid,
                destroyed,
                ", ".join(unbound) or "none",
            )
        else:
            LOG.info("instance %s: nothing of it on %s", instance_uuid, self.host)
        return unbound

    def close(self, *, timeout: float = 5.0) -> None:
        """Stop taking work; end the waits in progress so their builds fail and undo."""
        self._closed.set()
        self.events.cancel_all()
        deadline = time.monotonic() + timeout
        for pool in (self._builds, self._deletes):
            pool.shutdown(wait=False, cancel_futures=True)
        for pool in (self._builds, self._deletes):
            waiter = threading.Thread(target=pool.shutdown, kwargs={"wait": True}, daemon=True)
            waiter.start()
            waiter.join(max(0.0, deadline - time.monotonic()))

    # -- build steps --------------------------------------------------------

    def _spawn(self, work: BuildWork) -> None:
        for port_id in work.message.port_ids:
            self._check_wanted(work)
            work.vifs.append(self.bind(work, port_id))
        info = instance_info(
            work.uuid, name=domain_name(work.uuid), project_id=work.project_id or "-"
        )
        for vif in work.vifs:
            self._check_wanted(work)
            self.plug_vif(work, vif, info)
        message = work.message
        plan = wait_plan(
            message.operation,
            work.vifs,
            self.settings,
            backend_confirms=True,
            power_on=message.power_on,
        )
        work.plan = plan
        guest = GuestSpec(
            instance_uuid=work.uuid,
            name=work.message.name,
            memory_mb=work.message.memory_mb,
            vcpus=work.message.vcpus,
            virt_type=self.settings.virt_type,
            interfaces=tuple(hostdev_interface(vif) for vif in work.vifs),
            port_ids=work.message.port_ids,
        )
        # Listening starts before the guest does: a direct port's event can
        # only come once its VF is up, and must find its waiter.
        waiter = self.events.prepare(work.uuid, plan.events)
        work.undo.push("stop listening for plug events", lambda: self.events.forget(waiter))
        self._check_wanted(work)
        work.undo.push("destroy the guest", lambda: self.hypervisor.destroy(work.uuid))
        self.hypervisor.define(guest)
        if not message.power_on:
            # A stopped server moved: defined, its ports bound and plugged, not started.
            self.events.forget(waiter)
            return
        self.hypervisor.start(work.uuid, paused=plan.waits)
        for vif in work.vifs:
            if vif.vnic_type is VnicType.DIRECT:
                self.device_up(vif.id)
        self.wait(work, plan, waiter)
        self.events.forget(waiter)
        self._check_wanted(work)
        if plan.waits:
            self.hypervisor.resume(work.uuid)

    def bind(self, work: BuildWork, port_id: str) -> Vif:
        port = self.network.show_port(port_id)
        network = self.network.show_network(port.network_id)
        profile = dict(port.binding_profile)
        claimed = work.message.device_for(port_id)
        if claimed is not None:
            profile = profile_for_device(
                port, claimed.selected.device, self._spec_of(claimed.selected)
            )
        elif needs_pci_request(port.vnic_type):
            raise PrimitiveInvalid("BuildMessage", f"no device was claimed for port {port_id}")
        # A port the instance held already (a move, an unshelve) stays its own when undone,
        # as after a shelve-offload; one it took here (a boot, an attach) is given back.
        detach = port.device_id != work.uuid
        # The undo goes first: a bind that failed may still have set the host.
        work.undo.push(
            f"unbind port {port_id}",
            lambda: unbind_instance_ports(self.network, work.uuid, [port_id], detach=detach),
        )
        bound = self.network.bind_port(
            port_id,
            host=self.host,
            profile=profile,
            device_id=work.uuid,
            device_owner=DEVICE_OWNER,
        )
        work.statuses[port_id] = bound.status
        if bound.vif_type == BINDING_FAILED:
            raise PortBindingFailed(port_id, bound.binding_failure)
        LOG.info(
            "port %s bound on %s: vif_type %s, status %s",
            port_id,
            self.host,
            bound.vif_type,
            bound.status,
        )
        return vif_from_port(bound, network)

    def _spec_of(self, selected: SelectedDevice) -> DeviceSpec:
        """The spec that selected the device when reported: its physnet goes in the profile."""
        index = selected.spec_index
        if not 0 <= index < len(self.specs):
            raise PciDeviceNotFound(self.host, selected.device.address)
        return self.specs[index]

    def plug_vif(self, work: BuildWork, vif: Vif, info: Any) -> None:
        device = os_vif_object(vif)
        if device is None:
            # The legacy path (hw_veb): the NIC agent and the guest XML do the work.
            work.plugins[vif.id] = None
            return
        plug(device, info)
        work.plugins[vif.id] = str(device.plugin)
        work.undo.push(f"unplug port {vif.id}", lambda: unplug(device, info))

    def device_up(self, port_id: str) -> None:
        try:
            self.network.device_up(self.host, port_id)
        except OffpathError as exc:
            # The NIC agent's report is the backend's business: a lost one
            # shows as a missing event, handled by the wait.
            LOG.warning("port %s: device up not reported: %s", port_id, exc.message)

    def wait(self, work: BuildWork, plan: WaitPlan, waiter: EventWaiter) -> None:
        for vif in work.vifs:
            if vif.active:
                work.confirmations[vif.id] = PlugConfirmation.BIND_ANSWER
            else:
                work.confirmations[vif.id] = PlugConfirmation.NOT_AWAITED
        if not plan.waits:
            return
        # Operators (and the process tests) read from this line that a build is waiting.
        LOG.info(
            "build of %s: waiting up to %d s for %s",
            work.uuid,
            plan.timeout,
            ", ".join(
                [f"{e.name} of port {e.tag}" for e in plan.events]
                + [f"port {p} ACTIVE" for p in plan.confirm_via_backend]
            ),
        )
        deadline = time.monotonic() + plan.timeout
        outcome = waiter.wait(plan.timeout)
        self._judge_events(work, plan, outcome)
        late = [p for p in plan.confirm_via_backend if not self._confirmed(work, p, deadline)]
        if late:
            self._timed_out(work, plan, late, what="the backend did not report the port ACTIVE")

    def _judge_events(self, work: BuildWork, plan: WaitPlan, outcome: WaitOutcome) -> None:
        for event in outcome.received:
            work.confirmations[event.tag] = PlugConfirmation.EVENT
        if outcome.end is WaitEnd.CANCELLED or self._closed.is_set():
            raise BuildAborted(work.uuid)
        if outcome.end is WaitEnd.FAILED:
            tags = ", ".join(e.tag for e in outcome.failed)
            if plan.fatal:
                raise VirtualInterfaceCreateFailed(f"{VIF_PLUGGED} came as failed for port {tags}")
            LOG.warning("%s failed for port %s; going on (not fatal)", VIF_PLUGGED, tags)
        if outcome.missing:
            self._timed_out(
                work, plan, [e.tag for e in outcome.missing], what=f"no {VIF_PLUGGED} event"
            )

    def _timed_out(
        self, work: BuildWork, plan: WaitPlan, ports: Sequence[str], *, what: str
    ) -> None:
        listed = ", ".join(ports)
        if plan.fatal:
            raise VirtualInterfaceCreateFailed(f"{what} for port {listed} within {plan.timeout} s")
        LOG.warning("%s for port %s within %d s; going on (not fatal)", what, listed, plan.timeout)
        for port_id in ports:
            work.confirmations[port_id] = PlugConfirmation.TIMED_OUT

    def _confirmed(self, work: BuildWork, port_id: str, deadline: float) -> bool:
        """Ask the backend until the port is ACTIVE, at most until `deadline`."""
        while True:
            port = self.network.show_port(port_id)
            work.statuses[port_id] = port.status
            if port.status == ACTIVE:
                work.confirmations[port_id] = PlugConfirmation.BACKEND
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self.events.is_cancelled(work.uuid) or self._closed.wait(
                min(self._confirm_poll, left)
            ):
                raise BuildAborted(work.uuid)

    def _check_wanted(self, work: BuildWork) -> None:
        if self._closed.is_set() or self.events.is_cancelled(work.uuid):
            raise BuildAborted(work.uuid)

    def _undone(
        self, work: BuildWork, started: float, *, fault: str, code: str | None
    ) -> BuildResult:
        undone = work.undo.run()
        LOG.info("build of %s undone: %s", work.uuid, "; ".join(undone) or "nothing to undo")
        return BuildResult(
            work.uuid,
            self.host,
            BuildState.ERROR,
            self.outcomes(work),
            time.monotonic() - started,
            fault=fault,
            code=code,
        )

    def outcomes(self, work: BuildWork) -> tuple[PortOutcome, ...]:
        waited = {e.tag for e in work.plan.events} if work.plan else set()
        outcomes = []
        for vif in work.vifs:
            slot = vif.profile.get("pci_slot")
            outcomes.append(
                PortOutcome(
                    port_id=vif.id,
                    vnic_type=vif.vnic_type.value,
                    pci_slot=slot if isinstance(slot, str) else None,
                    vif_type=vif.vif_type,
                    plugin=work.plugins.get(vif.id),
                    waited_for=VIF_PLUGGED if vif.id in waited else None,
                    confirmation=work.confirmations.get(vif.id, PlugConfirmation.NOT_AWAITED),
                    status=work.statuses.get(vif.id, ""),
                )
            )
        return tuple(outcomes)

    # -- around the work ----------------------------------------------------

    def _build_and_report(self, ctx: RequestContext, build: object) -> None:
        try:
            message = BuildMessage.from_primitive(build)
        except PrimitiveInvalid as exc:
            LOG.error("build ignored: %s [%s]", exc.message, ctx.request_id)
            return
        result = self.build(ctx, message)
        LOG.info(
            "build of %s: %s in %.2f s%s [%s]",
            result.instance_uuid,
            result.state,
            result.duration,
            f" ({result.fault})" if result.fault else "",
            ctx.request_id,
        )
        wanted = self._report(ctx, result)
        if result.state is BuildState.ACTIVE and wanted is False:
            LOG.info("instance %s is no longer wanted; tearing it down", result.instance_uuid)
            self.terminate(result.instance_uuid)

    def _report(self, ctx: RequestContext, result: BuildResult) -> bool | None:
        if self.reporter is None:
            return None
        for attempt in range(1, REPORT_ATTEMPTS + 1):
            try:
                return self.reporter.build_finished(ctx, result)
            except Unavailable as exc:
                LOG.warning(
                    "build of %s not reported (attempt %d of %d): %s",
                    result.instance_uuid,
                    attempt,
                    REPORT_ATTEMPTS,
                    exc.message,
                )
                if self._closed.wait(self._report_pause * attempt):
                    break
            except OffpathError as exc:
                LOG.error("build of %s not reported: %s", result.instance_uuid, exc.message)
                break
        return None

    def _terminate_logged(self, instance_uuid: str, request_id: str) -> None:
        try:
            self.terminate(instance_uuid)
        except OffpathError as exc:
            LOG.warning(
                "terminate of %s failed: [%s] %s [%s]",
                instance_uuid,
                exc.code,
                exc.message,
                request_id,
            )

    def unplug_port(self, instance_uuid: str, port_id: str) -> None:
        try:
            port = self.network.show_port(port_id)
            if port.device_id != instance_uuid:
                return
            vif = vif_from_port(port, self.network.show_network(port.network_id))
            device = os_vif_object(vif)
            if device is not None:
                unplug(
                    device,
                    instance_info(
                        instance_uuid,
                        name=domain_name(instance_uuid),
                        project_id=port.project_id or "-",
                    ),
                )
        except OffpathError as exc:
            LOG.warning("port %s of %s not unplugged: %s", port_id, instance_uuid, exc.message)

    @contextmanager
    def instance_lock(self, instance_uuid: str) -> Iterator[None]:
        with self._locks_lock:
            lock = self._locks.setdefault(instance_uuid, threading.Lock())
        with lock:
            yield

"""The per-host agent: registers, heartbeats and reports its PCI inventory to the conductor.

As Nova's compute service, it never opens a database: everything goes
through the conductor of its cell over RPC. Specs are matched once, at
discovery, so what is reported says which spec selected each device.
Given the network service (`PortBinding`), it also builds and deletes
instances (`offpath.compute.manager`) on its libvirt.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from offpath.compute.endpoints import ComputeEndpoints
from offpath.compute.guest_operations import GuestOperations
from offpath.compute.hypervisor_choice import HostHypervisor, hypervisor_for
from offpath.compute.manager import ComputeManager
from offpath.compute.port_binding import PortBinding, SriovHostRegistry, direct_physnets
from offpath.compute.rpcapi import TOPIC as COMPUTE_TOPIC
from offpath.conductor.rpcapi import ConductorAPI
from offpath.errors import OffpathError
from offpath.pci.device import PciDevice
from offpath.pci.host_report import HostReport
from offpath.pci.numa import NumaCell
from offpath.pci.selection import select_devices
from offpath.pci.spec_list import DeviceSpecList
from offpath.ports.events import EventSettings
from offpath.rpc.context import RequestContext
from offpath.rpc.server import RpcServer
from offpath.rpc.transport import Rpc
from offpath.service_config import ServiceConfig
from offpath.version import COMPUTE_BINARY, SERVICE_VERSION

LOG = logging.getLogger(__name__)

# Waiting for a conductor that is not up yet: 1, 2, 4 ... seconds, at most this.
BACKOFF_MAX: Final = 30.0
# A registration attempt waits at most this long for the conductor's answer.
REGISTER_TIMEOUT: Final = 10.0

Discover = Callable[[], tuple[PciDevice, ...]]


def host_report(
    host: str, devices: Sequence[PciDevice], specs: DeviceSpecList, *, driver_supports: bool
) -> HostReport:
    """The report of `host`: the devices a spec selects, and the NUMA cells they sit on."""
    # No reader gives the host's NUMA topology yet; the cells the devices
    # sit on are the ones PCI NUMA affinity can be asked about.
    nodes = sorted({d.numa_node for d in devices if d.numa_node is not None})
    return HostReport(
        host=host,
        devices=select_devices(devices, specs),
        numa_cells=tuple(NumaCell(node) for node in nodes),
        driver_supports_remote_managed=driver_supports,
    )


@dataclass(frozen=True, slots=True)
class AgentTiming:
    """How often the agent heartbeats and reports, in seconds."""

    report_interval: float
    update_resources_interval: float
    register_timeout: float = REGISTER_TIMEOUT
    backoff_max: float = BACKOFF_MAX


class Agent:
    """One host's agent loop; `run` returns when `stop` is set."""

    def __init__(
        self,
        *,
        host: str,
        conductor: ConductorAPI,
        discover: Discover,
        specs: DeviceSpecList,
        timing: AgentTiming,
        driver_supports_remote_managed: bool = True,
        service_version: int = SERVICE_VERSION,
    ) -> None:
        self.host = host
        # What this agent registers as; only a simulated old host says less.
        self.service_version = service_version
        self._conductor = conductor
        self._discover = discover
        self._specs = specs
        self._timing = timing
        self._driver_supports = driver_supports_remote_managed
        # Set once the conductor has recorded this (re)start.
        self.registered = threading.Event()

    def run(self, stop: threading.Event) -> None:
        """Register (retrying while the conductor is away), then heartbeat and report."""
        if not self._register(stop):
            return
        next_beat = next_report = time.monotonic()
        while not stop.is_set():
            now = time.monotonic()
            if now >= next_report:
                self.report()
                next_report = now + self._timing.update_resources_interval
            if now >= next_beat:
                self._heartbeat()
                next_beat = now + self._timing.report_interval
            stop.wait(max(0.0, min(next_beat, next_report) - time.monotonic()))

    def _register(self, stop: threading.Event) -> bool:
        delay = min(1.0, self._timing.backoff_max)
        while not stop.is_set():
            try:
                cell = self._conductor.register_service(
                    RequestContext.admin(),
                    host=self.host,
                    binary=COMPUTE_BINARY,
                    version=self.service_version,
                    timeout=self._timing.register_timeout,
                )
            except OffpathError as exc:
                LOG.warning(
                    "cannot register with the conductor: [%s] %s; retrying in %.0f s",
                    exc.code,
                    exc.message,
                    delay,
                )
                stop.wait(delay)
                delay = min(delay * 2, self._timing.backoff_max)
                continue
            LOG.info(
                "registered %s on %s at version %d in cell %s",
                COMPUTE_BINARY,
                self.host,
                self.service_version,
                cell,
            )
            self.registered.set()
            return True
        return False

    def _heartbeat(self) -> None:
        try:
            self._conductor.heartbeat(RequestContext.admin(), host=self.host, binary=COMPUTE_BINARY)
        except OffpathError as exc:
            LOG.warning("heartbeat not sent: [%s] %s", exc.code, exc.message)

    def report(self) -> int | None:
        """Discover, select and report the inventory; the new generation, None if it failed."""
        try:
            report = host_report(
                self.host, self._discover(), self._specs, driver_supports=self._driver_supports
            )
            generation = self._conductor.report_inventory(RequestContext.admin(), report)
        except OffpathError as exc:
            LOG.warning("inventory not reported: [%s] %s", exc.code, exc.message)
            return None
        LOG.info("inventory reported: %d devices, generation %d", len(report.devices), generation)
        return generation


def run_agent(
    config: ServiceConfig,
    *,
    discover: Discover,
    specs: DeviceSpecList,
    stop: threading.Event,
    endpoints: Sequence[object] = (),
    driver_supports_remote_managed: bool = True,
    network: PortBinding | None = None,
    rpc: Rpc | None = None,
    service_version: int = SERVICE_VERSION,
    hypervisor: HostHypervisor | None = None,
) -> None:
    """Run an agent for `config.host` until `stop` is set, then close its RPC cleanly.

    `endpoints` are what the conductor may ask of this host (the compute
    topic); with `network`, the agent builds and deletes instances too, on
    `hypervisor` or the one `[libvirt] connection_uri` names. A given `rpc`
    (the embedded cloud shares one per cell) or `hypervisor` stays open.
    """
    owns_rpc = rpc is None
    if rpc is None:
        rpc = Rpc(
            config.transport_url,
            config_files=config.files,
            call_timeout=config.rpc_response_timeout,
        )
    conductor = ConductorAPI(rpc)
    manager: ComputeManager | None = None
    owned: HostHypervisor | None = None
    if network is not None:
        if hypervisor is None:
            hypervisor = owned = hypervisor_for(config.libvirt_uri)
        manager = ComputeManager(
            host=config.host,
            network=network,
            hypervisor=hypervisor,
            specs=specs,
            settings=event_settings(config),
            reporter=conductor,
        )
        operations = GuestOperations(manager, live_migration_uri=config.live_migration_uri)
        endpoints = [*endpoints, ComputeEndpoints(manager, operations)]
        # Beside the loop: a slow or absent network service never delays registering.
        threading.Thread(
            target=report_sriov_physnets,
            args=(network, config.host, specs),
            name="sriov-physnets",
            daemon=True,
        ).start()
    agent = Agent(
        host=config.host,
        conductor=conductor,
        discover=discover,
        specs=specs,
        timing=AgentTiming(config.report_interval, config.update_resources_interval),
        driver_supports_remote_managed=driver_supports_remote_managed,
        service_version=service_version,
    )
    server = RpcServer(rpc, COMPUTE_TOPIC, endpoints, server=config.host) if endpoints else None
    # The loop runs beside the main thread, so a stop is honoured at once even
    # while a call waits for its answer.
    loop = threading.Thread(target=_until_done, args=(agent, stop), name="agent", daemon=True)
    try:
        loop.start()
        if server is not None:
            # Builds are taken only once the conductor knows of this start:
            # registering ends the builds a previous process left unfinished.
            while not (agent.registered.wait(0.5) or stop.is_set()):
                pass
            if not stop.is_set():
                server.start()
        while not stop.wait(0.5):
            pass
    finally:
        loop.join(timeout=1.0)
        if server is not None:
            server.stop(timeout=1.0)
        if manager is not None:
            manager.close(timeout=2.0)
        if owned is not None:
            owned.close()
        if owns_rpc:
            # The process ends with the agent: the broker may see its sockets close.
            rpc.close(timeout=1.0)
        LOG.info("agent on %s stopped", config.host)


def event_settings(config: ServiceConfig) -> EventSettings:
    """The plug-event options of `config`."""
    return EventSettings(
        vif_plugging_timeout=config.vif_plugging_timeout,
        vif_plugging_is_fatal=config.vif_plugging_is_fatal,
        virt_type=config.virt_type,
        hard_reboot_wait_vnic_types=config.hard_reboot_wait_vnic_types,
    )


def report_sriov_physnets(network: PortBinding, host: str, specs: DeviceSpecList) -> None:
    """Tell a network service that takes it which physnets this host's direct VFs reach."""
    if not isinstance(network, SriovHostRegistry):
        return
    physnets = direct_physnets(specs)
    try:
        network.report_sriov_host(host, physnets)
    except OffpathError as exc:
        LOG.warning("SR-IOV physnets of %s not reported: %s", host, exc.message)
        return
    LOG.info("SR-IOV physnets of %s reported: %s", host, ", ".join(physnets) or "none")


def _until_done(agent: Agent, stop: threading.Event) -> None:
    try:
        agent.run(stop)
    except Exception:
        LOG.exception("agent loop failed")
    finally:
        # Whatever ended the loop ends the process too, never a silent half-agent.
        stop.set()

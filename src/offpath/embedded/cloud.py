"""The embedded cloud: the API, conductors, scheduler and network service in one process.

`offpath serve` and `offpath demo` run it. Every part talks to the others
as it would across hosts: the compute side reaches the network service
through its HTTP API (a `NeutronClient` on this process's own port), the
network service posts server events to the compute API over HTTP, and the
agents and conductors use oslo.messaging, one queue per cell. With no
config the databases are SQLite files in the state directory and the queue
is in-process; with a config naming PostgreSQL and RabbitMQ the same cloud
runs against them, and `offpath agent` processes on other hosts join it.

Simulated hosts (`--sim-host`) get a simulator tree, an agent on a
simulated hypervisor (libvirt's test driver, one connection per host), and
a simulated DPU per DPU card that registers its chassis with the card's
serial number.

With OVN (`--ovn`, or `[ovn]` naming the databases) the network service
binds remote-managed ports through OVN's Northbound and Southbound
databases: those the config names, or a Northbound and Southbound
ovsdb-server with ovn-northd that the cloud starts in `<state dir>/ovn`;
each simulated DPU then plays ovn-controller on the Southbound.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Final

import uvicorn
from sqlalchemy import Engine, select

if TYPE_CHECKING:
    from offpath.network.ovn.backend import OvnBackend
    from offpath.network.ovn.central import OvnCentral
    from offpath.network.ovn.sim_controller import SimOvnController

from offpath.api.app import create_app
from offpath.api.deps import ApiDeps
from offpath.api.network_v2 import NETWORK_PREFIX, network_router
from offpath.api.policy import Policy, load_policy
from offpath.compute.agent import run_agent
from offpath.compute.hypervisor_choice import HostHypervisor, hypervisor_for
from offpath.compute.libvirt_guest import Hypervisor
from offpath.conductor.cell_compute import CellCompute, CellTransports
from offpath.conductor.instances import InstanceConductor
from offpath.conductor.moves import Moves
from offpath.conductor.operation_base import OperationBase
from offpath.conductor.server_actions import ServerActions
from offpath.conductor.service import run_conductor
from offpath.config import load_device_specs, load_pci_config
from offpath.db.bootstrap import sync_all
from offpath.db.cell_schema import ComputeNodeRow, ServiceRow
from offpath.db.cells import Cell, CellDatabases, register_cell
from offpath.db.engine import open_engine, reading
from offpath.embedded.sim_hosts import SimHostRequest, SimulatedHost, write_sim_host
from offpath.errors import CellNotFound, CloudStartFailed, ComputeHostNotFound, OffpathError
from offpath.identity.authentication import TokenService
from offpath.identity.bootstrap import ADMIN_PROJECT, ADMIN_USER
from offpath.identity.catalog import DEFAULT_REGION
from offpath.identity.directory import IdentityDirectory
from offpath.identity.first_use import OPENRC, bootstrap_on_first_use, openrc_password
from offpath.identity.service_user import ServiceUserTokens
from offpath.network.client import NeutronClient
from offpath.network.dpu_agent import DpuAgent
from offpath.network.embedded import embedded_network_service
from offpath.network.nova_notifier import NovaNotifier
from offpath.network.service import NetworkService
from offpath.pci.alias import parse_aliases
from offpath.pci.discovery.sysfs_reader import discover_sysfs
from offpath.rpc.transport import Rpc
from offpath.scheduler.host_state import HostStateCache
from offpath.scheduler.scheduler import Scheduler
from offpath.service_config import ServiceConfig, load_service_config
from offpath.service_token import StaticToken, TokenSource
from offpath.sim.dpu import SimDpu
from offpath.version import COMPUTE_BINARY

LOG = logging.getLogger(__name__)

# How long `start` waits for the API to listen and every simulated host to report.
START_TIMEOUT: Final = 60.0
POLL: Final = 0.1


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where clients reach the cloud, and how they and its own services authenticate."""

    base: str
    # The opt-in static token (`[api] auth_token`); empty: Keystone logins only.
    token: str
    # What the cloud's own services (network client, notifier, DPU agents) send.
    service: TokenSource
    # The bootstrap admin's password, when the state directory's admin-openrc has it.
    admin_password: str | None = None

    @property
    def compute(self) -> str:
        """The versioned compute endpoint."""
        return f"{self.base}/compute/v2.1"

    @property
    def network(self) -> str:
        """The unversioned network endpoint (clients discover /v2.0 themselves)."""
        return f"{self.base}{NETWORK_PREFIX}"

    @property
    def image(self) -> str:
        """The image endpoint (Glance v2)."""
        return f"{self.base}/image"

    @property
    def identity(self) -> str:
        """The identity endpoint (Keystone v3)."""
        return f"{self.base}/identity/v3"

    def clouds_yaml(self, cloud: str = "offpath") -> str:
        """A `clouds.yaml` for the `openstack` CLI and openstacksdk: the admin's login."""
        if not self.token:
            return (
                "clouds:\n"
                f"  {cloud}:\n"
                "    auth:\n"
                f"      auth_url: {self.identity}\n"
                f"      username: {ADMIN_USER}\n"
                f"      password: {self.admin_password or '(see admin-openrc)'}\n"
                f"      project_name: {ADMIN_PROJECT}\n"
                "      user_domain_name: Default\n"
                "      project_domain_name: Default\n"
                f"    region_name: {DEFAULT_REGION}\n"
            )
        return (
            "clouds:\n"
            f"  {cloud}:\n"
            "    auth_type: admin_token\n"
            "    auth:\n"
            f"      token: {self.token}\n"
            f"      endpoint: {self.compute}\n"
            f"    compute_endpoint_override: {self.compute}\n"
            f"    network_endpoint_override: {self.network}\n"
            f"    image_endpoint_override: {self.image}\n"
            f"    identity_endpoint_override: {self.identity}\n"
        )


class EmbeddedCloud:
    """Start with `start()` (or `with`), stop with `stop()`; nothing is left running."""

    def __init__(
        self,
        config: ServiceConfig,
        *,
        state_dir: Path,
        sim_hosts: Sequence[SimHostRequest] = (),
        port: int | None = None,
        progress: Callable[[str], None] | None = None,
        ovn: bool = False,
    ) -> None:
        self.config = config
        self.state_dir = state_dir
        self.ovn = ovn or config.ovn is not None
        self.sim_requests = tuple(sim_hosts)
        self.port = config.api_port if port is None else port
        self._progress = progress or (lambda _line: None)
        self.hosts: list[SimulatedHost] = []
        self._hypervisors: dict[str, HostHypervisor] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._dpus: list[DpuAgent] = []
        self._controllers: list[SimOvnController] = []
        self._central: OvnCentral | None = None
        self._backend: OvnBackend | None = None
        self._clients: list[NeutronClient] = []
        self._server: uvicorn.Server | None = None
        self._server_thread: threading.Thread | None = None
        self._transports: CellTransports | None = None
        self._notifier: NovaNotifier | None = None
        self._operations: OperationBase | None = None
        self._api: Engine | None = None
        self._policy: Policy | None = None
        self._cells: CellDatabases | None = None
        self._tokens: TokenService | None = None
        self.endpoints: Endpoints | None = None

    @property
    def ovn_backend(self) -> OvnBackend | None:
        """The OVN backend the network service binds through, if it runs with OVN."""
        return self._backend

    @property
    def ovn_dpus(self) -> tuple[SimOvnController, ...]:
        """The simulated DPUs playing ovn-controller (with OVN), to stop or take down."""
        return tuple(self._controllers)

    def hypervisor(self, host: str) -> Hypervisor:
        """The hypervisor the agent of simulated host `host` drives (its guests are there only)."""
        try:
            return self._hypervisors[host]
        except KeyError:
            raise ComputeHostNotFound(host) from None

    def __enter__(self) -> EmbeddedCloud:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- start ------------------------------------------------------------

    def start(self, *, timeout: float = START_TIMEOUT) -> Endpoints:
        """Bring every part up; on any failure, stop what was started and raise."""
        try:
            return self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> Endpoints:
        config = self.config
        deadline = time.monotonic() + timeout
        self._progress("databases: bringing the schemas up to date")
        sync_all(config)
        # A bad policy file fails the start here, before anything listens.
        self._policy = load_policy(list(config.files))
        self._api = api = open_engine(config.api_database_url)
        self._cells = cells = CellDatabases(api)
        self._register_host_cells(api)
        if self.ovn:
            self._start_ovn()
        sock = _listen(config.api_listen, self.port)
        host, port = sock.getsockname()[:2]
        base = f"http://{host}:{port}"
        first = bootstrap_on_first_use(
            api, state_dir=self.state_dir, api_base=base, public_endpoint=config.api_public_endpoint
        )
        if first is not None:
            self._progress(f"identity: bootstrapped; the admin's password is in {first.openrc}")
        self._tokens = tokens = TokenService(
            api, expiration=timedelta(seconds=config.token_expiration)
        )
        service: TokenSource = (
            StaticToken(config.api_auth_token)
            if config.api_auth_token
            else ServiceUserTokens(tokens, IdentityDirectory(api))
        )
        endpoints = self.endpoints = Endpoints(
            base,
            config.api_auth_token,
            service,
            admin_password=openrc_password(self.state_dir / OPENRC),
        )
        self._transports = transports = CellTransports(
            config.transport_url,
            lambda url, exchange: Rpc(
                url,
                config_files=config.files,
                exchange=exchange,
                call_timeout=config.rpc_response_timeout,
            ),
        )
        for cell, _ in cells.host_cells():
            conductor_config = replace(config, cell_database_url=cell.database_url)
            self._spawn(
                f"conductor-{cell.name}",
                partial(run_conductor, conductor_config, stop=self._stop, rpc=transports.rpc(cell)),
            )
        self._serve_api(sock, endpoints, cells, transports)
        self._wait_listening(deadline)
        self._progress(f"API: listening on {endpoints.base}")
        for request in self.sim_requests:
            self._start_host(request, endpoints, transports)
        self._wait_reported(deadline)
        return endpoints

    def _register_host_cells(self, api: Engine) -> None:
        wanted = sorted({request.cell for request in self.sim_requests})
        assert self._cells is not None
        known = {cell.name for cell in self._cells.cells()}
        for name in wanted:
            if name in known:
                continue
            if not self.config.embedded:
                # A deployment's cells are the operator's: `offpath cell create`.
                raise CellNotFound(name)
            register_cell(
                api,
                name=name,
                database_url=f"sqlite:///{(self.state_dir / f'{name}.sqlite').resolve()}",
                transport_url=self.config.transport_url,
            )
            self._progress(f"cells: {name} created")

    def _serve_api(
        self,
        sock: socket.socket,
        endpoints: Endpoints,
        cells: CellDatabases,
        transports: CellTransports,
    ) -> None:
        config = self.config
        # `[nova] endpoint` when the operator names one (a balancer in front of the API).
        self._notifier = NovaNotifier(
            config.nova_endpoint or endpoints.compute, token=endpoints.service
        )
        assert self._api is not None
        assert self._policy is not None
        policy = self._policy
        network = self._network_service(self._api, self._notifier)
        ports = self._client(endpoints)
        scheduler = Scheduler(HostStateCache(cells, service_down_time=config.service_down_time))
        compute = CellCompute(cells, transports, long_timeout=config.long_rpc_timeout)
        conductor = InstanceConductor(
            cells,
            scheduler,
            ports,
            aliases=parse_aliases(load_pci_config(list(config.files)).alias),
            compute=compute,
            cell_timeout=config.cell_timeout,
            binding=ports,
            service_down_time=config.service_down_time,
        )
        operations = self._operations = OperationBase(conductor, compute)
        moves = Moves(operations, bindings=ports)
        deps = ApiDeps(
            cells=cells,
            conductor=conductor,
            scheduler=scheduler,
            ports=ports,
            events=compute,
            tokens=self._tokens,
            auth_token=endpoints.token,
            default_project=config.api_default_project,
            public_endpoint=config.api_public_endpoint,
            extra_routers=((NETWORK_PREFIX, network_router(lambda: network, policy=policy)),),
            policy=policy,
            chassis=network.chassis if self._backend is not None else None,
            actions=ServerActions(operations, shelved_offload_time=config.shelved_offload_time),
            moves=moves,
        )
        # An evacuated host that comes back: its stale guest goes, its VFs are freed.
        self._spawn("evacuations", partial(_finish_evacuations, moves, self._stop, config))
        server = self._server = uvicorn.Server(
            uvicorn.Config(create_app(deps), log_level="warning", access_log=False)
        )
        # Off the main thread, uvicorn leaves signals to the command that runs the cloud.
        self._server_thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="api", daemon=True
        )
        self._server_thread.start()

    def _start_ovn(self) -> None:
        """Connect to the OVN the config names, or start one in the state directory."""
        from offpath.network.ovn.backend import OvnBackend  # noqa: PLC0415
        from offpath.network.ovn.central import OvnCentral  # noqa: PLC0415
        from offpath.network.ovn.config import OvnConfig  # noqa: PLC0415

        ovn = self.config.ovn
        if ovn is None:
            central = self._central = OvnCentral(self.state_dir / "ovn")
            central.start()
            ovn = OvnConfig(central.nb_connection, central.sb_connection)
            self._progress(
                f"OVN: Northbound {ovn.nb_connection}, Southbound {ovn.sb_connection}, "
                f"ovn-northd started in {central.directory}"
            )
        backend = self._backend = OvnBackend(
            ovn, down_time=timedelta(seconds=self.config.agent_down_time)
        )
        backend.start()
        self._progress(f"OVN: connected to {ovn.nb_connection} and {ovn.sb_connection}")

    def _network_service(self, api: Engine, notifier: NovaNotifier) -> NetworkService:
        if self._backend is None:
            return embedded_network_service(
                api,
                events=notifier,
                chassis_down_time=timedelta(seconds=self.config.agent_down_time),
            )
        service = self._backend.network_service(api, events=notifier)
        audit = self._backend.audit(service)
        # What changed while no service ran (or OVN was away) is written now, then periodically.
        audit.repair()
        self._backend.keep_up(repair=audit.repair)
        return service

    def _start_dpu(self, dpu: SimDpu, endpoints: Endpoints) -> None:
        if self._backend is None:
            agent = DpuAgent(endpoints.network, dpu, token=endpoints.service)
            agent.start()
            self._dpus.append(agent)
            self._progress(f"DPU {dpu.hostname}: chassis registered, card serial {dpu.serial}")
            return
        from offpath.network.ovn.sim_controller import SimOvnController  # noqa: PLC0415

        controller = SimOvnController(self._backend.config.sb_connection, dpu)
        controller.start()
        self._controllers.append(controller)
        self._progress(
            f"DPU {dpu.hostname}: simulated ovn-controller registered its chassis in the "
            f"Southbound, card serial {dpu.serial}"
        )

    def _client(self, endpoints: Endpoints) -> NeutronClient:
        client = NeutronClient(endpoints.network, token=endpoints.service)
        self._clients.append(client)
        return client

    def _start_host(
        self, request: SimHostRequest, endpoints: Endpoints, transports: CellTransports
    ) -> None:
        host = write_sim_host(request, self.state_dir, seed=len(self.hosts))
        self.hosts.append(host)
        for dpu in host.dpus:
            self._start_dpu(dpu, endpoints)
        host_config = load_service_config(
            [*self.config.files, host.config_file], state_dir=self.state_dir
        )
        specs = load_device_specs([host.config_file], sysfs_root=host.sysfs_root)
        cell = self._cell(request.cell)
        # Held here, not by the agent: a test-driver connection's guests are seen through it only.
        hypervisor = self._hypervisors[request.name] = hypervisor_for(host_config.libvirt_uri)
        self._spawn(
            f"agent-{request.name}",
            partial(
                run_agent,
                host_config,
                discover=partial(discover_sysfs, host.sysfs_root),
                specs=specs,
                stop=self._stop,
                network=self._client(endpoints),
                rpc=transports.rpc(cell),
                service_version=request.service_version,
                hypervisor=hypervisor,
            ),
        )
        self._progress(
            f"host {request.name}: {request.profile}, {len(host.sim.vfs)} VFs, "
            f"cell {request.cell}, agent started"
        )

    def _cell(self, name: str) -> Cell:
        assert self._cells is not None
        for cell in self._cells.cells():
            if cell.name == name:
                return cell
        raise CellNotFound(name)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        def run() -> None:
            try:
                target()
            except OffpathError as exc:
                LOG.error("%s stopped: [%s] %s", name, exc.code, exc.message)
            except Exception:
                LOG.exception("%s failed", name)

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _wait_listening(self, deadline: float) -> None:
        assert self._server is not None and self._server_thread is not None
        while not self._server.started:
            if not self._server_thread.is_alive():
                raise CloudStartFailed("API", "the HTTP server stopped while starting")
            if time.monotonic() > deadline:
                raise CloudStartFailed("API", "the HTTP server did not start in time")
            time.sleep(POLL)

    def _wait_reported(self, deadline: float) -> None:
        """Until every simulated host is registered and has reported its inventory."""
        waiting = {request.name: request.cell for request in self.sim_requests}
        while waiting:
            for name, cell_name in list(waiting.items()):
                if self._reported(name, cell_name):
                    del waiting[name]
                    self._progress(f"host {name}: registered, inventory reported")
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise CloudStartFailed(
                    "agents", f"{', '.join(sorted(waiting))} did not report in time"
                )
            time.sleep(POLL)

    def _reported(self, host: str, cell_name: str) -> bool:
        assert self._cells is not None
        with reading(self._cells.engine(self._cell(cell_name))) as session:
            service = session.scalar(
                select(ServiceRow.id).where(
                    ServiceRow.host == host, ServiceRow.binary == COMPUTE_BINARY
                )
            )
            node = session.scalar(select(ComputeNodeRow.id).where(ComputeNodeRow.host == host))
        return service is not None and node is not None

    # -- stop -------------------------------------------------------------

    def stop(self) -> None:
        """Stop every agent, DPU, conductor and the API, then close every connection."""
        self._stop.set()
        for dpu in self._dpus:
            dpu.stop()
        self._dpus.clear()
        for controller in self._controllers:
            controller.stop()
        self._controllers.clear()
        for thread in self._threads:
            thread.join(timeout=10.0)
            if thread.is_alive():
                LOG.warning("%s did not stop within 10 s", thread.name)
        self._threads.clear()
        if self._operations is not None:
            self._operations.close()
        for hypervisor in self._hypervisors.values():
            hypervisor.close()
        if self._server is not None:
            self._server.should_exit = True
        if self._server_thread is not None:
            self._server_thread.join(timeout=10.0)
        for client in self._clients:
            client.close()
        self._clients.clear()
        if self._notifier is not None:
            self._notifier.close()
        if self._transports is not None:
            self._transports.close()
        if self._cells is not None:
            self._cells.dispose()
        if self._api is not None:
            self._api.dispose()
        if self._backend is not None:
            self._backend.stop()
            self._backend = None
        if self._central is not None:
            self._central.stop()
            self._central = None


def _finish_evacuations(moves: Moves, stop: threading.Event, config: ServiceConfig) -> None:
    while not stop.wait(config.report_interval):
        try:
            moves.finish_evacuations()
        except OffpathError as exc:
            LOG.warning("evacuations not checked: [%s] %s", exc.code, exc.message)


def _listen(address: str, port: int) -> socket.socket:
    """A listening socket on `address:port` (0: any free port), bound before anything serves."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off only on sockets that say they are TCP;
    # with it on, each response's body waits for the client's delayed ACK (40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, port))
    except OSError as exc:
        sock.close()
        raise CloudStartFailed(
            "API", f"cannot listen on {address}:{port}: {exc.strerror}"
        ) from None
    sock.listen(128)
    return sock

"""Benchmark: remote-managed port binds through a real OVN, per second and until ACTIVE.

    bench/ovn_bind.py                                  1,000 ports on 50 simulated DPUs, SQLite
    bench/ovn_bind.py --database postgresql            a scratch database on 127.0.0.1:5432
    bench/ovn_bind.py --ports 50 --dpus 5              a smoke run (a few seconds)
    bench/ovn_bind.py --threads 16 --json              more client threads; the figures as JSON

The script starts a real OVN central (NB and SB ovsdb-server, ovn-northd) in
a scratch directory, the OVN backend (connected, pinging chassis) and its
network service on a freshly migrated API database. The simulated DPUs
(`SimOvnController`, each its own card: hostname, serial, 2 PFs with their
MACs) run in child processes, `--dpus-per-process` to a process, each with
its own Southbound connection, as ovn-controllers on their DPUs would.

It creates a geneve network with a subnet and `--ports` remote-managed
ports (timed apart), then `--threads` client threads bind them as Nova
does: one port update each naming the compute host, the device and the
binding profile (card serial, PF MAC, VF number) of the port's DPU, ports
spread evenly over the DPUs. A bind's latency is its update call; its
time to ACTIVE runs from the call's start until the service posts
`network-vif-plugged` for it (it does on ACTIVE, after the DPU claimed the
binding and northd set `Logical_Switch_Port.up`). Then the same threads
unbind every port (host, profile and device cleared), timed the same way,
and `--alone` ports are bound again one at a time, each once the last is
ACTIVE: a bind's latency without a queue in front of it. CPU time is read
per process: this one (the service, its OVN connections, the clients), the
DPU processes, and OVN's ovsdb-servers and northd.

PostgreSQL: `--database postgresql` (127.0.0.1:5432, user postgres, trust
auth) or `--database postgresql+psycopg://USER@HOST:PORT`; the script
creates a scratch database on that server and drops it afterwards.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from offpath.db.engine import open_engine, parse_url, redacted
from offpath.db.schema_version import SchemaKind, sync
from offpath.errors import DatabaseUrlInvalid
from offpath.network.caller import ADMIN
from offpath.network.neutron_json import NetworkSpec, PortChanges, PortSpec, SubnetSpec
from offpath.network.nova_notifier import VIF_PLUGGED, VIF_UNPLUGGED, ServerEvent
from offpath.network.ovn.backend import OvnBackend
from offpath.network.ovn.central import OvnCentral
from offpath.network.ovn.config import OvnConfig
from offpath.network.ovn.sim_controller import SimOvnController
from offpath.network.records import PortStatus
from offpath.network.service import NetworkService
from offpath.ports.vnic import VnicType
from offpath.sim.dpu import SimDpu

SCRIPT: Final = Path(__file__).resolve()
PFS: Final = 2
MIN_VFS_PER_PF: Final = 16
DEFAULT_PORTS: Final = 1_000
DEFAULT_DPUS: Final = 50
DEFAULT_THREADS: Final = 8
DEFAULT_DPUS_PER_PROCESS: Final = 10
# Ports bound one at a time after the burst: a bind's own latency, without a queue.
DEFAULT_ALONE: Final = 10
POSTGRES_SERVER: Final = "postgresql+psycopg://postgres@127.0.0.1:5432"
# Bounds on every wait: the DPUs' start, every port ACTIVE after the last bind, a stop.
START_TIMEOUT: Final = 120.0
ACTIVE_TIMEOUT: Final = 120.0
STOP_TIMEOUT: Final = 30.0
POLL: Final = 0.02
# Nova's compute hosts: one per DPU (the DPU sits in that host).
COMPUTE_HOST: Final = "compute-{index:03d}"
VENDOR_INFO: Final = "15b3:101e"


class BenchFailed(Exception):
    """The run cannot give a figure: what went wrong, for the one line the script prints."""


@dataclass(frozen=True)
class DpuPlan:
    """One simulated DPU: its chassis hostname, card serial, PF MACs and VFs per PF."""

    hostname: str
    serial: str
    pf_macs: tuple[str, ...]
    vfs: int


@dataclass(frozen=True)
class PortPlan:
    """Where one port is bound: the compute host and its DPU's card, PF and VF."""

    host: str
    serial: str
    pf_mac: str
    vf_num: int
    pci_slot: str


@dataclass(frozen=True)
class Timed:
    """One port's call: when it began (monotonic) and how long the call took."""

    port_id: str
    began: float
    seconds: float
    error: str | None = None


@dataclass(frozen=True)
class Result:
    """The figures of one run."""

    database: str
    ports: int
    dpus: int
    dpu_processes: int
    vfs_per_pf: int
    threads: int
    cpus: int
    creates_per_s: float
    binds_per_s: float
    bind_p50_ms: float
    bind_p95_ms: float
    bind_p99_ms: float
    active_p50_ms: float
    active_p95_ms: float
    active_p99_ms: float
    active_max_ms: float
    all_active_s: float
    active: int
    bind_errors: int
    alone: int
    alone_p50_ms: float
    alone_max_ms: float
    cpu_ms_per_bind: float
    dpu_cpu_ms_per_bind: float
    ovn_cpu_ms_per_bind: float
    northd_cpu_ms_per_bind: float
    unbinds_per_s: float
    unbind_p50_ms: float
    unbind_p99_ms: float
    unbound: int
    load_before: float
    load_after: float


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of `values` (NaN when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def vfs_per_pf(ports: int, dpus: int) -> int:
    """VFs per PF so that `dpus` DPUs of PFS PFs hold `ports` ports (at least MIN_VFS_PER_PF)."""
    return max(MIN_VFS_PER_PF, math.ceil(ports / (dpus * PFS)))


def dpu_plans(dpus: int, vfs: int) -> list[DpuPlan]:
    """`dpus` distinct cards: hostname, serial and PF MACs numbered after the DPU."""
    return [
        DpuPlan(
            hostname=f"dpu-{i:03d}.bench",
            serial=f"MT2113X{i:05d}",
            pf_macs=tuple(f"52:54:00:{i >> 8:02x}:{i & 0xFF:02x}:{pf:02x}" for pf in range(PFS)),
            vfs=vfs,
        )
        for i in range(dpus)
    ]


def port_plans(ports: int, dpus: Sequence[DpuPlan]) -> list[PortPlan]:
    """Port i on DPU i mod N, the DPU's VFs taken PF by PF in turn: the ports spread evenly."""
    plans = []
    for i in range(ports):
        index, slot = i % len(dpus), i // len(dpus)
        dpu = dpus[index]
        pf, vf = slot % PFS, slot // PFS
        if vf >= dpu.vfs:
            raise ValueError(f"{ports} ports do not fit on {len(dpus)} DPUs of {dpu.vfs} VFs/PF")
        plans.append(
            PortPlan(
                host=COMPUTE_HOST.format(index=index),
                serial=dpu.serial,
                pf_mac=dpu.pf_macs[pf],
                vf_num=vf,
                pci_slot=f"0000:{0x82 + pf:02x}:{vf // 8:02x}.{vf % 8}",
            )
        )
    return plans


def cpu_seconds(pid: int) -> float:
    """The user + system CPU time process `pid` has used so far (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # The command (field 2) may hold spaces; utime and stime are fields 14 and 15.
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the simulated DPUs, in child processes -------------------------------------------


def serve_dpus() -> int:
    """Child mode: start the DPUs stdin names, say `ready`, stop them when stdin closes."""
    spec = json.loads(sys.stdin.readline())
    controllers = []
    try:
        for plan in spec["dpus"]:
            dpu = SimDpu(plan["hostname"], tuple(plan["pf_macs"]), plan["vfs"], plan["serial"])
            controller = SimOvnController(spec["sb_connection"], dpu)
            controller.start()
            controllers.append(controller)
        print("ready", flush=True)
        sys.stdin.read()  # until the parent closes it
    finally:
        for controller in controllers:
            controller.stop()
    return 0


class DpuProcesses:
    """The DPU child processes: started, awaited (`wait_ready`), stopped by closing their stdin."""

    def __init__(self, sb_connection: str, plans: Sequence[DpuPlan], per_process: int) -> None:
        self.sb_connection = sb_connection
        self.groups = [plans[i : i + per_process] for i in range(0, len(plans), per_process)]
        self.processes: list[subprocess.Popen[str]] = []

    def __enter__(self) -> DpuProcesses:
        """Start every child; `wait_ready` waits until they have registered their DPUs."""
        try:
            for group in self.groups:
                self.processes.append(self._spawn(group))
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self) -> None:
        """Until every child said `ready` (bounded); BenchFailed when one did not."""
        deadline = time.monotonic() + START_TIMEOUT
        for process in self.processes:
            self._await_ready(process, deadline)

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def pids(self) -> list[int]:
        """The children's process ids."""
        return [process.pid for process in self.processes]

    def _spawn(self, group: Sequence[DpuPlan]) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, str(SCRIPT), "--serve-dpus"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            # The child imports the same offpath as this process (a worktree's src/ too).
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        assert process.stdin is not None
        spec = {"sb_connection": self.sb_connection, "dpus": [asdict(plan) for plan in group]}
        process.stdin.write(json.dumps(spec) + "\n")
        process.stdin.flush()
        return process

    @staticmethod
    def _await_ready(process: subprocess.Popen[str], deadline: float) -> None:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
        line = process.stdout.readline() if ready else ""
        if line.strip() != "ready":
            raise BenchFailed(
                f"the DPU process {process.pid} did not start within {START_TIMEOUT:.0f} s "
                f"(exit status {process.poll()}, said {line.strip()!r})"
            )

    def stop(self) -> None:
        """Stop every child (bounded): they remove their chassis and exit."""
        for process in self.processes:
            if process.stdin is not None and not process.stdin.closed:
                with suppress(OSError):
                    process.stdin.close()
        for process in self.processes:
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            if process.stdout is not None:
                process.stdout.close()
        self.processes = []


# -- the cloud's side ---------------------------------------------------------------------


class EventTimes:
    """An EventSink that notes when each port's network-vif-plugged/-unplugged arrived."""

    def __init__(self) -> None:
        self.plugged: dict[str, float] = {}
        self.unplugged: dict[str, float] = {}
        self._changed = threading.Condition()

    def notify(self, events: Sequence[ServerEvent]) -> None:
        """Note the first arrival of each event (monotonic time)."""
        now = time.monotonic()
        with self._changed:
            for event in events:
                seen = self.plugged if event.name == VIF_PLUGGED else self.unplugged
                if event.name in (VIF_PLUGGED, VIF_UNPLUGGED):
                    seen.setdefault(event.tag, now)
            self._changed.notify_all()

    def wait_plugged(self, ports: int, timeout: float) -> bool:
        """Wait until `ports` ports were plugged, at most `timeout` seconds; True if they were."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.plugged) >= ports, timeout)

    def wait_port(self, port_id: str, timeout: float) -> float | None:
        """When `port_id` was plugged, waiting at most `timeout` seconds; None if it was not."""
        with self._changed:
            self._changed.wait_for(lambda: port_id in self.plugged, timeout)
            return self.plugged.get(port_id)

    def forget(self) -> None:
        """Forget every event seen so far (before the next pass)."""
        with self._changed:
            self.plugged.clear()
            self.unplugged.clear()


@contextmanager
def api_database(database: str, workdir: Path) -> Iterator[Engine]:
    """A migrated API database: a SQLite file, or a scratch database on a PostgreSQL server."""
    if database == "sqlite":
        engine = open_engine(f"sqlite:///{workdir / 'api.sqlite'}")
        try:
            sync(engine, SchemaKind.API)
            yield engine
        finally:
            engine.dispose()
        return
    server = parse_url(POSTGRES_SERVER if database == "postgresql" else database)
    name = f"offpath_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        raise BenchFailed(f"cannot create a database on {redacted(str(server))}: {exc}") from None
    engine = open_engine(server.set(database=name).render_as_string(hide_password=False))
    try:
        sync(engine, SchemaKind.API)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def database_label(database: str) -> str:
    """How the table names the database."""
    if database == "sqlite":
        return "SQLite"
    url = make_url(POSTGRES_SERVER if database == "postgresql" else database)
    return f"PostgreSQL ({url.host}:{url.port or 5432})"


def wait_for_chassis(backend: OvnBackend, dpus: int) -> None:
    """Until the backend sees `dpus` live chassis (bounded)."""
    deadline = time.monotonic() + START_TIMEOUT
    while sum(chassis.up for chassis in backend.chassis.all()) < dpus:
        if time.monotonic() > deadline:
            raise BenchFailed(f"fewer than {dpus} chassis alive after {START_TIMEOUT:.0f} s")
        time.sleep(POLL)


# -- the client's side ----------------------------------------------------------------------


def create_ports(service: NetworkService, ports: int) -> tuple[list[str], float]:
    """A geneve network with a subnet and `ports` remote-managed ports; their ids, creates/s."""
    network = service.create_network(ADMIN, NetworkSpec(name="bench-ovn", network_type="geneve"))
    network_id = network.network.id
    service.create_subnet(ADMIN, SubnetSpec(network_id, "10.0.0.0/16", 4))
    began = time.monotonic()
    created = [
        service.create_port(
            ADMIN,
            PortSpec(network_id, None, PortChanges(vnic_type=VnicType.REMOTE_MANAGED)),
        ).port.id
        for _ in range(ports)
    ]
    return created, ports / (time.monotonic() - began)


def bind_changes(plan: PortPlan) -> PortChanges:
    """What Nova's port update writes at boot: the host, the device and the VF's profile."""
    return PortChanges(
        host_id=plan.host,
        device_id=str(uuid.uuid4()),
        device_owner="compute:nova",
        profile={
            "pci_vendor_info": VENDOR_INFO,
            "pci_slot": plan.pci_slot,
            "physical_network": None,
            "card_serial_number": plan.serial,
            "pf_mac_address": plan.pf_mac,
            "vf_num": plan.vf_num,
        },
    )


UNBIND: Final = PortChanges(host_id="", device_id="", device_owner="", profile={})


def timed_update(service: NetworkService, port_id: str, changes: PortChanges) -> Timed:
    """One port update, timed; an error is kept, not raised."""
    began = time.monotonic()
    try:
        service.update_port(ADMIN, port_id, changes)
    except Exception as exc:
        return Timed(port_id, began, time.monotonic() - began, f"{type(exc).__name__}: {exc}")
    return Timed(port_id, began, time.monotonic() - began)


def concurrently(work: Sequence[Callable[[], Timed]], threads: int) -> tuple[list[Timed], float]:
    """Run `work` on `threads` threads; the results and the wall time from first to last."""
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="client") as pool:
        results = list(pool.map(lambda job: job(), work))
    return results, time.monotonic() - began


def _job(service: NetworkService, port_id: str, changes: PortChanges) -> Callable[[], Timed]:
    return lambda: timed_update(service, port_id, changes)


# -- one run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """The run's size."""

    ports: int
    dpus: int
    threads: int
    database: str
    dpus_per_process: int
    alone: int = DEFAULT_ALONE


@dataclass(frozen=True)
class Cloud:
    """What a run drives: the service, and the processes whose CPU time it reads."""

    service: NetworkService
    events: EventTimes
    dpu_pids: list[int]
    ovn_pids: dict[str, int]


@dataclass(frozen=True)
class Burst:
    """The concurrent bind pass: every call, the wall time, CPU seconds per side."""

    calls: list[Timed]
    wall_s: float
    all_active_s: float
    cpu_s: float
    dpu_cpu_s: float
    ovn_cpu_s: float
    northd_cpu_s: float


def say(text: str) -> None:
    """One progress line on stderr (the table goes to stdout)."""
    print(f"  {text}", file=sys.stderr, flush=True)


def bind_burst(
    cloud: Cloud, port_ids: Sequence[str], plans: Sequence[PortPlan], threads: int
) -> Burst:
    """Bind every port from `threads` threads; wait (bounded) until every one is ACTIVE."""
    cpu = time.process_time()
    dpu_cpu = sum(map(cpu_seconds, cloud.dpu_pids))
    ovn_cpu = sum(map(cpu_seconds, cloud.ovn_pids.values()))
    northd_cpu = cpu_seconds(cloud.ovn_pids["northd"])
    calls, wall_s = concurrently(
        [
            _job(cloud.service, p, bind_changes(plan))
            for p, plan in zip(port_ids, plans, strict=True)
        ],
        threads,
    )
    say(f"bound in {wall_s:.1f} s")
    cloud.events.wait_plugged(len(port_ids), ACTIVE_TIMEOUT)
    first = min(call.began for call in calls)
    return Burst(
        calls=calls,
        wall_s=wall_s,
        all_active_s=max(cloud.events.plugged.values(), default=math.nan) - first,
        cpu_s=time.process_time() - cpu,
        dpu_cpu_s=sum(map(cpu_seconds, cloud.dpu_pids)) - dpu_cpu,
        ovn_cpu_s=sum(map(cpu_seconds, cloud.ovn_pids.values())) - ovn_cpu,
        northd_cpu_s=cpu_seconds(cloud.ovn_pids["northd"]) - northd_cpu,
    )


def bind_alone(cloud: Cloud, port_ids: Sequence[str], plans: Sequence[PortPlan]) -> list[float]:
    """Bind the ports one at a time, each once the last is ACTIVE; their times to ACTIVE."""
    cloud.events.forget()
    seconds = []
    for port_id, plan in zip(port_ids, plans, strict=False):
        call = timed_update(cloud.service, port_id, bind_changes(plan))
        active = cloud.events.wait_port(port_id, ACTIVE_TIMEOUT)
        if call.error is None and active is not None:
            seconds.append(active - call.began)
    return seconds


def count_ports(service: NetworkService, *, active: bool) -> int:
    """Ports bound and ACTIVE (`active`), or unbound and DOWN."""
    records = service.list_ports(ADMIN)
    if active:
        return sum(
            r.port.status == PortStatus.ACTIVE.value and r.port.binding_host_id is not None
            for r in records
        )
    return sum(
        r.port.status == PortStatus.DOWN.value and r.port.binding_host_id is None for r in records
    )


def measure(options: Options, workdir: Path) -> Result:
    """Start OVN, the DPUs and the service; create, bind and unbind the ports; stop it all."""
    vfs = vfs_per_pf(options.ports, options.dpus)
    dpus = dpu_plans(options.dpus, vfs)
    plans = port_plans(options.ports, dpus)
    load_before = os.getloadavg()[0]
    events = EventTimes()
    began = time.monotonic()
    with ExitStack() as stack:
        central = stack.enter_context(OvnCentral(workdir / "ovn"))
        # The children start (a second or two each) while the database migrates.
        children = stack.enter_context(
            DpuProcesses(central.sb_connection, dpus, options.dpus_per_process)
        )
        engine = stack.enter_context(api_database(options.database, workdir))
        config = OvnConfig(central.nb_connection, central.sb_connection, timeout=30)
        backend = stack.enter_context(OvnBackend(config))
        backend.keep_up()
        service = backend.network_service(engine, events=events)
        children.wait_ready()
        wait_for_chassis(backend, options.dpus)
        say(f"OVN, {options.dpus} DPUs and the service up in {time.monotonic() - began:.1f} s")
        cloud = Cloud(service, events, children.pids, dict(central.pids))
        port_ids, creates_per_s = create_ports(service, options.ports)
        say(f"{options.ports} ports created ({creates_per_s:.1f}/s)")

        burst = bind_burst(cloud, port_ids, plans, options.threads)
        to_active = [
            events.plugged[call.port_id] - call.began
            for call in burst.calls
            if call.port_id in events.plugged
        ]
        active = count_ports(service, active=True)
        say(f"{active} ACTIVE after {burst.all_active_s:.1f} s")

        unbound, unbind_s = concurrently(
            [_job(service, port_id, UNBIND) for port_id in port_ids], options.threads
        )
        unbound_down = count_ports(service, active=False)
        say(f"unbound in {unbind_s:.1f} s")
        alone = bind_alone(cloud, port_ids[: options.alone], plans[: options.alone])
        children.stop()
    errors = [t for t in (*burst.calls, *unbound) if t.error is not None]
    for timed in errors[:5]:
        print(f"  port {timed.port_id}: {timed.error}", file=sys.stderr)
    bind_ok = [t.seconds for t in burst.calls if t.error is None]
    unbind_ok = [t.seconds for t in unbound if t.error is None]
    ports = options.ports
    return Result(
        database=database_label(options.database),
        ports=ports,
        dpus=options.dpus,
        dpu_processes=len(children.groups),
        vfs_per_pf=vfs,
        threads=options.threads,
        cpus=os.cpu_count() or 1,
        creates_per_s=creates_per_s,
        binds_per_s=ports / burst.wall_s,
        bind_p50_ms=percentile(bind_ok, 0.50) * 1e3,
        bind_p95_ms=percentile(bind_ok, 0.95) * 1e3,
        bind_p99_ms=percentile(bind_ok, 0.99) * 1e3,
        active_p50_ms=percentile(to_active, 0.50) * 1e3,
        active_p95_ms=percentile(to_active, 0.95) * 1e3,
        active_p99_ms=percentile(to_active, 0.99) * 1e3,
        active_max_ms=max(to_active, default=math.nan) * 1e3,
        all_active_s=burst.all_active_s,
        active=active,
        bind_errors=len([t for t in burst.calls if t.error is not None]),
        alone=len(alone),
        alone_p50_ms=percentile(alone, 0.50) * 1e3,
        alone_max_ms=max(alone, default=math.nan) * 1e3,
        cpu_ms_per_bind=burst.cpu_s / ports * 1e3,
        dpu_cpu_ms_per_bind=burst.dpu_cpu_s / ports * 1e3,
        ovn_cpu_ms_per_bind=burst.ovn_cpu_s / ports * 1e3,
        northd_cpu_ms_per_bind=burst.northd_cpu_s / ports * 1e3,
        unbinds_per_s=ports / unbind_s,
        unbind_p50_ms=percentile(unbind_ok, 0.50) * 1e3,
        unbind_p99_ms=percentile(unbind_ok, 0.99) * 1e3,
        unbound=unbound_down,
        load_before=load_before,
        load_after=os.getloadavg()[0],
    )


# -- output ------------------------------------------------------------------------------------


def table(result: Result) -> list[tuple[str, str]]:
    """The rows of the printed table: what was measured, and its figure."""
    r = result
    return [
        ("binds/s (wall: first call to last return)", f"{r.binds_per_s:.1f}"),
        (
            "bind call p50 / p95 / p99",
            f"{r.bind_p50_ms:.1f} / {r.bind_p95_ms:.1f} / {r.bind_p99_ms:.1f} ms",
        ),
        (
            "bind -> ACTIVE p50 / p95 / p99 / max",
            f"{r.active_p50_ms:.0f} / {r.active_p95_ms:.0f} / {r.active_p99_ms:.0f} / "
            f"{r.active_max_ms:.0f} ms",
        ),
        ("every port ACTIVE (first bind to last ACTIVE)", f"{r.all_active_s:.1f} s"),
        ("ports ACTIVE", f"{r.active} / {r.ports}"),
        ("bind errors", f"{r.bind_errors}"),
        (
            f"bind -> ACTIVE one at a time ({r.alone} ports) p50 / max",
            f"{r.alone_p50_ms:.0f} / {r.alone_max_ms:.0f} ms",
        ),
        (
            "CPU per bind: this process / DPU processes / OVN",
            f"{r.cpu_ms_per_bind:.1f} / {r.dpu_cpu_ms_per_bind:.1f} / "
            f"{r.ovn_cpu_ms_per_bind:.1f} ms",
        ),
        ("CPU per bind of OVN: ovn-northd", f"{r.northd_cpu_ms_per_bind:.1f} ms"),
        ("unbinds/s (wall)", f"{r.unbinds_per_s:.1f}"),
        ("unbind call p50 / p99", f"{r.unbind_p50_ms:.1f} / {r.unbind_p99_ms:.1f} ms"),
        ("ports unbound and DOWN", f"{r.unbound} / {r.ports}"),
        ("port creates/s (before, not in the binds)", f"{r.creates_per_s:.1f}"),
        ("load 1m (before -> after)", f"{r.load_before:.2f} -> {r.load_after:.2f}"),
    ]


def print_table(result: Result) -> None:
    """The run's setup in one line, then its figures as a markdown table."""
    r = result
    processes = f"{r.dpu_processes} child process{'es' if r.dpu_processes > 1 else ''}"
    print(
        f"{r.ports} remote-managed ports on {r.dpus} simulated DPUs ({PFS} PFs x "
        f"{r.vfs_per_pf} VFs each) in {processes}, bound by {r.threads} client threads; "
        f"{r.database}; real OVN (NB/SB ovsdb-server, ovn-northd); {r.cpus} CPUs"
    )
    print()
    rows = [("measure", "value"), *table(r)]
    width = max(len(name) for name, _ in rows)
    value_width = max(len(value) for _, value in rows)
    for index, (name, value) in enumerate(rows):
        print(f"| {name:<{width}} | {value:>{value_width}} |")
        if index == 0:
            print(f"|{'-' * (width + 2)}|{'-' * (value_width + 1)}:|")


def _database(text: str) -> str:
    if text in ("sqlite", "postgresql"):
        return text
    try:
        backend = parse_url(text).get_backend_name()
    except DatabaseUrlInvalid:
        backend = ""
    if backend != "postgresql":
        raise argparse.ArgumentTypeError(
            f"sqlite, postgresql or a PostgreSQL server URL "
            f"(postgresql+psycopg://USER@HOST:PORT), not {text!r}"
        )
    return text


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its table (or JSON); 1 unless every port bound, went ACTIVE
    and unbound."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--ports", type=_positive, default=DEFAULT_PORTS)
    parser.add_argument("--dpus", type=_positive, default=DEFAULT_DPUS)
    parser.add_argument("--threads", type=_positive, default=DEFAULT_THREADS, help="client threads")
    parser.add_argument(
        "--database",
        type=_database,
        default="sqlite",
        help="sqlite, postgresql (127.0.0.1:5432) or a PostgreSQL server URL",
    )
    parser.add_argument("--dpus-per-process", type=_positive, default=DEFAULT_DPUS_PER_PROCESS)
    parser.add_argument(
        "--alone",
        type=_positive,
        default=DEFAULT_ALONE,
        help="ports bound one at a time after the burst",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--serve-dpus", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_dpus:
        return serve_dpus()
    if shutil.which("ovn-northd") is None:
        print(
            "bench/ovn_bind.py: OVN is not installed: run scripts/install-system-packages",
            file=sys.stderr,
        )
        return 1
    options = Options(
        args.ports, args.dpus, args.threads, args.database, args.dpus_per_process, args.alone
    )
    with tempfile.TemporaryDirectory(prefix="offpath-bench-ovn-") as tmp:
        try:
            result = measure(options, Path(tmp))
        except BenchFailed as exc:
            print(f"bench/ovn_bind.py: {exc}", file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps(asdict(result), indent=2))
    else:
        print_table(result)
    complete = result.active == result.unbound == result.ports and not result.bind_errors
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())

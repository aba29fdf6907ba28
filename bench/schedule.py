"""Benchmark: boots of one remote-managed VF over N simulated BlueField-2 hosts, per database.

    bench/schedule.py                                   1,000 and 10,000 hosts, SQLite + PostgreSQL
    bench/schedule.py --hosts 200 --backends sqlite     other sizes and backends
    bench/schedule.py --boots 50                        boots timed per size and backend
    bench/schedule.py --against-nova                    also Nova's PciDeviceStats on the same hosts

Every host has 2 PFs x 64 VFs (`offpath.sim.fleet`). For each size and
backend the script makes a fresh deployment (API, cell0 and cell1 databases
on that backend), writes the hosts' inventory reports and compute services
in batches per transaction, loads the scheduler's `HostStateCache` and the
scheduler's index of eligible hosts (timed; their memory is measured twice:
the RSS growth after a garbage collection and `malloc_trim`, and what
tracemalloc counts still allocated after a second, traced load of a fresh
cache), then times N boots of one
remote-managed port: first select + claim alone (`Scheduler.schedule_and_claim`),
then the conductor's full boot (mapping, version gate, schedule, claim,
instance records). It reports median and p99 per boot and the candidate
selection alone (`Scheduler.select`). `--against-nova` times Nova's own
`PciDeviceStats.support_requests` over the same hosts (bench/pools.py's Nova
runner, in bench/.nova-venv): what Nova's PCI filter costs per boot.

PostgreSQL is 127.0.0.1:5432, user postgres, trust auth; the script creates
and drops its own databases.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import importlib.util
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg

from offpath.conductor.instances import BootRequest, InstanceConductor
from offpath.conductor.port_directory import PortRecords
from offpath.db.bootstrap import sync_all
from offpath.db.cells import CellDatabases
from offpath.db.device_claims import Claim
from offpath.db.engine import open_engine, writing
from offpath.db.inventory import apply_report
from offpath.db.services import register_service
from offpath.pci.flavor import Flavor
from offpath.pci.host_report import HostReport
from offpath.pci.request import PciRequest
from offpath.ports.network import Network
from offpath.ports.pci_request import request_from_port
from offpath.ports.port import Port
from offpath.ports.vnic import VnicType
from offpath.scheduler.host_state import HostState, HostStateCache
from offpath.scheduler.request import PlacementRequest
from offpath.scheduler.scheduler import Scheduler
from offpath.service_config import load_service_config
from offpath.sim.fleet import DPU_DEVICE_SPEC, fleet_reports
from offpath.version import COMPUTE_BINARY, SERVICE_VERSION

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_HOSTS = (1_000, 10_000)
DEFAULT_BACKENDS = ("sqlite", "postgresql")
PFS, VFS = 2, 64
BATCH = 250
POSTGRES = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
NETWORK = Network("net-dpu", network_type="geneve")
FLAVOR = Flavor("m1.small")
TARGET_HOSTS = 10_000
TARGET_MS = 20.0
TARGET_MB = 100.0
TARGET_RATIO = 50.0


@dataclass(frozen=True)
class Row:
    """One line of the table: one size on one backend."""

    hosts: int
    backend: str
    populate_s: float
    load_s: float
    cache_mb: float
    traced_mb: float
    select_ms: float
    claim_median_ms: float
    claim_p99_ms: float
    claim_cpu_ms: float
    boot_median_ms: float
    boot_p99_ms: float
    boots: int
    nova_ms: float | None


def _pools_bench() -> ModuleType:
    """bench/pools.py, for its Nova runner machinery (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("bench_pools", BENCH_DIR / "pools.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@contextmanager
def deployment(backend: str, workdir: Path) -> Iterator[CellDatabases]:
    """A synced deployment (API, cell0, cell1) on `backend`, removed afterwards."""
    if backend == "sqlite":
        config = load_service_config([], state_dir=workdir)
        sync_all(config)
        embedded = CellDatabases(open_engine(config.api_database_url))
        try:
            yield embedded
        finally:
            embedded.dispose()
        return
    if backend != "postgresql":
        raise SystemExit(f"unknown backend {backend!r}: sqlite or postgresql")
    base = f"offpath_bench_{uuid.uuid4().hex[:10]}"
    names = (f"{base}_api", base, f"{base}_cell0")
    with psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5) as admin:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
    conf = workdir / "offpath.conf"
    conf.write_text(
        f"[api_database]\nconnection = {POSTGRES_URL.format(name=names[0])}\n"
        f"[database]\nconnection = {POSTGRES_URL.format(name=names[1])}\n"
    )
    cells: CellDatabases | None = None
    try:
        config = load_service_config([conf], state_dir=workdir)
        sync_all(config)
        cells = CellDatabases(open_engine(config.api_database_url))
        yield cells
    finally:
        if cells is not None:
            cells.dispose()
        with psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def populate(cells: CellDatabases, reports: Iterator[HostReport]) -> None:
    """Every host's report and compute service, `BATCH` hosts per transaction."""
    cell = next(cell for cell in cells.cells() if cell.name == "cell1")
    engine = cells.engine(cell)
    batch: list[HostReport] = []
    for report in reports:
        batch.append(report)
        if len(batch) == BATCH:
            _write(engine, batch)
            batch = []
    if batch:
        _write(engine, batch)


def _write(engine: Any, batch: Sequence[HostReport]) -> None:
    with writing(engine) as session:
        for report in batch:
            apply_report(session, report)
            register_service(
                session,
                host=report.host,
                binary=COMPUTE_BINARY,
                topic="compute",
                version=SERVICE_VERSION,
            )


def rss_bytes() -> int:
    """This process's resident set size."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096


def settled_rss() -> int:
    """The RSS once garbage is collected and the C heap's free memory handed back to the OS.

    Without this, the figure is whatever the allocator kept of a load's
    transient peak, which moves by tens of MB between runs.
    """
    gc.collect()
    name = ctypes.util.find_library("c")
    if name is not None:
        trim = getattr(ctypes.CDLL(name), "malloc_trim", None)
        if trim is not None:
            trim(0)
    return rss_bytes()


def traced_state_mb(cells: CellDatabases, placement: PlacementRequest) -> float:
    """What a fresh cache and scheduler index keep allocated, as tracemalloc counts it."""
    tracemalloc.start()
    try:
        cache = HostStateCache(cells, service_down_time=3600, service_refresh=1.0)
        scheduler = Scheduler(cache, seed=1)
        cache.refresh()
        scheduler.select(placement)
        gc.collect()
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return kept / 1e6


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def port_request(ports: PortRecords) -> tuple[str, PciRequest]:
    """A new remote-managed port and its PCI request, as the conductor builds it."""
    port = Port(str(uuid.uuid4()), NETWORK.id, vnic_type=VnicType.REMOTE_MANAGED)
    ports.ports[port.id] = port
    request = request_from_port(port, NETWORK)
    assert request is not None
    return port.id, request


def measure(
    hosts: int,
    backend: str,
    *,
    boots: int,
    workdir: Path,
    nova: Path | None,
    pools: ModuleType | None,
) -> Row:
    """Populate, load, and time the boots of one size on one backend."""
    with deployment(backend, workdir) as cells:
        began = time.perf_counter()
        populate(cells, fleet_reports(hosts, pfs=PFS, vfs=VFS))
        populate_s = time.perf_counter() - began

        ports = PortRecords(networks=[NETWORK])
        _, request = port_request(ports)
        placement = PlacementRequest((request,), remote_managed=True)
        cache = HostStateCache(cells, service_down_time=3600, service_refresh=1.0)
        scheduler = Scheduler(cache, seed=1)
        rss = settled_rss()
        began = time.perf_counter()
        cache.refresh()
        load_s = time.perf_counter() - began
        # The index of eligible hosts is host state too: the first select builds it.
        scheduler.select(placement)
        cache_mb = (settled_rss() - rss) / 1e6
        if len(cache.hosts) != hosts:
            raise SystemExit(f"{backend}: the cache holds {len(cache.hosts)} hosts, not {hosts}")
        traced_mb = traced_state_mb(cells, placement)

        selects = []
        for _ in range(max(5, boots // 10)):
            began = time.perf_counter()
            chosen = scheduler.select(placement)
            selects.append(time.perf_counter() - began)
            assert chosen
        select_ms = statistics.median(selects) * 1e3

        def nothing(_session: Any, _host: HostState, _claim: Claim) -> None:
            return None

        claims = []
        # This process's CPU time alone: on a shared machine the wall time
        # also counts the waits for a core.
        claims_cpu = []
        for _ in range(boots):
            _, request = port_request(ports)
            placement = PlacementRequest((request,), remote_managed=True)
            began, began_cpu = time.perf_counter(), time.process_time()
            scheduler.schedule_and_claim(
                placement, instance_uuid=str(uuid.uuid4()), on_claimed=nothing
            )
            claims.append(time.perf_counter() - began)
            claims_cpu.append(time.process_time() - began_cpu)

        conductor = InstanceConductor(cells, scheduler, ports)
        full = []
        for _ in range(boots):
            port_id, _ = port_request(ports)
            boot = BootRequest(str(uuid.uuid4()), "vm", "demo", FLAVOR, port_ids=(port_id,))
            began = time.perf_counter()
            view = conductor.boot(boot)
            full.append(time.perf_counter() - began)
            if view.vm_state != "building":
                raise SystemExit(f"{backend}: a boot failed: {view.fault}")

    nova_ms = None
    if nova is not None and pools is not None:
        nova_ms = nova_selection_ms(pools, nova, hosts, request)
    return Row(
        hosts=hosts,
        backend=backend,
        populate_s=populate_s,
        load_s=load_s,
        cache_mb=cache_mb,
        traced_mb=traced_mb,
        select_ms=select_ms,
        claim_median_ms=statistics.median(claims) * 1e3,
        claim_p99_ms=percentile(claims, 0.99) * 1e3,
        claim_cpu_ms=statistics.median(claims_cpu) * 1e3,
        boot_median_ms=statistics.median(full) * 1e3,
        boot_p99_ms=percentile(full, 0.99) * 1e3,
        boots=boots,
        nova_ms=nova_ms,
    )


def nova_rows() -> list[dict[str, Any]]:
    """One fleet host's devices as Nova's compute node reports them (all free)."""
    (report,) = fleet_reports(1, pfs=PFS, vfs=VFS)
    return [
        {
            "address": s.device.address,
            "vendor_id": s.device.vendor_id,
            "product_id": s.device.product_id,
            "dev_type": s.device.dev_type.value,
            "numa_node": s.device.numa_node,
            "parent_addr": s.device.parent_addr,
            # Nova reads a VF's serial from its own VPD capability.
            "card_serial_number": s.device.card_serial_number,
        }
        for s in report.devices
    ]


def nova_selection_ms(pools: ModuleType, python: Path, hosts: int, request: PciRequest) -> float:
    """Nova's `support_requests` over `hosts` such hosts, once: its PCI filter's cost per boot."""
    result = pools.nova_run(
        python,
        device_spec=list(DPU_DEVICE_SPEC),
        variants=[nova_rows()],
        hosts=[0] * hosts,
        request=request,
        consume_repeats=1,
    )
    if result["answers"] != "1" * hosts:
        raise SystemExit("Nova says some fleet host cannot serve one remote-managed VF")
    return float(result["support_seconds"]) * 1e3


def print_table(rows: Sequence[Row]) -> None:
    """The figures, one line per size and backend."""
    head = (
        f"{'hosts':>6} {'backend':<10} | {'populate':>8} | "
        f"{'cache load':>10} {'RSS MB':>6} {'traced MB':>9} | "
        f"{'select':>7} | {'sched+claim p50':>15} {'p99':>7} {'CPU p50':>7} | "
        f"{'full boot p50':>13} {'p99':>7} | "
        f"{'Nova PCI filter':>15} {'Nova/select':>11}"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        nova = (
            f"{row.nova_ms:>13.0f}ms {row.nova_ms / row.select_ms:>10.0f}x"
            if row.nova_ms is not None
            else f"{'-':>15} {'-':>11}"
        )
        print(
            f"{row.hosts:>6} {row.backend:<10} | {row.populate_s:>7.1f}s | "
            f"{row.load_s:>9.2f}s {row.cache_mb:>6.1f} {row.traced_mb:>9.1f} | "
            f"{row.select_ms:>5.2f}ms | "
            f"{row.claim_median_ms:>13.2f}ms {row.claim_p99_ms:>5.1f}ms "
            f"{row.claim_cpu_ms:>5.1f}ms | "
            f"{row.boot_median_ms:>11.2f}ms {row.boot_p99_ms:>5.1f}ms | {nova}"
        )


def print_growth(rows: Sequence[Row]) -> None:
    """How the per-boot cost grows between the smallest and largest size, per backend."""
    for backend in dict.fromkeys(row.backend for row in rows):
        mine = sorted((r for r in rows if r.backend == backend), key=lambda r: r.hosts)
        if len(mine) < 2:
            continue
        small, large = mine[0], mine[-1]
        print(
            f"{backend}: {small.hosts} -> {large.hosts} hosts: sched+claim p50 "
            f"x{large.claim_median_ms / small.claim_median_ms:.2f}, full boot p50 "
            f"x{large.boot_median_ms / small.boot_median_ms:.2f}, select "
            f"x{large.select_ms / small.select_ms:.2f}"
        )


def print_targets(rows: Sequence[Row]) -> None:
    """Whether the targets hold at 10,000 hosts on PostgreSQL, when that was measured."""
    for row in rows:
        if row.hosts != TARGET_HOSTS:
            continue
        ratio = (
            f", Nova's PCI filter {row.nova_ms / row.select_ms:.0f}x slower than select "
            f"(>= {TARGET_RATIO:.0f})"
            if row.nova_ms is not None
            else ""
        )
        print(
            f"targets at {TARGET_HOSTS} hosts on {row.backend}: sched+claim p50 "
            f"{row.claim_median_ms:.1f} ms (< {TARGET_MS:.0f}; {row.claim_cpu_ms:.1f} ms of "
            f"this process's CPU), full boot p50 "
            f"{row.boot_median_ms:.1f} ms, host state {row.cache_mb:.0f} MB RSS, "
            f"{row.traced_mb:.0f} MB traced (< {TARGET_MB:.0f})" + ratio
        )


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of host counts: {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"host counts must be positive: {text!r}")
    return sizes


def _backends(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in DEFAULT_BACKENDS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"backends are sqlite and postgresql, not {text!r}")
    return names


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--hosts", type=_sizes, default=list(DEFAULT_HOSTS))
    parser.add_argument("--backends", type=_backends, default=list(DEFAULT_BACKENDS))
    parser.add_argument("--boots", type=int, default=200, help="boots timed per size and backend")
    parser.add_argument("--against-nova", action="store_true", help="also Nova's PciDeviceStats")
    args = parser.parse_args(argv)
    if args.boots < 1:
        parser.error("--boots must be at least 1")
    pools = _pools_bench() if args.against_nova else None
    nova = pools.nova_python() if pools is not None else None
    print(
        f"hosts: {PFS} PFs x {VFS} VFs (BlueField-2, every VF remote-managed); each boot: one "
        f"remote-managed port; {args.boots} boots per size and backend"
    )
    rows = []
    for hosts in args.hosts:
        for backend in args.backends:
            with tempfile.TemporaryDirectory(prefix="offpath-bench-") as tmp:
                rows.append(
                    measure(
                        hosts, backend, boots=args.boots, workdir=Path(tmp), nova=nova, pools=pools
                    )
                )
                print(f"  measured {hosts} hosts on {backend}", file=sys.stderr, flush=True)
    print_table(rows)
    print_growth(rows)
    print_targets(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

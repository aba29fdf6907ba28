"""Benchmark: boots per second and the latency of one boot through the HTTP API.

    bench/boot.py                                   10 and 100 hosts, embedded + PostgreSQL
    bench/boot.py --hosts 10 --backends embedded    other sizes and backends
    bench/boot.py --boots 200 --clients 16          more boots, more concurrent clients
    bench/boot.py --json                            the figures as JSON

For each size and backend the script runs `offpath serve` as its own process
(`--port 0`, one `--sim-host` per host, BlueField-2 and BlueField-3 in
turn), then drives its HTTP API the way a client does: it creates an overlay
network, a flavor and one remote-managed port per boot, then `--clients`
threads `POST /servers` and poll `GET /servers/{id}` every few milliseconds
until the server is ACTIVE. A boot's latency runs from its POST to the poll
that sees ACTIVE; boots per second is the number of boots over the wall time
from the first POST to the last ACTIVE. Then the same threads delete every
server (`DELETE` until `GET` answers 404 and the port is unbound) and the
ports, timed the same way.
The serve process's CPU time is read from /proc, idle and per boot: on a
shared machine it says more than the wall time.

Backends: `embedded` is `offpath serve` with no config (SQLite in a scratch
state directory, the in-process queue); `postgresql` gives it a config
naming scratch PostgreSQL databases (127.0.0.1:5432, user postgres, trust
auth) and a scratch RabbitMQ virtual host (guest/guest on 127.0.0.1:5672,
made with `rabbitmqctl`), both removed afterwards. The machine's load
average is printed next to each row: the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import httpx
import psycopg
import yaml

from offpath.errors import OffpathError
from offpath.service_token import PasswordCredentials, login

OFFPATH: Final = str(Path(sys.executable).parent / "offpath")
DEFAULT_HOSTS: Final = (10, 100)
BACKENDS: Final = ("embedded", "postgresql")
PROFILES: Final = ("bluefield2", "bluefield3")
PFS_PER_HOST: Final = 2
MAX_VFS_PER_PF: Final = 256
# One more VF per PF than the boots need, so the last boots still have a choice.
HEADROOM: Final = 1.25
POLL: Final = 0.02
# How long the idle cloud's own CPU use (heartbeats, inventory reports) is measured.
IDLE_WINDOW: Final = 3.0
# Bounds on every wait: the cloud's start (100 hosts on a busy machine), one boot, one delete.
START_TIMEOUT: Final = 240.0
BOOT_TIMEOUT: Final = 120.0
DELETE_TIMEOUT: Final = 120.0
STOP_TIMEOUT: Final = 30.0
POSTGRES: Final = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
POSTGRES_URL: Final = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
RABBIT_URL: Final = "rabbit://guest:guest@127.0.0.1:5672/{vhost}"
RABBITMQCTL_TIMEOUT: Final = 60


LEGEND: Final = (
    "start: until every host has reported; idle CPU: the serve process's CPU over "
    f"{IDLE_WINDOW:.0f} s idle (heartbeats, reports); CPU/boot: its CPU per boot, the "
    "clients' GETs included; GETs: polls per boot; load 1m: before -> after the row"
)


class BenchFailed(Exception):
    """The run cannot give a figure: what went wrong, for the one line the script prints."""


@dataclass(frozen=True)
class Cloud:
    """A running cloud: where its API is and the token it wants."""

    base: str
    token: str
    start_s: float
    pid: int


@dataclass(frozen=True)
class Timed:
    """One server's boot or delete: its id and how long it took, or why it failed."""

    server_id: str
    seconds: float
    polls: int
    fault: str | None = None


@dataclass(frozen=True)
class Row:
    """One line of the table: one size on one backend."""

    backend: str
    hosts: int
    vfs_per_host: int
    boots: int
    clients: int
    start_s: float
    idle_cpu_pct: float
    boots_per_s: float
    boot_p50_ms: float
    boot_p99_ms: float
    boot_cpu_ms: float
    polls_per_boot: float
    deletes_per_s: float
    delete_p50_ms: float
    delete_p99_ms: float
    failed: int
    load_before: float
    load_after: float


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def vfs_per_pf(boots: int, hosts: int) -> int:
    """VFs per PF so that `hosts` hosts hold `boots` remote-managed ports with headroom."""
    wanted = math.ceil(boots * HEADROOM / (hosts * PFS_PER_HOST))
    return min(MAX_VFS_PER_PF, max(2, wanted))


def sim_hosts(hosts: int, vfs: int) -> list[str]:
    """`--sim-host` values: BlueField-2 and BlueField-3 in turn."""
    return [f"h{i:03d}={PROFILES[i % len(PROFILES)]},vfs={vfs}" for i in range(hosts)]


# -- the cloud under test ---------------------------------------------------


@contextmanager
def scratch_postgresql() -> Iterator[str]:
    """The API, cell and cell0 databases, created now and dropped afterwards; the config lines."""
    base = f"offpath_bench_{uuid.uuid4().hex[:10]}"
    names = (f"{base}_api", base, f"{base}_cell0")
    try:
        admin = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        raise BenchFailed(f"PostgreSQL is not reachable ({POSTGRES}): {exc}") from None
    with admin:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            f"[api_database]\nconnection = {POSTGRES_URL.format(name=names[0])}\n"
            f"[database]\nconnection = {POSTGRES_URL.format(name=names[1])}\n"
        )
    finally:
        with psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _rabbitmqctl(*args: str) -> None:
    try:
        subprocess.run(
            ["rabbitmqctl", *args], check=True, capture_output=True, timeout=RABBITMQCTL_TIMEOUT
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise BenchFailed(f"rabbitmqctl {' '.join(args)} failed: {exc}") from None


@contextmanager
def scratch_vhost() -> Iterator[str]:
    """A RabbitMQ virtual host for guest, deleted afterwards; its transport URL."""
    vhost = f"offpath_bench_{uuid.uuid4().hex[:10]}"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield RABBIT_URL.format(vhost=vhost)
    finally:
        subprocess.run(
            ["rabbitmqctl", "delete_vhost", vhost],
            check=False,
            capture_output=True,
            timeout=RABBITMQCTL_TIMEOUT,
        )


@contextmanager
def backend_config(backend: str, workdir: Path) -> Iterator[list[str]]:
    """`offpath serve`'s config arguments for `backend`, its scratch services removed after."""
    if backend == "embedded":
        yield []
        return
    with scratch_postgresql() as databases, scratch_vhost() as transport:
        conf = workdir / "offpath.conf"
        conf.write_text(f"[DEFAULT]\ntransport_url = {transport}\n{databases}")
        yield ["--config-file", str(conf)]


@contextmanager
def serving(args: Sequence[str], state_dir: Path, *, timeout: float) -> Iterator[Cloud]:
    """`offpath serve ARGS` until it has written its clouds.yaml; SIGTERM (then SIGKILL) after."""
    log = state_dir / "serve.log"
    clouds = state_dir / "clouds.yaml"
    began = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [OFFPATH, "serve", "--state-dir", str(state_dir), "--port", "0", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = began + timeout
        while not clouds.exists():
            if process.poll() is not None:
                raise BenchFailed(f"offpath serve exited {process.returncode}:\n{_tail(log)}")
            if time.monotonic() > deadline:
                raise BenchFailed(f"offpath serve not ready within {timeout:.0f} s:\n{_tail(log)}")
            time.sleep(0.1)
        yield _cloud(clouds, time.monotonic() - began, process.pid)
    finally:
        _stop(process)


def _cloud(clouds: Path, start_s: float, pid: int) -> Cloud:
    # serve writes the file in one call, but a read may still race the write.
    for _ in range(50):
        document = yaml.safe_load(clouds.read_text(encoding="utf-8"))
        if document:
            auth = document["clouds"]["offpath"]["auth"]
            base = str(auth["auth_url"]).removesuffix("/identity/v3")
            return Cloud(base, _login(auth), start_s, pid)
        time.sleep(0.02)
    raise BenchFailed(f"{clouds} stayed empty")


def _login(auth: dict[str, str]) -> str:
    """A token for the clouds.yaml's admin: a Keystone password login, as a client makes."""
    credentials = PasswordCredentials(
        auth["auth_url"], auth["username"], auth["password"], auth["project_name"]
    )
    try:
        return login(credentials).token
    except OffpathError as exc:
        raise BenchFailed(f"login refused: {exc}") from None


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """The user + system CPU time process `pid` has used so far."""
    # /proc/PID/stat: the command (field 2) may hold spaces; utime and stime follow it as
    # fields 14 and 15.
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


# -- the client ---------------------------------------------------------------


class Api:
    """The cloud's HTTP API, one connection pool shared by every client thread."""

    def __init__(self, cloud: Cloud, *, clients: int) -> None:
        limits = httpx.Limits(max_connections=clients * 2, max_keepalive_connections=clients * 2)
        self.http = httpx.Client(
            base_url=cloud.base,
            headers={"X-Auth-Token": cloud.token},
            timeout=30.0,
            limits=limits,
        )

    def close(self) -> None:
        """Close every connection."""
        self.http.close()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One request; its JSON body (None when empty), BenchFailed on an error status."""
        response = self.http.request(method, path, json=body)
        if response.is_error:
            raise BenchFailed(f"{method} {path}: HTTP {response.status_code} {response.text}")
        return response.json() if response.content else None

    def server_status(self, server_id: str) -> tuple[str, str | None] | None:
        """The server's status and fault message, or None once it is gone."""
        response = self.http.get(f"/compute/v2.1/servers/{server_id}")
        if response.status_code == 404:
            return None
        if response.is_error:
            raise BenchFailed(f"GET server {server_id}: HTTP {response.status_code}")
        server = response.json()["server"]
        fault = server.get("fault") or {}
        return str(server["status"]), fault.get("message")

    def port_host(self, port_id: str) -> str:
        """The host the port is bound to; empty when unbound."""
        port = self.call("GET", f"/network/v2.0/ports/{port_id}")["port"]
        return str(port.get("binding:host_id") or "")


def prepare(api: Api, boots: int) -> tuple[str, list[str]]:
    """An overlay network with a subnet, a flavor, and `boots` remote-managed ports."""
    network = api.call(
        "POST",
        "/network/v2.0/networks",
        {"network": {"name": "bench-overlay", "provider:network_type": "geneve"}},
    )["network"]["id"]
    api.call(
        "POST",
        "/network/v2.0/subnets",
        {"subnet": {"network_id": network, "ip_version": 4, "cidr": "10.0.0.0/16"}},
    )
    flavor = api.call(
        "POST",
        "/compute/v2.1/flavors",
        {"flavor": {"name": "bench.small", "ram": 512, "vcpus": 1, "disk": 1}},
    )["flavor"]["id"]
    ports = [
        api.call(
            "POST",
            "/network/v2.0/ports",
            {"port": {"network_id": network, "binding:vnic_type": "remote-managed"}},
        )["port"]["id"]
        for _ in range(boots)
    ]
    return flavor, ports


def boot(api: Api, flavor: str, port: str, name: str) -> Timed:
    """POST /servers with `port`, then poll until ACTIVE or ERROR, within BOOT_TIMEOUT."""
    began = time.monotonic()
    server = api.call(
        "POST",
        "/compute/v2.1/servers",
        {"server": {"name": name, "flavorRef": flavor, "networks": [{"port": port}]}},
    )["server"]["id"]
    polls = 0
    while True:
        state = api.server_status(server)
        polls += 1
        elapsed = time.monotonic() - began
        if state is not None and state[0] == "ACTIVE":
            return Timed(server, elapsed, polls)
        if state is None or state[0] == "ERROR":
            fault = "gone" if state is None else state[1] or "ERROR without a fault"
            return Timed(server, elapsed, polls, fault)
        if elapsed > BOOT_TIMEOUT:
            return Timed(server, elapsed, polls, f"still {state[0]} after {BOOT_TIMEOUT:.0f} s")
        time.sleep(POLL)


def delete(api: Api, server: str, port: str) -> Timed:
    """DELETE the server, then poll until it is gone and its port unbound, within DELETE_TIMEOUT."""
    began = time.monotonic()
    api.call("DELETE", f"/compute/v2.1/servers/{server}")
    polls = 0
    # The server disappears first; its host unbinds the port after (§5.3).
    while True:
        polls += 1
        state = api.server_status(server)
        bound = state is None and api.port_host(port)
        elapsed = time.monotonic() - began
        if state is None and not bound:
            return Timed(server, elapsed, polls)
        if elapsed > DELETE_TIMEOUT:
            still = f"still {state[0]}" if state is not None else f"port still bound on {bound}"
            return Timed(server, elapsed, polls, f"{still} after {DELETE_TIMEOUT:.0f} s")
        time.sleep(POLL)


def concurrently(work: Sequence[Callable[[], Timed]], clients: int) -> tuple[list[Timed], float]:
    """Run `work` on `clients` threads; the results and the wall time from first to last."""
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=clients, thread_name_prefix="client") as pool:
        results = list(pool.map(lambda job: job(), work))
    return results, time.monotonic() - began


# -- one measurement ------------------------------------------------------------


def measure(backend: str, hosts: int, *, boots: int, clients: int, workdir: Path) -> Row:
    """Start a cloud of `hosts` hosts on `backend`, boot and delete `boots` servers, stop it."""
    vfs = vfs_per_pf(boots, hosts)
    load_before = os.getloadavg()[0]
    with backend_config(backend, workdir) as config_args:
        sim_args = [arg for host in sim_hosts(hosts, vfs) for arg in ("--sim-host", host)]
        state_dir = workdir / "state"
        state_dir.mkdir()
        with serving([*config_args, *sim_args], state_dir, timeout=START_TIMEOUT) as cloud:
            api = Api(cloud, clients=clients)
            try:
                flavor, ports = prepare(api, boots)
                idle_cpu = cpu_seconds(cloud.pid)
                time.sleep(IDLE_WINDOW)
                idle_cpu = cpu_seconds(cloud.pid) - idle_cpu
                boot_cpu = cpu_seconds(cloud.pid)
                booted, boot_s = concurrently(
                    [_job(boot, api, flavor, port, f"bench-{i}") for i, port in enumerate(ports)],
                    clients,
                )
                boot_cpu = cpu_seconds(cloud.pid) - boot_cpu
                deleted, delete_s = concurrently(
                    [_job(delete, api, t.server_id, p) for t, p in zip(booted, ports, strict=True)],
                    clients,
                )
                for port in ports:
                    api.call("DELETE", f"/network/v2.0/ports/{port}")
            finally:
                api.close()
    failed = [t for t in (*booted, *deleted) if t.fault is not None]
    for timed in failed[:5]:
        print(f"  {backend}/{hosts}: {timed.server_id}: {timed.fault}", file=sys.stderr)
    boot_ok = [t.seconds for t in booted if t.fault is None] or [math.nan]
    delete_ok = [t.seconds for t in deleted if t.fault is None] or [math.nan]
    return Row(
        backend=backend,
        hosts=hosts,
        vfs_per_host=vfs * PFS_PER_HOST,
        boots=boots,
        clients=clients,
        start_s=cloud.start_s,
        idle_cpu_pct=idle_cpu / IDLE_WINDOW * 100,
        boots_per_s=boots / boot_s,
        boot_p50_ms=statistics.median(boot_ok) * 1e3,
        boot_p99_ms=percentile(boot_ok, 0.99) * 1e3,
        boot_cpu_ms=boot_cpu / boots * 1e3,
        polls_per_boot=statistics.mean(t.polls for t in booted),
        deletes_per_s=boots / delete_s,
        delete_p50_ms=statistics.median(delete_ok) * 1e3,
        delete_p99_ms=percentile(delete_ok, 0.99) * 1e3,
        failed=len(failed),
        load_before=load_before,
        load_after=os.getloadavg()[0],
    )


def _job(function: Callable[..., Timed], *args: Any) -> Callable[[], Timed]:
    return lambda: function(*args)


# -- output -------------------------------------------------------------------------


def print_table(rows: Sequence[Row]) -> None:
    """The figures, one line per size and backend."""
    head = (
        f"{'backend':<10} {'hosts':>5} {'VFs/host':>8} | {'start':>6} {'idle CPU':>8} | "
        f"{'boots/s':>7} {'boot p50':>9} {'p99':>8} {'CPU/boot':>8} {'GETs':>4} | "
        f"{'deletes/s':>9} {'delete p50':>10} {'p99':>8} | {'failed':>6} | {'load 1m':>11}"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        print(
            f"{row.backend:<10} {row.hosts:>5} {row.vfs_per_host:>8} | {row.start_s:>5.1f}s "
            f"{row.idle_cpu_pct:>7.0f}% | {row.boots_per_s:>7.1f} {row.boot_p50_ms:>7.0f}ms "
            f"{row.boot_p99_ms:>6.0f}ms {row.boot_cpu_ms:>6.0f}ms {row.polls_per_boot:>4.0f} | "
            f"{row.deletes_per_s:>9.1f} {row.delete_p50_ms:>8.0f}ms {row.delete_p99_ms:>6.0f}ms | "
            f"{row.failed:>6} | {row.load_before:>4.2f} -> {row.load_after:>4.2f}"
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
    unknown = [name for name in names if name not in BACKENDS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"backends are embedded and postgresql, not {text!r}")
    return names


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its table (or JSON); 1 if a boot or delete failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--hosts", type=_sizes, default=list(DEFAULT_HOSTS))
    parser.add_argument("--backends", type=_backends, default=list(BACKENDS))
    parser.add_argument("--boots", type=_positive, default=100, help="servers per size/backend")
    parser.add_argument("--clients", type=_positive, default=8, help="concurrent client threads")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    too_many = [h for h in args.hosts if vfs_per_pf(args.boots, h) * PFS_PER_HOST * h < args.boots]
    if too_many:
        parser.error(f"{args.boots} boots do not fit on {too_many[0]} hosts")
    rows = []
    for hosts in args.hosts:
        for backend in args.backends:
            with tempfile.TemporaryDirectory(prefix="offpath-bench-boot-") as tmp:
                try:
                    row = measure(
                        backend, hosts, boots=args.boots, clients=args.clients, workdir=Path(tmp)
                    )
                except BenchFailed as exc:
                    print(f"bench/boot.py: {backend}, {hosts} hosts: {exc}", file=sys.stderr)
                    return 1
            rows.append(row)
            print(f"  measured {hosts} hosts on {backend}", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps([asdict(row) for row in rows], indent=2))
    else:
        print(
            f"each boot: one remote-managed port, POST /servers -> ACTIVE (polled every "
            f"{POLL * 1e3:.0f} ms); {args.boots} boots per row on {args.clients} client threads; "
            f"hosts alternate {' and '.join(PROFILES)}; {os.cpu_count()} CPUs"
        )
        print_table(rows)
        print(LEGEND)
    return 1 if any(row.failed for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

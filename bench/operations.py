"""Benchmark: each server operation, from its API call to the server settled again.

    bench/operations.py                           20 runs of every operation
    bench/operations.py --runs 5                  fewer runs
    bench/operations.py --only live-migration,evacuate
    bench/operations.py --json                    the figures as JSON

`offpath serve` runs as its own process on the embedded default (SQLite in
a scratch state directory, the in-process queue, the simulated DPUs of the
`dpu-sim` binding) with two simulated BlueField-2 hosts, then the script
drives its HTTP API as a client does. One server with one remote-managed
port goes through every operation `--runs` times; moves go back and forth
between the two hosts. An operation's time runs from its first API call
to the `GET` (every 20 ms) that sees the server settled: no task running
and the status the operation ends in (migrate+confirm and the other pairs
count both calls and both waits). A move must end on the host it should:
a move rolled back by a failing host counts as failed, and the script
exits 1.

Evacuate forces the source's compute service down first (`PUT
/os-services/{id}`, untimed) and up again afterwards; the wait until the
source has cleaned its stale guest (the migration `completed`) is untimed
too. Operations that need another first bring it along: `--only start`
runs stop as well.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Final

BENCH_DIR: Final = Path(__file__).resolve().parent
HOSTS: Final = ("bench-dpu-1", "bench-dpu-2")
PROFILE: Final = "bluefield2"
VFS_PER_PF: Final = 4
DEFAULT_RUNS: Final = 20
POLL: Final = 0.02
START_TIMEOUT: Final = 120.0
OP_TIMEOUT: Final = 120.0
# Nova's microversions for what the script reads and sends (migration types, services by id).
COMPUTE_VERSION: Final = "compute 2.96"
COMPUTE_BINARY: Final = "offpath-compute"
SERVERS: Final = "/compute/v2.1/servers"


def _boot_bench() -> ModuleType:
    """bench/boot.py, for its cloud process and client (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("bench_boot", BENCH_DIR / "boot.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


BOOT: Final = _boot_bench()
BenchFailed: type[Exception] = BOOT.BenchFailed


class OperationFailed(Exception):
    """One run of an operation did not end as it should: why, for the table's failures."""


@dataclass(frozen=True)
class Row:
    """One line of the table: one operation over its runs."""

    operation: str
    runs: int
    median_ms: float
    p90_ms: float
    min_ms: float
    max_ms: float
    failed: int


class Scene:
    """The cloud's API, the one server every operation acts on, and what it needs."""

    def __init__(self, api: Any, *, server: str, spare_port: str, flavors: Sequence[str]) -> None:
        self.api = api
        self.server = server
        self.spare_port = spare_port
        self.flavors = tuple(flavors)

    def show(self) -> dict[str, Any]:
        """The server as `GET /servers/{id}` shows it."""
        return dict(self.api.call("GET", f"{SERVERS}/{self.server}")["server"])

    def host(self) -> str:
        return str(self.show()["OS-EXT-SRV-ATTR:host"])

    def act(self, name: str, options: object = None) -> None:
        """`POST /servers/{id}/action` with one action."""
        self.api.call("POST", f"{SERVERS}/{self.server}/action", {name: options})

    def settle(self, status: str, *, on: str | None = None, off: str | None = None) -> None:
        """Wait until no task runs; then the status must be `status` (and the host `on`, not
        `off`), else OperationFailed."""
        deadline = time.monotonic() + OP_TIMEOUT
        while True:
            server = self.show()
            if server["status"] == "ERROR":
                raise OperationFailed(f"ERROR: {(server.get('fault') or {}).get('message')}")
            if server["OS-EXT-STS:task_state"] is None:
                break
            if time.monotonic() > deadline:
                raise OperationFailed(f"still {server['status']} after {OP_TIMEOUT:.0f} s")
            time.sleep(POLL)
        host = server["OS-EXT-SRV-ATTR:host"]
        if server["status"] != status or (on and host != on) or (off and host == off):
            raise OperationFailed(
                f"{server['status']} on {host}, not {status}"
                + (f" on {on}" if on else f" off {off}" if off else "")
                + f" ({self.last_migration()})"
            )

    def latest_migration(self) -> dict[str, Any]:
        """The server's newest migration; empty when it has none."""
        found = self.api.call("GET", f"/compute/v2.1/os-migrations?instance_uuid={self.server}")
        return dict(found["migrations"][0]) if found["migrations"] else {}

    def last_migration(self) -> str:
        """The newest migration in words, for a failure's reason."""
        latest = self.latest_migration()
        if not latest:
            return "no migration"
        return f"last migration: {latest['migration_type']} {latest['status']}"

    def interfaces(self) -> set[str]:
        found = self.api.call("GET", f"{SERVERS}/{self.server}/os-interface")
        return {str(a["port_id"]) for a in found["interfaceAttachments"]}

    def force_down(self, host: str, down: bool) -> None:
        """Force the host's compute service down (or up again), as an operator does."""
        path = f"/compute/v2.1/os-services?host={host}&binary={COMPUTE_BINARY}"
        (service,) = self.api.call("GET", path)["services"]
        self.api.call("PUT", f"/compute/v2.1/os-services/{service['id']}", {"forced_down": down})


Operation = Callable[[Scene], float]


def timed(work: Callable[[], None]) -> float:
    """How long `work` took, in seconds."""
    began = time.monotonic()
    work()
    return time.monotonic() - began


# -- the operations: each does its untimed preparation and returns its timed seconds ----------


def in_place(action: str, status: str, options: object = None) -> Operation:
    """An action that keeps the server on its host, timed until the server is `status`."""

    def operation(scene: Scene) -> float:
        def work() -> None:
            scene.act(action, options)
            scene.settle(status)

        return timed(work)

    return operation


def attach(scene: Scene) -> float:
    def work() -> None:
        body = {"interfaceAttachment": {"port_id": scene.spare_port}}
        scene.api.call("POST", f"{SERVERS}/{scene.server}/os-interface", body)
        scene.settle("ACTIVE")
        if scene.spare_port not in scene.interfaces():
            raise OperationFailed("the port is not among the server's interfaces")

    return timed(work)


def detach(scene: Scene) -> float:
    def work() -> None:
        scene.api.call("DELETE", f"{SERVERS}/{scene.server}/os-interface/{scene.spare_port}")
        deadline = time.monotonic() + OP_TIMEOUT
        while scene.spare_port in scene.interfaces():
            if time.monotonic() > deadline:
                raise OperationFailed(f"still attached after {OP_TIMEOUT:.0f} s")
            time.sleep(POLL)
        scene.settle("ACTIVE")

    return timed(work)


def migrate_confirm(scene: Scene) -> float:
    source = scene.host()

    def work() -> None:
        scene.act("migrate")
        scene.settle("VERIFY_RESIZE", off=source)
        scene.act("confirmResize")
        scene.settle("ACTIVE", off=source)

    return timed(work)


def migrate_revert(scene: Scene) -> float:
    source = scene.host()

    def work() -> None:
        scene.act("migrate")
        scene.settle("VERIFY_RESIZE", off=source)
        scene.act("revertResize")
        scene.settle("ACTIVE", on=source)

    return timed(work)


def resize_confirm(scene: Scene) -> float:
    source = scene.host()
    flavor = scene.show()["flavor"]["original_name"]
    other = next(name for name in scene.flavors if name != flavor)

    def work() -> None:
        scene.act("resize", {"flavorRef": other})
        scene.settle("VERIFY_RESIZE", off=source)
        scene.act("confirmResize")
        scene.settle("ACTIVE", off=source)

    return timed(work)


def live_migration(scene: Scene) -> float:
    source = scene.host()

    def work() -> None:
        scene.act("os-migrateLive", {"host": None, "block_migration": "auto"})
        scene.settle("ACTIVE", off=source)

    return timed(work)


def evacuate(scene: Scene) -> float:
    source = scene.host()
    scene.force_down(source, True)

    def work() -> None:
        scene.act("evacuate", {})
        scene.settle("ACTIVE", off=source)

    try:
        seconds = timed(work)
    finally:
        scene.force_down(source, False)
    # The source destroys its stale guest once it is up again; the next run may go back there.
    deadline = time.monotonic() + OP_TIMEOUT
    while scene.latest_migration().get("status") != "completed":
        if time.monotonic() > deadline:
            raise OperationFailed(f"{source} not cleaned: {scene.last_migration()}")
        time.sleep(0.1)
    return seconds


# Each group leaves the server ACTIVE, as the next group expects; a group's operations run in turn.
GROUPS: Final[tuple[tuple[tuple[str, Operation], ...], ...]] = (
    (("stop", in_place("os-stop", "SHUTOFF")), ("start", in_place("os-start", "ACTIVE"))),
    (("hard reboot", in_place("reboot", "ACTIVE", {"type": "HARD"})),),
    (("suspend", in_place("suspend", "SUSPENDED")), ("resume", in_place("resume", "ACTIVE"))),
    (("attach interface", attach), ("detach interface", detach)),
    (("migrate+confirm", migrate_confirm),),
    (("migrate+revert", migrate_revert),),
    (("resize+confirm", resize_confirm),),
    (("live migration", live_migration),),
    (
        ("shelve (offload)", in_place("shelve", "SHELVED_OFFLOADED")),
        ("unshelve", in_place("unshelve", "ACTIVE")),
    ),
    (("evacuate", evacuate),),
)
NAMES: Final = tuple(name for group in GROUPS for name, _ in group)


def _slug(name: str) -> str:
    return name.replace(" (offload)", "").replace(" ", "-")


# -- one measurement -----------------------------------------------------------------------------


def prepare(api: Any) -> Scene:
    """An overlay network, two flavors, two remote-managed ports and a server with the first."""
    network = api.call(
        "POST",
        "/network/v2.0/networks",
        {"network": {"name": "bench-overlay", "provider:network_type": "geneve"}},
    )["network"]["id"]
    api.call(
        "POST",
        "/network/v2.0/subnets",
        {"subnet": {"network_id": network, "ip_version": 4, "cidr": "10.0.0.0/24"}},
    )
    flavors = []
    for name, vcpus, ram in (("bench.small", 1, 512), ("bench.medium", 2, 1024)):
        body = {"flavor": {"name": name, "id": name, "ram": ram, "vcpus": vcpus, "disk": 1}}
        flavors.append(api.call("POST", "/compute/v2.1/flavors", body)["flavor"]["id"])
    ports = [
        api.call(
            "POST",
            "/network/v2.0/ports",
            {"port": {"network_id": network, "binding:vnic_type": "remote-managed"}},
        )["port"]["id"]
        for _ in range(2)
    ]
    booted = BOOT.boot(api, flavors[0], ports[0], "bench-ops")
    if booted.fault is not None:
        raise BenchFailed(f"the server did not boot: {booted.fault}")
    return Scene(api, server=booted.server_id, spare_port=ports[1], flavors=flavors)


def measure(runs: int, only: frozenset[str], workdir: Path) -> list[Row]:
    """Start the cloud, run each selected group `runs` times, stop it; a row per operation."""
    state_dir = workdir / "state"
    state_dir.mkdir()
    sim_args = [a for host in HOSTS for a in ("--sim-host", f"{host}={PROFILE},vfs={VFS_PER_PF}")]
    times: dict[str, list[float]] = {}
    failures: dict[str, list[str]] = {}
    with BOOT.serving(sim_args, state_dir, timeout=START_TIMEOUT) as cloud:
        api = BOOT.Api(cloud, clients=1)
        api.http.headers["OpenStack-API-Version"] = COMPUTE_VERSION
        try:
            scene = prepare(api)
            for group in GROUPS:
                if not any(name in only for name, _ in group):
                    continue
                for _ in range(runs):
                    for name, operation in group:
                        try:
                            times.setdefault(name, []).append(operation(scene))
                        except (OperationFailed, BenchFailed) as exc:
                            # A refused call fails the run too; the rest of the group waits
                            # for the next run (its start state is gone).
                            failures.setdefault(name, []).append(str(exc))
                            _recover(scene)
                            break
                print(f"  measured {', '.join(n for n, _ in group)}", file=sys.stderr, flush=True)
        finally:
            api.close()
    for name, why in failures.items():
        for reason in why[:3]:
            print(f"  {name}: {reason}", file=sys.stderr)
    return [
        _row(name, times.get(name, []), len(failures.get(name, [])))
        for name in NAMES
        if name in times or name in failures
    ]


def _recover(scene: Scene) -> None:
    """After a failed run: the server back to ACTIVE where it is, or the benchmark stops."""
    status = scene.show()["status"]
    recoveries = {
        "SHUTOFF": "os-start",
        "SUSPENDED": "resume",
        "VERIFY_RESIZE": "revertResize",
        "SHELVED_OFFLOADED": "unshelve",
    }
    if status in recoveries:
        scene.act(recoveries[status])
    try:
        scene.settle("ACTIVE")
    except OperationFailed as exc:
        raise BenchFailed(f"the server cannot be brought back to ACTIVE: {exc}") from None


def _row(name: str, seconds: list[float], failed: int) -> Row:
    if not seconds:
        nan = float("nan")
        return Row(name, failed, nan, nan, nan, nan, failed)
    return Row(
        operation=name,
        runs=len(seconds) + failed,
        median_ms=statistics.median(seconds) * 1e3,
        p90_ms=BOOT.percentile(seconds, 0.9) * 1e3,
        min_ms=min(seconds) * 1e3,
        max_ms=max(seconds) * 1e3,
        failed=failed,
    )


# -- output ---------------------------------------------------------------------------------------


def markdown_table(rows: Sequence[Row]) -> str:
    """The rows as a markdown table, times in milliseconds."""
    lines = [
        "| operation | runs | median | p90 | min | max | failed |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.operation} | {r.runs} | {_ms(r.median_ms)} | {_ms(r.p90_ms)} | "
        f"{_ms(r.min_ms)} | {_ms(r.max_ms)} | {r.failed} |"
        for r in rows
    ]
    return "\n".join(lines)


def _ms(value: float) -> str:
    # No run succeeded: no time to show.
    return "-" if math.isnan(value) else f"{value:.0f} ms"


def _names(text: str) -> frozenset[str]:
    slugs = {_slug(name): name for name in NAMES}
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in wanted if part not in slugs]
    if not wanted or unknown:
        raise argparse.ArgumentTypeError(
            f"operations are {', '.join(slugs)}; not {', '.join(unknown) or repr(text)}"
        )
    return frozenset(slugs[part] for part in wanted)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its table (or JSON); 1 if a run of an operation failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--runs", type=BOOT._positive, default=DEFAULT_RUNS, help="runs of each operation"
    )
    parser.add_argument(
        "--only", type=_names, default=frozenset(NAMES), help="comma-separated operations"
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="offpath-bench-ops-") as tmp:
        try:
            rows = measure(args.runs, args.only, Path(tmp))
        except BenchFailed as exc:
            print(f"bench/operations.py: {exc}", file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps([asdict(row) for row in rows], indent=2))
    else:
        print(
            f"offpath serve, embedded default (SQLite, in-process queue, dpu-sim); "
            f"{len(HOSTS)} simulated {PROFILE} hosts on libvirt's test driver; one server "
            f"with one remote-managed port; each time from the API call to the server settled "
            f"(polled every {POLL * 1e3:.0f} ms); {os.cpu_count()} CPUs, load 1m "
            f"{load_before:.2f} -> {os.getloadavg()[0]:.2f}\n"
        )
        print(markdown_table(rows))
    return 1 if any(row.failed for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

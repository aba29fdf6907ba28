"""Benchmark: which of N hosts can serve one remote-managed VF, and a consume on one host.

    bench/pools.py                      N = 1,000, 10,000, 50,000
    bench/pools.py --sizes 500,2000     other sizes
    bench/pools.py --quick              small sizes, for CI
    bench/pools.py --against-nova       also Nova's own PciDeviceStats, same inventory

Every host has 2 PFs (NUMA 0 and 1) with 64 VFs each; half of the VFs carry
a card serial and are remote-managed. Hosts differ by what is in use (eight
layouts, from "all free" to "no remote-managed VF left"). offpath answers
from compact summaries (`offpath.pci.summary`) and checks them against the
full pools on every host. `--against-nova` installs nova==34.0.0 into
bench/.nova-venv on first use (never a dependency of offpath), runs
bench/nova_pools_runner.py there on the same inventory, prints the ratio and
exits 1 unless both give the same answer on every host.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offpath.pci.device import DevType, PciDevice
from offpath.pci.pools import PciPools
from offpath.pci.request import PciRequest
from offpath.pci.selection import select_devices
from offpath.pci.spec_list import DeviceSpecList
from offpath.pci.summary import HostSummary, SummaryCatalog
from offpath.pci.summary_index import SummaryIndex

BENCH_DIR = Path(__file__).resolve().parent
NOVA_VENV = BENCH_DIR / ".nova-venv"
NOVA_VERSION = "34.0.0"
RUNNER = BENCH_DIR / "nova_pools_runner.py"
# The specs select by vendor and product only: no sysfs is read.
NO_SYSFS = BENCH_DIR / "no-sysfs"

DEFAULT_SIZES = (1_000, 10_000, 50_000)
QUICK_SIZES = (200, 1_000)
TARGET_HOSTS = 10_000
TARGET_MS = 40.0
TARGET_MB = 50.0
TARGET_RATIO = 100.0

DEVICE_SPEC = [
    json.dumps(
        {
            "vendor_id": "15b3",
            "product_id": "101e",
            "remote_managed": "true",
            "physical_network": None,
        }
    ),
    json.dumps({"vendor_id": "15b3", "product_id": "101e", "physical_network": "physnet1"}),
    json.dumps({"vendor_id": "15b3", "product_id": "a2d6", "physical_network": "physnet1"}),
]
PFS = (("0000:03:00.0", 0), ("0000:81:00.0", 1))
VFS_PER_PF = 64
REMOTE_MANAGED_PER_PF = 32
SERIAL = "MT2113X00000"
REQUEST = PciRequest(1, ({"remote_managed": "True", "physical_network": None},), "bench-rm-vf")


def vf_address(pf: str, index: int) -> str:
    """The address of VF `index` of `pf`, laid out as ConnectX cards do (PF.0 then .2 onwards)."""
    bus = pf.split(":")[1]
    devfn = 2 + index
    return f"0000:{bus}:{devfn // 8:02x}.{devfn % 8}"


def host_devices() -> list[PciDevice]:
    """One host's PFs and VFs; the first half of each PF's VFs carry the card serial."""
    devices: list[PciDevice] = []
    for pf, numa in PFS:
        devices.append(PciDevice(pf, "15b3", "a2d6", DevType.PF, numa_node=numa))
        for index in range(VFS_PER_PF):
            devices.append(
                PciDevice(
                    vf_address(pf, index),
                    "15b3",
                    "101e",
                    DevType.VF,
                    parent_addr=pf,
                    numa_node=numa,
                    card_serial_number=SERIAL if index < REMOTE_MANAGED_PER_PF else None,
                )
            )
    return devices


def rm_vfs(pf: str, how_many: int) -> list[str]:
    return [vf_address(pf, i) for i in range(how_many)]


def plain_vfs(pf: str, how_many: int) -> list[str]:
    return [vf_address(pf, REMOTE_MANAGED_PER_PF + i) for i in range(how_many)]


PF0, PF1 = PFS[0][0], PFS[1][0]


@dataclass(frozen=True)
class Layout:
    """What is in use on a host of this layout, and how often hosts have it."""

    name: str
    in_use: tuple[str, ...]
    weight: int


LAYOUTS = (
    Layout("all free", (), 4),
    Layout("10 rm VFs used", tuple(rm_vfs(PF0, 10)), 3),
    Layout("PF0 rm VFs used", tuple(rm_vfs(PF0, 32)), 2),
    Layout("one rm VF left", (*rm_vfs(PF0, 32), *rm_vfs(PF1, 31)), 1),
    Layout("every rm VF used", (*rm_vfs(PF0, 32), *rm_vfs(PF1, 32)), 2),
    Layout("rm and plain used", (*rm_vfs(PF0, 32), *rm_vfs(PF1, 32), *plain_vfs(PF0, 5)), 1),
    Layout("PF0 whole, PF1 rm used", (PF0, *rm_vfs(PF1, 32)), 1),
    Layout("PF1 whole", (PF1,), 1),
)


def specs() -> DeviceSpecList:
    return DeviceSpecList.from_values(DEVICE_SPEC, sysfs_root=NO_SYSFS)


def layout_pools(layout: Layout, device_specs: DeviceSpecList) -> PciPools:
    """The full pools of a host with this layout."""
    devices = host_devices()
    in_use = set(layout.in_use)
    taken = [d for d in devices if d.address in in_use]
    return PciPools.build(
        select_devices(devices, device_specs),
        taken=select_devices(taken, device_specs),
        host=layout.name,
    )


def available_rows(layout: Layout) -> list[dict[str, Any]]:
    """What Nova's compute node reports as available, by Nova's own claim rules.

    Worked out here, not by offpath's pools, so both sides start from the
    same facts only.
    """
    in_use = set(layout.in_use)
    rows = []
    for device in host_devices():
        if device.address in in_use:
            continue
        if device.parent_addr in in_use:
            continue  # a VF under a PF in use is unavailable
        if device.dev_type is DevType.PF and any(
            vf_address(device.address, i) in in_use for i in range(VFS_PER_PF)
        ):
            continue  # a PF with a VF in use is unavailable
        rows.append(
            {
                "address": device.address,
                "vendor_id": device.vendor_id,
                "product_id": device.product_id,
                "dev_type": device.dev_type.value,
                "numa_node": device.numa_node,
                "parent_addr": device.parent_addr,
                "card_serial_number": device.card_serial_number,
            }
        )
    return rows


def host_layouts(count: int, *, seed: int = 42) -> list[int]:
    """Which layout each of `count` hosts has (deterministic)."""
    rng = random.Random(seed)
    weights = [layout.weight for layout in LAYOUTS]
    return rng.choices(range(len(LAYOUTS)), weights=weights, k=count)


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    hosts: int
    summary_ms: float
    index_ms: float
    best_ms: float
    pools_ms: float
    consume_us: float
    summary_mb: float
    answers: str
    summary_ok: bool
    nova: dict[str, Any] | None


def measure(count: int, *, repeats: int, consume_repeats: int, nova: Path | None) -> Row:
    """Build `count` hosts, time both questions, check every answer."""
    device_specs = specs()
    pools = [layout_pools(layout, device_specs) for layout in LAYOUTS]
    layouts = host_layouts(count)

    catalog = SummaryCatalog()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    summaries: dict[str, HostSummary] = {
        f"host-{i:06d}": catalog.summarize(pools[layout]) for i, layout in enumerate(layouts)
    }
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    memory = sum(stat.size_diff for stat in after.compare_to(before, "filename"))

    timings = []
    for _ in range(repeats):
        began = time.perf_counter()
        found = catalog.hosts_supporting(summaries, catalog.compile([REQUEST]))
        timings.append(time.perf_counter() - began)
    chosen = set(found)
    answers = "".join("1" if host in chosen else "0" for host in summaries)

    index = SummaryIndex(catalog)
    for host, summary in summaries.items():
        index.put(host, summary)
    compiled = catalog.compile([REQUEST])
    index_timings = []
    best_timings = []
    rng = random.Random(1)
    for _ in range(repeats):
        began = time.perf_counter()
        candidates = index.scan(compiled)
        index_timings.append(time.perf_counter() - began)
        began = time.perf_counter()
        best = index.scan(compiled).best(3, rng)
        best_timings.append(time.perf_counter() - began)
    index_ok = set(candidates.names()) == chosen and set(best) <= chosen

    began = time.perf_counter()
    full = "".join("1" if pools[layout].support([REQUEST]) else "0" for layout in layouts)
    pools_seconds = time.perf_counter() - began

    consume = []
    host0 = layout_pools(LAYOUTS[0], device_specs)
    for _ in range(consume_repeats):
        began = time.perf_counter()
        taken = host0.consume([REQUEST])
        consume.append(time.perf_counter() - began)
        host0.free(taken)

    nova_result = None
    if nova is not None:
        nova_result = run_nova(nova, layouts, consume_repeats)
    return Row(
        hosts=count,
        summary_ms=statistics.median(timings) * 1e3,
        index_ms=statistics.median(index_timings) * 1e3,
        best_ms=statistics.median(best_timings) * 1e3,
        pools_ms=pools_seconds * 1e3,
        consume_us=statistics.median(consume) * 1e6,
        summary_mb=memory / 1e6,
        answers=answers,
        summary_ok=answers == full and index_ok,
        nova=nova_result,
    )


def nova_python() -> Path:
    """bench/.nova-venv's python with nova==34.0.0, installed on first use."""
    python = NOVA_VENV / "bin" / "python"
    if python.exists() and installed_nova(python) == NOVA_VERSION:
        return python
    print(f"installing nova=={NOVA_VERSION} into {NOVA_VENV} (once) ...", flush=True)
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(NOVA_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, f"nova=={NOVA_VERSION}"], check=True)
    print(f"installed in {time.perf_counter() - began:.0f} s", flush=True)
    return python


def installed_nova(python: Path) -> str | None:
    probe = "import importlib.metadata as m; print(m.version('nova'))"
    done = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def run_nova(python: Path, layouts: Sequence[int], consume_repeats: int) -> dict[str, Any]:
    """Nova's answers and timings on this benchmark's inventory."""
    return nova_run(
        python,
        device_spec=DEVICE_SPEC,
        variants=[available_rows(layout) for layout in LAYOUTS],
        hosts=layouts,
        request=REQUEST,
        consume_repeats=consume_repeats,
    )


def nova_run(
    python: Path,
    *,
    device_spec: Sequence[str],
    variants: Sequence[Sequence[dict[str, Any]]],
    hosts: Sequence[int],
    request: PciRequest,
    consume_repeats: int,
) -> dict[str, Any]:
    """Nova's answers and timings through the runner in its venv.

    `variants` are the device rows of each kind of host, `hosts` which
    variant each host is; host 0's variant is the one consumed from.
    """
    data = {
        "device_spec": list(device_spec),
        "variants": [{"devices": list(rows)} for rows in variants],
        "hosts": list(hosts),
        "request": {
            "count": request.count,
            "spec": [dict(spec) for spec in request.spec],
            "request_id": request.request_id,
            "alias_name": request.alias_name,
        },
        "consume_repeats": consume_repeats,
    }
    with tempfile.TemporaryDirectory(prefix="offpath-bench-") as tmp:
        source, target = Path(tmp, "in.json"), Path(tmp, "out.json")
        source.write_text(json.dumps(data))
        done = subprocess.run(
            [str(python), str(RUNNER), str(source), str(target)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"the Nova runner failed:\n{done.stderr}")
        result: dict[str, Any] = json.loads(target.read_text())
    return result


def print_table(rows: Sequence[Row]) -> None:
    """The figures, one line per N."""
    head = (
        f"{'hosts':>7} | {'summary':>9} {'us/host':>7} | {'scan':>7} {'best 3':>7} | "
        f"{'full pools':>10} | "
        f"{'Nova':>10} {'us/host':>7} | {'Nova/sum':>8} | {'consume':>8} {'Nova':>8} | "
        f"{'summ. MB':>8} {'Nova MB':>8} | answers"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        nova = row.nova
        if nova is None:
            nova_cols = f"{'-':>10} {'-':>7} | {'-':>8}"
            nova_consume = f"{'-':>8}"
            nova_mb = f"{'-':>8}"
            same = "summary = numpy = pools" if row.summary_ok else "SUMMARY != POOLS"
        else:
            nova_ms = nova["support_seconds"] * 1e3
            nova_cols = (
                f"{nova_ms:>8.0f}ms {nova_ms * 1e3 / row.hosts:>7.1f} | "
                f"{nova_ms / row.summary_ms:>7.0f}x"
            )
            nova_consume = f"{nova['consume_seconds'] * 1e6:>6.0f}us"
            nova_mb = f"{nova['memory_bytes'] / 1e6:>8.1f}"
            agree = nova["answers"] == row.answers
            same = ("same as Nova" if agree else "DIFFERS FROM NOVA") + (
                "" if row.summary_ok else ", SUMMARY != POOLS"
            )
        yes = row.answers.count("1")
        print(
            f"{row.hosts:>7} | {row.summary_ms:>7.2f}ms {row.summary_ms * 1e3 / row.hosts:>7.2f} | "
            f"{row.index_ms:>5.2f}ms {row.best_ms:>5.2f}ms | "
            f"{row.pools_ms:>8.0f}ms | {nova_cols} | "
            f"{row.consume_us:>6.0f}us {nova_consume} | "
            f"{row.summary_mb:>8.2f} {nova_mb} | {same} ({yes} can)"
        )


def print_targets(rows: Sequence[Row]) -> None:
    """Whether the issue's targets hold at 10,000 hosts (or the largest N measured)."""
    row = next((r for r in rows if r.hosts == TARGET_HOSTS), max(rows, key=lambda r: r.hosts))
    scale = TARGET_HOSTS / row.hosts
    print(
        f"targets at {TARGET_HOSTS} hosts (from N={row.hosts}): "
        f"summary {row.summary_ms * scale:.1f} ms (< {TARGET_MS:.0f}), "
        f"memory {row.summary_mb * scale:.1f} MB (< {TARGET_MB:.0f})"
        + (
            f", {row.nova['support_seconds'] * 1e3 / row.summary_ms:.0f}x faster than Nova "
            f"(>= {TARGET_RATIO:.0f})"
            if row.nova
            else ""
        )
    )


def failed(rows: Sequence[Row]) -> bool:
    """True when an answer differs (summary vs pools, or offpath vs Nova)."""
    return any(
        not row.summary_ok or (row.nova is not None and row.nova["answers"] != row.answers)
        for row in rows
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 1 when two answers differ on some host."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", help="comma-separated host counts (default 1000,10000,50000)")
    parser.add_argument("--quick", action="store_true", help="small sizes and repeats, for CI")
    parser.add_argument("--against-nova", action="store_true", help="also run Nova's own stats")
    args = parser.parse_args(argv)
    sizes: Sequence[int] = QUICK_SIZES if args.quick else DEFAULT_SIZES
    if args.sizes:
        sizes = [int(size) for size in args.sizes.split(",")]
    repeats, consume_repeats = (3, 10) if args.quick else (7, 50)
    nova = nova_python() if args.against_nova else None
    if nova is not None:
        print(f"Nova {installed_nova(nova)} in {NOVA_VENV}")
    print(
        f"hosts: 2 PFs x {VFS_PER_PF} VFs, {REMOTE_MANAGED_PER_PF} remote-managed per PF, "
        f"2 NUMA nodes, {len(LAYOUTS)} usage layouts; question: which hosts can serve one "
        "remote-managed VF"
    )
    rows = [
        measure(size, repeats=repeats, consume_repeats=consume_repeats, nova=nova) for size in sizes
    ]
    print_table(rows)
    print_targets(rows)
    if failed(rows):
        print("answers differ on some host", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: host discovery time for 1, 4 and 8 PFs x 256 VFs, through sysfs and through libvirt.

The simulator writes each host (BlueField-2 profile) into a temporary
directory; the sysfs reader reads it, and the libvirt reader reads the
matching node devices from libvirt's test driver (`nodedev_xml_for`).
libvirt time is split into the read through libvirt-python (list and
XMLDesc every node device) and the parsing into records. Each figure is
the median of `--runs` runs.

    .venv/bin/python bench/discovery.py [--pfs 1,4,8] [--vfs 256] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from offpath.compute.libvirt_nodedev import read_nodedev_xml
from offpath.pci.discovery.nodedev_xml import devices_from_nodedevs, nodedev_xml_for, parse_nodedev
from offpath.pci.discovery.sysfs_reader import discover_sysfs
from offpath.sim.host import write_host
from offpath.sim.profile import load_profile

PROFILE = "bluefield2"
# The target of the discovery issue: 8 PFs x 256 VFs through sysfs on a 2-core machine.
SYSFS_TARGET_S = 0.3


@dataclass(frozen=True, slots=True)
class Figures:
    """Median times, in seconds, for one simulated host."""

    pfs: int
    vfs: int
    functions: int
    sysfs: float
    libvirt_read: float
    libvirt_parse: float

    @property
    def libvirt(self) -> float:
        """Read plus parse."""
        return self.libvirt_read + self.libvirt_parse


def median_time(action: Callable[[], object], runs: int) -> float:
    """The median wall time of `runs` calls of `action`, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(pfs: int, vfs: int, runs: int, workdir: Path) -> Figures:
    """Write one host of `pfs` PFs x `vfs` VFs under `workdir` and time both readers."""
    host = write_host(load_profile(PROFILE), workdir / "sys", vfs=vfs, pfs=pfs)
    records = discover_sysfs(host.root)
    node_xml = workdir / "node.xml"
    node_xml.write_text(nodedev_xml_for(records, with_vdpa=False), encoding="utf-8")
    uri = f"test://{node_xml}"
    dump = read_nodedev_xml(uri)

    def parse() -> object:
        return devices_from_nodedevs(parse_nodedev(xml) for xml in dump.documents.values())

    return Figures(
        pfs=pfs,
        vfs=vfs,
        functions=len(records),
        sysfs=median_time(lambda: discover_sysfs(host.root), runs),
        libvirt_read=median_time(lambda: read_nodedev_xml(uri), runs),
        libvirt_parse=median_time(parse, runs),
    )


def table(rows: Sequence[Figures]) -> str:
    """The figures as a plain-text table, milliseconds."""
    lines = [
        f"{'host':>14} {'functions':>9} {'sysfs ms':>9} {'libvirt read ms':>15} "
        f"{'parse ms':>9} {'libvirt ms':>10}"
    ]
    for row in rows:
        lines.append(
            f"{f'{row.pfs} PF x {row.vfs} VF':>14} {row.functions:>9} {row.sysfs * 1e3:>9.1f} "
            f"{row.libvirt_read * 1e3:>15.1f} {row.libvirt_parse * 1e3:>9.1f} "
            f"{row.libvirt * 1e3:>10.1f}"
        )
    return "\n".join(lines)


def _counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("PF counts are 1 or more")
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table; exit 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pfs", type=_counts, default=[1, 4, 8], help="PF counts, e.g. 1,4,8")
    parser.add_argument("--vfs", type=int, default=256, help="VFs per PF")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median)")
    args = parser.parse_args(argv)
    rows = []
    for pfs in args.pfs:
        with tempfile.TemporaryDirectory(prefix="offpath-bench-") as workdir:
            rows.append(measure(pfs, args.vfs, max(1, args.runs), Path(workdir)))
    print(f"discovery, {PROFILE} profile, median of {max(1, args.runs)} run(s)")
    print(table(rows))
    largest = max(rows, key=lambda r: r.functions)
    verdict = "meets" if largest.sysfs < SYSFS_TARGET_S else "misses"
    print(
        f"sysfs, {largest.pfs} PF x {largest.vfs} VF: {largest.sysfs * 1e3:.0f} ms, "
        f"{verdict} the {SYSFS_TARGET_S * 1e3:.0f} ms target"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The host simulator: writes a sysfs tree laid out as Linux lays it out, plus its manifest.

The directory written plays `/sys`: real device directories under
`devices/pci0000:00/<root port>/`, relative symlinks where the kernel has
them (`bus/pci/devices`, `driver`, `iommu_group`, `physfn`, `virtfnN`,
`class/net`), files holding exactly what the kernel prints. The record
returned (and `offpath-sim.json`) is the ground truth readers are checked
against. See docs/hardware-ids.md for the ids and the layout choices.

This is the entry: `plan_host` checks the options, lays the host out
(`planner`) and applies the faults (`fault_injection`); `write_host` also
writes the tree (`tree_writer`) and the manifest. The records are `model`'s.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from offpath.errors import SimOptionInvalid, SimOutputInvalid
from offpath.sim.fault_injection import apply_fault
from offpath.sim.faults import Fault
from offpath.sim.model import SimHost
from offpath.sim.planner import plan_layout
from offpath.sim.profile import HostProfile
from offpath.sim.tree_writer import write_tree

__all__ = ["MANIFEST", "SimHost", "plan_host", "write_host"]

MANIFEST: Final = "offpath-sim.json"
MAX_NUMA_NODES: Final = 64
MAX_PFS: Final = 64


def write_host(
    profile: HostProfile,
    out: Path,
    *,
    hostname: str = "sim-host",
    vfs: int | None = None,
    numa_nodes: int = 1,
    seed: int = 0,
    faults: Sequence[Fault] = (),
    pfs: int | None = None,
) -> SimHost:
    """Write a sysfs tree for one host under `out` (which plays `/sys`) and return what it holds."""
    host = plan_host(
        profile,
        out,
        hostname=hostname,
        vfs=vfs,
        numa_nodes=numa_nodes,
        seed=seed,
        faults=faults,
        pfs=pfs,
    )
    _prepare_output(out)
    write_tree(out, profile, host)
    (out / MANIFEST).write_text(json.dumps(host.manifest(), indent=2) + "\n", encoding="utf-8")
    return host


def plan_host(
    profile: HostProfile,
    out: Path,
    *,
    hostname: str = "sim-host",
    vfs: int | None = None,
    numa_nodes: int = 1,
    seed: int = 0,
    faults: Sequence[Fault] = (),
    pfs: int | None = None,
) -> SimHost:
    """What `write_host` would write, without touching the disk; invalid options raise."""
    vf_count = profile.default_vfs if vfs is None else vfs
    pf_count = profile.pfs_per_card if pfs is None else pfs
    _check_options(profile, hostname, vf_count, pf_count, numa_nodes)
    host = plan_layout(
        profile,
        out,
        hostname=hostname,
        vf_count=vf_count,
        pf_count=pf_count,
        numa_nodes=numa_nodes,
        seed=seed,
    )
    for fault in faults:
        host = apply_fault(host, fault)
    return host


# RFC 1123 host names, plus '_' which real inventories contain.
_HOSTNAME: Final = re.compile(
    r"(?=.{1,253}\Z)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
    r"(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*"
)


def _check_options(
    profile: HostProfile, hostname: str, vfs: int, pfs: int, numa_nodes: int
) -> None:
    if not _HOSTNAME.fullmatch(hostname):
        raise SimOptionInvalid(
            "--hostname",
            repr(hostname),
            "is not a host name (letters, digits, '-', '_' and dots; at most 253 characters, "
            "63 per label)",
            hint="use e.g. compute-01",
        )
    if not 0 <= vfs <= profile.sriov_totalvfs:
        raise SimOptionInvalid(
            "--vfs",
            vfs,
            f"profile {profile.name} allows 0 to {profile.sriov_totalvfs} VFs per PF "
            "(its sriov_totalvfs)",
            hint=f"give at most {profile.sriov_totalvfs}, or raise sriov.totalvfs in a profile",
        )
    if not 1 <= pfs <= MAX_PFS:
        raise SimOptionInvalid(
            "pfs", pfs, f"a card has 1 to {MAX_PFS} PFs", hint="give a smaller number of PFs"
        )
    if not 1 <= numa_nodes <= MAX_NUMA_NODES:
        raise SimOptionInvalid(
            "--numa-nodes",
            numa_nodes,
            f"a host has 1 to {MAX_NUMA_NODES} NUMA nodes",
            hint="give the number of sockets, usually 1 or 2",
        )


def _prepare_output(out: Path) -> None:
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise SimOutputInvalid(out, "exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MANIFEST).is_file():
            raise SimOutputInvalid(
                out, f"is a non-empty directory without {MANIFEST}; not overwriting it"
            )
        # A tree the simulator wrote before: replace it whole.
        for entry in out.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SimOutputInvalid(out, f"cannot create the directory: {exc.strerror}") from exc

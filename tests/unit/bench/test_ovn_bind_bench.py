"""bench/ovn_bind.py binds a few ports through a real OVN and prints its table."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench" / "ovn_bind.py"
ROWS = (
    "binds/s (wall: first call to last return)",
    "bind call p50 / p95 / p99",
    "bind -> ACTIVE p50 / p95 / p99 / max",
    "every port ACTIVE (first bind to last ACTIVE)",
    "ports ACTIVE",
    "bind errors",
    "bind -> ACTIVE one at a time (2 ports) p50 / max",
    "CPU per bind: this process / DPU processes / OVN",
    "CPU per bind of OVN: ovn-northd",
    "unbinds/s (wall)",
    "unbind call p50 / p99",
    "ports unbound and DOWN",
    "port creates/s (before, not in the binds)",
    "load 1m (before -> after)",
)


def load_bench() -> ModuleType:
    """The benchmark script as a module (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("bench_ovn_bind", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def ovn_installed() -> None:
    """Skip (fail under CI) without OVN, as the OVN tests do."""
    if shutil.which("ovn-northd") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("ovn-northd is missing: scripts/install-system-packages installs it")
        pytest.skip("OVN is not installed: run scripts/install-system-packages")


@pytest.mark.usefixtures("ovn_installed")
def test_a_tiny_run_binds_every_port_active_and_unbinds_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--ports", "8", "--dpus", "2", "--threads", "3", "--alone", "2"]
    status = load_bench().main(argv)
    out = capsys.readouterr().out
    cells = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in out.splitlines()
        if line.startswith("| ")
    ]
    table = dict((name, value) for name, value in cells[1:])
    assert status == 0, out
    assert cells[0] == ["measure", "value"]
    assert tuple(table) == ROWS
    assert table["ports ACTIVE"] == "8 / 8"
    assert table["ports unbound and DOWN"] == "8 / 8"
    assert table["bind errors"] == "0"
    assert float(table["bind -> ACTIVE one at a time (2 ports) p50 / max"].split()[0]) > 0
    assert float(table["binds/s (wall: first call to last return)"]) > 0
    assert out.startswith("8 remote-managed ports on 2 simulated DPUs (2 PFs x 16 VFs each)")
    assert "in 1 child process," in out


def test_the_ports_spread_evenly_over_distinct_cards_and_vfs() -> None:
    bench = load_bench()
    dpus = bench.dpu_plans(4, bench.vfs_per_pf(40, 4))
    plans = bench.port_plans(40, dpus)
    assert len({dpu.serial for dpu in dpus}) == len({dpu.hostname for dpu in dpus}) == 4
    assert len({mac for dpu in dpus for mac in dpu.pf_macs}) == 8
    assert Counter(plan.serial for plan in plans) == {dpu.serial: 10 for dpu in dpus}
    assert len({(plan.serial, plan.pf_mac, plan.vf_num) for plan in plans}) == 40
    assert len({plan.host for plan in plans}) == 4


def test_the_dpus_are_grouped_per_child_process() -> None:
    bench = load_bench()
    children = bench.DpuProcesses("tcp:127.0.0.1:1", bench.dpu_plans(5, 16), 2)
    assert [[dpu.hostname for dpu in group] for group in children.groups] == [
        ["dpu-000.bench", "dpu-001.bench"],
        ["dpu-002.bench", "dpu-003.bench"],
        ["dpu-004.bench"],
    ]


@pytest.mark.parametrize(("ports", "dpus"), [(1, 1), (1000, 50), (5000, 3)])
def test_the_dpus_hold_every_port(ports: int, dpus: int) -> None:
    bench = load_bench()
    vfs = bench.vfs_per_pf(ports, dpus)
    assert vfs >= bench.MIN_VFS_PER_PF
    assert len(bench.port_plans(ports, bench.dpu_plans(dpus, vfs))) == ports


def test_the_percentile_is_nearest_rank() -> None:
    bench = load_bench()
    values = [float(v) for v in range(1, 101)]
    assert (bench.percentile(values, 0.5), bench.percentile(values, 0.99)) == (50.0, 99.0)


def test_an_unknown_database_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        load_bench().main(["--database", "mysql://nowhere"])
    assert exc.value.code == 2
    assert "sqlite, postgresql or a PostgreSQL" in capsys.readouterr().err

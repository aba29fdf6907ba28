"""bench/boot.py boots and deletes a few servers through a real `offpath serve` (embedded)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench" / "boot.py"


def load_bench() -> ModuleType:
    """The benchmark script as a module (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("bench_boot", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_a_tiny_embedded_run_boots_and_deletes_every_server(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--hosts", "2", "--backends", "embedded", "--boots", "3", "--clients", "2", "--json"]
    status = load_bench().main(argv)
    (row,) = json.loads(capsys.readouterr().out)
    assert (status, row["backend"], row["hosts"], row["boots"], row["failed"]) == (
        0,
        "embedded",
        2,
        3,
        0,
    )
    assert row["boots_per_s"] > 0
    assert 0 < row["boot_p50_ms"] <= row["boot_p99_ms"]
    assert 0 < row["delete_p50_ms"] <= row["delete_p99_ms"]


def test_the_hosts_alternate_bluefield2_and_bluefield3() -> None:
    assert load_bench().sim_hosts(3, 4) == [
        "h000=bluefield2,vfs=4",
        "h001=bluefield3,vfs=4",
        "h002=bluefield2,vfs=4",
    ]


@pytest.mark.parametrize(("boots", "hosts"), [(1, 1), (100, 10), (100, 100), (5000, 3)])
def test_the_hosts_hold_every_boot(boots: int, hosts: int) -> None:
    bench = load_bench()
    vfs = bench.vfs_per_pf(boots, hosts)
    assert vfs * bench.PFS_PER_HOST * hosts >= min(boots, bench.MAX_VFS_PER_PF * 2 * hosts)
    assert 2 <= vfs <= bench.MAX_VFS_PER_PF


def test_the_percentile_is_nearest_rank() -> None:
    assert load_bench().percentile([float(v) for v in range(1, 101)], 0.99) == 99.0


@pytest.mark.parametrize("text", ["", "x", "0", "10,-1"])
def test_bad_host_counts_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        load_bench()._sizes(text)


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        load_bench()._backends("sqlite")


def test_more_boots_than_the_hosts_hold_is_refused() -> None:
    with pytest.raises(SystemExit) as exc:
        load_bench().main(["--hosts", "1", "--backends", "embedded", "--boots", "600"])
    assert exc.value.code == 2

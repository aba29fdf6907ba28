"""bench/schedule.py runs end to end on a few hosts (SQLite) and prints one row per size."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench" / "schedule.py"


def load_bench() -> ModuleType:
    """The benchmark script as a module (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("bench_schedule", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_a_tiny_run_prints_one_row_per_size(capsys: pytest.CaptureFixture[str]) -> None:
    status = load_bench().main(["--hosts", "2,3", "--backends", "sqlite", "--boots", "2"])
    rows = [line.split("|")[0].split() for line in capsys.readouterr().out.splitlines()]
    assert (status, [row for row in rows if row[-1:] == ["sqlite"]]) == (
        0,
        [["2", "sqlite"], ["3", "sqlite"]],
    )


def test_the_nova_rows_are_one_fleet_host_with_serials_on_its_vfs() -> None:
    rows = load_bench().nova_rows()
    vfs = [row for row in rows if row["dev_type"] == "type-VF"]
    assert (len(rows), len(vfs), all(row["card_serial_number"] for row in vfs)) == (130, 128, True)


def test_the_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert load_bench().percentile(values, 0.99) == 99.0


@pytest.mark.parametrize("text", ["", "x", "0", "10,-1"])
def test_bad_host_counts_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        load_bench()._sizes(text)


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        load_bench()._backends("oracle")

"""bench/operations.py times a few operations on a real `offpath serve` (embedded)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench" / "operations.py"


def load_bench() -> ModuleType:
    """The benchmark script as a module (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("bench_operations", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_a_tiny_run_times_each_operation_asked_and_those_it_needs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = load_bench().main(["--runs", "2", "--only", "start,live-migration", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert status == 0
    # start needs a stopped server: stop comes along.
    assert [row["operation"] for row in rows] == ["stop", "start", "live migration"]
    for row in rows:
        assert (row["runs"], row["failed"]) == (2, 0)
        assert 0 < row["min_ms"] <= row["median_ms"] <= row["p90_ms"] <= row["max_ms"]


def test_the_table_is_markdown_with_a_line_per_operation() -> None:
    bench = load_bench()
    rows = [
        bench.Row("stop", 20, 101.4, 130.0, 90.0, 150.2, 0),
        bench.Row("evacuate", 1, math.nan, math.nan, math.nan, math.nan, 1),
    ]
    assert bench.markdown_table(rows).splitlines() == [
        "| operation | runs | median | p90 | min | max | failed |",
        "|---|---:|---:|---:|---:|---:|---:|",
        "| stop | 20 | 101 ms | 130 ms | 90 ms | 150 ms | 0 |",
        "| evacuate | 1 | - | - | - | - | 1 |",
    ]


def test_every_operation_has_a_name_for_only() -> None:
    bench = load_bench()
    every = ",".join(bench._slug(name) for name in bench.NAMES)
    assert bench._names(every) == frozenset(bench.NAMES)
    assert bench._names("shelve,hard-reboot") == {"shelve (offload)", "hard reboot"}


@pytest.mark.parametrize("text", ["", "teleport", "stop,teleport"])
def test_an_unknown_operation_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        load_bench()._names(text)


def test_zero_runs_is_refused() -> None:
    with pytest.raises(SystemExit) as exc:
        load_bench().main(["--runs", "0"])
    assert exc.value.code == 2

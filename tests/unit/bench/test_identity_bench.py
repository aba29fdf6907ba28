"""bench/identity.py times logins and token checks on a fresh API database."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench" / "identity.py"


def load_bench() -> ModuleType:
    """The benchmark script as a module (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("bench_identity", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_a_tiny_sqlite_run_reports_logins_and_checks(capsys: pytest.CaptureFixture[str]) -> None:
    status = load_bench().main(
        ["--backends", "sqlite", "--users", "2", "--logins", "2", "--checks", "20", "--json"]
    )
    (row,) = json.loads(capsys.readouterr().out)
    assert status == 0
    assert (row["backend"], row["users"]) == ("sqlite", 2)
    assert 0 < row["login_median_ms"] <= row["login_p90_ms"]
    assert 0 < row["check_median_us"] <= row["check_p90_us"]
    assert row["checks_per_s"] > 0

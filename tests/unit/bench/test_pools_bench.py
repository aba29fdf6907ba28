"""bench/pools.py runs end to end with tiny N (without Nova), and its inputs for Nova are right."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench"


def load(name: str) -> ModuleType:
    """A bench script as a module (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


pools_bench = load("pools")
runner = load("nova_pools_runner")


def test_the_benchmark_prints_one_row_per_size_and_agrees_with_the_pools(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = pools_bench.main(["--sizes", "16,40", "--quick"])
    rows = [
        line for line in capsys.readouterr().out.splitlines() if "summary = numpy = pools" in line
    ]
    assert (status, [row.split("|")[0].strip() for row in rows]) == (0, ["16", "40"])


def test_a_differing_answer_makes_the_run_fail() -> None:
    row = pools_bench.measure(8, repeats=1, consume_repeats=1, nova=None)
    flipped = "1" if row.answers[0] == "0" else "0"
    nova = {"answers": flipped + row.answers[1:], "support_seconds": 1.0}
    assert pools_bench.failed([pools_bench.Row(**{**row.__dict__, "nova": nova})])


@pytest.mark.parametrize(
    ("layout", "missing"),
    [
        pytest.param("all free", set(), id="all-free"),
        pytest.param("10 rm VFs used", {"0000:03:00.0"}, id="pf-with-vf-in-use"),
        pytest.param("PF1 whole", {"0000:81:00.2", "0000:81:08.1"}, id="vfs-of-a-pf-in-use"),
    ],
)
def test_nova_gets_only_the_devices_nova_would_call_available(
    layout: str, missing: set[str]
) -> None:
    chosen = next(each for each in pools_bench.LAYOUTS if each.name == layout)
    reported = {row["address"] for row in pools_bench.available_rows(chosen)}
    every = {device.address for device in pools_bench.host_devices()}
    in_use = set(chosen.in_use)
    assert missing <= every - reported - in_use
    assert not reported & in_use


def test_the_nova_runner_without_arguments_only_says_what_it_is(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = runner.main([])
    assert (status, capsys.readouterr().out.startswith("usage: nova_pools_runner.py")) == (0, True)

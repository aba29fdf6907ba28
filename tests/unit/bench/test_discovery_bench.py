"""bench/discovery.py: it runs end to end on a small host and prints its table."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).parents[3] / "bench" / "discovery.py"


def load_bench() -> ModuleType:
    """The benchmark script as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("offpath_bench_discovery", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Dataclasses look their module up in sys.modules while being built.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_a_small_run_prints_one_row_per_host(capsys: pytest.CaptureFixture[str]) -> None:
    assert load_bench().main(["--pfs", "1,2", "--vfs", "2", "--runs", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:5] for line in lines[2:4]] == [
        ["1", "PF", "x", "2", "VF"],
        ["2", "PF", "x", "2", "VF"],
    ]


def test_the_function_count_includes_the_root_port(tmp_path: Path) -> None:
    figures = load_bench().measure(1, 3, 1, tmp_path)
    assert figures.functions == 1 + 1 + 3


def test_libvirt_time_is_read_plus_parse(tmp_path: Path) -> None:
    figures = load_bench().measure(1, 1, 1, tmp_path)
    assert figures.libvirt == figures.libvirt_read + figures.libvirt_parse


@pytest.mark.parametrize(
    ("text", "counts"),
    [pytest.param("1,4,8", [1, 4, 8], id="list"), pytest.param("2", [2], id="one")],
)
def test_pf_counts_parse(text: str, counts: list[int]) -> None:
    assert load_bench()._counts(text) == counts


@pytest.mark.parametrize("text", ["", "x", "0", "1,-1"])
def test_bad_pf_counts_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        load_bench()._counts(text)

"""`make` alone lists the targets, one line each; `make demo` and `make test` run as before."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def make(*args: str) -> str:
    result = subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_make_alone_lists_every_target_once() -> None:
    lines = make().splitlines()
    names = [line.split()[0] for line in lines]
    assert names == [
        "help",
        "demo",
        "demo-host",
        "test",
        "lint",
        "typecheck",
        "unit",
        "bench",
        "tempest",
        "clean",
    ]
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines)


@pytest.mark.parametrize(
    ("target", "commands"),
    [
        pytest.param("demo", ["offpath demo"]),
        pytest.param(
            "demo-host", ["offpath sim host", "offpath devspec check", "offpath inventory"]
        ),
        pytest.param("test", ["ruff check", "ruff format --check", "mypy", "pytest -n 2"]),
        pytest.param("tempest", ["python -m offpath_tempest"]),
    ],
)
def test_the_readme_targets_still_run_their_commands(target: str, commands: list[str]) -> None:
    planned = make("-n", target)
    assert all(command in planned for command in commands)

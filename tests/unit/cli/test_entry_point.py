"""The entry point turns an unexpected exception into one line and exit 1, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

BROKEN_RUN = """
import sys
import offpath.cli.vpd as vpd_cli

def explode(*args, **kwargs):
    raise RuntimeError("disk on fire")

vpd_cli.read_vpd_file = explode
sys.argv = ["offpath", "vpd", "decode", "/etc/hostname"]
from offpath.cli.main import run
run()
"""


def run_broken(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BROKEN_RUN],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )


def test_a_bug_is_one_line_with_a_hint_and_exit_1() -> None:
    result = run_broken()
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "error [internal]: RuntimeError: disk on fire"
    assert "OFFPATH_DEBUG=1" in lines[1]
    assert "Traceback" not in result.stderr


def test_offpath_debug_shows_the_traceback() -> None:
    result = run_broken(OFFPATH_DEBUG="1")
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "RuntimeError: disk on fire" in result.stderr

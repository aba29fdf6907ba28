"""`offpath serve` as a child process: started with simulated hosts, awaited, stopped by PID."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

# The console script next to this interpreter: PYTHONPATH (a worktree's src) still comes first.
OFFPATH: Final = str(Path(sys.executable).parent / "offpath")
LISTENING: Final = re.compile(r"offpath serve: API: listening on (http://\S+)")
READY: Final = "offpath serve: ready:"
START_TIMEOUT: Final = 120.0
STOP_TIMEOUT: Final = 20.0


@dataclass(frozen=True, slots=True)
class SimHost:
    """One `--sim-host`: a name, a simulator profile and VFs per PF."""

    name: str
    profile: str
    vfs: int

    def option(self) -> str:
        return f"{self.name}={self.profile},vfs={self.vfs}"


@dataclass
class Serve:
    """A started `offpath serve`: its process, log and (once ready) base URL."""

    popen: subprocess.Popen[bytes]
    log: Path
    base: str = ""

    def wait_ready(self, timeout: float = START_TIMEOUT) -> str:
        """The base URL once serve says every simulated host reported; bounded."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            found = LISTENING.search(text)
            if found and READY in text:
                self.base = found.group(1)
                return self.base
            if self.popen.poll() is not None:
                raise RuntimeError(
                    f"offpath serve exited with {self.popen.returncode}; see {self.log}"
                )
            time.sleep(0.2)
        raise RuntimeError(f"offpath serve not ready within {timeout:.0f} s; see {self.log}")

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, then SIGKILL after `timeout` seconds; the exit code."""
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        return self.popen.returncode


def offpath(*args: str, env: Mapping[str, str], timeout: float = 60) -> str:
    """Run one `offpath` command to completion; its stdout (raises with stderr on failure)."""
    done = subprocess.run(
        [OFFPATH, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(env),
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"offpath {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def start_serve(
    *,
    state_dir: Path,
    config_file: Path,
    hosts: Sequence[SimHost],
    log: Path,
    env: Mapping[str, str],
) -> Serve:
    """`offpath serve` on a free loopback port with the simulated `hosts`."""
    args = [
        *("serve", "--config-file", str(config_file), "--state-dir", str(state_dir)),
        *("--port", "0"),
        *(a for host in hosts for a in ("--sim-host", host.option())),
    ]
    with log.open("wb") as out:
        popen = subprocess.Popen(
            [OFFPATH, *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env),
        )
    return Serve(popen, log)

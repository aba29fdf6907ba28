"""OVN's central part on loopback: a Northbound and a Southbound ovsdb-server with ovn-northd.

`offpath serve --ovn`, the tests and the benchmark start their own, as
Debian's `ovn-central` would run them: each database a file in a state
directory, served on a 127.0.0.1 TCP port and a unix socket, and
`ovn-northd` translating between them. The databases outlive the servers,
so `restart_databases` brings back the same state, as a restarted OVN
central node does. Every process is stopped by its PID, and every wait is
bounded.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from offpath.errors import OvnStartFailed

LOG = logging.getLogger(__name__)

SCHEMA_DIRS: Final = (Path("/usr/share/ovn"), Path("/usr/local/share/ovn"))
START_TIMEOUT: Final = 10.0
STOP_TIMEOUT: Final = 5.0
POLL: Final = 0.02
# A port picked free may be taken before ovsdb-server binds it: try a few.
BIND_ATTEMPTS: Final = 5


@dataclass(frozen=True, slots=True)
class _Database:
    name: str  # "nb" or "sb"
    schema: str  # file name of the schema under SCHEMA_DIRS
    ctl: str  # the command that initialises it


_NB: Final = _Database("nb", "ovn-nb.ovsschema", "ovn-nbctl")
_SB: Final = _Database("sb", "ovn-sb.ovsschema", "ovn-sbctl")


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if path is None:
        raise OvnStartFailed(name, "not installed")
    return path


def _schema(name: str) -> Path:
    for directory in SCHEMA_DIRS:
        if (directory / name).is_file():
            return directory / name
    raise OvnStartFailed(name, f"schema not found in {', '.join(map(str, SCHEMA_DIRS))}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A daemon we started and that exited is reaped by init, not us; a zombie
    # of ours would still answer kill 0, so look at its state too.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _stop_pid(pid: int, name: str) -> None:
    """SIGTERM, then SIGKILL after STOP_TIMEOUT; returns once `pid` is gone."""
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, STOP_TIMEOUT)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(POLL)
        LOG.warning("%s (pid %d) did not stop on %s", name, pid, sig.name)


def _stop_stale(pidfile: Path, program: str) -> None:
    """Stop what a previous owner of this directory left running (it was killed, say)."""
    try:
        pid = int(pidfile.read_text().strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if program.encode() in command and str(pidfile.parent).encode() in command:
        LOG.warning("stopping %s (pid %d) left running in %s", program, pid, pidfile.parent)
        _stop_pid(pid, program)


class OvnCentral:
    """Start with `start()` (or `with`), stop with `stop()`: NB, SB and northd under `directory`."""

    def __init__(
        self,
        directory: Path,
        *,
        host: str = "127.0.0.1",
        nb_port: int = 0,
        sb_port: int = 0,
        northd: bool = True,
    ) -> None:
        # The daemons read relative paths from their run directory, not ours.
        self.directory = directory.resolve()
        self.host = host
        self.ports = {"nb": nb_port, "sb": sb_port}
        self.northd = northd
        self.pids: dict[str, int] = {}

    def __enter__(self) -> OvnCentral:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def nb_connection(self) -> str:
        """The Northbound database's address, `tcp:127.0.0.1:PORT`."""
        return f"tcp:{self.host}:{self.ports['nb']}"

    @property
    def sb_connection(self) -> str:
        """The Southbound database's address, `tcp:127.0.0.1:PORT`."""
        return f"tcp:{self.host}:{self.ports['sb']}"

    def socket_path(self, name: str) -> Path:
        """The unix socket of database `name` ("nb" or "sb")."""
        return self.directory / f"{name}.sock"

    def start(self) -> None:
        """Create the databases if new, start both servers and northd; stop all on failure."""
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            for database in (_NB, _SB):
                self._start_database(database)
            if self.northd:
                self._start_northd()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop northd, then both servers, by PID; the database files stay."""
        for name in ("northd", "sb", "nb"):
            pid = self.pids.pop(name, None)
            if pid is not None:
                _stop_pid(pid, name)

    def stop_databases(self) -> None:
        """Stop both ovsdb-servers (northd stays, and reconnects once they are back)."""
        for name in ("sb", "nb"):
            pid = self.pids.pop(name, None)
            if pid is not None:
                _stop_pid(pid, f"ovsdb-server {name}")

    def restart_databases(self) -> None:
        """Start both ovsdb-servers again on the same ports and files, as after an outage."""
        for database in (_NB, _SB):
            if database.name not in self.pids:
                self._start_database(database)

    def _start_database(self, database: _Database) -> None:
        path = self.directory / f"{database.name}.db"
        fresh = not path.exists()
        if fresh:
            self._run(
                database.name,
                [_tool("ovsdb-tool"), "create", str(path), str(_schema(database.schema))],
            )
        fixed = self.ports[database.name]
        for attempt in range(1 if fixed else BIND_ATTEMPTS):
            port = fixed or _free_port(self.host)
            try:
                self._daemon(
                    database.name,
                    [
                        _tool("ovsdb-server"),
                        f"--remote=punix:{self.socket_path(database.name)}",
                        f"--remote=ptcp:{port}:{self.host}",
                        str(path),
                    ],
                    listening=(self.host, port),
                )
            except OvnStartFailed:
                if fixed or attempt == BIND_ATTEMPTS - 1:
                    raise
                continue
            self.ports[database.name] = port
            break
        if fresh:
            self._run(
                database.name,
                [_tool(database.ctl), f"--db=unix:{self.socket_path(database.name)}", "init"],
            )

    def _start_northd(self) -> None:
        self._daemon(
            "northd",
            [
                _tool("ovn-northd"),
                f"--ovnnb-db=unix:{self.socket_path('nb')}",
                f"--ovnsb-db=unix:{self.socket_path('sb')}",
            ],
        )

    def _daemon(
        self, name: str, command: Sequence[str], *, listening: tuple[str, int] | None = None
    ) -> None:
        """Run `command` detached with its pid, log and control files under the directory."""
        pidfile = self.directory / f"{name}.pid"
        _stop_stale(pidfile, Path(command[0]).name)
        pidfile.unlink(missing_ok=True)
        log = self.directory / f"{name}.log"
        self._run(
            name,
            [
                *command[:1],
                "--detach",
                "--no-chdir",
                f"--pidfile={pidfile}",
                f"--log-file={log}",
                f"--unixctl={self.directory / f'{name}.ctl'}",
                *command[1:],
            ],
        )
        try:
            pid = int(pidfile.read_text().strip())
        except (OSError, ValueError):
            raise OvnStartFailed(name, f"wrote no pid file; see {log}") from None
        self.pids[name] = pid
        if listening is not None:
            self._wait_listening(name, pid, listening, log)

    def _wait_listening(self, name: str, pid: int, address: tuple[str, int], log: Path) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not _alive(pid):
                self.pids.pop(name, None)
                raise OvnStartFailed(name, f"exited while starting; see {log}")
            try:
                with socket.create_connection(address, timeout=0.5):
                    return
            except OSError:
                time.sleep(POLL)
        self.pids.pop(name, None)
        _stop_pid(pid, name)
        raise OvnStartFailed(name, f"did not listen on {address[0]}:{address[1]}; see {log}")

    def _run(self, name: str, command: Sequence[str]) -> None:
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=START_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            raise OvnStartFailed(name, f"{Path(command[0]).name} did not finish in time") from None
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            problem = lines[-1] if lines else f"exit status {done.returncode}"
            raise OvnStartFailed(name, f"{Path(command[0]).name} failed: {problem}")

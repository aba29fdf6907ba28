"""Real offpath processes on loopback for tests: a conductor and agents on simulated hosts.

Every process is started with its own log file, stopped by PID, and every
wait is bounded.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from offpath.db.bootstrap import sync_all
from offpath.db.cell_schema import ComputeNodeRow, PciDeviceRow
from offpath.db.engine import open_engine, reading
from offpath.db.services import list_services
from offpath.service_config import load_service_config
from offpath.version import COMPUTE_BINARY

OFFPATH = str(Path(sys.executable).parent / "offpath")
VF_SPEC = (
    '{"vendor_id": "15b3", "product_id": "101e", "physical_network": null, '
    '"remote_managed": "true"}'
)
PF_SPEC = '{"vendor_id": "15b3", "product_id": "a2d6", "physical_network": "physnet-dpu"}'


@dataclass
class Process:
    """One started process: its name, Popen and log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL: no goodbye, as when a host loses power."""
        os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def ask_to_stop(self) -> None:
        """SIGTERM without waiting: several processes then stop side by side."""
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGTERM)

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM, then SIGKILL if it does not end in `timeout` seconds; its exit code."""
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        return self.popen.returncode


@dataclass
class Cluster:
    """A conductor and agents sharing a RabbitMQ virtual host and SQLite databases."""

    root: Path
    transport_url: str
    service_down_time: int = 3
    processes: list[Process] = field(default_factory=list)

    @property
    def conductor_conf(self) -> Path:
        return self.root / "conductor.conf"

    def databases(self) -> str:
        return (
            f"[api_database]\nconnection = sqlite:///{self.root / 'api.sqlite'}\n"
            f"[database]\nconnection = sqlite:///{self.root / 'cell1.sqlite'}\n"
        )

    def defaults(self, host: str) -> str:
        return (
            f"[DEFAULT]\nhost = {host}\ntransport_url = {self.transport_url}\n"
            f"service_down_time = {self.service_down_time}\nreport_interval = 1\n"
            "update_resources_interval = 2\nrpc_response_timeout = 10\n"
            # The agents' opt-in credential for the network service (none runs here).
            "[api]\nauth_token = cluster-token\n"
        )

    def sync(self) -> None:
        """Create the databases (what `offpath db sync` does)."""
        self.conductor_conf.write_text(self.defaults("conductor-1") + self.databases())
        sync_all(load_service_config([self.conductor_conf], state_dir=self.root))

    def start(self, name: str, *args: str) -> Process:
        process = start_process(self.root, name, *args)
        self.processes.append(process)
        return process

    def start_conductor(self) -> Process:
        return self.start("conductor", "conductor", "--config-file", str(self.conductor_conf))

    def simulate_hosts(self, hosts: Sequence[str], *, vfs: int = 4) -> None:
        """Write a simulated BlueField-2 host tree per name, all at once."""
        runs = [
            subprocess.Popen(
                [
                    *(OFFPATH, "sim", "host", "--profile", "bluefield2"),
                    *("--out", str(self.root / host), "--hostname", host, "--vfs", str(vfs)),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for host in hosts
        ]
        assert [run.wait(timeout=60) for run in runs] == [0] * len(runs)

    def start_agent(self, host: str) -> Process:
        """An agent on the simulated host `host` (see `simulate_hosts`)."""
        conf = self.root / f"{host}.conf"
        conf.write_text(
            self.defaults(host) + f"[pci]\ndevice_spec = {VF_SPEC}\ndevice_spec = {PF_SPEC}\n"
        )
        return self.start(
            f"agent-{host}",
            "agent",
            "--config-file",
            str(conf),
            "--sysfs-root",
            str(self.root / host),
        )

    def services(self) -> dict[tuple[str, str], dict[str, object]]:
        """`offpath service list --json`, by (binary, host)."""
        result = subprocess.run(
            [OFFPATH, "service", "list", "--json", "--config-file", str(self.conductor_conf)],
            check=True,
            capture_output=True,
            timeout=30,
            cwd=self.root,
        )
        rows = json.loads(result.stdout)
        return {(str(r["binary"]), str(r["host"])): r for r in rows}

    def devices_by_host(self) -> dict[str, int]:
        """How many pci_devices rows each host has in the cell database."""
        engine = open_engine(f"sqlite:///{self.root / 'cell1.sqlite'}")
        try:
            with reading(engine) as session:
                rows = session.execute(
                    select(ComputeNodeRow.host, func.count(PciDeviceRow.id))
                    .join(PciDeviceRow, PciDeviceRow.compute_node_id == ComputeNodeRow.id)
                    .group_by(ComputeNodeRow.host)
                ).all()
        finally:
            engine.dispose()
        return {str(host): int(count) for host, count in rows}

    def compute_states(self) -> dict[str, bool]:
        """Whether each compute service is up, read from the cell database."""
        engine = open_engine(f"sqlite:///{self.root / 'cell1.sqlite'}")
        try:
            with reading(engine) as session:
                services = list_services(session, binary=COMPUTE_BINARY)
        finally:
            engine.dispose()
        return {s.host: s.is_up(service_down_time=self.service_down_time) for s in services}

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.log.read_text(errors='replace')}" for p in self.processes
        )

    def stop_all(self) -> None:
        for process in self.processes:
            process.stop()


def wait_until(
    check: Callable[[], bool], *, timeout: float, what: str, logs: Callable[[], str]
) -> None:
    """Poll `check` until true; fail with the processes' logs after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"not within {timeout} s: {what}\n{logs()}")


LISTENING = re.compile(r"offpath serve: API: listening on (http://\S+)")
READY = "offpath serve: ready:"


def start_process(root: Path, name: str, *args: str) -> Process:
    """`offpath ARGS...` in `root`, its output in `root/NAME.log`."""
    log = root / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            [OFFPATH, *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=root,
        )
    return Process(name, popen, log)


def wait_for_serve(serve: Process, *, timeout: float) -> str:
    """The base URL of a started `offpath serve`, once it says it is ready (hosts reported)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = serve.log.read_text(errors="replace")
        found = LISTENING.search(text)
        if found and READY in text:
            return found.group(1)
        if serve.popen.poll() is not None:
            raise AssertionError(f"offpath serve exited with {serve.popen.returncode}:\n{text}")
        time.sleep(0.2)
    raise AssertionError(
        f"offpath serve not ready within {timeout} s:\n{serve.log.read_text(errors='replace')}"
    )


def assert_all_ended(processes: Sequence[Process]) -> None:
    """No leaked process: every one we started has exited (and been reaped)."""
    running = [f"{p.name} (pid {p.popen.pid})" for p in processes if p.popen.poll() is None]
    assert not running, f"still running: {', '.join(running)}"

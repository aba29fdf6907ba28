"""`offpath sim dpu` as its own process on a real OVN: registration, plugs, signals, exits.

Each test starts NB/SB ovsdb-servers and ovn-northd on loopback, runs the
simulated DPU as a child process (the code under test, whatever the venv
has installed), and reads and writes OVN through ovsdbapp as Neutron
would. Every process is stopped by PID at the end and every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import offpath
from offpath.network.chassis import CMS_OPTIONS, serial_item
from offpath.network.ovn.central import OvnCentral
from offpath.network.ovn.config import OvnConfig
from offpath.network.ovn.connection import OvnDatabase, open_northbound, open_southbound
from offpath.network.ovn.logical_ports import switch_name
from offpath.network.remote_managed_binding import (
    PF_MAC,
    REPRESENTOR,
    REQUESTED_CHASSIS,
    VF_NUM,
    VIF_PLUG_TYPE,
)
from tests.process.cluster import OFFPATH

SERIAL = "MT2113X0SIM1"
PF_MACS = ("52:54:00:1e:59:01", "52:54:00:1e:59:02")
HOSTNAME = "dpu-1.example"
VFS = 4
# The child imports ovsdbapp and offpath's CLI: seconds on a busy machine.
START, STOP, CHANGE = 60.0, 15.0, 10.0
REGISTERED = f"offpath sim dpu: chassis {HOSTNAME} registered ({serial_item(SERIAL)})"


@dataclass
class DpuProcess:
    """One `offpath sim dpu` child: its Popen and where its stdout and stderr go."""

    popen: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def out(self) -> str:
        return self.stdout.read_text(errors="replace")

    def err(self) -> str:
        return self.stderr.read_text(errors="replace")

    def logs(self) -> str:
        return f"--- stdout\n{self.out()}--- stderr\n{self.err()}"

    def send(self, signum: signal.Signals) -> None:
        assert self.popen.poll() is None, f"it exited with {self.popen.returncode}\n{self.logs()}"
        os.kill(self.popen.pid, signum)

    def wait(self, timeout: float) -> int:
        """Its exit code, once it ends within `timeout` seconds."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running after {timeout} s\n{self.logs()}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not end in time: never left running."""
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=STOP)
            except subprocess.TimeoutExpired:
                os.kill(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=STOP)


def wait_until(check: Callable[[], Any], *, what: str, logs: Callable[[], str]) -> Any:
    """Poll `check` until it returns something true; fail with the child's logs after CHANGE s."""
    deadline = time.monotonic() + CHANGE
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not within {CHANGE} s: {what}\n{logs()}")
        time.sleep(0.05)


@dataclass
class Launcher:
    """Starts `offpath sim dpu` children in a directory; `stop_all` ends each by PID."""

    root: Path
    started: list[DpuProcess] = field(default_factory=list)

    def launch(self, *args: str) -> DpuProcess:
        """Start one with exactly `args` after `offpath sim dpu`, without waiting."""
        index = len(self.started)
        stdout, stderr = self.root / f"dpu{index}.out", self.root / f"dpu{index}.err"
        # The child runs the offpath the test imports, not whichever one the venv installed.
        env = {**os.environ, "PYTHONPATH": str(Path(offpath.__file__).resolve().parents[1])}
        with stdout.open("wb") as out, stderr.open("wb") as err:
            popen = subprocess.Popen(
                [OFFPATH, "sim", "dpu", *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=self.root,
                env=env,
            )
        process = DpuProcess(popen, stdout, stderr)
        self.started.append(process)
        return process

    def start(self, sb: str, *extra: str, vfs: int = VFS) -> DpuProcess:
        """Start one on `sb` and wait until it says its chassis is registered."""
        macs = [item for mac in PF_MACS for item in ("--pf-mac", mac)]
        process = self.launch(
            *("--sb", sb, "--hostname", HOSTNAME, "--serial", SERIAL, *macs),
            *("--vfs", str(vfs), "--physnet", "physnet1", "--timeout", "10", *extra),
        )
        deadline = time.monotonic() + START
        while REGISTERED not in process.out():
            if process.popen.poll() is not None:
                pytest.fail(f"it exited with {process.popen.returncode}\n{process.logs()}")
            if time.monotonic() > deadline:
                pytest.fail(f"not registered within {START} s\n{process.logs()}")
            time.sleep(0.1)
        return process

    def stop_all(self) -> None:
        for process in self.started:
            process.stop()


@pytest.fixture
def dpus(tmp_path: Path) -> Iterator[Launcher]:
    launcher = Launcher(tmp_path)
    try:
        yield launcher
    finally:
        launcher.stop_all()


@pytest.fixture
def sb(central: OvnCentral) -> Iterator[OvnDatabase]:
    """The test's own Southbound connection, to read what the DPU wrote."""
    database = open_southbound(OvnConfig("", central.sb_connection, timeout=10))
    yield database
    database.close()


@pytest.fixture
def nb(central: OvnCentral) -> Iterator[OvnDatabase]:
    """The test's own Northbound connection, to write as Neutron does."""
    database = open_northbound(OvnConfig(central.nb_connection, "", timeout=10))
    yield database
    database.close()


def plug_request(nb: OvnDatabase, *, vf_num: int, pf_mac: str = PF_MACS[1]) -> str:
    """A switch and a port asking for the representor (`pf_mac`, `vf_num`) on the DPU."""
    switch = switch_name(str(uuid.uuid4()))
    port_id = str(uuid.uuid4())
    options = {
        REQUESTED_CHASSIS: HOSTNAME,
        VIF_PLUG_TYPE: REPRESENTOR,
        PF_MAC: pf_mac,
        VF_NUM: str(vf_num),
    }
    nb.execute([nb.api.ls_add(switch)])
    nb.execute([nb.api.lsp_add(switch, port_id, addresses=["fa:16:3e:00:00:01"], options=options)])
    return port_id


def bump_nb_cfg(nb: OvnDatabase) -> int:
    """Move NB_Global.nb_cfg on, as Neutron's liveness check does; the new value."""
    (row,) = nb.rows("NB_Global")
    value = int(row.nb_cfg) + 1
    nb.execute([nb.api.db_set("NB_Global", row.uuid, ("nb_cfg", value))])
    return value


def lsp_up(nb: OvnDatabase, port_id: str) -> bool:
    row = nb.row("Logical_Switch_Port", port_id)
    return row is not None and list(row.up) == [True]


def chassis_nb_cfg(sb: OvnDatabase) -> int | None:
    private = sb.row("Chassis_Private", HOSTNAME)
    return None if private is None else int(private.nb_cfg)


def sb_nb_cfg(sb: OvnDatabase) -> int:
    (row,) = sb.rows("SB_Global")
    return int(row.nb_cfg)


def chassis_rows(sb: OvnDatabase) -> tuple[Any, Any, list[Any]]:
    """Its Chassis, Chassis_Private and Encap rows (None or [] when absent)."""
    encaps = [row for row in sb.rows("Encap") if row.chassis_name == HOSTNAME]
    return sb.row("Chassis", HOSTNAME), sb.row("Chassis_Private", HOSTNAME), encaps


def test_it_registers_its_chassis_with_the_card_serial(
    central: OvnCentral, sb: OvnDatabase, dpus: Launcher
) -> None:
    dpu = dpus.start(central.sb_connection)
    assert dpu.out() == (
        f"{REGISTERED}, plugging representors for PF MACs {', '.join(PF_MACS)} ({VFS} VFs each)\n"
    )
    chassis, private, encaps = wait_until(
        lambda: all(chassis_rows(sb)) and chassis_rows(sb), what="its rows", logs=dpu.logs
    )
    assert chassis.hostname == HOSTNAME
    assert serial_item(SERIAL) in chassis.other_config[CMS_OPTIONS].split(",")
    assert chassis.other_config["ovn-bridge-mappings"] == "physnet1:br-physnet1"
    assert private.chassis[0].uuid == chassis.uuid
    assert [(encap.type, encap.uuid) for encap in encaps] == [
        ("geneve", encap.uuid) for encap in chassis.encaps
    ]


def test_a_port_requested_on_it_is_claimed_and_goes_up(
    central: OvnCentral, sb: OvnDatabase, nb: OvnDatabase, dpus: Launcher
) -> None:
    dpu = dpus.start(central.sb_connection)
    port_id = plug_request(nb, vf_num=3)
    binding = wait_until(
        lambda: (
            (row := sb.row("Port_Binding", port_id)) is not None and list(row.up) == [True] and row
        ),
        what="northd's binding claimed and up",
        logs=dpu.logs,
    )
    assert [chassis.name for chassis in binding.chassis] == [HOSTNAME]
    assert [chassis.name for chassis in binding.requested_chassis] == [HOSTNAME]
    wait_until(
        lambda: lsp_up(nb, port_id),
        what="the LSP to go up",
        logs=dpu.logs,
    )
    assert f"plugged representor pf1vf3 (pf-mac {PF_MACS[1]}, vf-num 3) for lport {port_id}" in (
        dpu.err()
    )


def test_an_unknown_vf_is_left_unclaimed_and_it_says_why(
    central: OvnCentral, sb: OvnDatabase, nb: OvnDatabase, dpus: Launcher
) -> None:
    dpu = dpus.start(central.sb_connection)
    port_id = plug_request(nb, vf_num=VFS)
    wait_until(
        lambda: f"No representor port found for lport: {port_id}" in dpu.err(),
        what="the DPU to say why it did not plug",
        logs=dpu.logs,
    )
    binding = sb.row("Port_Binding", port_id)
    assert binding is not None
    assert [chassis.name for chassis in binding.requested_chassis] == [HOSTNAME]
    assert (list(binding.chassis), list(binding.up)) == ([], [False])
    assert not lsp_up(nb, port_id)
    assert f"PF {PF_MACS[1]} on {HOSTNAME} has no VF {VFS} ({VFS} VFs per PF)" in dpu.err()


def test_sigusr1_stops_its_nb_cfg_answers_and_sigusr2_catches_up(
    central: OvnCentral, sb: OvnDatabase, nb: OvnDatabase, dpus: Launcher
) -> None:
    dpu = dpus.start(central.sb_connection)
    answered = bump_nb_cfg(nb)
    wait_until(lambda: chassis_nb_cfg(sb) == answered, what="an nb_cfg answer", logs=dpu.logs)

    dpu.send(signal.SIGUSR1)
    wait_until(lambda: "stopped answering" in dpu.err(), what="it going down", logs=dpu.logs)
    asked = bump_nb_cfg(nb)
    wait_until(lambda: sb_nb_cfg(sb) == asked, what="northd to pass nb_cfg on", logs=dpu.logs)
    time.sleep(1)  # ample for an answer that must not come
    assert chassis_nb_cfg(sb) == answered
    assert sb.row("Chassis", HOSTNAME) is not None  # hung, not gone

    dpu.send(signal.SIGUSR2)
    wait_until(lambda: chassis_nb_cfg(sb) == asked, what="it catching up", logs=dpu.logs)
    again = bump_nb_cfg(nb)
    wait_until(lambda: chassis_nb_cfg(sb) == again, what="it following again", logs=dpu.logs)


def test_sigterm_exits_0_removes_its_chassis_and_its_ports_go_down(
    central: OvnCentral, sb: OvnDatabase, nb: OvnDatabase, dpus: Launcher
) -> None:
    dpu = dpus.start(central.sb_connection)
    port_id = plug_request(nb, vf_num=0)
    wait_until(lambda: lsp_up(nb, port_id), what="the LSP to go up", logs=dpu.logs)
    dpu.send(signal.SIGTERM)
    assert dpu.wait(STOP) == 0, dpu.logs()
    wait_until(lambda: chassis_rows(sb) == (None, None, []), what="its rows to go", logs=dpu.logs)
    assert "SIGTERM received; stopping" in dpu.err()
    # Port_Binding.chassis is a weak reference: the claim goes with the chassis.
    wait_until(lambda: not lsp_up(nb, port_id), what="the LSP to go down", logs=dpu.logs)
    binding = sb.row("Port_Binding", port_id)
    assert binding is not None
    assert (list(binding.chassis), list(binding.requested_chassis)) == ([], [])


def test_keep_chassis_leaves_its_rows_on_sigterm(
    central: OvnCentral, sb: OvnDatabase, dpus: Launcher
) -> None:
    dpu = dpus.start(central.sb_connection, "--keep-chassis")
    wait_until(lambda: all(chassis_rows(sb)), what="its rows", logs=dpu.logs)
    dpu.send(signal.SIGTERM)
    assert dpu.wait(STOP) == 0, dpu.logs()
    assert all(chassis_rows(sb))
    assert f"chassis {HOSTNAME} left registered (--keep-chassis)" in dpu.err()


def test_sigkill_leaves_a_dead_chassis(
    central: OvnCentral, sb: OvnDatabase, nb: OvnDatabase, dpus: Launcher
) -> None:
    dpu = dpus.start(central.sb_connection)
    answered = bump_nb_cfg(nb)
    wait_until(lambda: chassis_nb_cfg(sb) == answered, what="an nb_cfg answer", logs=dpu.logs)
    dpu.send(signal.SIGKILL)
    assert dpu.wait(STOP) == -signal.SIGKILL
    asked = bump_nb_cfg(nb)
    wait_until(lambda: sb_nb_cfg(sb) == asked, what="northd to pass nb_cfg on", logs=dpu.logs)
    time.sleep(0.5)  # the IDL has the server's view by now; no one answers for the DPU
    assert all(chassis_rows(sb))
    assert chassis_nb_cfg(sb) == answered


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_a_southbound_that_refuses_is_ovn_unavailable(dpus: Launcher) -> None:
    remote = f"tcp:127.0.0.1:{free_port()}"
    dpu = dpus.launch(
        *("--sb", remote, "--hostname", HOSTNAME, "--serial", SERIAL, "--pf-mac", PF_MACS[0])
    )
    assert dpu.wait(START) == 5, dpu.logs()
    assert (
        f"error [ovn.unavailable]: OVN Southbound database at {remote}: cannot read its schema"
        in dpu.err()
    )
    assert f"  hint: check that an OVN Southbound ovsdb-server listens at {remote}" in dpu.err()
    assert "Traceback" not in dpu.err()
    assert dpu.out() == ""


def test_a_silent_southbound_is_ovn_unavailable_after_the_timeout(dpus: Launcher) -> None:
    # A listener that never answers: the schema request would wait for ever without a bound.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        remote = f"tcp:127.0.0.1:{silent.getsockname()[1]}"
        dpu = dpus.launch(
            *("--sb", remote, "--hostname", HOSTNAME, "--serial", SERIAL),
            *("--pf-mac", PF_MACS[0], "--timeout", "1"),
        )
        assert dpu.wait(START) == 5, dpu.logs()
    assert (
        f"error [ovn.unavailable]: OVN Southbound database at {remote}: "
        "no answer to a schema request within 1 s\n"
    ) in dpu.err()
    assert "Traceback" not in dpu.err()

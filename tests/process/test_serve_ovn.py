"""`offpath demo --ovn` and `offpath serve --ovn` as processes: OVN started, used, and stopped.

The cloud starts its own Northbound and Southbound ovsdb-server and
ovn-northd in the state directory. A clean exit stops them by PID; a serve
killed with SIGKILL leaves them running, and the next serve on the same
state directory stops those before it starts its own, keeping the
databases' content.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from openstack.connection import Connection

from offpath.identity.first_use import OPENRC, openrc_password
from offpath.network.ovn.config import OvnConfig
from offpath.network.ovn.connection import open_northbound
from tests.network.ovn.conftest import require_ovn
from tests.process.cluster import start_process, wait_for_serve, wait_until

OFFPATH = Path(sys.executable).parent / "offpath"
OVN_DAEMONS = ("nb", "sb", "northd")


@pytest.fixture(autouse=True)
def _ovn_installed() -> None:
    require_ovn()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _daemon_pids(ovn_dir: Path) -> dict[str, int]:
    found = {}
    for name in OVN_DAEMONS:
        pidfile = ovn_dir / f"{name}.pid"
        if pidfile.exists():
            found[name] = int(pidfile.read_text().strip())
    return found


def test_the_ovn_demo_shows_the_plug_options_and_stops_every_ovn_daemon(tmp_path: Path) -> None:
    state = tmp_path / "state"
    done = subprocess.run(
        [str(OFFPATH), "demo", "--ovn", "--state-dir", str(state)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "ovn-northd started in" in done.stderr
    options = re.findall(r"(requested-chassis|vif-plug[\w:-]*)=(\S+)", done.stdout)
    assert [key for key, _ in options] == [
        "requested-chassis",
        "vif-plug-mtu-request",
        "vif-plug-type",
        "vif-plug:representor:pf-mac",
        "vif-plug:representor:vf-num",
    ]
    assert dict(options)["vif-plug-type"] == "representor"
    # ovsdb-server removes its pid file when it exits: none is left, no daemon runs.
    assert _daemon_pids(state / "ovn") == {}


def test_a_killed_serve_leaves_ovn_running_and_the_next_serve_takes_it_over(tmp_path: Path) -> None:
    args = ("serve", "--ovn", "--port", "0", "--state-dir", "state", "--sim-host", "bf2=bluefield2")
    first = start_process(tmp_path, "serve-1", *args)
    second = None
    try:
        base = wait_for_serve(first, timeout=60)
        sdk = Connection(
            auth_url=f"{base}/identity/v3",
            username="admin",
            password=openrc_password(tmp_path / "state" / OPENRC),
            project_name="admin",
            user_domain_name="Default",
            project_domain_name="Default",
        )
        network = sdk.network.create_network(name="kept", provider_network_type="geneve")
        sdk.close()
        ovn_dir = tmp_path / "state" / "ovn"
        left = _daemon_pids(ovn_dir)
        assert set(left) == set(OVN_DAEMONS)

        first.kill()
        assert all(_alive(pid) for pid in left.values()), "OVN stopped with the killed serve"

        second = start_process(tmp_path, "serve-2", *args)
        wait_for_serve(second, timeout=60)
        assert all(not _alive(pid) for pid in left.values()), "the stale daemons still run"
        now = _daemon_pids(ovn_dir)
        assert set(now) == set(OVN_DAEMONS) and not set(now.values()) & set(left.values())
        assert "left running in" in second.log.read_text()
        # The Northbound kept the network's switch across the takeover.
        nb_socket = f"unix:{ovn_dir / 'nb.sock'}"
        nb = open_northbound(OvnConfig(nb_socket, nb_socket, timeout=10))
        try:
            assert nb.row("Logical_Switch", f"neutron-{network.id}") is not None
        finally:
            nb.close()

        assert second.stop(timeout=30) == 0
        wait_until(
            lambda: all(not _alive(pid) for pid in now.values()),
            timeout=10,
            what="every OVN daemon to stop with serve",
            logs=lambda: second.log.read_text(errors="replace") if second else "",
        )
    finally:
        for process in (first, second):
            if process is not None and process.popen.poll() is None:
                process.kill()
        for pid in _daemon_pids(tmp_path / "state" / "ovn").values():
            if _alive(pid):
                os.kill(pid, 9)

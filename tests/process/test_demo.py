"""`offpath demo` as a user runs it: one command, exit 0, a table of the two boots."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

OFFPATH = Path(sys.executable).parent / "offpath"


def test_the_demo_boots_both_ports_and_says_what_each_got(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(OFFPATH), "demo", "--state-dir", str(tmp_path / "state")],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = {
        line.split("│")[1].strip(): line for line in done.stdout.splitlines() if "│ vm-" in line
    }
    assert set(rows) == {"vm-dpu", "vm-sriov"}
    dpu = [cell.strip() for cell in rows["vm-dpu"].split("│")[1:-1]]
    sriov = [cell.strip() for cell in rows["vm-sriov"].split("│")[1:-1]]
    # server, host, port, vnic type, VF, serial, PF MAC, VF num, status, waited, time
    assert dpu[1].startswith("compute-dpu-") and dpu[3] == "remote-managed"
    assert dpu[5].startswith("MT") and dpu[8] == "ACTIVE"
    assert dpu[9].startswith("no ")
    assert sriov[1] == "compute-nic-01" and sriov[3] == "direct"
    assert sriov[9] == "network-vif-plugged (event)"
    assert "server vm-sriov: ACTIVE on compute-nic-01" in done.stderr
    # Nothing of the cloud outlives the command: its API port is closed again.
    [base] = re.findall(r"cloud up in [0-9.]+ s at (http://\S+)", done.stderr)
    host, port = base.removeprefix("http://").rsplit(":", 1)
    with pytest.raises(OSError), socket.create_connection((host, int(port)), timeout=2):
        pass

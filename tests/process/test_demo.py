"""`offpath demo` as a user runs it: one command, exit 0, a table of the two boots, then a
table of the two moves with each port's binding profile before and after."""

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
    booted, moved = done.stdout.split("offpath demo: two moves")
    rows = {line.split("│")[1].strip(): line for line in booted.splitlines() if "│ vm-" in line}
    assert set(rows) == {"vm-dpu", "vm-sriov"}
    dpu = [cell.strip() for cell in rows["vm-dpu"].split("│")[1:-1]]
    sriov = [cell.strip() for cell in rows["vm-sriov"].split("│")[1:-1]]
    # server, host, port, vnic type, VF, serial, PF MAC, VF num, status, waited, time
    assert dpu[1].startswith("compute-dpu-") and dpu[3] == "remote-managed"
    assert dpu[5].startswith("MT") and dpu[8] == "ACTIVE"
    assert dpu[9].startswith("no ")
    assert sriov[1].startswith("compute-nic-") and sriov[3] == "direct"
    assert sriov[9] == "network-vif-plugged (event)"
    assert f"server vm-sriov: ACTIVE on {sriov[1]}" in done.stderr

    # The second act: the DPU server live-migrated, the direct one cold-migrated, each to
    # the other host of its kind, its profile naming the destination's VF and card.
    places = [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in moved.splitlines()
        if "│ before " in line or "│ after " in line
    ]
    # server, move, before/after, host, VF address, card serial, PF MAC, VF num, physnet, took
    assert [row[2] for row in places] == ["before", "after"] * 2
    (dpu_before, dpu_after), (nic_before, nic_after) = places[:2], places[2:]
    assert (dpu_before[0], dpu_before[1]) == ("vm-dpu", "live migration")
    assert dpu_before[3] == dpu[1] and dpu_after[3].startswith("compute-dpu-")
    assert dpu_after[3] != dpu_before[3] and dpu_after[5] != dpu_before[5]
    assert dpu_after[5].startswith("MT") and dpu_after[8] == "-"
    assert (nic_before[0], nic_before[1]) == ("vm-sriov", "cold migration, confirmed")
    assert nic_before[3] == sriov[1] and nic_after[3].startswith("compute-nic-")
    assert nic_after[3] != nic_before[3] and nic_after[8] == "physnet1"
    assert f"server vm-dpu: live-migrating from {dpu[1]}" in done.stderr
    assert f"server vm-dpu: ACTIVE on {dpu_after[3]}" in done.stderr
    assert f"server vm-sriov: ACTIVE on {nic_after[3]}" in done.stderr
    # Nothing of the cloud outlives the command: its API port is closed again.
    [base] = re.findall(r"cloud up in [0-9.]+ s at (http://\S+)", done.stderr)
    host, port = base.removeprefix("http://").rsplit(":", 1)
    with pytest.raises(OSError), socket.create_connection((host, int(port)), timeout=2):
        pass

"""The control plane's commands as an operator runs them: db sync, cells, schedule explain."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from offpath.db.bootstrap import sync_all
from offpath.db.cells import CellDatabases
from offpath.db.engine import open_engine
from offpath.service_config import load_service_config
from offpath.sim.fleet import fleet_reports
from tests.control.cluster import Cluster


def offpath(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("offpath")), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_db_sync_twice_then_cells(tmp_path: Path) -> None:
    first = offpath("db", "sync", "--state-dir", str(tmp_path))
    assert first.returncode == 0, first.stderr
    assert "cell1: " in first.stdout
    again = offpath("db", "sync", "--state-dir", str(tmp_path))
    assert again.stdout.count("already at revision") == 3
    url = f"sqlite:///{tmp_path / 'c2.sqlite'}"
    made = offpath(
        "cell", "create", "--name", "c2", "--database-url", url, "--state-dir", str(tmp_path)
    )
    assert made.returncode == 0, made.stderr
    twice = offpath(
        "cell", "create", "--name", "c2", "--database-url", url, "--state-dir", str(tmp_path)
    )
    assert twice.returncode == 4
    assert twice.stderr.startswith("error [cell.exists]")
    listed = json.loads(offpath("cell", "list", "--json", "--state-dir", str(tmp_path)).stdout)
    assert [cell["name"] for cell in listed] == ["cell0", "c2", "cell1"]


def test_a_database_never_synced_names_the_command_to_run(tmp_path: Path) -> None:
    found = offpath("cell", "list", "--state-dir", str(tmp_path))
    assert found.returncode == 5
    assert "offpath db sync" in found.stderr
    assert "Traceback" not in found.stderr


def test_schedule_explain_says_why_per_host(tmp_path: Path) -> None:
    config = load_service_config([], state_dir=tmp_path)
    sync_all(config)
    cells = CellDatabases(open_engine(config.api_database_url))
    cluster = Cluster(cells)
    cluster.report(fleet_reports(2, vfs=2))
    cluster.report(fleet_reports(1, vfs=2, prefix="old"), version=1)
    cells.dispose()
    shown = offpath("schedule", "explain", "--json", "--state-dir", str(tmp_path))
    assert shown.returncode == 0, shown.stderr
    verdicts = {v["host"]: v for v in json.loads(shown.stdout)}
    assert verdicts["compute-00001"]["ok"] is True
    assert verdicts["old-00001"]["reason"] == "compute service version too old"
    direct = offpath("schedule", "explain", "--vnic-type", "direct", "--state-dir", str(tmp_path))
    assert "0 of 3 host(s) can take it" in direct.stdout
    assert "3 hosts: 3 no pool matches" in direct.stdout

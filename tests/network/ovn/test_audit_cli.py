"""`offpath network audit [--fix]` in a child process, against the test's OVN and API database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from offpath.network.ovn.backend import OvnBackend
from offpath.network.ovn.central import OvnCentral
from tests.network.conftest import full_profile
from tests.network.ovn.conftest import DpuFactory, wait_for
from tests.network.ovn.test_ovn_binding import lsp, status
from tests.network.test_dpu_sim_binding import bind, make_network, make_port

ENTRY = "from offpath.cli.main import run; run()"


def offpath(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def cells(line: str) -> list[str]:
    """The cells of one row of a table printed to a pipe."""
    return [cell.strip() for cell in line.strip().strip("│").split("│")]


def database_only(tmp_path: Path) -> Path:
    """A config naming the test's API database (the one the `api_engine` fixture made)."""
    conf = tmp_path / "offpath.conf"
    conf.write_text(f"[api_database]\nconnection = sqlite:///{tmp_path / 'api.sqlite'}\n")
    return conf


@pytest.fixture
def conf(tmp_path: Path, central: OvnCentral) -> Path:
    """A config naming the API database and the test's OVN, as Neutron's [ovn] does."""
    path = database_only(tmp_path)
    path.write_text(
        path.read_text()
        + f"[ovn]\novn_nb_connection = {central.nb_connection}\n"
        + f"ovn_sb_connection = {central.sb_connection}\n"
    )
    return path


@pytest.fixture
def port_id(ovn_http: TestClient, dpus: DpuFactory) -> str:
    """One network with one remote-managed port, bound and ACTIVE."""
    dpus("dpu-1.example")
    port = make_port(ovn_http, make_network(ovn_http))
    bind(ovn_http, port, full_profile())
    wait_for(lambda: status(ovn_http, port) == "ACTIVE", what="ACTIVE")
    return port


def test_a_clean_ovn_exits_0_with_what_was_checked(conf: Path, port_id: str) -> None:
    result = offpath("network", "audit", "--config-file", str(conf))
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "no drift: 1 network, 1 port checked\n",
        "",
    )


def test_drift_exits_1_and_fix_repairs_it(conf: Path, port_id: str, backend: OvnBackend) -> None:
    backend.nb.execute([backend.nb.api.lsp_del(port_id)])

    listed = offpath("network", "audit", "--config-file", str(conf), "--json")
    assert listed.returncode == 4, listed.stderr
    (drift,) = json.loads(listed.stdout)
    assert drift["kind"] == "port-missing"
    assert drift["resource"] == port_id
    assert (drift["fixable"], drift["fixed"]) == (True, False)

    assert lsp(backend, port_id) is None  # an audit alone changes nothing

    fixed = offpath("network", "audit", "--config-file", str(conf), "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    (row,) = [cells(line) for line in fixed.stdout.splitlines() if port_id in line]
    assert row[:4] == ["port-missing", port_id, "yes", "yes"]
    assert "no Logical_Switch_Port" in row[4]
    assert fixed.stdout.splitlines()[-1] == "fixed 1; no drift: 1 network, 1 port checked"
    assert lsp(backend, port_id) is not None

    again = offpath("network", "audit", "--config-file", str(conf))
    assert (again.returncode, again.stdout) == (0, "no drift: 1 network, 1 port checked\n")


def test_what_a_fix_cannot_repair_keeps_exit_1(
    conf: Path, ovn_http: TestClient, dpus: DpuFactory
) -> None:
    dpus("dpu-1.example", serial="OTHER-SERIAL")
    port = make_port(ovn_http, make_network(ovn_http))
    bind(ovn_http, port, full_profile())
    result = offpath("network", "audit", "--config-file", str(conf), "--fix", "--json")
    assert result.returncode == 4, result.stderr
    assert [
        (d["kind"], d["resource"], d["fixable"], d["fixed"]) for d in json.loads(result.stdout)
    ] == [("binding-failed", port, False, False)]


def test_without_ovn_in_the_config_it_audits_the_ovn_in_the_state_dir(
    tmp_path: Path, central: OvnCentral, port_id: str
) -> None:
    # The central fixture runs in tmp_path/ovn, where `offpath serve --ovn` keeps its own.
    assert central.socket_path("nb") == tmp_path / "ovn" / "nb.sock"
    result = offpath(
        "network",
        "audit",
        "--config-file",
        str(database_only(tmp_path)),
        "--state-dir",
        str(tmp_path),
    )
    assert (result.returncode, result.stdout) == (0, "no drift: 1 network, 1 port checked\n")

"""`offpath network audit` without an OVN: which OVN it picks, its error, its summary line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from offpath.cli.main import run
from offpath.cli.network import Outcome, served_ovn, summary
from offpath.errors import OvnNotConfigured
from offpath.network.ovn.audit import AuditReport
from offpath.network.ovn.config import OvnConfig
from offpath.network.ovn.drift import Drift, DriftKind

MISSING = Drift(DriftKind.PORT_MISSING, "p1", "no row", fixable=True)
FAILED = Drift(DriftKind.BINDING_FAILED, "p2", "no chassis", fixable=False)


def test_the_ovn_of_serve_is_found_by_its_two_sockets(tmp_path: Path) -> None:
    assert served_ovn(tmp_path) is None
    (tmp_path / "ovn").mkdir()
    (tmp_path / "ovn" / "nb.sock").touch()
    assert served_ovn(tmp_path) is None
    (tmp_path / "ovn" / "sb.sock").touch()
    assert served_ovn(tmp_path) == OvnConfig(
        f"unix:{tmp_path}/ovn/nb.sock", f"unix:{tmp_path}/ovn/sb.sock"
    )


def test_no_ovn_anywhere_is_a_clear_error_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "offpath.conf"
    conf.write_text(f"[api_database]\nconnection = sqlite:///{tmp_path / 'api.sqlite'}\n")
    state = tmp_path / "state"
    monkeypatch.setattr(
        sys,
        "argv",
        ["offpath", "network", "audit", "--config-file", str(conf), "--state-dir", str(state)],
    )
    with pytest.raises(SystemExit) as exited:
        run()
    out, err = capsys.readouterr()
    assert (exited.value.code, out) == (OvnNotConfigured.exit_code, "")
    first, hint = err.splitlines()
    assert first == (
        f"error [ovn.not_configured]: no OVN to reach: [ovn] ovn_nb_connection is not set "
        f"({conf}), and no `offpath serve --ovn` keeps one in {state} (no {state}/ovn/nb.sock)"
    )
    assert "[ovn] ovn_nb_connection and ovn_sb_connection" in hint
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("outcome", "line"),
    [
        pytest.param(
            Outcome(AuditReport(2, 5, ()), (), ()),
            "no drift: 2 networks, 5 ports checked",
            id="clean",
        ),
        pytest.param(
            Outcome(AuditReport(1, 1, (MISSING, FAILED)), (), (MISSING, FAILED)),
            "2 drifts left (1 fixable): 1 network, 1 port checked; --fix repairs the fixable ones",
            id="drift",
        ),
        pytest.param(
            Outcome(AuditReport(1, 2, (FAILED,)), (), (FAILED,), fixed=1),
            "fixed 1; 1 drift left (0 fixable): 1 network, 2 ports checked",
            id="fixed-some",
        ),
        pytest.param(
            Outcome(AuditReport(1, 2, ()), (), (), fixed=3),
            "fixed 3; no drift: 1 network, 2 ports checked",
            id="fixed-all",
        ),
    ],
)
def test_the_summary_says_what_was_checked_and_what_is_left(outcome: Outcome, line: str) -> None:
    assert summary(outcome) == line

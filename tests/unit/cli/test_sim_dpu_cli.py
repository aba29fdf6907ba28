"""`offpath sim dpu` refuses bad options before it connects: a typed error, exit code 2."""

from __future__ import annotations

import sys

import pytest

from offpath.cli.main import run
from offpath.errors import InvalidInput, SimOptionInvalid

GOOD = {
    "--sb": "tcp:127.0.0.1:6642",
    "--hostname": "dpu-1",
    "--serial": "MT2113X00000",
    "--pf-mac": "52:54:00:1e:59:01",
}


def sim_dpu(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, **changed: str | None
) -> tuple[int, str, str]:
    """Run `offpath sim dpu` in-process with GOOD options, some changed or (None) left out."""
    options = {**GOOD, **{f"--{key.replace('_', '-')}": value for key, value in changed.items()}}
    args = [item for key, value in options.items() if value is not None for item in (key, value)]
    monkeypatch.setattr(sys, "argv", ["offpath", "sim", "dpu", *args])
    with pytest.raises(SystemExit) as exited:
        run()
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), out, err


@pytest.mark.parametrize(
    ("changed", "first_line", "hint"),
    [
        pytest.param(
            {"pf_mac": "52:54:00:1e:59"},
            "--pf-mac '52:54:00:1e:59': is not a MAC address",
            "give six hex bytes separated by ':', e.g. 52:54:00:1e:59:01",
            id="short-mac",
        ),
        pytest.param(
            {"pf_mac": "pf0"},
            "--pf-mac 'pf0': is not a MAC address",
            "give six hex bytes separated by ':', e.g. 52:54:00:1e:59:01",
            id="name-not-mac",
        ),
        pytest.param(
            {"vfs": "0"},
            "--vfs 0: a PF needs at least 1 VF",
            "give the VFs per PF, e.g. 8",
            id="no-vfs",
        ),
        pytest.param(
            {"vfs": "-3"},
            "--vfs -3: a PF needs at least 1 VF",
            "give the VFs per PF, e.g. 8",
            id="negative-vfs",
        ),
        pytest.param(
            {"sb": "http://127.0.0.1:6642"},
            "--sb 'http://127.0.0.1:6642': 'http://127.0.0.1:6642' is not tcp:IP:PORT, "
            "ssl:IP:PORT or unix:PATH",
            "give the Southbound's remote, e.g. tcp:127.0.0.1:6642",
            id="sb-scheme",
        ),
        pytest.param(
            {"sb": "tcp:127.0.0.1"},
            "--sb 'tcp:127.0.0.1': 'tcp:127.0.0.1' is not tcp:IP:PORT, ssl:IP:PORT or unix:PATH",
            "give the Southbound's remote, e.g. tcp:127.0.0.1:6642",
            id="sb-no-port",
        ),
        pytest.param(
            {"serial": ""},
            "--serial '': a card serial is not empty and has no ',' "
            "(it is an item of ovn-cms-options)",
            "give the serial number from the card's VPD, e.g. MT2113X00000",
            id="empty-serial",
        ),
        pytest.param(
            {"serial": "MT1,MT2"},
            "--serial 'MT1,MT2': a card serial is not empty and has no ',' "
            "(it is an item of ovn-cms-options)",
            "give the serial number from the card's VPD, e.g. MT2113X00000",
            id="serial-comma",
        ),
        pytest.param(
            {"hostname": " "},
            "--hostname ' ': a chassis hostname has 1 to 255 characters",
            "give the DPU's host name, as its ovn-controller would report it",
            id="blank-hostname",
        ),
        pytest.param(
            {"physnet": "physnet1:br-ex"},
            "--physnet 'physnet1:br-ex': a physical network name is not empty and has no ',' "
            "or ':' (it is an item of ovn-bridge-mappings)",
            "give the physnet's name as Neutron knows it, e.g. physnet1",
            id="physnet-mapping",
        ),
        pytest.param(
            {"encap_ip": "dpu-1"},
            "--encap-ip 'dpu-1': is not an IP address",
            "give e.g. 127.0.0.2",
            id="encap-ip",
        ),
        pytest.param(
            {"timeout": "0"},
            "--timeout 0: must be at least 1 second",
            "give e.g. 30",
            id="timeout",
        ),
    ],
)
def test_a_bad_option_is_a_sim_option_error(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    changed: dict[str, str],
    first_line: str,
    hint: str,
) -> None:
    code, out, err = sim_dpu(capsys, monkeypatch, **changed)
    assert (code, out) == (InvalidInput.exit_code, "")
    assert err == f"error [{SimOptionInvalid.code}]: {first_line}\n  hint: {hint}\n"


def test_a_pf_mac_given_twice_is_refused_whatever_its_case(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        sys,
        "argv",
        [
            *("offpath", "sim", "dpu", "--sb", "unix:/run/ovn/ovnsb_db.sock"),
            *("--hostname", "dpu-1", "--serial", "MT2113X00000"),
            *("--pf-mac", "52:54:00:1e:59:0a", "--pf-mac", "52-54-00-1E-59-0A"),
        ],
    )
    with pytest.raises(SystemExit) as exited:
        run()
    assert exited.value.code == InvalidInput.exit_code
    assert capsys.readouterr().err.startswith(
        "error [sim.option.invalid]: --pf-mac '52-54-00-1E-59-0A': is given twice\n"
    )


@pytest.mark.parametrize("missing", ["pf_mac", "sb", "hostname", "serial"])
def test_a_missing_option_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    code, out, err = sim_dpu(capsys, monkeypatch, **{missing: None})
    assert (code, out) == (InvalidInput.exit_code, "")
    assert f"Missing option '--{missing.replace('_', '-')}'" in err
    assert "Traceback" not in err


def test_a_vf_count_that_is_no_number_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = sim_dpu(capsys, monkeypatch, vfs="eight")
    assert code == InvalidInput.exit_code
    assert "Invalid value for '--vfs'" in err

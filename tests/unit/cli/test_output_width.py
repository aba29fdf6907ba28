"""Human output follows the terminal width; a pipe gets whole unpadded lines; JSON never wraps."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from offpath.cli.main import run
from offpath.sim.faults import parse_fault
from offpath.sim.host import SimHost, write_host
from offpath.sim.profile import load_profile

EXAMPLE = Path(__file__).parents[3] / "examples" / "bluefield2-nova.conf"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def host(tmp_path: Path) -> SimHost:
    """A BlueField-2 host whose second PF lost its VPD: long reasons in the table."""
    return write_host(
        load_profile("bluefield2"),
        tmp_path / "sys",
        vfs=2,
        hostname="compute-dpu-01",
        faults=[parse_fault("no-vpd@0000:03:00.1")],
    )


def inventory(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    host: SimHost,
    *extra: str,
    columns: int,
    terminal: bool,
) -> str:
    """stdout of `offpath inventory` on a terminal of `columns` (or a pipe), escapes removed."""
    monkeypatch.setenv("COLUMNS", str(columns))
    # rich's switch for "this stream is a terminal" (capsys's is not).
    monkeypatch.setenv("TTY_COMPATIBLE", "1" if terminal else "0")
    monkeypatch.setenv("NO_COLOR", "1")
    args = ["inventory", "--sysfs-root", str(host.root), "--config-file", str(EXAMPLE), *extra]
    monkeypatch.setattr(sys, "argv", ["offpath", *args])
    with pytest.raises(SystemExit) as exited:
        run()
    out, err = capsys.readouterr()
    assert exited.value.code in (0, None), err
    return ANSI.sub("", out)


@pytest.mark.parametrize("columns", [40, 200])
def test_a_terminal_gets_lines_no_wider_than_itself(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, host: SimHost, columns: int
) -> None:
    out = inventory(capsys, monkeypatch, host, columns=columns, terminal=True)
    assert max(len(line) for line in out.splitlines()) <= columns
    assert all(str(vf.address) in out for vf in host.vfs)


def test_a_wide_terminal_gets_the_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, host: SimHost
) -> None:
    out = inventory(capsys, monkeypatch, host, columns=200, terminal=True)
    assert f"│ {host.vfs[0].address} │ type-VF" in out


def test_a_narrow_terminal_gets_one_block_per_device(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, host: SimHost
) -> None:
    out = inventory(capsys, monkeypatch, host, columns=40, terminal=True)
    assert "│" not in out
    assert [line.split() for line in out.splitlines() if line.startswith("address ")] == [
        ["address", address] for address in inventory_order(host)
    ]


def inventory_order(host: SimHost) -> list[str]:
    """The addresses in the inventory's order: each PF then its VFs, cards with a serial first."""
    with_serial = [pf for pf in host.pfs if pf.card_serial is not None]
    without = [pf for pf in host.pfs if pf.card_serial is None]
    return [
        str(address)
        for pf in with_serial + without
        for address in (pf.address, *(vf.address for vf in pf.vfs))
    ]


@pytest.mark.parametrize("columns", [40, 200])
def test_a_pipe_gets_whole_unpadded_lines_whatever_columns_says(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, host: SimHost, columns: int
) -> None:
    out = inventory(capsys, monkeypatch, host, columns=columns, terminal=False)
    lines = out.splitlines()
    assert [line for line in lines if line != line.rstrip()] == []
    vf = host.pfs[1].vfs[0].address
    (row,) = [line for line in lines if f"│ {vf} │" in line]
    assert row.endswith(f"PF {host.pfs[1].address} has no VPD) │")
    assert len([line for line in lines if line.startswith("pool #")]) == 3
    assert out == inventory(capsys, monkeypatch, host, columns=80, terminal=False)


@pytest.mark.parametrize("terminal", [True, False])
@pytest.mark.parametrize("columns", [40, 200])
def test_json_is_never_wrapped_nor_padded(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    host: SimHost,
    columns: int,
    terminal: bool,
) -> None:
    out = inventory(
        capsys, monkeypatch, host, "--json", "--explain", columns=columns, terminal=terminal
    )
    assert out == json.dumps(json.loads(out), indent=2) + "\n"

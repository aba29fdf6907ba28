"""`offpath inventory --explain`: every spec tried per device, in order (decision D9)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from offpath.cli.main import app
from offpath.sim.faults import parse_fault
from offpath.sim.host import write_host
from offpath.sim.profile import load_profile

EXAMPLE = Path(__file__).parents[3] / "examples" / "bluefield2-nova.conf"
runner = CliRunner()


def host_without_pf1_vpd(tmp_path: Path) -> Path:
    root = tmp_path / "sys"
    write_host(load_profile("bluefield2"), root, vfs=1, faults=[parse_fault("no-vpd@0000:03:00.1")])
    return root


def invoke(root: Path, *extra: str) -> str:
    result = runner.invoke(
        app,
        ["inventory", "--sysfs-root", str(root), "--config-file", str(EXAMPLE), *extra],
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_d9_text_lists_every_spec_tried_until_the_match(tmp_path: Path) -> None:
    out = invoke(host_without_pf1_vpd(tmp_path), "--explain")
    assert "0000:03:00.0: spec #0: product_id a2d6 is not 101e; spec #1 matches" in out
    assert "0000:03:00.2: spec #0 matches" in out


def test_d9_text_shows_the_remote_managed_rejection_and_the_later_miss(tmp_path: Path) -> None:
    out = invoke(host_without_pf1_vpd(tmp_path), "--explain")
    vf_line = next(line for line in out.splitlines() if line.strip().startswith("0000:04:00.2:"))
    assert "remote_managed spec #0 rejected 0000:04:00.2: no card serial number" in vf_line
    assert "spec #1: product_id 101e is not a2d6" in vf_line


def test_d9_json_adds_tried_only_when_asked(tmp_path: Path) -> None:
    root = host_without_pf1_vpd(tmp_path)
    plain = json.loads(invoke(root, "--json"))
    explained = json.loads(invoke(root, "--json", "--explain"))
    assert all("tried" not in device for device in plain["devices"])
    by_address = {d["address"]: d for d in explained["devices"]}
    assert by_address["0000:04:00.2"]["tried"] == [
        {
            "spec_index": 0,
            "matched": False,
            "reason": "remote_managed spec #0 rejected 0000:04:00.2: no card serial number "
            "in its VPD nor in its PF's",
        },
        {"spec_index": 1, "matched": False, "reason": "spec #1: product_id 101e is not a2d6"},
    ]
    assert [t["matched"] for t in by_address["0000:03:00.0"]["tried"]] == [False, True]

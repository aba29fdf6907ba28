"""`offpath sim host`: writes a host, prints a summary, refuses bad input with typed errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from offpath.cli.main import app as offpath
from offpath.cli.main import report_error
from offpath.cli.sim import app
from offpath.errors import (
    OffpathError,
    SimFaultInvalid,
    SimOptionInvalid,
    SimOutputInvalid,
    SimProfileInvalid,
    SimProfileNotFound,
)
from offpath.pci.vpd import decode_vpd

runner = CliRunner()


def sim_host(*args: str) -> tuple[int, str, BaseException | None]:
    result = runner.invoke(app, ["host", *args])
    return result.exit_code, result.stdout, result.exception


def test_host_writes_the_tree_and_the_manifest(tmp_path: Path) -> None:
    out = tmp_path / "sys"
    code, _, _ = sim_host("--profile", "bluefield2", "--out", str(out), "--vfs", "2")
    assert code == 0
    manifest = json.loads((out / "offpath-sim.json").read_text())
    pfs = manifest["cards"][0]["pfs"]
    assert [pf["address"] for pf in pfs] == ["0000:03:00.0", "0000:03:00.1"]
    assert [len(pf["vfs"]) for pf in pfs] == [2, 2]
    vpd = decode_vpd((out / "bus/pci/devices/0000:03:00.0/vpd").read_bytes())
    assert vpd.card_serial_number == manifest["cards"][0]["serial"]


def test_host_prints_a_short_summary(tmp_path: Path) -> None:
    out = tmp_path / "sys"
    code, stdout, _ = sim_host(
        "--profile", "bluefield2", "--out", str(out), "--vfs", "2", "--hostname", "compute-1"
    )
    serial = json.loads((out / "offpath-sim.json").read_text())["cards"][0]["serial"]
    lines = stdout.splitlines()
    assert code == 0
    assert lines[0] == (
        f"wrote simulated host 'compute-1' (profile bluefield2) to {out}: "
        "1 card(s), 2 PF(s), 4 VF(s)"
    )
    assert lines[1] == f"  card 0 (slot 1): serial {serial}"
    assert lines[2].startswith("    PF 0000:03:00.0 ens1f0np0 b8:ce:f6:")
    assert lines[2].endswith("numa 0: 2 VF(s) 0000:03:00.2..0000:03:00.3")
    assert lines[-2:] == ["  faults: none", f"  manifest: {out / 'offpath-sim.json'}"]


def test_host_options_reach_the_manifest(tmp_path: Path) -> None:
    out = tmp_path / "sys"
    code, _, _ = sim_host(
        *("--profile", "cx6dx", "--out", str(out), "--hostname", "h7", "--vfs", "1"),
        *("--numa-nodes", "2", "--seed", "42"),
    )
    manifest = json.loads((out / "offpath-sim.json").read_text())
    assert code == 0
    assert (manifest["hostname"], manifest["profile"], manifest["seed"]) == ("h7", "cx6dx", 42)
    assert [pf["numa_node"] for pf in manifest["cards"][0]["pfs"]] == [0, 1]


def test_faults_repeat_and_are_listed(tmp_path: Path) -> None:
    out = tmp_path / "sys"
    code, stdout, _ = sim_host(
        *("--profile", "bluefield2", "--out", str(out), "--vfs", "1"),
        *("--fault", "no-vpd", "--fault", "vf-no-netdev@0000:04:00.2"),
    )
    assert code == 0
    assert "  faults: no-vpd@0000:03:00.0, vf-no-netdev@0000:04:00.2" in stdout.splitlines()
    assert not (out / "bus/pci/devices/0000:03:00.0/vpd").exists()
    assert not (out / "bus/pci/devices/0000:04:00.2/net").exists()


def test_a_profile_file(tmp_path: Path) -> None:
    profile = yaml.safe_load(
        (Path(__file__).parents[3] / "src/offpath/sim/profiles/e810.yaml").read_text()
    )
    profile["name"] = "e810-4port"
    profile["pfs_per_card"] = 4
    path = tmp_path / "e810-4port.yaml"
    path.write_text(yaml.safe_dump(profile))
    code, stdout, _ = sim_host("--profile", str(path), "--out", str(tmp_path / "sys"))
    assert code == 0
    assert "(profile e810-4port)" in stdout
    assert "4 PF(s), 32 VF(s)" in stdout


@pytest.mark.parametrize(
    ("profile", "extra", "error", "code"),
    [
        pytest.param("nope", [], SimProfileNotFound, "sim.profile.not_found", id="profile"),
        pytest.param(
            "bluefield2", ["--fault", "melt"], SimFaultInvalid, "sim.fault.invalid", id="fault"
        ),
        pytest.param(
            "bluefield2",
            ["--fault", "no-vpd@0000:42:00.0"],
            SimFaultInvalid,
            "sim.fault.invalid",
            id="fault-address",
        ),
        pytest.param("e810", ["--vfs", "129"], SimOptionInvalid, "sim.option.invalid", id="vfs"),
        pytest.param(
            "cx6dx", ["--numa-nodes", "0"], SimOptionInvalid, "sim.option.invalid", id="numa"
        ),
    ],
)
def test_bad_input_is_a_typed_error(
    tmp_path: Path, profile: str, extra: list[str], error: type[OffpathError], code: str
) -> None:
    exit_code, _, exception = sim_host("--profile", profile, "--out", str(tmp_path / "s"), *extra)
    assert isinstance(exception, error)
    assert exception.code == code
    assert exit_code != 0
    assert not (tmp_path / "s").exists()


def test_a_bad_profile_file_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\n")
    _, _, exception = sim_host("--profile", str(path), "--out", str(tmp_path / "sys"))
    assert isinstance(exception, SimProfileInvalid)
    assert str(path) in exception.message


def test_an_output_directory_that_is_not_a_sim_tree_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    _, _, exception = sim_host("--profile", "bluefield2", "--out", str(tmp_path))
    assert isinstance(exception, SimOutputInvalid)


def test_an_output_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    _, _, exception = sim_host("--profile", "bluefield2", "--out", str(tmp_path / "f"))
    assert isinstance(exception, SimOutputInvalid)


def test_the_entry_point_prints_sim_errors_on_one_line_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, exception = sim_host("--profile", "nope", "--out", str(tmp_path / "sys"))
    assert isinstance(exception, OffpathError)
    assert report_error(exception) == 2
    error_line, hint_line = capsys.readouterr().err.splitlines()
    assert error_line == (
        "error [sim.profile.not_found]: no simulator profile 'nope': "
        "not a built-in profile and not a file"
    )
    assert hint_line.startswith("  hint: use one of bluefield2, bluefield3, cx6dx, e810")


def test_a_non_numeric_vfs_is_a_usage_error(tmp_path: Path) -> None:
    code, _, _ = sim_host("--profile", "bluefield2", "--out", str(tmp_path), "--vfs", "many")
    assert code == 2


def test_offpath_has_the_sim_group(tmp_path: Path) -> None:
    result = runner.invoke(
        offpath, ["sim", "host", "--profile", "e810", "--out", str(tmp_path / "sys"), "--vfs", "1"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "sys" / "offpath-sim.json").is_file()

"""`offpath devspec check`: its text and JSON output and exit codes are a contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from offpath.cli.devspec import app

EXAMPLE = Path(__file__).parents[3] / "examples" / "bluefield2-nova.conf"
runner = CliRunner()


def conf(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "nova.conf"
    path.write_text("[pci]\n" + "\n".join(lines) + "\n")
    return path


def test_example_config_is_valid() -> None:
    result = runner.invoke(app, ["check", "--config-file", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "spec #0 ok: vendor_id=15b3 product_id=101e" in result.output
    assert '"remote_managed": "true"' not in result.output  # normalised rendering
    assert 'remote_managed="true"' in result.output
    assert "alias 'bf2-pf' ok" in result.output


def test_json_shape_is_the_contract(tmp_path: Path) -> None:
    path = conf(
        tmp_path,
        'device_spec = {"vendor_id": "15b3", "product_id": "101e", '
        '"remote_managed": "yes", "physical_network": null}',
        'device_spec = {"address": "0000:h4.12:6"}',
        'device_spec = {"address": "*:82:*.*", "physical_network": "physnet1"}',
        'alias = {"name": "a1", "vendor_id": "8086", "product_id": "1889"}',
        'alias = {"name": "a2", "bogus": "1"}',
    )
    result = runner.invoke(app, ["check", "--config-file", str(path), "--json"])
    assert result.exit_code == 2
    document = json.loads(result.output)
    assert document["specs"][0] == {
        "index": 0,
        "vendor_id": "15b3",
        "product_id": "101e",
        "address": None,
        "devname": None,
        "tags": {"remote_managed": "true", "physical_network": None},
        "remote_managed": True,
    }
    assert document["specs"][1]["index"] == 2
    assert document["specs"][1]["address"] == {
        "kind": "glob",
        "domain": "*",
        "bus": "82",
        "slot": "*",
        "function": "*",
    }
    spec_error, alias_error = document["errors"]
    assert spec_error["code"] == "pci.devspec.invalid"
    assert spec_error["spec_index"] == 1
    assert spec_error["message"] == (
        "Invalid [pci]device_spec config: property func ('12:6') does not parse as a hex number."
    )
    assert spec_error["location"] == f"{path}:3"
    assert alias_error["code"] == "pci.alias.invalid"
    assert alias_error["spec_index"] is None
    assert alias_error["alias_index"] == 1
    assert [a["name"] for a in document["aliases"]] == ["a1"]


def test_text_mode_prints_each_error_with_file_and_line(tmp_path: Path) -> None:
    path = conf(tmp_path, 'device_spec = {"vendor_id": "15b3", "remote_managed": "maybe"}')
    result = runner.invoke(app, ["check", "--config-file", str(path)])
    assert result.exit_code == 2
    assert f"spec #0 error [pci.devspec.invalid] at {path}:2:" in result.output
    assert "Cannot parse tag 'remote_managed': Unrecognized value 'maybe'" in result.output


def test_pf_tagged_remote_managed_names_the_pf(tmp_path: Path) -> None:
    root = tmp_path / "sys"
    pf = root / "bus" / "pci" / "devices" / "0000:03:00.0"
    pf.mkdir(parents=True)
    for name, text in {
        "vendor": "0x15b3",
        "device": "0xa2d6",
        "sriov_totalvfs": "8",
        "sriov_vf_device": "101e",
    }.items():
        (pf / name).write_text(text + "\n")
    path = conf(tmp_path, 'device_spec = {"address": "0000:03:00.0", "remote_managed": "true"}')
    result = runner.invoke(
        app, ["check", "--config-file", str(path), "--sysfs-root", str(root), "--json"]
    )
    assert result.exit_code == 2
    (error,) = json.loads(result.output)["errors"]
    assert error["code"] == "pci.devspec.remote_managed_pf"
    assert "PF 0000:03:00.0" in error["message"]
    assert '"product_id": "101e"' in error["hint"]


def test_no_spec_at_all_says_nothing_is_assignable(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", "--config-file", str(conf(tmp_path))])
    assert result.exit_code == 0
    assert "no device is assignable" in result.output


def offpath(*args: str) -> subprocess.CompletedProcess[str]:
    entry = "from offpath.cli.main import run; run()"
    return subprocess.run(
        [sys.executable, "-c", entry, *args], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    ("make_path", "words"),
    [
        pytest.param(lambda p: p / "absent.conf", "no such file", id="missing"),
        pytest.param(lambda p: p, "is a directory", id="directory"),
    ],
)
def test_bad_config_path_is_one_line_and_exit_2(
    tmp_path: Path, make_path: object, words: str
) -> None:
    assert callable(make_path)
    path = make_path(tmp_path)
    result = offpath("devspec", "check", "--config-file", str(path))
    assert result.returncode == 2
    first, *rest = result.stderr.splitlines()
    assert first.startswith("error [config.file]: ")
    assert str(path) in first and words in first
    assert "Traceback" not in result.stderr
    assert all(line.startswith("  hint: ") for line in rest)

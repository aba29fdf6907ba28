"""`offpath vpd decode`: its text and JSON output and exit codes are a contract."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from offpath.cli.main import app
from offpath.errors import InputFileError, VpdError

BLUEFIELD2 = Path(__file__).parents[2] / "data" / "vpd" / "bluefield2-mbf2h332a.bin"
# The RV checksum byte of the fixture (see tests/data/vpd/README.md).
CHECKSUM_AT = 272
OFFPATH = Path(sys.executable).parent / "offpath"
runner = CliRunner()


def damaged(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "vpd"
    path.write_bytes(data)
    return path


def bad_checksum(tmp_path: Path) -> Path:
    data = BLUEFIELD2.read_bytes()
    at = CHECKSUM_AT
    return damaged(tmp_path, data[:at] + bytes([(data[at] + 1) & 0xFF]) + data[at + 1 :])


def test_text_output_is_one_line_per_set_field() -> None:
    result = runner.invoke(app, ["vpd", "decode", str(BLUEFIELD2)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "card_name: BlueField-2 DPU 25GbE Dual-Port SFP56, Crypto Enabled, 16GB on-board DDR, "
        "1GbE OOB management, Tall Bracket",
        "part_number: MBF2H332A-AEEOT",
        "change_level: A5",
        "serial_number: MT2113X00000",
        "ro_vendor_fields.2: MBF2H332A-AEEOT",
        "ro_vendor_fields.3: 5b8a3f0e2c7d11eb8000b8cef6a1c2d4",
        "ro_vendor_fields.A: MLX:MN=MLNX:CSKU=V2:UUID=V3:PCI=V0:MODL=BF2H332A",
        "ro_vendor_fields.0: PCIeGen4 x8",
        "checksum: valid",
        "card_serial_number: MT2113X00000",
    ]


def test_json_output_has_every_field() -> None:
    result = runner.invoke(app, ["vpd", "decode", "--json", str(BLUEFIELD2)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "card_name": "BlueField-2 DPU 25GbE Dual-Port SFP56, Crypto Enabled, 16GB on-board "
        "DDR, 1GbE OOB management, Tall Bracket",
        "part_number": "MBF2H332A-AEEOT",
        "change_level": "A5",
        "fabric_geography": None,
        "location": None,
        "manufacture_id": None,
        "pci_geography": None,
        "serial_number": "MT2113X00000",
        "ro_vendor_fields": {
            "2": "MBF2H332A-AEEOT",
            "3": "5b8a3f0e2c7d11eb8000b8cef6a1c2d4",
            "A": "MLX:MN=MLNX:CSKU=V2:UUID=V3:PCI=V0:MODL=BF2H332A",
            "0": "PCIeGen4 x8",
        },
        "asset_tag": None,
        "rw_vendor_fields": {},
        "rw_system_fields": {},
        "checksum": "valid",
        "damage": [],
        "card_serial_number": "MT2113X00000",
    }


def test_salvage_json_shows_the_damage_and_no_trusted_serial(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["vpd", "decode", "--salvage", "--json", str(bad_checksum(tmp_path))]
    )
    document = json.loads(result.stdout)
    assert (result.exit_code, document["checksum"], document["card_serial_number"]) == (
        0,
        "invalid",
        None,
    )
    assert document["damage"][0].startswith(f"byte {CHECKSUM_AT}: RV checksum")


def test_salvage_text_lists_each_damage(tmp_path: Path) -> None:
    result = runner.invoke(app, ["vpd", "decode", "--salvage", str(bad_checksum(tmp_path))])
    damage = [line for line in result.stdout.splitlines() if line.startswith("damage: ")]
    assert (result.exit_code, len(damage)) == (0, 1)


def test_text_shows_an_empty_field_as_empty_quotes(tmp_path: Path) -> None:
    # Identifier "C", VPD-R with an empty SN and RV, end tag.
    head = b"\x82\x01\x00C\x90\x07\x00SN\x00RV\x01"
    path = damaged(tmp_path, head + bytes([-sum(head) & 0xFF]) + b"\x78")
    result = runner.invoke(app, ["vpd", "decode", str(path)])
    assert 'serial_number: ""' in result.stdout.splitlines()


def test_malformed_file_raises_vpd_error_to_the_entry_point(tmp_path: Path) -> None:
    result = runner.invoke(app, ["vpd", "decode", str(bad_checksum(tmp_path))])
    assert isinstance(result.exception, VpdError)
    assert result.exception.offset == CHECKSUM_AT


def test_missing_file_raises_input_file_error_to_the_entry_point(tmp_path: Path) -> None:
    result = runner.invoke(app, ["vpd", "decode", str(tmp_path / "absent")])
    assert isinstance(result.exception, InputFileError)


def run_offpath(*args: str) -> subprocess.CompletedProcess[str]:
    assert OFFPATH.exists(), f"the console script {OFFPATH} is not installed"
    return subprocess.run(
        [str(OFFPATH), "vpd", "decode", *args], capture_output=True, text=True, check=False
    )


def test_real_entry_point_exits_0_on_a_good_file() -> None:
    completed = run_offpath(str(BLUEFIELD2))
    assert (completed.returncode, completed.stderr) == (0, "")
    assert "serial_number: MT2113X00000" in completed.stdout.splitlines()


@pytest.mark.parametrize(
    ("make_path", "first_line"),
    [
        pytest.param(
            bad_checksum,
            f"error [pci.vpd.malformed]: malformed VPD at byte {CHECKSUM_AT}: RV checksum 0xdf "
            "is wrong",
            id="malformed",
        ),
        pytest.param(
            lambda tmp: tmp / "absent",
            "error [input.file]: {path}: cannot read VPD: No such file or directory",
            id="missing",
        ),
        pytest.param(
            lambda tmp: tmp,
            "error [input.file]: {path}: cannot read VPD: is a directory, not a regular file",
            id="directory",
        ),
    ],
)
def test_real_entry_point_exits_2_with_one_error_line(
    tmp_path: Path, make_path: Callable[[Path], Path], first_line: str
) -> None:
    path = make_path(tmp_path)
    completed = run_offpath(str(path))
    lines = completed.stderr.splitlines()
    assert (completed.returncode, completed.stdout) == (2, "")
    assert lines[0].startswith(first_line.format(path=path)), lines
    assert "Traceback" not in completed.stderr

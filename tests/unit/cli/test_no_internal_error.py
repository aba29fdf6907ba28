"""Inputs that once ended in `error [internal]`: each is now offpath's own error or plain output.

Run through the installed `offpath` in a child process, with a strict
UTF-8 stdout, as a service's journal or a pipe under a C.UTF-8 locale has.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from offpath.sim.host import write_host
from offpath.sim.profile import load_profile

OFFPATH = Path(sys.executable).parent / "offpath"
STRICT_UTF8 = {**os.environ, "PYTHONIOENCODING": "utf-8:strict", "COLUMNS": "300"}


def offpath(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OFFPATH), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
        env=STRICT_UTF8,
    )


@pytest.mark.parametrize(
    ("line", "key", "value"),
    [
        pytest.param("device_spec = $x.y", "device_spec", "$x.y", id="device_spec-group"),
        pytest.param("alias = ${x.y}", "alias", "${x.y}", id="alias-braced-group"),
        pytest.param("device_spec = $x", "device_spec", "$x", id="device_spec-option"),
    ],
)
@pytest.mark.parametrize("command", [("devspec", "check"), ("inventory",)], ids=" ".join)
def test_an_unresolvable_substitution_is_a_config_value_error(
    tmp_path: Path, line: str, key: str, value: str, command: tuple[str, ...]
) -> None:
    conf = tmp_path / "nova.conf"
    conf.write_text(f"[pci]\n{line}\n", encoding="utf-8")
    result = offpath(*command, "--sysfs-root", str(tmp_path), "--config-file", str(conf))
    assert result.returncode == 2
    first, hint = result.stderr.splitlines()
    assert first.startswith(f"error [config.value]: {conf}:2: [pci] {key} = {value!r}: ")
    assert "is an oslo.config substitution offpath cannot resolve" in first
    assert "write $$ for a literal $" in hint


@pytest.fixture
def root_with_undecodable_names(tmp_path: Path) -> Path:
    root = tmp_path / "sys"
    write_host(load_profile("bluefield2"), root, vfs=1)
    # Names a copied or damaged tree may hold: bytes that are no UTF-8.
    (Path(os.fsdecode(os.fsencode(root / "bus/pci/devices") + b"/0000:\xff\xfe:00.0"))).mkdir()
    return root


def test_inventory_table_of_a_device_named_with_undecodable_bytes(
    root_with_undecodable_names: Path,
) -> None:
    result = offpath("inventory", "--sysfs-root", str(root_with_undecodable_names))
    assert (result.returncode, result.stderr) == (0, "")
    (row,) = [line for line in result.stdout.splitlines() if "0000:\\xff\\xfe:00.0" in line]
    assert "its sysfs directory name is not ASCII" in row


def test_inventory_json_of_a_device_named_with_undecodable_bytes(
    root_with_undecodable_names: Path,
) -> None:
    result = offpath("inventory", "--sysfs-root", str(root_with_undecodable_names), "--json")
    assert (result.returncode, result.stderr) == (0, "")
    devices = {d["address"]: d for d in json.loads(result.stdout)["devices"]}
    assert devices["0000:\\xff\\xfe:00.0"]["usable"] is False
    assert "not ASCII" in devices["0000:\\xff\\xfe:00.0"]["reason"]

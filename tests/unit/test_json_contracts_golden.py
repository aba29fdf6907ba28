"""Golden: the `--json` documents of inventory, devspec check and vpd decode, byte for byte.

These shapes are contracts (scripts read them; the HTTP API will serve the
same records' `as_json`). Each is printed by the real CLI from a simulated
host with a fixed seed and compared exactly with tests/unit/golden/*.json;
temporary paths are written as $TMP. A meant change: rerun with
OFFPATH_UPDATE_GOLDEN=1 and review the diff (see tests/unit/golden/__init__.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from offpath.cli.main import run
from offpath.sim.faults import parse_fault
from offpath.sim.host import SimHost, write_host
from offpath.sim.profile import load_profile
from tests.unit.golden import assert_matches_golden

EXAMPLE = Path(__file__).parents[2] / "examples" / "bluefield2-nova.conf"
SEED = 7

# Every outcome devspec check reports: valid specs (glob, devname-free, tags), a
# PF tagged remote-managed, a bad address, a valid and a bad alias, an old name.
DEVSPEC_CONF = """\
[pci]
device_spec = {"vendor_id": "15b3", "product_id": "101e", "remote_managed": "yes"}
device_spec = {"address": "0000:03:00.0", "remote_managed": "true"}
device_spec = {"address": "0000:h4.12:6"}
device_spec = {"address": "*:03:*.*", "physical_network": "physnet1"}
alias = {"name": "bf2-pf", "vendor_id": "15b3", "product_id": "a2d6", "device_type": "type-PF"}
alias = {"name": "broken", "bogus": "1"}
[DEFAULT]
pci_passthrough_whitelist = {"vendor_id": "8086"}
"""


@pytest.fixture
def host(tmp_path: Path) -> SimHost:
    """A BlueField-2 host, 2 VFs per PF, whose second PF lost its VPD."""
    return write_host(
        load_profile("bluefield2"),
        tmp_path / "sys",
        hostname="compute-dpu-01",
        vfs=2,
        seed=SEED,
        faults=[parse_fault("no-vpd@0000:03:00.1")],
    )


def printed(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    *args: str,
) -> str:
    """stdout of `offpath ARGS`, with the test's temporary directory written $TMP."""
    monkeypatch.setattr(sys, "argv", ["offpath", *args])
    with pytest.raises(SystemExit):
        run()
    out, err = capsys.readouterr()
    assert out, err
    return out.replace(str(tmp_path), "$TMP")


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        pytest.param("inventory.json", (), id="inventory"),
        pytest.param("inventory-explain.json", ("--explain",), id="inventory-explain"),
    ],
)
def test_inventory_json(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    *,
    host: SimHost,
    name: str,
    extra: tuple[str, ...],
) -> None:
    out = printed(
        capsys,
        monkeypatch,
        tmp_path,
        "inventory",
        "--sysfs-root",
        str(host.root),
        "--config-file",
        str(EXAMPLE),
        "--json",
        *extra,
    )
    assert_matches_golden(name, out)


def test_devspec_check_json(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    host: SimHost,
) -> None:
    conf = tmp_path / "nova.conf"
    conf.write_text(DEVSPEC_CONF, encoding="utf-8")
    out = printed(
        capsys,
        monkeypatch,
        tmp_path,
        "devspec",
        "check",
        "--config-file",
        str(conf),
        "--sysfs-root",
        str(host.root),
        "--json",
    )
    assert_matches_golden("devspec-check.json", out)


@pytest.mark.parametrize(
    ("name", "fault", "extra"),
    [
        pytest.param("vpd.json", None, (), id="clean"),
        pytest.param("vpd-salvaged.json", "bad-vpd-checksum", ("--salvage",), id="salvaged"),
    ],
)
def test_vpd_decode_json(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    *,
    name: str,
    fault: str | None,
    extra: tuple[str, ...],
) -> None:
    written = write_host(
        load_profile("bluefield2"),
        tmp_path / "sys",
        hostname="compute-dpu-01",
        vfs=1,
        seed=SEED,
        faults=[parse_fault(fault)] if fault else [],
    )
    vpd = written.root / "bus" / "pci" / "devices" / str(written.pfs[0].address) / "vpd"
    out = printed(capsys, monkeypatch, tmp_path, "vpd", "decode", str(vpd), "--json", *extra)
    assert_matches_golden(name, out)

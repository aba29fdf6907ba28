"""Options and output directories the host simulator refuses, with typed errors."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from offpath.errors import SimOptionInvalid, SimOutputInvalid
from offpath.sim.host import MANIFEST, plan_host, write_host
from offpath.sim.profile import load_profile


@pytest.mark.parametrize(
    ("options", "option", "problem"),
    [
        pytest.param({"vfs": 257}, "--vfs", "allows 0 to 256 VFs", id="too-many-vfs"),
        pytest.param({"vfs": -1}, "--vfs", "allows 0 to 256 VFs", id="negative-vfs"),
        pytest.param({"numa_nodes": 0}, "--numa-nodes", "1 to 64", id="no-numa-node"),
        pytest.param({"pfs": 0}, "pfs", "1 to 64 PFs", id="no-pf"),
        pytest.param({"hostname": "a b"}, "--hostname", "not a host name", id="hostname"),
        pytest.param({"hostname": ""}, "--hostname", "not a host name", id="empty-hostname"),
    ],
)
def test_an_impossible_option_is_a_typed_error(
    tmp_path: Path, options: dict[str, Any], option: str, problem: str
) -> None:
    with pytest.raises(SimOptionInvalid, match=problem) as raised:
        write_host(load_profile("bluefield2"), tmp_path / "sys", **options)
    assert (raised.value.code, raised.value.option) == ("sim.option.invalid", option)
    assert not (tmp_path / "sys").exists()


def test_the_default_vfs_come_from_the_profile(tmp_path: Path) -> None:
    host = plan_host(load_profile("bluefield2"), tmp_path)
    assert [len(pf.vfs) for pf in host.pfs] == [8, 8]


def test_planning_writes_nothing(tmp_path: Path) -> None:
    plan_host(load_profile("bluefield2"), tmp_path / "sys", vfs=4)
    assert not (tmp_path / "sys").exists()


def test_cards_beyond_the_last_bus_are_refused(tmp_path: Path) -> None:
    profile = replace(load_profile("bluefield2"), cards=32)
    with pytest.raises(SimOptionInvalid, match="beyond 0xff"):
        plan_host(profile, tmp_path, pfs=8)


def test_repeated_interface_names_are_refused(tmp_path: Path) -> None:
    profile = load_profile("bluefield2")
    profile = replace(profile, netdev=replace(profile.netdev, vf_ifname="vf{vf}"))
    with pytest.raises(SimOptionInvalid, match="'vf0' is longer than 15 characters or repeated"):
        plan_host(profile, tmp_path, vfs=1)


def test_an_empty_directory_is_used(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    host = write_host(load_profile("bluefield2"), tmp_path / "empty", vfs=1)
    assert (host.root / MANIFEST).is_file()


def test_missing_parents_are_created(tmp_path: Path) -> None:
    host = write_host(load_profile("bluefield2"), tmp_path / "a" / "b", vfs=1)
    assert (host.root / "bus/pci/devices").is_dir()


def test_a_simulated_tree_is_replaced_whole(tmp_path: Path) -> None:
    out = tmp_path / "sys"
    write_host(load_profile("bluefield2"), out, vfs=8)
    host = write_host(load_profile("e810"), out, vfs=1)
    devices = sorted(entry.name for entry in (out / "bus/pci/devices").iterdir())
    assert devices == sorted(["0000:00:02.0", *(str(f.address) for f in host.functions)])
    assert not (out / "bus/pci/drivers/mlx5_core").exists()


def test_a_non_empty_directory_without_manifest_is_refused(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(SimOutputInvalid, match=r"non-empty directory without offpath-sim\.json"):
        write_host(load_profile("bluefield2"), tmp_path)
    assert [entry.name for entry in tmp_path.iterdir()] == ["precious.txt"]


def test_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(SimOutputInvalid, match="exists and is not a directory") as raised:
        write_host(load_profile("bluefield2"), tmp_path / "file")
    assert raised.value.code == "sim.output.invalid"

"""Every file the CLI reads may be a FIFO, /dev/zero, a sparse gigabyte or a directory.

Each case runs the installed `offpath` in a child process with a timeout
and a cap on its address space: before the bounded reader, a FIFO hung
`devspec check`, `inventory` and `sim host`, and /dev/zero or a sparse file
was read until memory ran out. Now each says what the file is, on one line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from offpath.sim.host import MANIFEST, write_host
from offpath.sim.profile import load_profile
from tests.hostile_files import GIB, HOSTILE_FILES

OFFPATH = Path(sys.executable).parent / "offpath"
PF = "0000:03:00.0"
PF_NETDEV = "ens1f0np0"
# Far above what offpath needs, far below what reading a sparse gigabyte twice takes.
ADDRESS_SPACE = 2 * GIB


KINDS = HOSTILE_FILES
SPEC = {"vendor_id": "15b3", "product_id": "101e", "physical_network": None}


def offpath(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed `offpath`, bounded in time and memory."""
    # The shell's ulimit, not preexec_fn: a fork from a test process that imported eventlet warns.
    limited = f'ulimit -v {ADDRESS_SPACE // 1024} && exec "$0" "$@"'
    return subprocess.run(
        ["sh", "-c", limited, str(OFFPATH), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_one_error(err: str, code: str, *words: str) -> None:
    """stderr is `error [code]: ...` naming `words`, then at most one hint line."""
    assert "Traceback" not in err
    first, *rest = err.splitlines()
    assert first.startswith(f"error [{code}]: "), err
    for word in words:
        assert word in first, first
    assert len(rest) <= 1
    assert all(line.startswith("  hint: ") for line in rest)


def replace(path: Path, make: Callable[[Path], None]) -> None:
    """Put a hostile file where the tree has a regular one (through the tree's symlinks)."""
    target = path.resolve()
    target.unlink()
    make(target)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_host(load_profile("bluefield2"), tmp_path / "sys", vfs=2)
    return tmp_path / "sys"


def nova_conf(tmp_path: Path, **selector: str) -> Path:
    spec = {**selector, **SPEC, "remote_managed": "true"}
    path = tmp_path / "nova.conf"
    path.write_text(f"[pci]\ndevice_spec = {json.dumps(spec)}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "make", "problem"),
    [
        pytest.param(name, *kind.values, id=f"{name}-{kind.id}")
        for name, kinds in [
            ("sriov_totalvfs", KINDS),
            ("device", KINDS),
            # Read the same way as `device`: one kind is enough.
            ("vendor", KINDS[:1]),
            ("sriov_vf_device", KINDS[:1]),
        ]
        for kind in kinds
    ],
)
def test_devspec_check_with_a_pf_address_spec(
    tmp_path: Path, root: Path, make: Callable[[Path], None], problem: str, name: str
) -> None:
    replace(root / "bus/pci/devices" / PF / name, make)
    conf = nova_conf(tmp_path, address=PF)
    result = offpath("devspec", "check", "--config-file", str(conf), "--sysfs-root", str(root))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("spec #0")]
    assert line == (
        f"spec #0 error [pci.sysfs.root] at {conf}:2: sysfs root {root}: "
        f"bus/pci/devices/{PF}/{name} {problem.format(limit='4 KiB')}"
    )


@pytest.mark.parametrize(("make", "problem"), KINDS)
def test_devspec_check_with_a_devname_spec(
    tmp_path: Path, root: Path, make: Callable[[Path], None], problem: str
) -> None:
    replace(root / "bus/pci/devices" / PF / "sriov_totalvfs", make)
    conf = nova_conf(tmp_path, devname=PF_NETDEV)
    result = offpath("devspec", "check", "--config-file", str(conf), "--sysfs-root", str(root))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("spec #0")]
    # The devname is resolved through class/net, as Nova does.
    assert line == (
        f"spec #0 error [pci.sysfs.root] at {conf}:2: sysfs root {root}: "
        f"class/net/{PF_NETDEV}/device/sriov_totalvfs {problem.format(limit='4 KiB')}"
    )


@pytest.mark.parametrize(("make", "problem"), KINDS)
def test_inventory_with_a_pf_address_spec(
    tmp_path: Path, root: Path, make: Callable[[Path], None], problem: str
) -> None:
    replace(root / "bus/pci/devices" / PF / "sriov_totalvfs", make)
    conf = nova_conf(tmp_path, address=PF)
    result = offpath("inventory", "--config-file", str(conf), "--sysfs-root", str(root))
    assert result.returncode == 2
    tail = f"sriov_totalvfs {problem.format(limit='4 KiB')} [pci.sysfs.root]"
    assert_one_error(result.stderr, "config.value", str(conf), tail)


@pytest.mark.parametrize(("make", "problem"), KINDS)
def test_inventory_with_a_hostile_manifest(
    root: Path, make: Callable[[Path], None], problem: str
) -> None:
    replace(root / MANIFEST, make)
    result = offpath("inventory", "--sysfs-root", str(root))
    assert result.returncode == 2
    assert_one_error(
        result.stderr,
        "pci.sysfs.root",
        f"sysfs root {root}: {MANIFEST} {problem.format(limit='1 MiB')}",
    )


@pytest.mark.parametrize(("make", "problem"), KINDS)
def test_sim_host_with_a_hostile_profile(
    tmp_path: Path, make: Callable[[Path], None], problem: str
) -> None:
    profile = tmp_path / "card.yaml"
    make(profile)
    result = offpath("sim", "host", "--profile", str(profile), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert_one_error(
        result.stderr,
        "sim.profile.invalid",
        f"simulator profile {profile}: cannot read the file: {problem.format(limit='1 MiB')}",
    )
    assert not (tmp_path / "out").exists()

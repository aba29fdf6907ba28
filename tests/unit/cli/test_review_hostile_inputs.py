"""Review: the CLI on hostile inputs, as an operator meets them, through the real entry point.

The contract (cli/main.py): a bad input prints `error [code]: message` and at
most a hint line on stderr and exits 2; a failure that is not the input's
exits with its kind's code (5 for a service that does not answer, 1 for a
bug); never a traceback. Each case below broke that contract before the
review (traceback, hang, a multi-megabyte line, or a click usage box
instead of offpath's error), or was not tested (see notes/review.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from offpath.cli.main import run

EXAMPLE = Path(__file__).parents[3] / "examples" / "bluefield2-nova.conf"
VPD = Path(__file__).parents[2] / "data" / "vpd" / "bluefield2-mbf2h332a.bin"
OFFPATH = Path(sys.executable).parent / "offpath"
NOBODY = 65534


def offpath(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str, str]:
    """Run the real entry point in-process: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["offpath", *args])
    with pytest.raises(SystemExit) as exited:
        run()
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), out, err


def offpath_process(*args: str, user: int | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed `offpath` in a child process, with a timeout (and as `user`, if given)."""
    command = [str(OFFPATH), *args]
    if user is not None:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def assert_one_error(err: str, code: str, *words: str) -> None:
    """stderr is `error [code]: ...` naming `words`, then at most one hint line."""
    assert "Traceback" not in err
    first, *rest = err.splitlines()
    assert first.startswith(f"error [{code}]: "), err
    for word in words:
        assert word in first
    assert len(rest) <= 1
    assert all(line.startswith("  hint: ") for line in rest)


def config(tmp_path: Path, data: bytes | str) -> Path:
    path = tmp_path / "nova.conf"
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


# --- devspec check --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "where"),
    [
        pytest.param(bytes(range(0x80, 0x100)) * 32, ":1", id="binary-garbage"),
        pytest.param(b'[pci]\ndevice_spec = {"physical_network": "\xe9"}\n', ":2", id="latin-1"),
    ],
)
def test_devspec_check_of_a_file_that_is_not_utf8(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    data: bytes,
    where: str,
) -> None:
    path = config(tmp_path, data)
    code, _, err = offpath(capsys, monkeypatch, "devspec", "check", "--config-file", str(path))
    assert code == 2
    assert_one_error(err, "config.file", f"{path}{where}", "not UTF-8")


def test_devspec_check_of_an_empty_file_says_nothing_is_assignable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config(tmp_path, "")
    code, out, _ = offpath(capsys, monkeypatch, "devspec", "check", "--config-file", str(path))
    assert code == 0
    assert "no [pci] device_spec is configured: no device is assignable" in out


def test_devspec_check_of_a_huge_value_prints_a_short_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config(tmp_path, '[pci]\ndevice_spec = {"vendor_id": "' + "a" * 2_000_000 + '"}\n')
    code, out, _ = offpath(capsys, monkeypatch, "devspec", "check", "--config-file", str(path))
    assert code == 2
    (error,) = [line for line in out.splitlines() if line.startswith("spec #0 error")]
    assert len(error) < 1000
    assert "characters left out" in error
    assert error.endswith("is greater than the maximum allowable value (FFFF).")


def test_devspec_check_of_a_duplicate_pci_section_checks_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config(
        tmp_path,
        '[pci]\ndevice_spec = {"vendor_id": "15b3"}\n[pci]\ndevice_spec = {"vendor_id": "zz"}\n',
    )
    code, out, _ = offpath(capsys, monkeypatch, "devspec", "check", "--config-file", str(path))
    assert code == 2
    assert "spec #0 ok: vendor_id=15b3" in out
    assert f"spec #1 error [pci.devspec.invalid] at {path}:4: " in out


def test_devspec_check_of_only_deprecated_names_notes_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config(
        tmp_path,
        '[pci]\npassthrough_whitelist = {"vendor_id": "15b3"}\n'
        '[DEFAULT]\npci_passthrough_whitelist = {"vendor_id": "8086"}\n'
        'pci_alias = {"name": "a1", "vendor_id": "8086", "product_id": "1889"}\n',
    )
    for _ in range(2):  # the notes are there on every run, not only on the process's first
        code, out, _ = offpath(
            capsys, monkeypatch, "devspec", "check", "--config-file", str(path), "--json"
        )
        assert code == 0
        document = json.loads(out)
        assert len(document["specs"]) == 2
        assert [a["name"] for a in document["aliases"]] == ["a1"]
        assert len(document["notes"]) == 3


def test_devspec_check_json_keeps_unicode_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    physnet = "физсеть-\u00e9-\U0001f600"
    path = config(tmp_path, f'[pci]\ndevice_spec = {{"physical_network": "{physnet}"}}\n')
    code, out, _ = offpath(
        capsys, monkeypatch, "devspec", "check", "--config-file", str(path), "--json"
    )
    assert code == 0
    assert json.loads(out)["specs"][0]["tags"] == {"physical_network": physnet}


def test_devspec_check_of_an_oslo_substitution_is_one_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config(tmp_path, '[pci]\ndevice_spec = {"physical_network": "$physnet"}\n')
    code, _, err = offpath(capsys, monkeypatch, "devspec", "check", "--config-file", str(path))
    assert code == 2
    assert_one_error(err, "config.file", str(path), "device_spec")


def test_devspec_check_of_a_fifo_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "nova.conf"
    os.mkfifo(fifo)
    result = offpath_process("devspec", "check", "--config-file", str(fifo))
    assert result.returncode == 2
    assert_one_error(result.stderr, "config.file", str(fifo), "FIFO")


def test_devspec_check_of_a_symlink_loop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.conf").symlink_to("b.conf")
    (tmp_path / "b.conf").symlink_to("a.conf")
    path = str(tmp_path / "a.conf")
    code, _, err = offpath(capsys, monkeypatch, "devspec", "check", "--config-file", path)
    assert code == 2
    assert_one_error(err, "config.file", path, "symbolic links")


# --- unreadable files: root reads everything, so read them as nobody ------------------------

as_nobody = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to become another user",
)


@pytest.fixture
def public_dir() -> Iterator[Path]:
    """A directory every user can reach (pytest's tmp_path is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="offpath-review-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


@as_nobody
@pytest.mark.parametrize(
    "command",
    [
        pytest.param(("devspec", "check", "--config-file"), id="devspec-check"),
        pytest.param(("inventory", "--sysfs-root", "/", "--config-file"), id="inventory"),
    ],
)
def test_an_unreadable_config_file_is_offpaths_error_not_a_usage_box(
    public_dir: Path, command: tuple[str, ...]
) -> None:
    path = config(public_dir, "[pci]\n")
    path.chmod(0)
    result = offpath_process(*command, str(path), user=NOBODY)
    assert result.returncode == 2
    assert_one_error(result.stderr, "config.file", str(path), "permission denied")


@as_nobody
def test_an_unreadable_vpd_file_is_offpaths_error_not_a_usage_box(public_dir: Path) -> None:
    path = public_dir / "vpd"
    shutil.copyfile(VPD, path)
    path.chmod(0)
    result = offpath_process("vpd", "decode", str(path), user=NOBODY)
    assert result.returncode == 2
    assert_one_error(result.stderr, "input.file", str(path), "Permission denied")


# --- vpd decode -----------------------------------------------------------------------------


def test_vpd_decode_of_dev_null(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = offpath(capsys, monkeypatch, "vpd", "decode", "/dev/null")
    assert code == 2
    assert_one_error(err, "input.file", "/dev/null", "not a regular file")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_vpd_decode_of_an_endless_device_does_not_read_forever(device: str) -> None:
    result = offpath_process("vpd", "decode", device)
    assert result.returncode == 2
    assert_one_error(result.stderr, "input.file", device, "not a regular file")


def test_vpd_decode_of_a_fifo_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "vpd"
    os.mkfifo(fifo)
    result = offpath_process("vpd", "decode", str(fifo))
    assert result.returncode == 2
    assert_one_error(result.stderr, "input.file", str(fifo), "not a regular file")


def test_vpd_decode_of_a_symlink_loop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    code, _, err = offpath(capsys, monkeypatch, "vpd", "decode", str(tmp_path / "a"))
    assert code == 2
    assert_one_error(err, "input.file", str(tmp_path / "a"), "symbolic links")


def test_vpd_decode_of_a_10_mb_file_is_one_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real VPD followed by 10 MB: the tail is ignored like an EEPROM window's.
    path = tmp_path / "vpd"
    path.write_bytes(VPD.read_bytes() + bytes(10 * 1024 * 1024))
    code, out, _ = offpath(capsys, monkeypatch, "vpd", "decode", str(path))
    assert code == 0
    assert "serial_number: MT2113X00000" in out.splitlines()


def test_vpd_decode_of_10_mb_of_garbage_is_one_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "vpd"
    path.write_bytes(b"\x0d" * (10 * 1024 * 1024))
    code, _, err = offpath(capsys, monkeypatch, "vpd", "decode", str(path))
    assert code == 2
    assert_one_error(err, "pci.vpd.malformed", "byte 0", "unknown resource tag 0x0d")


# --- inventory ------------------------------------------------------------------------------


def test_inventory_of_a_sysfs_root_that_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "sys"
    root.write_text("")
    code, _, err = offpath(capsys, monkeypatch, "inventory", "--sysfs-root", str(root))
    assert code == 2
    assert_one_error(err, "pci.sysfs.root", str(root), "not a directory")


def test_inventory_of_an_empty_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = offpath(capsys, monkeypatch, "inventory", "--sysfs-root", str(tmp_path))
    assert code == 2
    assert_one_error(err, "pci.sysfs.root", str(tmp_path), "cannot list bus/pci/devices")


def test_inventory_of_a_dangling_device_link_lists_it_as_excluded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    devices = tmp_path / "bus" / "pci" / "devices"
    devices.mkdir(parents=True)
    (devices / "0000:00:01.0").symlink_to("../../../devices/pci0000:00/0000:00:01.0")
    code, out, err = offpath(
        capsys, monkeypatch, "inventory", "--sysfs-root", str(tmp_path), "--json"
    )
    assert code == 0, err
    (row,) = json.loads(out)["devices"]
    assert row["address"] == "0000:00:01.0"
    assert row["usable"] is False
    assert row["reason"].startswith("excluded by discovery: cannot list its sysfs directory")


def test_inventory_with_a_config_that_is_not_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config(tmp_path, b"[pci]\n\xff\n")
    code, _, err = offpath(
        capsys, monkeypatch, "inventory", "--sysfs-root", str(tmp_path), "--config-file", str(path)
    )
    assert code == 2
    assert_one_error(err, "config.file", f"{path}:2", "not UTF-8")


def test_inventory_with_a_huge_bad_value_prints_a_short_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config(tmp_path, '[pci]\ndevice_spec = {"product_id": "' + "f" * 1_000_000 + '"}\n')
    code, _, err = offpath(
        capsys, monkeypatch, "inventory", "--sysfs-root", str(tmp_path), "--config-file", str(path)
    )
    assert code == 2
    assert_one_error(err, "config.value", f"{path}:2", "characters left out")
    assert len(err) < 2000


def test_inventory_of_a_libvirt_test_uri_naming_a_binary_file_exits_5_unavailable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    node = tmp_path / "node.xml"
    node.write_bytes(bytes(range(0x80, 0x100)))
    code, _, err = offpath(
        capsys,
        monkeypatch,
        "inventory",
        "--sysfs-root",
        str(tmp_path),
        "--source",
        "libvirt",
        "--libvirt-uri",
        f"test://{node}",
    )
    assert code == 5
    assert_one_error(err, "libvirt.unavailable", f"test://{node}", "cannot connect")


# --- sim host -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "code"),
    [
        pytest.param(("--vfs", "-1"), "sim.option.invalid", id="negative-vfs"),
        pytest.param(("--vfs", "100000"), "sim.option.invalid", id="too-many-vfs"),
        pytest.param(("--numa-nodes", "0"), "sim.option.invalid", id="no-numa-node"),
        pytest.param(("--hostname", "a b"), "sim.option.invalid", id="hostname-with-space"),
        pytest.param(("--fault", "no-vpd@zzz"), "sim.fault.invalid", id="fault-bad-address"),
        pytest.param(("--fault", "@0000:03:00.0"), "sim.fault.invalid", id="fault-no-kind"),
        pytest.param(
            ("--fault", "vf-no-netdev@0000:03:00.0"), "sim.fault.invalid", id="vf-fault-on-a-pf"
        ),
        pytest.param(("--profile", "/"), "sim.profile.invalid", id="profile-is-a-directory"),
    ],
)
def test_sim_host_with_odd_options_is_one_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    options: tuple[str, ...],
    code: str,
) -> None:
    args = ["sim", "host", "--profile", "bluefield2", "--out", str(tmp_path / "sys"), *options]
    exit_code, _, err = offpath(capsys, monkeypatch, *args)
    assert exit_code == 2
    assert_one_error(err, code)
    assert not (tmp_path / "sys").exists()

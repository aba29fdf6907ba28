"""What every `offpath` command shares: -h, --version, plain help, metavars, --sysfs-root, exits.

The tests walk the whole command tree, so a new command is held to the
conventions without a test of its own.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
import typer
from typer._click.core import Command
from typer.core import TyperOption
from typer.testing import CliRunner

from offpath.cli import main
from offpath.cli.main import app, report_bug, report_error, run
from offpath.errors import (
    KINDS,
    Conflict,
    InvalidInput,
    LibvirtUnavailable,
    NotFound,
    OffpathError,
    PciDeviceNotFound,
    PciDevicePoolEmpty,
    SysfsRootInvalid,
    Unavailable,
)

runner = CliRunner()


def commands() -> Iterator[tuple[tuple[str, ...], Command]]:
    """Every command and group of the tree, as (path of names, click command)."""
    pending: list[tuple[tuple[str, ...], Command]] = [((), typer.main.get_command(app))]
    while pending:
        path, command = pending.pop()
        yield path, command
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            pending.append(((*path, name), sub))


COMMANDS = dict(commands())
LEAVES = [path for path, command in COMMANDS.items() if not hasattr(command, "commands")]
IDS = {path: " ".join(path) or "offpath" for path in COMMANDS}


def offpath(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str, str]:
    """Run the real entry point in-process: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["offpath", *args])
    with pytest.raises(SystemExit) as exited:
        run()
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1 if code else 0), out, err


def help_of(*path: str, flag: str = "--help") -> str:
    result = runner.invoke(app, [*path, flag], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("path", list(COMMANDS), ids=IDS.get)
def test_dash_h_is_help_everywhere(path: tuple[str, ...]) -> None:
    assert help_of(*path, flag="-h") == help_of(*path)


def test_version_names_the_package_version(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert offpath(capsys, monkeypatch, "--version") == (0, f"offpath {version('offpath')}\n", "")


@pytest.mark.parametrize(
    ("path", "text"),
    [
        pytest.param((), "Check [pci] device_spec and alias entries.", id="offpath"),
        pytest.param(("devspec", "check"), "Check every [pci] device_spec", id="devspec-check"),
        pytest.param(("devspec", "check"), "with a [pci] section", id="devspec-check-option"),
        pytest.param(("inventory",), "with a [pci] section", id="inventory-option"),
    ],
)
def test_help_shows_brackets_as_written(path: tuple[str, ...], text: str) -> None:
    assert text in " ".join(help_of(*path).split())


@pytest.mark.parametrize("path", list(COMMANDS), ids=IDS.get)
def test_help_shows_no_bare_type_placeholder(path: tuple[str, ...]) -> None:
    # An argument's row is `FILE <path>` (typer adds the type); no value is only `<type>`.
    placeholders = re.findall(r"(\S*) <([^>]+)>", help_of(*path))
    assert [(name, kind) for name, kind in placeholders if not name.isupper()] == []


@pytest.mark.parametrize("path", LEAVES, ids=IDS.get)
def test_every_option_taking_a_value_names_it(path: tuple[str, ...]) -> None:
    unnamed = [
        param.name
        for param in COMMANDS[path].params
        if isinstance(param, TyperOption) and not param.is_flag and not param.metavar
    ]
    assert unnamed == []


SYSFS_COMMANDS = [
    path
    for path in LEAVES
    if any("--sysfs-root" in getattr(p, "opts", ()) for p in COMMANDS[path].params)
]


def test_the_commands_taking_a_sysfs_root_are_known() -> None:
    assert sorted(SYSFS_COMMANDS) == [("agent",), ("devspec", "check"), ("inventory",)]


def required_options(path: tuple[str, ...]) -> list[str]:
    """A placeholder value for each other required option of a command."""
    args: list[str] = []
    for param in COMMANDS[path].params:
        if param.required and isinstance(param, TyperOption):
            args += [param.opts[0], "placeholder"]
    return args


@pytest.mark.parametrize("kind", ["absent", "file"])
@pytest.mark.parametrize("path", SYSFS_COMMANDS, ids=IDS.get)
def test_a_bad_sysfs_root_is_the_same_error_everywhere(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    path: tuple[str, ...],
    kind: str,
) -> None:
    root = tmp_path / "sys"
    if kind == "file":
        root.write_text("")
    problem = "no such directory" if kind == "absent" else "not a directory"
    code, out, err = offpath(
        capsys, monkeypatch, *path, "--sysfs-root", str(root), *required_options(path)
    )
    assert (code, out) == (InvalidInput.exit_code, "")
    assert err.startswith(f"error [{SysfsRootInvalid.code}]: sysfs root {root}: {problem}\n")


@pytest.mark.parametrize("path", LEAVES, ids=IDS.get)
def test_a_usage_error_is_the_invalid_input_exit_code(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, path: tuple[str, ...]
) -> None:
    code, out, err = offpath(capsys, monkeypatch, *path, "--no-such-option")
    assert (code, out) == (InvalidInput.exit_code, "")
    assert "No such option: --no-such-option" in err


@pytest.mark.parametrize(
    ("error", "kind", "exit_code"),
    [
        pytest.param(SysfsRootInvalid("/x", "no such directory"), InvalidInput, 2, id="invalid"),
        pytest.param(PciDeviceNotFound("h", "0000:03:00.2"), NotFound, 3, id="not-found"),
        pytest.param(PciDevicePoolEmpty("h", "0000:03:00.2"), Conflict, 4, id="conflict"),
        pytest.param(
            LibvirtUnavailable("qemu:///system", "down"), Unavailable, 5, id="unavailable"
        ),
        pytest.param(OffpathError("no kind"), OffpathError, 1, id="no-kind"),
    ],
)
def test_an_error_exits_with_its_kinds_code(
    capsys: pytest.CaptureFixture[str],
    error: OffpathError,
    kind: type[OffpathError],
    exit_code: int,
) -> None:
    assert isinstance(error, kind)
    assert report_error(error) == exit_code == kind.exit_code
    assert capsys.readouterr().err.startswith(f"error [{error.code}]: ")


def test_a_bug_exits_with_the_internal_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert report_bug(RuntimeError("boom")) == OffpathError.exit_code == 1


def test_exit_codes_are_distinct_and_leave_0_for_ok() -> None:
    codes = [kind.exit_code for kind in KINDS] + [OffpathError.exit_code]
    assert len(set(codes)) == len(codes) and 0 not in codes


def exit_code_rows(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if re.match(r"\s+\d  \S", line)]


def test_help_epilog_lists_every_exit_code() -> None:
    rows = exit_code_rows(help_of())
    assert [row.split()[0] for row in rows] == ["0", "2", "3", "4", "5", "6", "7", "1"]
    assert rows[1] == "2  invalid input (InvalidInput), also a usage error"


def test_the_module_docstring_holds_the_same_exit_code_table() -> None:
    assert exit_code_rows(main.__doc__ or "") == exit_code_rows(help_of())


GROUPS = [path for path, command in COMMANDS.items() if hasattr(command, "commands")]


@pytest.mark.parametrize("path", GROUPS, ids=IDS.get)
def test_a_groups_command_list_is_not_cut_at_80_columns(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
    listing = result.output.split("Commands:\n")[1].split("\n\n")[0]
    assert "..." not in listing

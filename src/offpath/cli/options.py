"""Options several commands take: one definition each, so each reads and is checked alike."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer.models import OptionInfo

from offpath.pci.discovery.sysfs_reader import check_sysfs_root


def _checked_sysfs_root(value: Path) -> Path:
    # Checked while parsing, default included, so no command can forget it.
    check_sysfs_root(value)
    return value


SysfsRoot = Annotated[
    Path,
    typer.Option(
        "--sysfs-root",
        metavar="DIR",
        help="Directory that plays /sys: /sys itself, or a tree written by `offpath sim host`.",
        callback=_checked_sysfs_root,
    ),
]


def _checked_optional_sysfs_root(value: Path | None) -> Path | None:
    return None if value is None else _checked_sysfs_root(value)


# For commands that read devices from sysfs or from elsewhere (the agent).
OptionalSysfsRoot = Annotated[
    Path | None,
    typer.Option(
        "--sysfs-root",
        metavar="DIR",
        help="Directory that plays /sys: /sys itself, or a tree written by `offpath sim host`.",
        callback=_checked_optional_sysfs_root,
    ),
]


def _config_file_option() -> OptionInfo:
    # typer.Option is typed Any so it can stand as a default value.
    option = typer.Option(
        "--config-file",
        metavar="FILE",
        help="nova.conf-style file with a [pci] section; repeat for several (later wins).",
        # offpath's own check says what is wrong, with a hint and the invalid-input exit code.
        readable=False,
    )
    assert isinstance(option, OptionInfo)
    return option


ConfigFiles = Annotated[list[Path], _config_file_option()]
OptionalConfigFiles = Annotated[list[Path] | None, _config_file_option()]

AsJson = Annotated[
    bool,
    typer.Option("--json", help="Print one JSON document (a stable contract) instead of text."),
]


def _service_config_option() -> OptionInfo:
    option = typer.Option(
        "--config-file",
        metavar="FILE",
        help="nova.conf-style file: [DEFAULT] host, transport_url, service_down_time; "
        "[api_database] and [database] connection; repeat for several (later wins).",
        readable=False,
    )
    assert isinstance(option, OptionInfo)
    return option


# The service commands (db, cell, service, agent, conductor, schedule) read these.
ServiceConfigFiles = Annotated[list[Path] | None, _service_config_option()]

StateDir = Annotated[
    Path,
    typer.Option(
        "--state-dir",
        metavar="DIR",
        help="Where the SQLite databases live when the config names none (default ./.offpath).",
    ),
]

"""Configuration: the `[pci]` section of an existing nova.conf, read with oslo.config.

Options and their deprecated names are Nova's (spec §1.1, §4.4): an existing
nova.conf loads unchanged and means the same; other sections are ignored.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from oslo_config import cfg

from offpath.errors import ConfigFileError, ConfigValueError

PCI_GROUP = "pci"


def pci_options() -> list[cfg.Opt]:
    """The `[pci]` options offpath reads, with Nova's names, defaults and old names."""
    return [
        cfg.MultiStrOpt(
            "device_spec",
            default=[],
            deprecated_opts=[
                cfg.DeprecatedOpt("passthrough_whitelist", group=PCI_GROUP),
                cfg.DeprecatedOpt("pci_passthrough_whitelist", group="DEFAULT"),
            ],
            help="JSON object or list of objects selecting the PCI devices offpath may assign.",
        ),
        cfg.MultiStrOpt(
            "alias",
            default=[],
            deprecated_opts=[cfg.DeprecatedOpt("pci_alias", group="DEFAULT")],
            help="JSON object naming a PCI device requirement for flavors.",
        ),
        cfg.BoolOpt(
            "report_in_placement",
            default=False,
            help="Report PCI devices to placement (needed by one_time_use=true).",
        ),
    ]


@dataclass(frozen=True, slots=True)
class PciConfig:
    """The values of `[pci]` and the files they came from."""

    files: tuple[Path, ...]
    device_spec: tuple[str, ...]
    alias: tuple[str, ...]
    report_in_placement: bool
    # Deprecated option names in use, as oslo.config words them.
    notes: tuple[str, ...] = ()

    def locate(self, raw: str) -> str:
        """`file:line` of the config line holding `raw`, for error messages."""
        needle = raw.strip()
        for path in self.files:
            try:
                lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
            for number, line in enumerate(lines, start=1):
                if needle and needle in line:
                    return f"{path}:{number}"
        return ", ".join(str(p) for p in self.files)


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise ConfigFileError(path, "no such file")
    if path.is_dir():
        raise ConfigFileError(path, "is a directory, not a config file")
    if not os.access(path, os.R_OK):
        raise ConfigFileError(path, "permission denied", hint="make the file readable")


def load_pci_config(files: Sequence[Path]) -> PciConfig:
    """Read `[pci]` from `files` (later files win, as with nova's --config-file)."""
    for path in files:
        _check_readable(path)
    conf = cfg.ConfigOpts()
    conf.register_opts(pci_options(), group=PCI_GROUP)
    notes = _DeprecationNotes()
    oslo_log = logging.getLogger("oslo_config.cfg")
    oslo_log.addHandler(notes)
    oslo_log.propagate = False
    try:
        return _read(conf, files, notes)
    finally:
        oslo_log.removeHandler(notes)
        oslo_log.propagate = True


class _DeprecationNotes(logging.Handler):
    """Collects oslo.config's deprecation warnings instead of letting them hit stderr."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message not in self.messages:
            self.messages.append(message)


def _read(conf: cfg.ConfigOpts, files: Sequence[Path], notes: _DeprecationNotes) -> PciConfig:
    try:
        conf(
            args=[],
            project="offpath",
            default_config_files=[str(p) for p in files],
            default_config_dirs=[],
            use_env=False,
        )
    except cfg.ConfigFileParseError as exc:
        raise ConfigFileError(exc.config_file, f"not an INI file: {exc.msg}") from exc
    except cfg.Error as exc:
        raise ConfigFileError(", ".join(map(str, files)), str(exc)) from exc
    try:
        report_in_placement = bool(conf.pci.report_in_placement)
    except cfg.ConfigFileValueError as exc:
        raise ConfigValueError(
            path=", ".join(map(str, files)),
            section=PCI_GROUP,
            key="report_in_placement",
            value=_raw_value(exc),
            problem="not a boolean",
            hint="use true or false",
        ) from exc
    return PciConfig(
        files=tuple(files),
        device_spec=tuple(conf.pci.device_spec),
        alias=tuple(conf.pci.alias),
        report_in_placement=report_in_placement,
        notes=tuple(notes.messages),
    )


def _raw_value(exc: Exception) -> str:
    # oslo.config quotes the offending text in its message; that is all it keeps.
    found = re.findall(r"'([^']*)'", str(exc))
    return found[-1] if found else "?"

"""Configuration: the `[pci]` section of an existing nova.conf, read with oslo.config.

Options and their deprecated names are Nova's (spec §1.1, §4.4): an existing
nova.conf loads unchanged and means the same; other sections are ignored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oslo_config import cfg

from offpath.errors import ConfigFileError, ConfigValueError, InputFileError
from offpath.pci import regular_file

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
                text = regular_file.read_text(path, limit=CONFIG_FILE_LIMIT, encoding="utf-8")
            except (OSError, InputFileError):
                continue
            lines = text.splitlines()
            for number, line in enumerate(lines, start=1):
                if needle and needle in line:
                    return f"{path}:{number}"
        return ", ".join(str(p) for p in self.files)


# Far above any real nova.conf (Nova's full sample is a few hundred KiB), low
# enough that a sparse or runaway file cannot take the memory.
CONFIG_FILE_LIMIT = 64 * regular_file.MIB


def _check_readable(path: Path) -> None:
    """ConfigFileError unless `path` is a regular UTF-8 file oslo.config can read without a hang."""
    try:
        regular_file.read_text(path, limit=CONFIG_FILE_LIMIT, encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError(path, "no such file") from None
    except PermissionError as exc:
        raise ConfigFileError(path, "permission denied", hint="make the file readable") from exc
    except OSError as exc:
        # A symlink loop, an over-long name, a failing disk: not "no such file".
        why = (exc.strerror or str(exc)).lower()
        raise ConfigFileError(path, f"cannot read it: {why}") from exc
    except InputFileError as exc:
        # oslo.config would block on a FIFO, read /dev/zero forever, and let a
        # decoding error escape as is.
        hint = ""
        if exc.problem.startswith("not UTF-8"):
            hint = "nova.conf is UTF-8 text; check that this is the right file, or re-encode it"
        raise ConfigFileError(exc.path, exc.problem, hint=hint) from exc


def load_pci_config(files: Sequence[Path]) -> PciConfig:
    """Read `[pci]` from `files` (later files win, as with nova's --config-file)."""
    for path in files:
        _check_readable(path)
    conf = cfg.ConfigOpts()
    conf.register_opts(pci_options(), group=PCI_GROUP)
    quiet = _Quiet()
    oslo_log = logging.getLogger("oslo_config.cfg")
    oslo_log.addHandler(quiet)
    oslo_log.propagate = False
    try:
        return _read(conf, files)
    finally:
        oslo_log.removeHandler(quiet)
        oslo_log.propagate = True


class _Quiet(logging.Handler):
    """Keeps oslo.config's deprecation warnings off stderr: they become `PciConfig.notes`."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        """Drop the record."""


_DEPRECATED = 'Deprecated: Option "{old}" from group "{old_group}" is deprecated. '
_DEPRECATED += 'Use option "{name}" from group "{group}".'


def _deprecation_notes(files: Sequence[Path]) -> tuple[str, ...]:
    """oslo.config's warning, word for word, for each deprecated name that `files` use.

    Not taken from oslo's log: oslo.log sends each deprecation once per
    process, so a second load would lose its notes.
    """
    notes: list[str] = []
    for path in files:
        sections: dict[str, dict[str, Any]] = {}
        cfg.ConfigParser(str(path), sections).parse()
        for opt in pci_options():
            for old in opt.deprecated_opts:
                old_group = old.group or "DEFAULT"
                if old.name not in sections.get(old_group, {}):
                    continue
                note = _DEPRECATED.format(
                    old=old.name, old_group=old_group, name=opt.name, group=PCI_GROUP
                )
                if note not in notes:
                    notes.append(note)
    return tuple(notes)


def _read(conf: cfg.ConfigOpts, files: Sequence[Path]) -> PciConfig:
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
    where = ", ".join(map(str, files))
    try:
        report_in_placement = bool(_option(conf, "report_in_placement", where))
    except cfg.ConfigFileValueError as exc:
        raise ConfigValueError(
            path=where,
            section=PCI_GROUP,
            key="report_in_placement",
            value=_raw_value(exc),
            problem="not a boolean",
            hint="use true or false",
        ) from exc
    return PciConfig(
        files=tuple(files),
        device_spec=tuple(_option(conf, "device_spec", where)),
        alias=tuple(_option(conf, "alias", where)),
        report_in_placement=report_in_placement,
        notes=_deprecation_notes(files),
    )


def _option(conf: cfg.ConfigOpts, key: str, where: str) -> Any:
    """The value of `[pci] key`; oslo.config's `$name` substitution errors become ours."""
    hint = (
        "oslo.config reads $name as the value of option name; offpath knows only "
        "the [pci] options, so write $$ for a literal $"
    )
    try:
        return conf.pci[key]
    except (cfg.NoSuchOptError, cfg.TemplateSubstitutionError) as exc:
        raise ConfigFileError(where, f"[pci] {key}: {exc}", hint=hint) from exc
    except RecursionError as exc:
        # "$device_spec" inside device_spec: oslo.config substitutes forever.
        problem = f"[pci] {key}: a $name substitution refers back to itself"
        raise ConfigFileError(where, problem, hint=hint) from exc


def _raw_value(exc: Exception) -> str:
    # oslo.config quotes the offending text in its message; that is all it keeps.
    found = re.findall(r"'([^']*)'", str(exc))
    return found[-1] if found else "?"

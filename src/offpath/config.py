"""Configuration: the `[pci]` section of an existing nova.conf, read with oslo.config.

Options and their deprecated names are Nova's: an existing
nova.conf loads unchanged and means the same; other sections are ignored.
"""

from __future__ import annotations

import logging
import re
import string
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oslo_config import cfg

from offpath.errors import ConfigFileError, ConfigValueError, InputFileError
from offpath.pci import regular_file
from offpath.pci.spec_list import DeviceSpecList, parse_spec_values

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
        return locate(self.files, raw)


def locate(files: Sequence[Path], raw: str) -> str:
    """`file:line` of the first line of `files` holding `raw`; all files if none does."""
    needle = raw.strip()
    for path in files:
        try:
            text = regular_file.read_text(path, limit=CONFIG_FILE_LIMIT, encoding="utf-8")
        except (OSError, InputFileError):
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if needle and needle in line:
                return f"{path}:{number}"
    return ", ".join(str(p) for p in files)


# Far above any real nova.conf (Nova's full sample is a few hundred KiB), low
# enough that a sparse or runaway file cannot take the memory.
CONFIG_FILE_LIMIT = 64 * regular_file.MIB


def check_config_file(path: Path) -> None:
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
        check_config_file(path)
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


def read_config_files(conf: cfg.ConfigOpts, files: Sequence[Path]) -> None:
    """Parse `files` into `conf` as `--config-file` does (later wins); oslo's errors become ours."""
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
    except (cfg.Error, RecursionError) as exc:
        where = ", ".join(map(str, files)) or "(no config file)"
        raise ConfigFileError(where, str(exc) or type(exc).__name__) from exc


def _read(conf: cfg.ConfigOpts, files: Sequence[Path]) -> PciConfig:
    read_config_files(conf, files)
    where = ", ".join(map(str, files))
    try:
        report_in_placement = bool(_option(conf, "report_in_placement", files))
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
        device_spec=tuple(_option(conf, "device_spec", files)),
        alias=tuple(_option(conf, "alias", files)),
        report_in_placement=report_in_placement,
        notes=_deprecation_notes(files),
    )


def _option(conf: cfg.ConfigOpts, key: str, files: Sequence[Path]) -> Any:
    """The value of `[pci] key`; oslo.config's `$name` substitution errors become ours."""
    try:
        return conf.pci[key]
    except cfg.NoSuchGroupError as exc:
        raise _substitution_error(files, key, exc, names=lambda ref: ref.split(".")[0]) from exc
    except cfg.NoSuchOptError as exc:
        raise _substitution_error(files, key, exc, names=lambda ref: ref) from exc
    except cfg.TemplateSubstitutionError as exc:
        raise _substitution_error(files, key, exc) from exc
    except RecursionError as exc:
        # "${pci.device_spec}" inside device_spec: oslo.config substitutes forever.
        raise _substitution_error(files, key, "it refers back to itself") from exc


class _OsloTemplate(string.Template):
    """What oslo.config takes for a substitution: `$name`, `${name}`, `$group.name`; `$$` is `$`."""

    idpattern = r"[_a-z][._a-z0-9]*"


_SUBSTITUTION_HINT = (
    "oslo.config reads $name as the value of option name, as Nova does; offpath knows only "
    "the [pci] options, so write $$ for a literal $"
)


def _substitution_error(
    files: Sequence[Path],
    key: str,
    failure: Exception | str,
    *,
    names: Callable[[str], str] | None = None,
) -> ConfigValueError | ConfigFileError:
    """Name the file, line, key and value whose `$` substitution failed, and why."""
    # oslo.config says what it could not find (a group, an option), not where:
    # the failing value is the first one whose reference names it.
    missing = getattr(failure, "group_name", None) or getattr(failure, "opt_name", None)
    for path, section, name, value in _raw_values(files, key):
        for match in _OsloTemplate.pattern.finditer(value):
            reference = match.group("named") or match.group("braced")
            if reference is None or (names is not None and names(reference) != missing):
                continue
            return ConfigValueError(
                path=locate([path], value),
                section=section,
                key=name,
                value=value,
                problem=f"{match.group()} is an oslo.config substitution offpath cannot "
                f"resolve: {failure}",
                hint=_SUBSTITUTION_HINT,
            )
    return ConfigFileError(
        ", ".join(map(str, files)), f"[pci] {key}: {failure}", hint=_SUBSTITUTION_HINT
    )


def _raw_values(files: Sequence[Path], key: str) -> Iterator[tuple[Path, str, str, str]]:
    """(file, section, name, raw value) of `[pci] key` and its old names, in file order."""
    (opt,) = [opt for opt in pci_options() if opt.name == key]
    names = [(PCI_GROUP, key)]
    names += [(old.group or "DEFAULT", str(old.name)) for old in opt.deprecated_opts]
    for path in files:
        sections: dict[str, dict[str, Any]] = {}
        cfg.ConfigParser(str(path), sections).parse()
        for section, name in names:
            for value in sections.get(section, {}).get(name, []):
                yield path, section, name, value


def _raw_value(exc: Exception) -> str:
    # oslo.config quotes the offending text in its message; that is all it keeps.
    found = re.findall(r"'([^']*)'", str(exc))
    return found[-1] if found else "?"


def load_device_specs(files: Sequence[Path], *, sysfs_root: Path) -> DeviceSpecList:
    """The `[pci] device_spec` of `files`; the first bad one raises, naming file:line and value."""
    if not files:
        return DeviceSpecList()
    config: PciConfig = load_pci_config(files)
    parsed = parse_spec_values(
        config.device_spec,
        sysfs_root=sysfs_root,
        report_in_placement=config.report_in_placement,
    )
    if parsed.errors:
        first = parsed.errors[0]
        raw = config.device_spec[first.value_index]
        raise ConfigValueError(
            path=config.locate(raw),
            section="pci",
            key="device_spec",
            value=raw,
            problem=f"spec #{first.spec_index}: {first.error.message} [{first.error.code}]",
            hint=first.error.hint or "fix the entry; `offpath devspec check` lists every error",
        ) from first.error
    return DeviceSpecList(parsed.specs)

"""Check a whole `[pci]` section: every device spec and alias, every error, nothing stops early."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from offpath.errors import OffpathError
from offpath.jsonvalue import JsonValue
from offpath.pci.alias import PciAlias, check_aliases
from offpath.pci.spec import DeviceSpec
from offpath.pci.spec_list import parse_spec_values


@dataclass(frozen=True, slots=True)
class SectionProblem:
    """One invalid value: which option, which entry, the error, and the raw text."""

    option: str
    index: int
    raw: str
    error: OffpathError

    def as_json(self, location: str | None = None) -> dict[str, JsonValue]:
        """The JSON shape of `devspec check --json` errors."""
        found: dict[str, JsonValue] = {
            "code": self.error.code,
            "spec_index": self.index if self.option == "device_spec" else None,
            "message": self.error.message,
            "hint": self.error.hint,
            "option": self.option,
        }
        if self.option == "alias":
            found["alias_index"] = self.index
        if location is not None:
            found["location"] = location
        return found


@dataclass(frozen=True, slots=True)
class SectionReport:
    """The parsed specs and aliases of a `[pci]` section, and every problem found."""

    specs: tuple[DeviceSpec, ...]
    aliases: tuple[PciAlias, ...]
    problems: tuple[SectionProblem, ...]

    @property
    def ok(self) -> bool:
        """True when every spec and alias is valid."""
        return not self.problems

    def as_json(
        self, *, locate: Callable[[str], str] | None = None, notes: Sequence[str] = ()
    ) -> dict[str, JsonValue]:
        """The `devspec check --json` document; `locate` gives a raw value's file:line."""
        return {
            "specs": [spec.as_json() for spec in self.specs],
            "aliases": [alias.as_json() for alias in self.aliases],
            "errors": [
                problem.as_json(locate(problem.raw) if locate else None)
                for problem in self.problems
            ],
            "notes": list(notes),
        }


def check_pci_section(
    device_spec: Sequence[str],
    alias: Sequence[str],
    *,
    sysfs_root: Path,
    report_in_placement: bool = False,
) -> SectionReport:
    """Parse every `device_spec` and `alias` value, collecting all errors."""
    parsed = parse_spec_values(
        device_spec, sysfs_root=sysfs_root, report_in_placement=report_in_placement
    )
    problems = [
        SectionProblem("device_spec", e.spec_index, device_spec[e.value_index], e.error)
        for e in parsed.errors
    ]
    aliases, alias_errors = check_aliases(alias)
    problems.extend(SectionProblem("alias", e.index, alias[e.index], e.error) for e in alias_errors)
    return SectionReport(parsed.specs, tuple(aliases.values()), tuple(problems))

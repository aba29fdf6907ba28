"""The ordered list of device specs from `[pci] device_spec`: first match wins, as in Nova.

Matching explains itself, where Nova is silent: for one device, every spec tried in
order and why it matched or not, so `offpath inventory` can say why a device
is left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from offpath.errors import OffpathError, PciConfigInvalidSpec
from offpath.jsonvalue import JsonValue
from offpath.pci.spec import (
    NO_SERIAL,
    UNMATCHABLE,
    DeviceSpec,
    MatchableDevice,
    SpecVerdict,
    parse_spec,
)


@dataclass(frozen=True, slots=True)
class SpecError:
    """A config value or spec object that failed, with where it stands."""

    value_index: int
    spec_index: int
    error: OffpathError


@dataclass(frozen=True, slots=True)
class Explanation:
    """Which spec (if any) selects a device, and every verdict up to it."""

    address: str
    spec: DeviceSpec | None
    verdicts: tuple[SpecVerdict, ...]

    @property
    def reason(self) -> str:
        """Why no spec selected the device ("" when one did).

        A remote-managed rejection is the one operators look for, so it wins
        over plainer misses such as another vendor's spec; next comes an
        address no spec can match (out of range), a fault of the device.
        """
        if self.spec is not None:
            return ""
        for marker in (NO_SERIAL, UNMATCHABLE):
            for verdict in self.verdicts:
                if marker in verdict.reason:
                    return verdict.reason
        if not self.verdicts:
            return "no [pci] device_spec is configured"
        return "no [pci] device_spec matches it"


@dataclass(frozen=True, slots=True)
class ParsedSpecs:
    """Every spec that parsed, and every error, from one set of config values."""

    specs: tuple[DeviceSpec, ...]
    errors: tuple[SpecError, ...]


def _decode(raw: str) -> list[JsonValue]:
    try:
        decoded: JsonValue = json.loads(raw)
    # Nesting deeper than the interpreter's stack is still just bad JSON.
    except (ValueError, RecursionError) as exc:
        raise PciConfigInvalidSpec(f"Invalid entry: '{raw}'") from exc
    if isinstance(decoded, dict):
        return [decoded]
    if not isinstance(decoded, list):
        raise PciConfigInvalidSpec(f"Invalid entry: '{raw}'; Expecting list or dict")
    return decoded


def parse_spec_values(
    values: Iterable[str], *, sysfs_root: Path, report_in_placement: bool = False
) -> ParsedSpecs:
    """Parse every value, collecting errors instead of stopping at the first."""
    specs: list[DeviceSpec] = []
    errors: list[SpecError] = []
    index = 0
    for value_index, raw in enumerate(values):
        try:
            elements = _decode(raw)
        except OffpathError as exc:
            errors.append(SpecError(value_index, index, exc))
            index += 1
            continue
        for element in elements:
            try:
                if not isinstance(element, dict):
                    raise PciConfigInvalidSpec(f"Invalid entry: '{element}'; Expecting dict")
                specs.append(
                    parse_spec(
                        element,
                        index=index,
                        sysfs_root=sysfs_root,
                        report_in_placement=report_in_placement,
                    )
                )
            except OffpathError as exc:
                errors.append(SpecError(value_index, index, exc))
            except RecursionError:
                # Decoding can succeed just below the stack limit and
                # rendering the spec then overflow it.
                too_deep = PciConfigInvalidSpec(f"Invalid entry: '{raw}'; nested too deeply")
                errors.append(SpecError(value_index, index, too_deep))
            index += 1
    return ParsedSpecs(tuple(specs), tuple(errors))


class DeviceSpecList(Sequence[DeviceSpec]):
    """The specs in config order; the first that matches a device is its spec."""

    def __init__(self, specs: Iterable[DeviceSpec] = ()) -> None:
        self._specs = tuple(specs)

    @classmethod
    def from_values(
        cls, values: Iterable[str], *, sysfs_root: Path, report_in_placement: bool = False
    ) -> DeviceSpecList:
        """Parse every value; the first error is raised (a service must not start with it)."""
        parsed = parse_spec_values(
            values, sysfs_root=sysfs_root, report_in_placement=report_in_placement
        )
        if parsed.errors:
            raise parsed.errors[0].error
        return cls(parsed.specs)

    def __getitem__(self, index: int) -> DeviceSpec:  # type: ignore[override]
        return self._specs[index]

    def __len__(self) -> int:
        return len(self._specs)

    def __iter__(self) -> Iterator[DeviceSpec]:
        return iter(self._specs)

    def first_match(self, device: MatchableDevice) -> DeviceSpec | None:
        """The first spec in config order that selects `device`, or None."""
        for spec in self._specs:
            if spec.matches(device):
                return spec
        return None

    def explain(self, device: MatchableDevice) -> Explanation:
        """The verdict of each spec, in order, up to the first that matches."""
        verdicts: list[SpecVerdict] = []
        for spec in self._specs:
            verdict = spec.verdict(device)
            verdicts.append(verdict)
            if verdict.matched:
                return Explanation(device.address, spec, tuple(verdicts))
        return Explanation(device.address, None, tuple(verdicts))

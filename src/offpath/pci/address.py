"""PCI addresses: concrete addresses, and the glob and regex patterns of device specs.

Limits and messages follow Nova's devspec: domain <= FFFF, bus <= FF,
slot <= 1F, function <= 7; fields normalised to 4/2/2/1 lowercase hex digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Protocol

from offpath.errors import PciConfigInvalidSpec, PciDeviceWrongAddressFormat

ANY: Final = "*"

MAX_DOMAIN: Final = 0xFFFF
MAX_BUS: Final = 0xFF
MAX_SLOT: Final = 0x1F
MAX_FUNC: Final = 0x7

# (field name in messages, maximum, normalised width)
_FIELDS: Final = {
    "domain": (MAX_DOMAIN, 4),
    "bus": (MAX_BUS, 2),
    "slot": (MAX_SLOT, 2),
    "func": (MAX_FUNC, 1),
}

# Python's int(x, 16) also takes signs, underscores and non-ASCII digits;
# none of those is a PCI field, so only plain hex (with an optional 0x) passes.
_HEX: Final = re.compile(r"\s*(?:0[xX])?([0-9a-fA-F]+)\s*")


def parse_hex_field(name: str, value: str, maximum: int, width: int) -> str:
    """Normalise one hex field (or `*`) to `width` lowercase digits, with Nova's messages."""
    if value == ANY:
        return ANY
    found = _HEX.fullmatch(value)
    if found is None:
        raise PciConfigInvalidSpec(f"property {name} ('{value}') does not parse as a hex number.")
    number = int(found.group(1), 16)
    if number > maximum:
        raise PciConfigInvalidSpec(
            f"property {name} ({value}) is greater than the maximum allowable value ({maximum:X})."
        )
    return f"{number:0{width}x}"


def _field(name: str, value: str) -> str:
    maximum, width = _FIELDS[name]
    return parse_hex_field(name, value, maximum, width)


@dataclass(frozen=True, slots=True, order=True)
class PciAddress:
    """A concrete PCI address, `dddd:bb:ss.f`."""

    domain: int
    bus: int
    slot: int
    function: int

    def __str__(self) -> str:
        return f"{self.domain:04x}:{self.bus:02x}:{self.slot:02x}.{self.function:x}"

    @property
    def fields(self) -> tuple[str, str, str, str]:
        """The normalised text of domain, bus, slot and function."""
        return (f"{self.domain:04x}", f"{self.bus:02x}", f"{self.slot:02x}", f"{self.function:x}")

    @classmethod
    def parse(cls, text: str) -> PciAddress:
        """Parse `dddd:bb:ss.f`; PciDeviceWrongAddressFormat or PciConfigInvalidSpec if wrong."""
        return _parse_concrete(text)

    @classmethod
    def from_fields(cls, domain: str, bus: str, slot: str, func: str) -> PciAddress:
        """Build from hex field strings, validated in Nova's order (func, domain, bus, slot)."""
        fields = (
            _field("func", func),
            _field("domain", domain),
            _field("bus", bus),
            _field("slot", slot),
        )
        # Nova tolerates `*` here; a device address never has one, and an
        # address with a wildcard is not one address.
        if ANY in fields:
            raise PciDeviceWrongAddressFormat(f"{domain}:{bus}:{slot}.{func}")
        number_func, number_domain, number_bus, number_slot = (int(v, 16) for v in fields)
        return cls(number_domain, number_bus, number_slot, number_func)


@lru_cache(maxsize=65536)
def _parse_concrete(text: str) -> PciAddress:
    dbs, dot, func = text.partition(".")
    parts = dbs.split(":")
    if not dot or len(parts) != 3:
        raise PciDeviceWrongAddressFormat(text)
    return PciAddress.from_fields(parts[0], parts[1], parts[2], func)


class AddressPattern(Protocol):
    """What a device spec's address part can do."""

    def matches(self, address: PciAddress, parent: PciAddress | None) -> bool:
        """True when a device at `address` (child of `parent`, if a VF) is selected."""
        ...

    def single_address(self) -> PciAddress | None:
        """The one address the pattern names, or None if it names many."""
        ...

    def describe(self) -> str:
        """The pattern as an operator would write it."""
        ...

    def as_json(self) -> dict[str, str]:
        """A JSON view, with a "kind" key."""
        ...


@dataclass(frozen=True, slots=True)
class GlobPattern:
    """`[[[[domain]:]bus]:][slot][.[function]]` with whole-field `*` wildcards."""

    domain: str = ANY
    bus: str = ANY
    slot: str = ANY
    func: str = ANY

    @classmethod
    def parse(cls, text: str) -> GlobPattern:
        """Parse a glob address with Nova's rules and validation order."""
        dbs, _, func_text = text.partition(".")
        func = _field("func", func_text.strip()) if func_text else ANY
        if not dbs:
            return cls(func=func)
        parts = dbs.split(":")
        if len(parts) > 3:
            raise PciDeviceWrongAddressFormat(text)
        domain, bus, slot = ([ANY] * (3 - len(parts)) + [p.strip() or ANY for p in parts])[:3]
        return cls(_field("domain", domain), _field("bus", bus), _field("slot", slot), func)

    def matches(self, address: PciAddress, parent: PciAddress | None) -> bool:
        """Each field equals the device's or is `*`."""
        own = (self.domain, self.bus, self.slot, self.func)
        return all(p in (ANY, f) for p, f in zip(own, address.fields, strict=True))

    def single_address(self) -> PciAddress | None:
        """The address when no field is a wildcard."""
        fields = (self.domain, self.bus, self.slot, self.func)
        if ANY in fields:
            return None
        return PciAddress(*(int(f, 16) for f in fields))

    def describe(self) -> str:
        """`dddd:bb:ss.f` with `*` for wildcards."""
        return f"{self.domain}:{self.bus}:{self.slot}.{self.func}"

    def as_json(self) -> dict[str, str]:
        """Kind and the four normalised fields."""
        return {
            "kind": "glob",
            "domain": self.domain,
            "bus": self.bus,
            "slot": self.slot,
            "function": self.func,
        }


_REGEX_KEYS: Final = ("domain", "bus", "slot", "function")
_FULL_WIDTH_HEX: Final = {
    "domain": re.compile(r"[0-9a-f]{4}"),
    "bus": re.compile(r"[0-9a-f]{2}"),
    "slot": re.compile(r"[0-9a-f]{2}"),
    "function": re.compile(r"[0-7]"),
}


@dataclass(frozen=True, slots=True)
class RegexPattern:
    """An object of Python regexes per field, matched at the start of the field (Nova's rule)."""

    sources: tuple[str, str, str, str]
    compiled: tuple[re.Pattern[str], ...]

    @classmethod
    def parse(cls, spec: dict[str, object]) -> RegexPattern:
        """Compile each field's regex (default `.*`); bad syntax is a wrong address format."""
        sources: list[str] = []
        for key in _REGEX_KEYS:
            value = spec.get(key, ".*")
            if not isinstance(value, str):
                raise PciDeviceWrongAddressFormat(spec)
            sources.append(value)
        try:
            compiled = tuple(re.compile(s) for s in sources)
        # Huge repeat counts overflow and deep nesting recurses instead of
        # raising re.error; both are still a bad regex.
        except (re.error, OverflowError, RecursionError) as exc:
            raise PciDeviceWrongAddressFormat(spec) from exc
        return cls((sources[0], sources[1], sources[2], sources[3]), compiled)

    def matches(self, address: PciAddress, parent: PciAddress | None) -> bool:
        """Prefix match of each regex against the lowercase normalised field."""
        return all(
            rx.match(field) is not None
            for rx, field in zip(self.compiled, address.fields, strict=True)
        )

    def single_address(self) -> PciAddress | None:
        """The address when every regex is a full-width lowercase hex literal."""
        if all(
            _FULL_WIDTH_HEX[key].fullmatch(src)
            for key, src in zip(_REGEX_KEYS, self.sources, strict=True)
        ):
            return PciAddress(*(int(s, 16) for s in self.sources))
        return None

    def describe(self) -> str:
        """The regex object as JSON-ish text."""
        inner = ", ".join(f'"{k}": "{v}"' for k, v in zip(_REGEX_KEYS, self.sources, strict=True))
        return "{" + inner + "}"

    def as_json(self) -> dict[str, str]:
        """Kind and the four regex sources."""
        return {"kind": "regex", **dict(zip(_REGEX_KEYS, self.sources, strict=True))}


@dataclass(frozen=True, slots=True)
class PhysicalFunctionPattern:
    """A PF's address: selects the PF itself and every VF whose parent it is."""

    pf: PciAddress

    def matches(self, address: PciAddress, parent: PciAddress | None) -> bool:
        """The PF itself, or a device whose parent is the PF."""
        return self.pf in (address, parent)

    def single_address(self) -> PciAddress | None:
        """The PF's address."""
        return self.pf

    def describe(self) -> str:
        """`dddd:bb:ss.f (PF and its VFs)`."""
        return f"{self.pf} (PF and its VFs)"

    def as_json(self) -> dict[str, str]:
        """Kind and the PF's fields."""
        domain, bus, slot, func = self.pf.fields
        return {"kind": "pf", "domain": domain, "bus": bus, "slot": slot, "function": func}


def parse_address_pattern(value: object) -> GlobPattern | RegexPattern:
    """A device spec's `address` value: a glob string or a regex object."""
    if isinstance(value, str):
        return GlobPattern.parse(value)
    if isinstance(value, dict):
        return RegexPattern.parse(value)
    raise PciDeviceWrongAddressFormat(value)

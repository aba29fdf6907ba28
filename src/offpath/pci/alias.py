"""`[pci] alias`: named PCI device requests that flavors ask for, as in Nova.

Each value is one JSON object, validated like Nova's alias schema; values
with the same name are alternatives (any of their specs may serve).

An alias request never carries `remote_managed`, so a flavor alias never gets
a remote-managed VF: those serve only ports of vnic_type `remote-managed`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, cast

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from offpath.errors import PciInvalidAlias
from offpath.jsonvalue import JsonValue
from offpath.pci.booleans import bool_word, strict_bool
from offpath.pci.device import DevType
from offpath.pci.request import NumaPolicy

NUMA_POLICIES: Final = tuple(policy.value for policy in NumaPolicy)
DEFAULT_NUMA_POLICY: Final = NumaPolicy.LEGACY.value
# Nova's alias schema leaves vdpa out.
ALIAS_DEVICE_TYPES: Final = tuple(t.value for t in (DevType.PCI, DevType.PF, DevType.VF))

_ID_PATTERN: Final = "^([0-9a-fA-F]{4})$"
_TOO_DEEP: Final = "nested too deeply"

ALIAS_SCHEMA: Final[Mapping[str, Any]] = MappingProxyType(
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 256},
            "capability_type": {"type": "string", "enum": ["pci"]},
            "product_id": {"type": "string", "pattern": _ID_PATTERN},
            "vendor_id": {"type": "string", "pattern": _ID_PATTERN},
            "device_type": {"type": "string", "enum": list(ALIAS_DEVICE_TYPES)},
            "numa_policy": {"type": "string", "enum": list(NUMA_POLICIES)},
            "resource_class": {"type": "string"},
            "traits": {"type": "string"},
            "live_migratable": {"type": "string"},
        },
        "required": ["name"],
    }
)
_VALIDATOR: Final = Draft202012Validator(dict(ALIAS_SCHEMA))


@dataclass(frozen=True, slots=True)
class PciAlias:
    """One alias name: its NUMA policy and the specs (in config order) that may serve it."""

    name: str
    numa_policy: str
    specs: tuple[Mapping[str, str], ...]

    @property
    def dev_type(self) -> str | None:
        """The device type every spec of this alias shares, None when not given."""
        return self.specs[0].get("dev_type") if self.specs else None

    def describe(self) -> str:
        """One line, as `devspec check` prints it: the policy, then the specs joined by |."""
        specs = " | ".join(
            " ".join(f"{key}={value}" for key, value in spec.items()) or "any device"
            for spec in self.specs
        )
        return f"numa_policy={self.numa_policy} specs: {specs}"

    def as_json(self) -> dict[str, JsonValue]:
        """The alias as `devspec check --json` prints it."""
        specs: list[JsonValue] = [dict(spec) for spec in self.specs]
        return {"name": self.name, "numa_policy": self.numa_policy, "specs": specs}


@dataclass(frozen=True, slots=True)
class AliasError:
    """An alias value that failed; `index` is its position among the `[pci] alias` values."""

    index: int
    error: PciInvalidAlias


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    numa_policy: str
    spec: Mapping[str, str]


def _decode(raw: str) -> object:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise PciInvalidAlias(f"Invalid entry: '{raw}': {exc}") from exc


def _entry(raw: str) -> _Entry:
    """Validate one alias value and split it into name, NUMA policy and request spec."""
    decoded = _decode(raw)
    problem = best_match(_VALIDATOR.iter_errors(decoded))
    if problem is not None:
        raise PciInvalidAlias(problem.message)
    # The schema guarantees an object whose values are all strings.
    fields = dict(cast(dict[str, str], decoded))
    name = fields.pop("name").strip()
    numa_policy = fields.pop("numa_policy", "") or DEFAULT_NUMA_POLICY
    if "device_type" in fields:
        fields["dev_type"] = fields.pop("device_type")
    if "live_migratable" in fields:
        value = fields["live_migratable"]
        try:
            fields["live_migratable"] = bool_word(strict_bool(value))
        except ValueError as exc:
            raise PciInvalidAlias(
                f"Cannot parse 'live_migratable' of alias '{name}': {exc}"
            ) from exc
    return _Entry(name, numa_policy, MappingProxyType(fields))


def _merge(aliases: dict[str, PciAlias], entry: _Entry) -> None:
    """Add `entry` to its alias, or raise when it contradicts the earlier values of that name."""
    known = aliases.get(entry.name)
    if known is None:
        aliases[entry.name] = PciAlias(entry.name, entry.numa_policy, (entry.spec,))
        return
    if known.numa_policy != entry.numa_policy:
        raise PciInvalidAlias(f"NUMA policy mismatch for alias '{entry.name}'")
    if known.dev_type != entry.spec.get("dev_type"):
        raise PciInvalidAlias(f"Device type mismatch for alias '{entry.name}'")
    aliases[entry.name] = PciAlias(known.name, known.numa_policy, (*known.specs, entry.spec))


def check_aliases(values: Iterable[str]) -> tuple[dict[str, PciAlias], list[AliasError]]:
    """Parse every alias value, keeping the valid ones and collecting every error."""
    aliases: dict[str, PciAlias] = {}
    errors: list[AliasError] = []
    for index, raw in enumerate(values):
        try:
            _merge(aliases, _entry(raw))
        except PciInvalidAlias as exc:
            errors.append(AliasError(index, exc))
        except RecursionError:
            # Decoding can succeed just below the stack limit and validating
            # (or rendering a message) then overflow it.
            errors.append(
                AliasError(index, PciInvalidAlias(f"Invalid entry: '{raw}': {_TOO_DEEP}"))
            )
    return aliases, errors


def parse_aliases(values: Iterable[str]) -> dict[str, PciAlias]:
    """The aliases by name, in config order; PciInvalidAlias for the first invalid value."""
    aliases, errors = check_aliases(values)
    if errors:
        raise errors[0].error
    return aliases

"""Whether pool properties satisfy a request's property dicts (Nova's pci_device_prop_match).

A request spec matches when every one of its keys agrees with the pool: a
list against a list by inclusion, anything else by equality with strings
compared case-insensitively. A key the pool lacks reads as None, so it only
agrees with a null spec value. A request matches when any of its specs does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from offpath.jsonvalue import JsonValue


def _folded(value: object) -> object:
    # Operators write tags in any case and port profiles carry "True"/"False".
    return value.lower() if isinstance(value, str) else value


def spec_matches(props: Mapping[str, JsonValue], spec: Mapping[str, JsonValue]) -> bool:
    """True when every key of `spec` agrees with `props`."""
    for key, wanted in spec.items():
        have = props.get(key)
        if isinstance(wanted, list) and isinstance(have, list):
            if any(item not in have for item in wanted):
                return False
        elif _folded(have) != _folded(wanted):
            return False
    return True


def any_spec_matches(
    props: Mapping[str, JsonValue], specs: Iterable[Mapping[str, JsonValue]]
) -> bool:
    """True when at least one of `specs` agrees with `props` (none given: False)."""
    return any(spec_matches(props, spec) for spec in specs)

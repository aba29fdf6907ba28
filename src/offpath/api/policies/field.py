"""Neutron's `field:` check, registered with oslo.policy before any rule using it is read."""

from __future__ import annotations

from typing import Any

from oslo_policy import _checks


@_checks.register("field")
class FieldCheck(_checks.Check):
    """Neutron's `field:<collection>:<attribute>=<value>`: the target's attribute has that value."""

    def __init__(self, kind: str, match: str) -> None:
        super().__init__(kind, match)
        _collection, _, rest = match.partition(":")
        self.attribute, _, self.value = rest.partition("=")

    def __call__(
        self,
        target: Any,
        creds: Any,
        enforcer: Any,
        current_rule: str | None = None,
    ) -> bool:
        """True when the target's attribute, as text, is the value."""
        return str(target.get(self.attribute)) == self.value

"""A documented rule: its name, default, what it guards and the requests it is checked on."""

from __future__ import annotations

from oslo_policy.policy import DocumentedRuleDefault


def documented(
    name: str, check_str: str, description: str, *operations: tuple[str, str]
) -> DocumentedRuleDefault:
    """A project-scoped rule checked on `operations` (method, path)."""
    return DocumentedRuleDefault(
        name=name,
        check_str=check_str,
        description=description,
        operations=[{"method": method, "path": path} for method, path in operations],
        scope_types=["project"],
    )

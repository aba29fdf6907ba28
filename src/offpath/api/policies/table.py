"""The rule list as a Markdown table: name, default, what it guards (docs/policy.md holds it)."""

from __future__ import annotations

from oslo_policy.policy import DocumentedRuleDefault

from offpath.api.policies import RULES


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def rules_table() -> str:
    """One row per registered rule, in registration order."""
    rows = ["| Rule | Default | Guards |", "| --- | --- | --- |"]
    for rule in RULES:
        guards = rule.description or ""
        if isinstance(rule, DocumentedRuleDefault):
            requests = ", ".join(f"{op['method']} {op['path']}" for op in rule.operations)
            guards = f"{guards} ({requests})"
        rows.append(f"| `{rule.name}` | `{_cell(rule.check_str)}` | {_cell(guards)} |")
    return "\n".join(rows) + "\n"

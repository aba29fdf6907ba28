"""Who may do what: the API's rules enforced with oslo.policy, as Nova and Neutron enforce theirs.

The rules and their defaults are in `offpath.api.policies`; an operator's
`policy.yaml` (`[oslo_policy] policy_file`, looked up next to the config
files) overrides them with the same meaning as in Nova or Neutron. A
handler asks `Policy.authorize` (Nova's wording when refused) or
`Policy.authorize_all` (Neutron's: the action and its attributes' rules);
a refusal is a 403 in the surface's shape.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml
from oslo_config import cfg
from oslo_policy import _checks, policy

from offpath.api.errors import HttpFault
from offpath.api.policies import RULES
from offpath.config import read_config_files
from offpath.errors import PolicyFileInvalid
from offpath.rpc.context import RequestContext

LOG = logging.getLogger(__name__)

Target = Mapping[str, object]


class PolicyDenied(HttpFault):
    """A request the policy refuses: 403, in the words of the surface asked."""

    def __init__(self, message: str) -> None:
        super().__init__(403, message, error_type="PolicyNotAuthorized")


def credentials(ctx: RequestContext) -> dict[str, object]:
    """What a rule's checks read of the caller (Nova's and Neutron's keys)."""
    return {
        "roles": [role.lower() for role in ctx.roles],
        "project_id": ctx.project_id,
        "tenant_id": ctx.project_id,
        "user_id": ctx.user_id,
        "is_admin": ctx.is_admin,
        "system_scope": None,
    }


def own_project(ctx: RequestContext) -> dict[str, object]:
    """The target of a rule about the caller's own project (a create, a list)."""
    return {"project_id": ctx.project_id}


class Policy:
    """The rules, defaults with the operator's overrides, and the checks handlers call."""

    def __init__(self, enforcer: policy.Enforcer) -> None:
        self._enforcer = enforcer

    def allows(self, ctx: RequestContext, rule: str, target: Target) -> bool:
        """True when `rule` lets the caller act on `target`."""
        return bool(self._enforcer.enforce(rule, dict(target), credentials(ctx)))

    def authorize(self, ctx: RequestContext, rule: str, target: Target) -> None:
        """Nova's check: PolicyDenied ("Policy doesn't allow <rule> to be performed.")."""
        if not self.allows(ctx, rule, target):
            raise PolicyDenied(f"Policy doesn't allow {rule} to be performed.")

    def authorize_all(self, ctx: RequestContext, rules: Sequence[str], target: Target) -> None:
        """Neutron's check of an action and its attributes: all must pass, refused as one."""
        checks: list[_checks.BaseCheck] = [_checks.RuleCheck("rule", name) for name in rules]
        check = checks[0] if len(checks) == 1 else _checks.AndCheck(checks)
        if not self._enforcer.enforce(check, dict(target), credentials(ctx)):
            raise PolicyDenied(f"{check} is disallowed by policy")

    @property
    def names(self) -> frozenset[str]:
        """Every registered rule's name."""
        return frozenset(self._enforcer.registered_rules)

    @property
    def policy_path(self) -> str | None:
        """The policy file read, if any."""
        path: str | None = self._enforcer.policy_path
        return path


def _enforcer(conf: cfg.ConfigOpts, *, use_conf: bool) -> policy.Enforcer:
    enforcer = policy.Enforcer(conf, use_conf=use_conf)
    enforcer.register_defaults(RULES)
    return enforcer


def default_policy() -> Policy:
    """The registered defaults alone: no file is looked for."""
    enforcer = _enforcer(cfg.ConfigOpts(), use_conf=False)
    defaults = {rule.name: rule.check for rule in RULES}
    enforcer.set_rules(policy.Rules(defaults, enforcer.default_rule), use_conf=False)
    return Policy(enforcer)


def load_policy(files: Sequence[Path]) -> Policy:
    """The policy of a deployment configured by `files`; PolicyFileInvalid for a bad policy file."""
    conf = cfg.ConfigOpts()
    read_config_files(conf, files)
    # Made after the files are read: it takes `[oslo_policy] policy_file` when made.
    enforcer = _enforcer(conf, use_conf=True)
    check_policy_file(enforcer)
    return Policy(enforcer)


def check_policy_file(enforcer: policy.Enforcer) -> None:
    """Load the operator's file now, so that a bad one fails the start, naming file and rule."""
    quiet = [logging.getLogger(name) for name in ("oslo_policy.policy", "oslo_policy._parser")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        # oslo.policy logs a rule it cannot read with a traceback; ours names it instead.
        logger.setLevel(logging.CRITICAL)
    try:
        _check_rules(enforcer)
    finally:
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)


def _check_rules(enforcer: policy.Enforcer) -> None:
    try:
        enforcer.load_rules()
    except (ValueError, AttributeError, TypeError, yaml.YAMLError) as exc:
        if enforcer.policy_path is not None:
            _check_overrides(enforcer, enforcer.policy_path)
        raise PolicyFileInvalid(
            enforcer.policy_path or enforcer.policy_file,
            f"not a YAML mapping of rule names to checks{_where(exc)}",
        ) from None
    path = enforcer.policy_path
    if path is None:
        return
    _check_overrides(enforcer, path)
    if not enforcer.check_rules():
        wrong = [
            name
            for name, check in enforcer.rules.items()
            if enforcer._undefined_check(check) or enforcer._cycle_check(check)
        ]
        raise PolicyFileInvalid(
            path,
            f"rule {', '.join(map(repr, wrong))}: refers to a rule that is not defined, "
            "or to itself",
        )


def _check_overrides(enforcer: policy.Enforcer, path: str) -> None:
    """Each rule of the file is a check oslo.policy reads (it reads others as "never")."""
    try:
        overrides = _overrides(Path(path))
    except (OSError, yaml.YAMLError):
        return
    for name, text in overrides.items():
        if not isinstance(text, str):
            raise PolicyFileInvalid(path, f"rule {name!r}: the check must be a string")
        if _unparsable(enforcer.rules.get(name), text):
            raise PolicyFileInvalid(path, f"rule {name!r}: cannot read the check {text!r}")


def _where(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, yaml.YAMLError) and mark is not None:
        return f" (line {mark.line + 1}: {getattr(exc, 'problem', '') or 'malformed'})"
    return ""


def _overrides(path: Path) -> Mapping[str, object]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, dict) else {}


def _unparsable(check: object, text: str) -> bool:
    # oslo.policy reads a check it cannot parse as "never": refused at start instead.
    return isinstance(check, _checks.FalseCheck) and text.strip() != "!"

"""Tempest's pre-provisioned accounts: made with `offpath identity`, listed in accounts.yaml.

Tempest takes a primary and an alternate account per test class from the
accounts file, and the project's reader or manager when the class asks for
one: every project has all three, members first (the file's order is the
order Tempest tries them in), twice as many projects as the workers need.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

import yaml

DOMAIN: Final = "Default"


@dataclass(frozen=True, slots=True)
class Account:
    """One Tempest account: a user in a project with roles; `types` marks admins for Tempest."""

    username: str
    project_name: str
    password: str
    roles: tuple[str, ...]
    types: tuple[str, ...] = field(default=())

    def entry(self) -> dict[str, object]:
        """The account as accounts.yaml lists it."""
        entry: dict[str, object] = {
            "username": self.username,
            "project_name": self.project_name,
            "password": self.password,
            "domain_name": DOMAIN,
            "user_domain_name": DOMAIN,
            "project_domain_name": DOMAIN,
            "roles": list(self.roles),
        }
        if self.types:
            entry["types"] = list(self.types)
        return entry


def plan_accounts(workers: int) -> tuple[Account, ...]:
    """Per project a member, a reader and a manager; twice a worker's two projects; admins."""

    def account(name: str, project: str, *roles: str, types: tuple[str, ...] = ()) -> Account:
        return Account(name, project, secrets.token_urlsafe(12), roles, types)

    projects = [f"tempest-{n}" for n in range(1, 4 * workers + 1)]
    # Tempest asks for a project's reader or manager in the project its member holds.
    personas = [
        account(f"{project}-{role}", project, role)
        for role in ("member", "reader", "manager")
        for project in projects
    ]
    admins = [
        account(f"tempest-admin-{n}", f"tempest-admin-{n}", "admin", "service", types=("admin",))
        for n in range(1, 2 * workers + 1)
    ]
    return (*personas, *admins)


def provision(accounts: Sequence[Account], run: Callable[..., str]) -> None:
    """Create each project, user and role assignment with `offpath identity` (`run(*args)`)."""
    for project in dict.fromkeys(a.project_name for a in accounts):
        run("identity", "project", "create", project)
    for a in accounts:
        run("identity", "user", "create", a.username, "--password", a.password)
        for role in a.roles:
            run("identity", "role", "add", role, "--user", a.username, "--project", a.project_name)


def accounts_yaml(accounts: Sequence[Account]) -> str:
    """The test_accounts_file Tempest reads."""
    return yaml.safe_dump([a.entry() for a in accounts], sort_keys=False)

"""Tempest's pre-provisioned accounts: made with `offpath identity`, listed in accounts.yaml.

Tempest takes a primary and an alternate account per worker from the
accounts file: any account without the admin role may be a primary one, in
file order, so the members come first and outnumber the workers twice over.
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
    """Members (primary and alternate per worker, twice), a reader, a manager, two admins."""

    def account(name: str, project: str, *roles: str, types: tuple[str, ...] = ()) -> Account:
        return Account(name, project, secrets.token_urlsafe(12), roles, types)

    members = [
        account(f"tempest-member-{n}", f"tempest-{n}", "member") for n in range(1, 4 * workers + 1)
    ]
    return (
        *members,
        account("tempest-reader", "tempest-1", "reader"),
        account("tempest-manager", "tempest-2", "manager"),
        *(
            account(
                f"tempest-admin-{n}", f"tempest-admin-{n}", "admin", "service", types=("admin",)
            )
            for n in (1, 2)
        ),
    )


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

"""The identity bootstrap that `offpath db sync` and `offpath serve` run on a new database.

The admin's password is the one given (`OFFPATH_BOOTSTRAP_PASSWORD`, as
keystone-manage reads `OS_BOOTSTRAP_PASSWORD`), else a generated one. Either
way the state directory gets an `admin-openrc` (mode 0600) to source.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy import Engine

from offpath.errors import IdentityNotFound
from offpath.identity.bootstrap import ADMIN_PROJECT, ADMIN_USER, bootstrap
from offpath.identity.catalog import DEFAULT_REGION, endpoints_at
from offpath.identity.directory import IdentityDirectory

PASSWORD_ENV: Final = "OFFPATH_BOOTSTRAP_PASSWORD"
OPENRC: Final = "admin-openrc"


@dataclass(frozen=True, slots=True)
class FirstUse:
    """What the first-use bootstrap did: where the admin's openrc is."""

    openrc: Path
    generated: bool


def bootstrap_on_first_use(
    engine: Engine, *, state_dir: Path, api_base: str, public_endpoint: str
) -> FirstUse | None:
    """Bootstrap identity when no admin exists yet; None when one does (only the catalog moves)."""
    directory = IdentityDirectory(engine)
    try:
        directory.user(ADMIN_USER)
    except IdentityNotFound:
        pass
    else:
        if public_endpoint:
            directory.replace_endpoints(endpoints_at(public_endpoint))
        return None
    given = os.environ.get(PASSWORD_ENV) or None
    done = bootstrap(engine, password=given, public_endpoint=public_endpoint)
    assert done.password is not None, "a created admin always has a password"
    openrc = write_admin_openrc(
        state_dir, api_base=api_base, public_endpoint=public_endpoint, password=done.password
    )
    return FirstUse(openrc, generated=given is None)


def write_admin_openrc(
    state_dir: Path, *, api_base: str, public_endpoint: str, password: str
) -> Path:
    """The state directory's `admin-openrc`, pointing at the public endpoint, else `api_base`."""
    auth_url = f"{(public_endpoint or api_base).rstrip('/')}/identity/v3"
    return write_openrc(state_dir / OPENRC, auth_url=auth_url, password=password)


def write_openrc(path: Path, *, auth_url: str, password: str) -> Path:
    """An openrc for the bootstrap admin, readable by its owner only."""
    lines = {
        "OS_AUTH_URL": auth_url,
        "OS_IDENTITY_API_VERSION": "3",
        "OS_USERNAME": ADMIN_USER,
        "OS_PASSWORD": password,
        "OS_PROJECT_NAME": ADMIN_PROJECT,
        "OS_USER_DOMAIN_NAME": "Default",
        "OS_PROJECT_DOMAIN_NAME": "Default",
        "OS_REGION_NAME": DEFAULT_REGION,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(f"export {key}={shlex.quote(value)}\n" for key, value in lines.items())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    return path


def openrc_password(path: Path) -> str | None:
    """The admin password an openrc written by `write_openrc` holds; None without one."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and words[1].startswith("OS_PASSWORD="):
            return words[1].removeprefix("OS_PASSWORD=")
    return None

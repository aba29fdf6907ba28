"""`offpath identity`: the bootstrap's openrc, users, projects and roles, Keystone's messages."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from typer.testing import CliRunner

from offpath.cli.main import app
from offpath.errors import IdentityConflict, IdentityNotFound
from offpath.identity.first_use import OPENRC, openrc_password

runner = CliRunner()


def _run(state: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--state-dir", str(state)], env=env)
    return result.exit_code, result.output


def test_db_sync_bootstraps_once_and_bootstrap_resets_the_password(tmp_path: Path) -> None:
    code, out = _run(tmp_path, "db", "sync", env={"OFFPATH_BOOTSTRAP_PASSWORD": "first"})
    assert code == 0 and "identity: bootstrapped" in out
    openrc = tmp_path / OPENRC
    assert stat.S_IMODE(openrc.stat().st_mode) == 0o600
    assert openrc_password(openrc) == "first"
    assert "OS_AUTH_URL=http://127.0.0.1:8774/identity/v3" in openrc.read_text()
    # A second sync leaves identity alone; an explicit bootstrap sets the password given.
    code, out = _run(tmp_path, "db", "sync", env={"OFFPATH_BOOTSTRAP_PASSWORD": "ignored"})
    assert code == 0 and "identity" not in out
    assert openrc_password(openrc) == "first"
    code, _ = _run(tmp_path, "identity", "bootstrap", "--password", "second")
    assert code == 0
    assert openrc_password(openrc) == "second"


def test_users_projects_and_roles_then_the_list(tmp_path: Path) -> None:
    assert _run(tmp_path, "db", "sync")[0] == 0
    assert _run(tmp_path, "identity", "project", "create", "demo")[0] == 0
    assert _run(tmp_path, "identity", "user", "create", "alice", "--password", "pw")[0] == 0
    code, out = _run(
        tmp_path, "identity", "role", "add", "member", "--user", "alice", "--project", "demo"
    )
    assert (code, out.strip()) == (0, "role member given to alice on demo")
    code, out = _run(tmp_path, "identity", "list", "--json")
    listed = json.loads(out)
    assert {"user": "alice", "project": "demo", "role": "member"} in listed["role_assignments"]
    assert {u["name"] for u in listed["users"]} == {"admin", "alice", "offpath"}


def test_a_taken_name_and_an_unknown_role_answer_in_keystones_words(tmp_path: Path) -> None:
    assert _run(tmp_path, "db", "sync")[0] == 0
    assert _run(tmp_path, "identity", "user", "create", "alice", "--password", "pw")[0] == 0
    again = runner.invoke(
        app,
        ["identity", "user", "create", "alice", "--password", "pw", "--state-dir", str(tmp_path)],
    )
    assert isinstance(again.exception, IdentityConflict)
    assert again.exception.exit_code == 4
    assert "Duplicate entry found with name alice at domain ID default." in again.exception.message
    unknown = runner.invoke(
        app,
        [
            "identity",
            "role",
            "add",
            "nope",
            "--user",
            "alice",
            "--project",
            "admin",
            "--state-dir",
            str(tmp_path),
        ],
    )
    assert isinstance(unknown.exception, IdentityNotFound)
    assert unknown.exception.exit_code == 3
    assert unknown.exception.message == "Could not find role: nope."

"""`offpath identity`: bootstrap, users, projects and role assignments (what keystone-manage
bootstrap and `openstack user/project create`, `role add` do), straight in the API database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from offpath.cli.options import AsJson, ServiceConfigFiles, StateDir
from offpath.cli.output import print_json, table_console
from offpath.service_config import DEFAULT_STATE_DIR, ServiceConfig, load_service_config

if TYPE_CHECKING:
    from offpath.identity.directory import IdentityDirectory

app = typer.Typer(help="Identity: users, projects, roles (Keystone v3).", no_args_is_help=True)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
project_app = typer.Typer(help="Projects.", no_args_is_help=True)
role_app = typer.Typer(help="Role assignments.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(project_app, name="project")
app.add_typer(role_app, name="role")

Domain = Annotated[
    str, typer.Option("--domain", metavar="DOMAIN", help="The domain, by name or id.")
]
Password = Annotated[
    str | None,
    typer.Option(
        "--password",
        metavar="PASSWORD",
        help="The password (else OFFPATH_USER_PASSWORD, else asked for).",
    ),
]


def first_use_bootstrap(config: ServiceConfig) -> None:
    """Bootstrap identity when the database has no admin yet; say where its openrc is."""
    from offpath.db.engine import open_engine
    from offpath.identity.first_use import PASSWORD_ENV, bootstrap_on_first_use

    api = open_engine(config.api_database_url)
    try:
        done = bootstrap_on_first_use(
            api,
            state_dir=config.state_dir,
            api_base=_api_base(config),
            public_endpoint=config.api_public_endpoint,
        )
    finally:
        api.dispose()
    if done is not None:
        source = "generated" if done.generated else f"from {PASSWORD_ENV}"
        typer.echo(f"identity: bootstrapped; admin's password ({source}) in {done.openrc}")


def _api_base(config: ServiceConfig) -> str:
    # Where `offpath serve` will listen, as the config says: the openrc's default.
    return f"http://{config.api_listen}:{config.api_port}"


@contextmanager
def _directory(config_file: list[Path] | None, state_dir: Path) -> Iterator[IdentityDirectory]:
    from offpath.db.engine import open_engine
    from offpath.db.schema_version import SchemaKind, require
    from offpath.identity.directory import IdentityDirectory

    config = load_service_config(config_file or [], state_dir=state_dir)
    api = open_engine(config.api_database_url)
    try:
        require(api, SchemaKind.API)
        yield IdentityDirectory(api)
    finally:
        api.dispose()


@app.command("bootstrap")
def bootstrap_command(
    password: Password = None,
    config_file: ServiceConfigFiles = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
) -> None:
    """Set up the domain, roles, admin and service users (idempotent).

    Idempotent; a given password (or OFFPATH_BOOTSTRAP_PASSWORD) resets the admin's.
    """
    from offpath.db.engine import open_engine
    from offpath.db.schema_version import SchemaKind, require
    from offpath.identity.bootstrap import bootstrap
    from offpath.identity.first_use import PASSWORD_ENV, write_admin_openrc

    config = load_service_config(config_file or [], state_dir=state_dir)
    given = password or os.environ.get(PASSWORD_ENV) or None
    api = open_engine(config.api_database_url)
    try:
        require(api, SchemaKind.API)
        done = bootstrap(api, password=given, public_endpoint=config.api_public_endpoint)
    finally:
        api.dispose()
    typer.echo(f"admin user {done.admin.id} in project {done.project.name} ({done.project.id})")
    if done.password is not None:
        openrc = write_admin_openrc(
            config.state_dir,
            api_base=_api_base(config),
            public_endpoint=config.api_public_endpoint,
            password=done.password,
        )
        typer.echo(f"admin's password in {openrc}")


@project_app.command("create")
def project_create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The project's name.")],
    *,
    description: Annotated[
        str, typer.Option("--description", metavar="TEXT", help="What it is for.")
    ] = "",
    domain: Domain = "default",
    config_file: ServiceConfigFiles = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
    as_json: AsJson = False,
) -> None:
    """Create a project."""
    with _directory(config_file, state_dir) as directory:
        project = directory.create_project(name, domain=domain, description=description)
    if as_json:
        print_json({"id": project.id, "name": project.name, "domain_id": project.domain.id})
        return
    typer.echo(f"project {project.name} created: {project.id}")


@user_app.command("create")
def user_create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The user's name.")],
    *,
    password: Password = None,
    project: Annotated[
        str | None,
        typer.Option("--project", metavar="PROJECT", help="Default project (name or id)."),
    ] = None,
    domain: Domain = "default",
    config_file: ServiceConfigFiles = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
    as_json: AsJson = False,
) -> None:
    """Create a user with a password (then: `offpath identity role add`)."""
    secret = password or os.environ.get("OFFPATH_USER_PASSWORD")
    if not secret:
        secret = typer.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
    with _directory(config_file, state_dir) as directory:
        user = directory.create_user(name, password=secret, domain=domain, default_project=project)
    if as_json:
        print_json({"id": user.id, "name": user.name, "domain_id": user.domain.id})
        return
    typer.echo(f"user {user.name} created: {user.id}")


@user_app.command("set")
def user_set(
    name: Annotated[str, typer.Argument(metavar="USER", help="The user, by name or id.")],
    *,
    password: Password = None,
    enable: Annotated[
        bool | None,
        typer.Option("--enable/--disable", help="Let the user log in, or stop it at once."),
    ] = None,
    domain: Domain = "default",
    config_file: ServiceConfigFiles = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
) -> None:
    """Change a password (ending the tokens), or enable or disable a user."""
    with _directory(config_file, state_dir) as directory:
        if password is not None:
            directory.set_password(name, password, domain=domain)
        if enable is not None:
            directory.set_enabled(name, enable, domain=domain)
    typer.echo(f"user {name} updated")


@role_app.command("add")
def role_add(
    role: Annotated[str, typer.Argument(metavar="ROLE", help="admin, member, reader, ...")],
    *,
    user: Annotated[str, typer.Option("--user", metavar="USER", help="The user.")],
    project: Annotated[str, typer.Option("--project", metavar="PROJECT", help="The project.")],
    domain: Domain = "default",
    config_file: ServiceConfigFiles = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
) -> None:
    """Give a user a role on a project."""
    with _directory(config_file, state_dir) as directory:
        done = directory.add_role(role, user=user, project=project, domain=domain)
    typer.echo(f"role {done.role.name} given to {done.user.name} on {done.project.name}")


@role_app.command("remove")
def role_remove(
    role: Annotated[str, typer.Argument(metavar="ROLE", help="The role.")],
    *,
    user: Annotated[str, typer.Option("--user", metavar="USER", help="The user.")],
    project: Annotated[str, typer.Option("--project", metavar="PROJECT", help="The project.")],
    domain: Domain = "default",
    config_file: ServiceConfigFiles = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
) -> None:
    """Take a role from a user on a project, at once."""
    with _directory(config_file, state_dir) as directory:
        directory.remove_role(role, user=user, project=project, domain=domain)
    typer.echo(f"role {role} taken from {user} on {project}")


@app.command("list")
def list_command(
    config_file: ServiceConfigFiles = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
    as_json: AsJson = False,
) -> None:
    """Every user with its roles per project."""
    with _directory(config_file, state_dir) as directory:
        users = directory.users()
        projects = directory.projects()
        assignments = directory.assignments()
    rows: dict[tuple[str, str], list[str]] = {}
    for a in assignments:
        rows.setdefault((a.user.id, a.project.id), []).append(a.role.name)
    if as_json:
        print_json(
            {
                "users": [
                    {"id": u.id, "name": u.name, "domain_id": u.domain.id, "enabled": u.enabled}
                    for u in users
                ],
                "projects": [
                    {"id": p.id, "name": p.name, "domain_id": p.domain.id} for p in projects
                ],
                "role_assignments": [
                    {"user": a.user.name, "project": a.project.name, "role": a.role.name}
                    for a in assignments
                ],
            }
        )
        return
    names = {p.id: p.name for p in projects}
    table = Table("User", "User ID", "Enabled", "Project", "Roles")
    for user in users:
        held = [(pid, roles) for (uid, pid), roles in rows.items() if uid == user.id]
        for project_id, roles in held or [("", [])]:
            table.add_row(
                user.name,
                user.id,
                "yes" if user.enabled else "no",
                names.get(project_id, "-"),
                ", ".join(sorted(roles)) or "-",
            )
    with table_console() as console:
        console.print(table)

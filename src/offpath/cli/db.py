"""`offpath db sync` and `offpath cell create / list`: the databases and the cells."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from offpath.cli.options import AsJson, ServiceConfigFiles, StateDir
from offpath.cli.output import print_json, table_console
from offpath.service_config import DEFAULT_STATE_DIR, load_service_config

db_app = typer.Typer(help="The API and cell databases.", no_args_is_help=True)
cell_app = typer.Typer(help="Cells: each with its own database and queue.", no_args_is_help=True)


@db_app.command("sync")
def sync(config_file: ServiceConfigFiles = None, state_dir: StateDir = DEFAULT_STATE_DIR) -> None:
    """Create or upgrade every database.

    The first run also registers cell0 and cell1, as Nova's simple cell setup does,
    and bootstraps identity, as `keystone-manage bootstrap` does: an admin user
    (password from OFFPATH_BOOTSTRAP_PASSWORD, else generated) whose openrc is
    written to the state directory.
    """
    from offpath.cli.identity import first_use_bootstrap
    from offpath.db.bootstrap import sync_all

    config = load_service_config(config_file or [], state_dir=state_dir)
    for synced in sync_all(config):
        typer.echo(synced.line())
    first_use_bootstrap(config)


@cell_app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", metavar="NAME", help="The cell's name.")],
    database_url: Annotated[
        str,
        typer.Option("--database-url", metavar="URL", help="SQLAlchemy URL of its database."),
    ],
    transport_url: Annotated[
        str | None,
        typer.Option("--transport-url", metavar="URL", help="oslo.messaging URL of its queue."),
    ] = None,
    config_file: ServiceConfigFiles = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
) -> None:
    """Register a cell and bring its database to the current schema."""
    from offpath.db.cells import register_cell
    from offpath.db.engine import open_engine
    from offpath.db.schema_version import SchemaKind, require

    config = load_service_config(config_file or [], state_dir=state_dir)
    api = open_engine(config.api_database_url)
    try:
        require(api, SchemaKind.API)
        cell = register_cell(api, name=name, database_url=database_url, transport_url=transport_url)
    finally:
        api.dispose()
    typer.echo(f"cell {cell.name} created: {cell.uuid}")


@cell_app.command("list")
def list_command(
    config_file: ServiceConfigFiles = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
    as_json: AsJson = False,
) -> None:
    """Every cell: its name, uuid, database and queue (passwords hidden)."""
    from offpath.db.cells import list_cells
    from offpath.db.engine import open_engine, reading
    from offpath.db.schema_version import SchemaKind, require

    config = load_service_config(config_file or [], state_dir=state_dir)
    api = open_engine(config.api_database_url)
    try:
        require(api, SchemaKind.API)
        with reading(api) as session:
            cells = [cell.to_json() for cell in list_cells(session)]
    finally:
        api.dispose()
    if as_json:
        print_json([dict(cell) for cell in cells])
        return
    table = Table("Name", "UUID", "Database", "Transport")
    for cell in cells:
        table.add_row(*(str(cell[key] or "-") for key in _CELL_COLUMNS))
    with table_console() as console:
        console.print(table)


_CELL_COLUMNS = ("name", "uuid", "database_url", "transport_url")

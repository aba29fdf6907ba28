"""`offpath service list`: every service of every cell, its version and whether it is up."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from offpath.cli.options import AsJson, ServiceConfigFiles, StateDir
from offpath.cli.output import print_json, table_console
from offpath.errors import OffpathError
from offpath.service_config import DEFAULT_STATE_DIR, load_service_config

if TYPE_CHECKING:
    from offpath.db.cells import CellDatabases
    from offpath.db.services import ServiceRecord

app = typer.Typer(help="Services (agents, conductors) as their cells record them.")


@app.command("list")
def list_command(
    *,
    config_file: ServiceConfigFiles = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
    as_json: AsJson = False,
) -> None:
    """Every service: host, cell, version, up or down.

    The binary, host, cell, version, state and last heartbeat of every service in every cell.
    """
    # The database layer loads when a command runs, not for `offpath --help`.
    from offpath.db.cells import CellDatabases
    from offpath.db.engine import open_engine

    config = load_service_config(config_file or [], state_dir=state_dir)
    cells = CellDatabases(open_engine(config.api_database_url))
    try:
        services = _every_service(cells)
    finally:
        cells.dispose()
    down_time = config.service_down_time
    if as_json:
        print_json([s.to_json(service_down_time=down_time) for s in services])
        return
    table = Table("Binary", "Host", "Cell", "Version", "State", "Status", "Last heartbeat")
    for service in services:
        row = service.to_json(service_down_time=down_time)
        table.add_row(*(str(row[key] or "-") for key in _COLUMNS))
    with table_console() as console:
        console.print(table)


_COLUMNS = ("binary", "host", "cell", "version", "state", "status", "last_seen_up")


def _every_service(cells: CellDatabases) -> list[ServiceRecord]:
    from offpath.db.engine import reading
    from offpath.db.services import list_services

    found: list[ServiceRecord] = []
    for cell in cells.cells():
        if cell.is_cell0:
            continue
        # One cell down must not hide the others (Nova lists the rest and warns).
        try:
            with reading(cells.engine(cell)) as session:
                found.extend(list_services(session, cell=cell.name))
        except OffpathError as exc:
            typer.echo(f"warning: cell {cell.name} skipped: {exc.message}", err=True)
    return found

"""`offpath conductor`: serve the agents of one cell over RPC."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from offpath.cli.daemon import log_to_stderr, stop_on_signals
from offpath.conductor.service import run_conductor
from offpath.service_config import DEFAULT_STATE_DIR, load_service_config


def conductor(
    *,
    config_file: Annotated[
        list[Path] | None,
        typer.Option(
            "--config-file",
            help="nova.conf-style file: \\[DEFAULT] host, transport_url, \\[database] and "
            "\\[api_database] connection; repeat for several (later wins).",
            readable=False,
        ),
    ] = None,
    state_dir: Annotated[
        Path,
        typer.Option("--state-dir", help="Where the SQLite databases live when none is set."),
    ] = DEFAULT_STATE_DIR,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log debug lines too.")] = False,
) -> None:
    """Serve the conductor topic for this cell until SIGTERM (run `offpath db sync` first)."""
    config = load_service_config(config_file or [], state_dir=state_dir)
    log_to_stderr(verbose=verbose)
    run_conductor(config, stop=stop_on_signals())

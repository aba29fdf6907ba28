"""`offpath conductor`: serve the agents of one cell over RPC."""

from __future__ import annotations

from typing import Annotated

import typer

from offpath.cli.daemon import log_to_stderr, stop_on_signals
from offpath.cli.options import ServiceConfigFiles, StateDir
from offpath.service_config import DEFAULT_STATE_DIR, load_service_config


def conductor(
    *,
    config_file: ServiceConfigFiles = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log debug lines too.")] = False,
) -> None:
    """Serve this cell's agents over RPC until SIGTERM.

    Run `offpath db sync` first.
    """
    from offpath.conductor.service import run_conductor

    config = load_service_config(config_file or [], state_dir=state_dir)
    log_to_stderr(verbose=verbose)
    run_conductor(config, stop=stop_on_signals())

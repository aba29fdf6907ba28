"""The `offpath` entry point: sub-command groups and the error contract.

Exit codes are a contract: 0 ok, 2 invalid input, 1 anything else. An
OffpathError is printed as `error [code]: message` and its hint on stderr,
never as a traceback.
"""

from __future__ import annotations

import os
import sys

import typer

from offpath.cli import agent, conductor, devspec, inventory, service, sim, vpd
from offpath.cli.elision import elide
from offpath.errors import InvalidInput, OffpathError

app = typer.Typer(
    name="offpath",
    help="Control plane for VMs whose SR-IOV NICs are managed by a SmartNIC/DPU.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(devspec.app, name="devspec")
app.add_typer(vpd.app, name="vpd")
app.add_typer(sim.app, name="sim")
app.command("inventory")(inventory.inventory)
app.command("agent")(agent.agent)
app.command("conductor")(conductor.conductor)
app.add_typer(service.app, name="service")


def report_error(exc: OffpathError) -> int:
    """Print an OffpathError the way the CLI promises; return its exit code."""
    print(f"error [{exc.code}]: {elide(exc.message)}", file=sys.stderr)
    if exc.hint:
        print(f"  hint: {elide(exc.hint)}", file=sys.stderr)
    return 2 if isinstance(exc, InvalidInput) else 1


def report_bug(exc: Exception) -> int:
    """Print an unexpected exception as one line (a bug, not bad input); exit code 1."""
    print(f"error [internal]: {type(exc).__name__}: {elide(str(exc))}", file=sys.stderr)
    print(
        "  hint: this is a bug in offpath; run again with OFFPATH_DEBUG=1 for the "
        "traceback and report it",
        file=sys.stderr,
    )
    return 1


def run() -> None:
    """Console-script entry point."""
    try:
        app(standalone_mode=True)
    except OffpathError as exc:
        sys.exit(report_error(exc))
    except Exception as exc:
        if os.environ.get("OFFPATH_DEBUG"):
            raise
        sys.exit(report_bug(exc))

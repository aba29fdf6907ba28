"""The `offpath` entry point: sub-command groups and the conventions every command follows.

Exit codes are a contract, one per kind of error; the table lives in
offpath.errors (``exit_code`` on each kind) and `offpath --help` prints it::

    0  ok
    2  invalid input (InvalidInput), also a usage error
    3  not found (NotFound)
    4  conflict (Conflict)
    5  unavailable (Unavailable)
    6  unauthenticated (Unauthenticated)
    7  forbidden (Forbidden)
    1  internal error: a bug in offpath

An OffpathError is printed as `error [code]: message` and its hint on
stderr, never as a traceback.

What a new command follows: `-h` is `--help`; help text is shown as written
(no markup, so `[pci]` stays `[pci]`); every option taking a value names it
with a metavar (FILE, DIR, URI, N); options several commands take come from
cli.options (`--sysfs-root` is checked there); `--json` documents go through
cli.output.print_json and tables through cli.output.table_console.
"""

from __future__ import annotations

import os
import re
import sys
from importlib.metadata import version
from typing import Annotated

import typer

from offpath.cli import (
    agent,
    conductor,
    db,
    demo,
    devspec,
    identity,
    inventory,
    network,
    schedule,
    serve,
    service,
    sim,
    vpd,
)
from offpath.cli.elision import elide
from offpath.errors import KINDS, InvalidInput, OffpathError


def exit_codes_epilog() -> str:
    """The exit-code table of `offpath --help`, from the kinds of offpath.errors."""
    rows = [("0", "ok")]
    rows += [(str(kind.exit_code), _kind_help(kind)) for kind in KINDS]
    rows.append((str(OffpathError.exit_code), "internal error: a bug in offpath"))
    # \b keeps click from re-wrapping the table into one paragraph.
    return "\b\nExit codes:\n" + "\n".join(f"  {code}  {text}" for code, text in rows)


def _kind_help(kind: type[OffpathError]) -> str:
    words = re.sub(r"(?<!^)([A-Z])", r" \1", kind.__name__).lower()
    usage = ", also a usage error" if kind is InvalidInput else ""
    return f"{words} ({kind.__name__}){usage}"


app = typer.Typer(
    name="offpath",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Help is shown as written: rich markup would eat `[pci]` and every bracket to come.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=exit_codes_epilog(),
)
app.add_typer(devspec.app, name="devspec")
app.add_typer(vpd.app, name="vpd")
app.add_typer(sim.app, name="sim")
app.command("inventory")(inventory.inventory)
app.command("agent")(agent.agent)
app.command("conductor")(conductor.conductor)
app.command("serve")(serve.serve)
app.command("demo")(demo.demo)
app.add_typer(service.app, name="service")
app.add_typer(db.db_app, name="db")
app.add_typer(db.cell_app, name="cell")
app.add_typer(identity.app, name="identity")
app.add_typer(schedule.app, name="schedule")
app.add_typer(network.app, name="network")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"offpath {version('offpath')}")
        raise typer.Exit()


@app.callback()
def offpath(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Control plane for VMs whose SR-IOV NICs are managed by a SmartNIC/DPU."""


def report_error(exc: OffpathError) -> int:
    """Print an OffpathError the way the CLI promises; return its kind's exit code."""
    print(f"error [{exc.code}]: {elide(exc.message)}", file=sys.stderr)
    if exc.hint:
        print(f"  hint: {elide(exc.hint)}", file=sys.stderr)
    return exc.exit_code


def report_bug(exc: Exception) -> int:
    """Print an unexpected exception as one line (a bug, not bad input); the internal exit code."""
    print(f"error [internal]: {type(exc).__name__}: {elide(str(exc))}", file=sys.stderr)
    print(
        "  hint: this is a bug in offpath; run again with OFFPATH_DEBUG=1 for the "
        "traceback and report it",
        file=sys.stderr,
    )
    return OffpathError.exit_code


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

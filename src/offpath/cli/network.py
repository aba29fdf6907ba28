"""`offpath network audit [--fix]`: OVN's copy of networks and ports against the API database.

The OVN is the one `[ovn] ovn_nb_connection` / `ovn_sb_connection` name,
else the one `offpath serve --ovn` runs in the state directory (its unix
sockets `ovn/nb.sock` and `ovn/sb.sock`). Exit 0 when OVN matches the
database, 4 (a conflict) when drift remains (after `--fix`, what it could
not repair); 1 stays offpath's code for a bug.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer
from rich.table import Table

from offpath.cli.elision import elide
from offpath.cli.options import AsJson, ServiceConfigFiles, StateDir
from offpath.cli.output import print_json, table_console
from offpath.errors import Conflict, OvnNotConfigured
from offpath.network.ovn.config import OvnConfig
from offpath.service_config import (
    DEFAULT_STATE_DIR,
    ServiceConfig,
    load_service_config,
    service_credentials,
)

if TYPE_CHECKING:
    from offpath.network.ovn.audit import AuditReport, OvnAudit
    from offpath.network.ovn.drift import Drift

# Where `offpath serve --ovn` keeps its OVN, under the state directory.
SERVED_OVN_DIR: Final = "ovn"
# A table cell may hold a long column-by-column difference; --json has it whole.
MESSAGE_LIMIT: Final = 1000
# Drift remaining is a conflict between the database and OVN (1 means a bug in offpath).
DRIFT_EXIT: Final = Conflict.exit_code

app = typer.Typer(help="The network service's backend: OVN.", no_args_is_help=True)

Fix = Annotated[
    bool,
    typer.Option(
        "--fix",
        help="Repair what the database alone decides (rewrite switches and ports, delete "
        "stale rows, set port status from OVN), then audit again.",
    ),
]


def served_ovn(state_dir: Path) -> OvnConfig | None:
    """The OVN `offpath serve --ovn` runs in `state_dir`, by its unix sockets; None if none."""
    directory = state_dir / SERVED_OVN_DIR
    nb, sb = directory / "nb.sock", directory / "sb.sock"
    if not (nb.exists() and sb.exists()):
        return None
    return OvnConfig(nb_connection=f"unix:{nb}", sb_connection=f"unix:{sb}")


def ovn_of(config: ServiceConfig) -> OvnConfig:
    """The OVN the config names, else the one in its state directory; OvnNotConfigured if none."""
    found = config.ovn or served_ovn(config.state_dir)
    if found is None:
        files = ", ".join(map(str, config.files)) or "no config file given"
        raise OvnNotConfigured(files, str(config.state_dir))
    return found


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the command shows: every drift (marked when repaired) and what is left."""

    checked: AuditReport
    shown: tuple[tuple[Drift, bool], ...]
    left: tuple[Drift, ...]
    fixed: int = 0


def _audited(audit: OvnAudit, *, fix: bool) -> Outcome:
    before = audit.run()
    if not fix or not any(drift.fixable for drift in before.drifts):
        return Outcome(before, tuple((d, False) for d in before.drifts), before.drifts)
    applied = audit.fix(before.drifts)
    after = audit.settle()
    still = {drift.key for drift in after.drifts}
    repaired = [drift for drift in applied if drift.key not in still]
    shown = [(drift, True) for drift in repaired] + [(drift, False) for drift in after.drifts]
    return Outcome(after, tuple(shown), after.drifts, len(repaired))


@contextmanager
def _opened_audit(config: ServiceConfig) -> Iterator[OvnAudit]:
    """An audit over the API database and the OVN of `config`; both closed on exit."""
    from offpath.db.engine import open_engine
    from offpath.db.schema_version import SchemaKind, require
    from offpath.network.nova_notifier import NovaNotifier
    from offpath.network.ovn.backend import OvnBackend

    ovn = ovn_of(config)
    engine = open_engine(config.api_database_url)
    notifier = (
        NovaNotifier(config.nova_endpoint, token=service_credentials(config))
        if config.nova_endpoint
        else None
    )
    try:
        require(engine, SchemaKind.API)
        with OvnBackend(ovn, down_time=timedelta(seconds=config.agent_down_time)) as backend:
            service = backend.network_service(engine, events=notifier, hear_status=False)
            yield backend.audit(service)
    finally:
        if notifier is not None:
            notifier.close()
        engine.dispose()


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(outcome: Outcome) -> str:
    """The last line: what was checked, and what is left."""
    checked = (
        f"{_plural(outcome.checked.networks, 'network')}, "
        f"{_plural(outcome.checked.ports, 'port')} checked"
    )
    fixed = f"fixed {outcome.fixed}; " if outcome.fixed else ""
    if not outcome.left:
        return f"{fixed}no drift: {checked}"
    fixable = sum(drift.fixable for drift in outcome.left)
    advice = "; --fix repairs the fixable ones" if fixable and not outcome.fixed else ""
    return (
        f"{fixed}{_plural(len(outcome.left), 'drift')} left ({fixable} fixable): {checked}{advice}"
    )


def _print_table(shown: Sequence[tuple[Drift, bool]], *, fix: bool) -> None:
    columns = ["Kind", "Resource", "Fixable", *(["Fixed"] if fix else []), "Message"]
    table = Table(*columns)
    for drift, fixed in shown:
        cells = [drift.kind.value, drift.resource, "yes" if drift.fixable else "no"]
        if fix:
            cells.append("yes" if fixed else "no")
        table.add_row(*cells, elide(drift.message, MESSAGE_LIMIT))
    with table_console() as console:
        console.print(table)


@app.command("audit")
def audit(
    *,
    fix: Fix = False,
    config_file: ServiceConfigFiles = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
    as_json: AsJson = False,
) -> None:
    """Compare OVN with the network service's database.

    Every network must be its Logical_Switch neutron-<id> and every port its
    Logical_Switch_Port, as the database says; a remote-managed port must be
    claimed by its requested DPU chassis, and its status must be OVN's up.

    OVN is the one [ovn] ovn_nb_connection and ovn_sb_connection name, else
    the one `offpath serve --ovn` runs in the state directory (unix sockets
    STATE_DIR/ovn/nb.sock and STATE_DIR/ovn/sb.sock).

    Exit 0 when they agree, 4 when drift remains (after --fix: what it could
    not repair).
    """
    config = load_service_config(config_file or [], state_dir=state_dir)
    with _opened_audit(config) as opened:
        outcome = _audited(opened, fix=fix)
    if as_json:
        print_json([{**drift.to_json(), "fixed": fixed} for drift, fixed in outcome.shown])
    else:
        if outcome.shown:
            _print_table(outcome.shown, fix=fix)
        typer.echo(summary(outcome))
    raise typer.Exit(DRIFT_EXIT if outcome.left else 0)

"""`offpath demo`: a cloud of four simulated hosts, two servers booted through openstacksdk, then
one live-migrated and one cold-migrated."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from offpath.cli.daemon import log_to_stderr, stop_on_signals
from offpath.cli.output import table_console
from offpath.cli.serve import CLOUDS_YAML, Ovn, Port

if TYPE_CHECKING:
    from rich.table import Table

    from offpath.embedded.demo import DemoBoot, DemoMove, PortPlace
    from offpath.network.ovn.backend import OvnBackend

COLUMNS = (
    "server",
    "host",
    "port",
    "vnic type",
    "VF address",
    "card serial",
    "PF MAC",
    "VF num",
    "port status",
    "waited for plug event",
    "boot",
)
MOVE_COLUMNS = (
    "server",
    "move",
    "",
    "host",
    "VF address",
    "card serial",
    "PF MAC",
    "VF num",
    "physical network",
    "took",
)


def demo(
    *,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--state-dir",
            metavar="DIR",
            help="Keep the demo's databases and hosts here (default: a fresh temporary dir).",
        ),
    ] = None,
    serve: Annotated[
        bool,
        typer.Option("--serve", help="Keep the cloud running and print a clouds.yaml for it."),
    ] = False,
    port: Port = None,
    ovn: Ovn = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log what every part does.")] = False,
) -> None:
    """Boot two servers on simulated hosts, then move both.

    Hosts: a BlueField-2, a BlueField-3 and two ConnectX-6 Dx. The remote-managed server is
    live-migrated, the direct one cold-migrated (then confirmed); each port's binding profile
    is shown before and after.
    """
    from offpath.embedded.cloud import EmbeddedCloud
    from offpath.embedded.demo import DEMO_HOSTS, connect, run_demo, run_moves
    from offpath.service_config import load_service_config

    log_to_stderr(verbose=verbose)
    if not verbose:
        # A demo shows its own progress lines; the parts' logs are for --verbose.
        logging.getLogger().setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="offpath-demo-") as scratch:
        where = state_dir or Path(scratch)
        where.mkdir(parents=True, exist_ok=True)
        config = load_service_config([], state_dir=where)
        started = time.monotonic()
        cloud = EmbeddedCloud(
            config,
            state_dir=where,
            sim_hosts=DEMO_HOSTS,
            port=0 if port is None and not serve else port,
            progress=_say,
            ovn=ovn,
        )
        with cloud:
            endpoints = cloud.endpoints
            assert endpoints is not None
            _say(f"cloud up in {time.monotonic() - started:.1f} s at {endpoints.base}")
            conn = connect(endpoints)
            try:
                boots = run_demo(conn, progress=_say)
                with table_console() as console:
                    console.print(_boots_table(boots))
                moves = run_moves(conn, boots, progress=_say)
            finally:
                conn.close()
            with table_console() as console:
                console.print(_moves_table(moves))
                if cloud.ovn_backend is not None:
                    console.print(_ovn_table(cloud.ovn_backend, boots))
            if serve:
                clouds = where / CLOUDS_YAML
                clouds.write_text(endpoints.clouds_yaml(), encoding="utf-8")
                typer.echo(f"\n# {clouds.resolve()}\n{endpoints.clouds_yaml()}")
                typer.echo(
                    f"# OS_CLIENT_CONFIG_FILE={clouds.resolve()} openstack --os-cloud offpath "
                    "server list\n# Ctrl-C stops the cloud."
                )
                stop = stop_on_signals()
                while not stop.wait(0.5):
                    pass


def _boots_table(boots: Sequence[DemoBoot]) -> Table:
    """What each boot got: the host, the VF its port's profile names, the wait."""
    from rich.table import Table

    table = Table(*COLUMNS, title="offpath demo: two boots")
    for boot in boots:
        table.add_row(
            boot.server,
            boot.host,
            boot.port,
            boot.vnic_type,
            boot.vf_address,
            boot.card_serial,
            boot.pf_mac,
            boot.vf_num,
            boot.port_status,
            boot.waited_for,
            f"{boot.seconds:.2f} s",
        )
    return table


def _moves_table(moves: Sequence[DemoMove]) -> Table:
    """Each move: the port's binding before and after, one row each."""
    from rich.table import Table

    table = Table(*MOVE_COLUMNS, title="offpath demo: two moves, each port's binding profile")
    for move in moves:
        table.add_row(move.server, move.move, "before", *_place_cells(move.before), "")
        table.add_row(
            "", "", "after", *_place_cells(move.after), f"{move.seconds:.2f} s", end_section=True
        )
    return table


def _place_cells(place: PortPlace) -> tuple[str, ...]:
    return (
        place.host,
        place.vf_address,
        place.card_serial,
        place.pf_mac,
        place.vf_num,
        place.physical_network,
    )


def _ovn_table(backend: OvnBackend, boots: Sequence[DemoBoot]) -> Table:
    """What OVN holds for each remote-managed port: the LSP's plug options and who claimed it."""
    from rich.table import Table

    table = Table(
        "port",
        "Logical_Switch_Port options",
        "Port_Binding chassis",
        "up",
        title="OVN: the Northbound row and the Southbound binding of each remote-managed port",
    )
    for boot in boots:
        if boot.vnic_type != "remote-managed":
            continue
        row = backend.nb.row("Logical_Switch_Port", boot.port_id)
        binding = backend.chassis.port_binding(boot.port_id)
        options = "\n".join(f"{k}={v}" for k, v in sorted(dict(row.options).items())) if row else ""
        claimed = backend.chassis.chassis_name(binding.chassis) if binding else None
        table.add_row(
            boot.port, options, claimed or "(unclaimed)", str(bool(row and list(row.up) == [True]))
        )
    return table


def _say(line: str) -> None:
    typer.echo(f"offpath demo: {line}", err=True)

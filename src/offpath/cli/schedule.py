"""`offpath schedule explain`: why each host would or would not take a hypothetical request."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from offpath.cli.options import AsJson, ServiceConfigFiles, StateDir
from offpath.cli.output import print_json, table_console
from offpath.jsonvalue import JsonValue
from offpath.pci.request import NumaPolicy
from offpath.ports.vnic import VnicType
from offpath.service_config import DEFAULT_STATE_DIR, load_service_config

app = typer.Typer(help="Ask the scheduler, without claiming anything.", no_args_is_help=True)


@app.command("explain")
def explain(
    *,
    vnic_type: Annotated[
        str,
        typer.Option("--vnic-type", metavar="TYPE", help="The port's vnic type."),
    ] = VnicType.REMOTE_MANAGED.value,
    physnet: Annotated[
        str | None,
        typer.Option("--physnet", metavar="NAME", help="The network's physical network."),
    ] = None,
    ports: Annotated[int, typer.Option("--ports", metavar="N", help="How many such ports.")] = 1,
    numa_nodes: Annotated[
        int | None,
        typer.Option("--numa-nodes", metavar="N", help="Flavor hw:numa_nodes."),
    ] = None,
    numa_policy: Annotated[
        str | None,
        typer.Option("--numa-policy", metavar="POLICY", help="hw:pci_numa_affinity_policy."),
    ] = None,
    config_file: ServiceConfigFiles = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
    as_json: AsJson = False,
) -> None:
    """Each host's verdict on a request for ports of one vnic type.

    A host that passes shows "ok"; one that does not names the first filter that rejected it.
    """
    from offpath.db.cells import CellDatabases
    from offpath.db.engine import open_engine
    from offpath.scheduler.filters import summarize
    from offpath.scheduler.host_state import HostStateCache
    from offpath.scheduler.hypothetical import hypothetical_request, verdict_json
    from offpath.scheduler.scheduler import Scheduler

    config = load_service_config(config_file or [], state_dir=state_dir)
    vnic = VnicType.parse(vnic_type)
    policy = NumaPolicy(numa_policy) if numa_policy else None
    request = hypothetical_request(
        vnic, physnet=physnet, ports=ports, numa_nodes=numa_nodes, numa_policy=policy
    )
    cells = CellDatabases(open_engine(config.api_database_url))
    try:
        cache = HostStateCache(cells, service_down_time=config.service_down_time)
        verdicts = Scheduler(cache).explain(request)
    finally:
        cells.dispose()
    if as_json:
        document: list[JsonValue] = [verdict_json(v) for v in verdicts]
        print_json(document)
        return
    table = Table("Host", "Cell", "Free devices", "Verdict")
    for v in verdicts:
        verdict = "ok" if v.rejection is None else v.rejection.value
        table.add_row(v.host, v.cell, str(v.free_devices), verdict)
    with table_console() as console:
        console.print(table)
    rejected = [v.rejection for v in verdicts if v.rejection is not None]
    fits = len(verdicts) - len(rejected)
    typer.echo(f"{fits} of {len(verdicts)} host(s) can take it")
    if rejected:
        typer.echo(f"rejected: {summarize(rejected, hosts=len(rejected))}")

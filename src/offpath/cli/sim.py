"""`offpath sim`: simulated hosts (sysfs trees with VPD) and DPUs on OVN, without hardware."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from offpath.cli import sim_dpu
from offpath.sim.faults import DESCRIPTIONS, parse_fault
from offpath.sim.host import MANIFEST, SimHost, write_host
from offpath.sim.profile import builtin_profiles, load_profile

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.callback()
def sim() -> None:
    """Simulate hosts (sysfs trees with VPD) and DPUs on OVN."""


app.command("dpu")(sim_dpu.dpu)


def _fault_help() -> str:
    kinds = "; ".join(f"{kind}: {text}" for kind, text in DESCRIPTIONS.items())
    return f"Inject a fault, KIND or KIND@PCI-ADDRESS; repeatable. Kinds: {kinds}."


@app.command("host")
def host(
    *,
    profile: Annotated[
        str,
        typer.Option(
            metavar="PROFILE",
            help=f"Built-in profile ({', '.join(builtin_profiles())}) or a profile YAML file.",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            metavar="DIR",
            help="Directory to write; it plays /sys. Must be new, empty or a sim tree.",
        ),
    ],
    hostname: Annotated[
        str, typer.Option(metavar="NAME", help="Host name recorded in the manifest.")
    ] = ("sim-host"),
    vfs: Annotated[
        int | None,
        typer.Option(metavar="N", help="VFs per PF (default: the profile's default_vfs)."),
    ] = None,
    numa_nodes: Annotated[
        int, typer.Option(metavar="N", help="NUMA nodes the PFs are spread over.")
    ] = 1,
    seed: Annotated[
        int, typer.Option(metavar="N", help="Seed for serials and MACs (with the host name).")
    ] = 0,
    fault: Annotated[
        list[str] | None, typer.Option(metavar="KIND[@ADDRESS]", help=_fault_help())
    ] = None,
) -> None:
    """Write a simulated host's sysfs tree. It holds devices, VPD, netdevs and offpath-sim.json."""
    written = write_host(
        load_profile(profile),
        out,
        hostname=hostname,
        vfs=vfs,
        numa_nodes=numa_nodes,
        seed=seed,
        faults=[parse_fault(text) for text in fault or ()],
    )
    print_summary(written)


def print_summary(host: SimHost) -> None:
    """A few lines: what was written where, card by card and PF by PF."""
    typer.echo(
        f"wrote simulated host {host.hostname!r} (profile {host.profile}) to {host.root}: "
        f"{len(host.cards)} card(s), {len(host.pfs)} PF(s), {len(host.vfs)} VF(s)"
    )
    for card in host.cards:
        typer.echo(f"  card {card.index} (slot {card.slot}): serial {card.serial or 'none'}")
        for pf in card.pfs:
            vfs = f"{pf.vfs[0].address}..{pf.vfs[-1].address}" if pf.vfs else "none"
            numa = "unknown" if pf.numa_node is None else pf.numa_node
            typer.echo(
                f"    PF {pf.address} {pf.ifname} {pf.mac} numa {numa}: {len(pf.vfs)} VF(s) {vfs}"
            )
    faults = ", ".join(str(fault) for fault in host.faults) or "none"
    typer.echo(f"  faults: {faults}")
    typer.echo(f"  manifest: {host.root / MANIFEST}")

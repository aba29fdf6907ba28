"""`offpath serve`: the whole cloud in one process, with simulated hosts and DPUs if asked."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from offpath.cli.daemon import log_to_stderr, stop_on_signals
from offpath.cli.options import ServiceConfigFiles, StateDir
from offpath.service_config import DEFAULT_STATE_DIR, load_service_config

CLOUDS_YAML = "clouds.yaml"

SimHosts = Annotated[
    list[str] | None,
    typer.Option(
        "--sim-host",
        metavar="NAME=PROFILE[,cell=C][,service_version=N][,vfs=N]",
        help="Simulate a host of this profile (bluefield2, bluefield3, cx6dx, e810 or a "
        "YAML file) with an agent on libvirt's test driver; repeat for several.",
    ),
]

Ovn = Annotated[
    bool,
    typer.Option(
        "--ovn",
        help="Bind remote-managed ports through OVN: the databases [ovn] names, else a "
        "Northbound and Southbound ovsdb-server with ovn-northd started in STATE_DIR/ovn; "
        "each simulated DPU plays ovn-controller.",
    ),
]

Port = Annotated[
    int | None,
    typer.Option(
        "--port", metavar="PORT", help="Port of the HTTP API (default [api] port, 8774; 0: any)."
    ),
]


def serve(
    *,
    config_file: ServiceConfigFiles = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
    port: Port = None,
    sim_host: SimHosts = None,
    ovn: Ovn = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log debug lines too.")] = False,
) -> None:
    """Run the whole cloud in one process until SIGTERM.

    The API, conductors, scheduler and network service, and simulated hosts.

    With no config: SQLite in the state directory and an in-process queue.
    Writes a clouds.yaml for the openstack CLI into the state directory.
    """
    from offpath.embedded.cloud import EmbeddedCloud
    from offpath.embedded.sim_hosts import parse_sim_host

    requests = [parse_sim_host(value) for value in sim_host or ()]
    config = load_service_config(config_file or [], state_dir=state_dir)
    log_to_stderr(verbose=verbose)
    stop = stop_on_signals()
    state_dir.mkdir(parents=True, exist_ok=True)
    with EmbeddedCloud(
        config, state_dir=state_dir, sim_hosts=requests, port=port, progress=_say, ovn=ovn
    ) as cloud:
        assert cloud.endpoints is not None
        clouds = state_dir / CLOUDS_YAML
        clouds.write_text(cloud.endpoints.clouds_yaml(), encoding="utf-8")
        _say(f"ready: {cloud.endpoints.compute}")
        _say(f"openstack CLI: OS_CLIENT_CONFIG_FILE={_shown(clouds)} openstack --os-cloud offpath")
        while not stop.wait(0.5):
            pass


def _say(line: str) -> None:
    typer.echo(f"offpath serve: {line}", err=True)


def _shown(path: Path) -> str:
    return str(path.resolve())

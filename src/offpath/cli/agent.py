"""`offpath agent`: this host's agent, reporting its PCI inventory to its cell's conductor."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from offpath.cli.daemon import log_to_stderr, stop_on_signals
from offpath.cli.inventory import load_specs
from offpath.compute.agent import Discover, run_agent
from offpath.compute.libvirt_nodedev import discover_libvirt
from offpath.errors import OptionsConflict
from offpath.pci.discovery.sysfs_reader import check_sysfs_root, discover_sysfs
from offpath.pci.sysfs import DEFAULT_SYSFS_ROOT
from offpath.service_config import load_service_config


def agent(
    *,
    config_file: Annotated[
        list[Path],
        typer.Option(
            "--config-file",
            help="nova.conf-style file: \\[DEFAULT] host, transport_url, report_interval, "
            "update_resources_interval, \\[pci], \\[libvirt]; repeat for several (later wins).",
            readable=False,
        ),
    ],
    sysfs_root: Annotated[
        Path | None,
        typer.Option("--sysfs-root", help="Read devices from this directory that plays /sys."),
    ] = None,
    libvirt_uri: Annotated[
        str | None,
        typer.Option(
            "--libvirt-uri",
            help="Read devices from libvirt at this URI (default: \\[libvirt] connection_uri).",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log debug lines too.")] = False,
) -> None:
    """Run this host's agent until SIGTERM: register, heartbeat, report the PCI inventory."""
    if sysfs_root is not None and libvirt_uri is not None:
        raise OptionsConflict("--sysfs-root", "--libvirt-uri")
    config = load_service_config(config_file)
    discover: Discover
    if sysfs_root is not None:
        check_sysfs_root(sysfs_root)
        discover = partial(discover_sysfs, sysfs_root)
    else:
        discover = partial(discover_libvirt, libvirt_uri or config.libvirt_uri)
    specs = load_specs(config_file, sysfs_root=sysfs_root or DEFAULT_SYSFS_ROOT)
    log_to_stderr(verbose=verbose)
    run_agent(config, discover=discover, specs=specs, stop=stop_on_signals())

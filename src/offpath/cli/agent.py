"""`offpath agent`: this host's agent, reporting its PCI inventory to its cell's conductor."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import typer

from offpath.cli.daemon import log_to_stderr, stop_on_signals
from offpath.cli.options import ConfigFiles, OptionalSysfsRoot
from offpath.config import load_device_specs
from offpath.errors import OptionsConflict
from offpath.pci.discovery.sysfs_reader import discover_sysfs
from offpath.pci.sysfs import DEFAULT_SYSFS_ROOT
from offpath.service_config import load_service_config, service_credentials


def agent(
    *,
    config_file: ConfigFiles,
    sysfs_root: OptionalSysfsRoot = None,
    libvirt_uri: Annotated[
        str | None,
        typer.Option(
            "--libvirt-uri",
            metavar="URI",
            help="Read devices from libvirt at this URI (default: [libvirt] connection_uri).",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log debug lines too.")] = False,
) -> None:
    """Run this host's agent: inventory, builds, deletes.

    Stops cleanly on SIGTERM or SIGINT.
    """
    if sysfs_root is not None and libvirt_uri is not None:
        raise OptionsConflict("--sysfs-root", "--libvirt-uri")
    from offpath.compute.agent import Discover, run_agent
    from offpath.compute.libvirt_host import driver_supports_remote_managed
    from offpath.compute.libvirt_nodedev import discover_libvirt
    from offpath.network.client import NeutronClient

    config = load_service_config(config_file)
    discover: Discover
    if sysfs_root is not None:
        discover = partial(discover_sysfs, sysfs_root)
    else:
        discover = partial(discover_libvirt, libvirt_uri or config.libvirt_uri)
    specs = load_device_specs(config_file, sysfs_root=sysfs_root or DEFAULT_SYSFS_ROOT)
    log_to_stderr(verbose=verbose)
    # The network service (offpath's or a real Neutron) binds the ports this host builds with.
    network = NeutronClient(config.neutron_endpoint, token=service_credentials(config))
    try:
        run_agent(
            config,
            discover=discover,
            specs=specs,
            stop=stop_on_signals(),
            driver_supports_remote_managed=driver_supports_remote_managed(
                libvirt_uri or config.libvirt_uri
            ),
            network=network,
        )
    finally:
        network.close()

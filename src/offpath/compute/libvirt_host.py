"""What the host's libvirt can do for remote-managed ports.

Nova's libvirt driver reports the capability (trait
COMPUTE_REMOTE_MANAGED_PORTS) only from libvirt 7.9.0, the first release that
exposes a device's PCI VPD, where the card serial number is read.
"""

from __future__ import annotations

import logging
from typing import Final

import libvirt

from offpath.compute.libvirt_nodedev import connected, connection_problem
from offpath.errors import LibvirtUnavailable

LOG = logging.getLogger(__name__)

# libvirt encodes versions as major * 1,000,000 + minor * 1,000 + release.
MIN_LIBVIRT_REMOTE_MANAGED: Final = 7_009_000


def supports_remote_managed_ports(libvirt_version: int) -> bool:
    """True when a libvirt of this version can serve remote-managed ports."""
    return libvirt_version >= MIN_LIBVIRT_REMOTE_MANAGED


def libvirt_version(uri: str) -> int:
    """The version of the libvirt library behind `uri`; LibvirtUnavailable if unreachable."""
    with connected(uri) as conn:
        try:
            return int(conn.getLibVersion())
        except (libvirt.libvirtError, SystemError) as exc:
            problem = connection_problem(exc)
            raise LibvirtUnavailable(uri, f"cannot read its version: {problem}") from exc


def driver_supports_remote_managed(uri: str) -> bool:
    """The driver capability as the agent reports it; False (with a warning) if libvirt is away."""
    try:
        version = libvirt_version(uri)
    except LibvirtUnavailable as exc:
        LOG.warning("remote-managed ports not offered: %s", exc.message)
        return False
    supported = supports_remote_managed_ports(version)
    if not supported:
        major, rest = divmod(version, 1_000_000)
        LOG.warning(
            "remote-managed ports not offered: libvirt %d.%d.%d is older than 7.9.0",
            major,
            rest // 1000,
            rest % 1000,
        )
    return supported

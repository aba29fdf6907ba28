"""Where OVN's databases are, as Neutron's `[ovn]` section says (no ovsdbapp import here)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

# Neutron's defaults: 180 s for a command, a probe every 60 s.
DEFAULT_TIMEOUT: Final = 180
DEFAULT_PROBE_INTERVAL: Final = 60000
_REMOTE: Final = re.compile(r"(tcp|ssl):[^,]+:\d+|(tcp|ssl):\[[^\]]+\]:\d+|unix:[^,]+")


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """The private key, certificate and CA certificate for an `ssl:` connection."""

    private_key: str = ""
    certificate: str = ""
    ca_cert: str = ""


@dataclass(frozen=True, slots=True)
class OvnConfig:
    """Where OVN's databases are and how long to wait for them (Neutron's `[ovn]` options)."""

    nb_connection: str
    sb_connection: str
    timeout: int = DEFAULT_TIMEOUT
    probe_interval: int = DEFAULT_PROBE_INTERVAL
    nb_tls: TlsFiles = TlsFiles()
    sb_tls: TlsFiles = TlsFiles()


def connection_problem(value: str) -> str | None:
    """Why `value` is not an OVSDB remote list (`tcp:IP:PORT`, `ssl:IP:PORT`, `unix:PATH`)."""
    for item in value.split(","):
        if not _REMOTE.fullmatch(item.strip()):
            return f"{item.strip()!r} is not tcp:IP:PORT, ssl:IP:PORT or unix:PATH"
    return None

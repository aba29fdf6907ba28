"""Simulated hosts for the embedded cloud: `--sim-host NAME=PROFILE[,key=value]...`.

Each host gets a simulator tree that plays its `/sys` and a nova.conf-shaped
file with its `[DEFAULT] host` and a default `[pci] device_spec`, so its
agent runs exactly as `offpath agent --config-file` would on a real host: a
DPU card's VFs are tagged remote-managed (overlay networks, no physnet), a
NIC's VFs are `direct` on `physnet1`. Its `[libvirt] connection_uri` names a
node file of libvirt's test driver in the host's folder: each connection to
such a file keeps its own guests, so every host has its own (a guest can
live-migrate between two hosts).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from offpath.errors import SimHostSpecInvalid
from offpath.sim.dpu import SimDpu
from offpath.sim.host import write_host
from offpath.sim.model import SimHost
from offpath.sim.profile import CardRole, HostProfile, load_profile
from offpath.version import SERVICE_VERSION

DEFAULT_CELL: Final = "cell1"
# Where NIC VFs sit unless the operator's own config says otherwise.
DEFAULT_PHYSNET: Final = "physnet1"
# NAME=PROFILE, then comma-separated key=value options.
_NAME: Final = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])?")
_CELL: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_KEYS: Final = ("cell", "service_version", "vfs")
MAX_SIM_VFS: Final = 256
# libvirt's test driver reads a node from this file; an empty node holds no guests yet.
TEST_DRIVER_NODE: Final = "<node/>\n"


@dataclass(frozen=True, slots=True)
class SimHostRequest:
    """One `--sim-host` value, parsed."""

    name: str
    profile: str
    cell: str = DEFAULT_CELL
    service_version: int = SERVICE_VERSION
    vfs: int | None = None


@dataclass(frozen=True, slots=True)
class SimulatedHost:
    """A host written for the embedded cloud: its tree, its config file and its DPU cards."""

    request: SimHostRequest
    sim: SimHost
    sysfs_root: Path
    config_file: Path
    dpus: tuple[SimDpu, ...]


def parse_sim_host(value: str) -> SimHostRequest:
    """Parse `NAME=PROFILE[,cell=C][,service_version=N][,vfs=N]`."""
    head, _, rest = value.partition(",")
    name, sep, profile = head.partition("=")
    if not sep:
        raise SimHostSpecInvalid(value, "no '=' between the host name and the profile")
    if not _NAME.fullmatch(name):
        raise SimHostSpecInvalid(value, f"{name!r} is not a host name")
    if not profile:
        raise SimHostSpecInvalid(value, "the profile is empty")
    options: dict[str, str] = {}
    for item in rest.split(",") if rest else ():
        key, sep, raw = item.partition("=")
        if not sep or key not in _KEYS:
            raise SimHostSpecInvalid(value, f"{item!r} is not one of {', '.join(_KEYS)}=VALUE")
        if key in options:
            raise SimHostSpecInvalid(value, f"{key} is given twice")
        options[key] = raw
    cell = options.get("cell", DEFAULT_CELL)
    if not _CELL.fullmatch(cell):
        raise SimHostSpecInvalid(value, f"cell {cell!r} is not a cell name")
    version = _integer(value, options, "service_version", low=0, high=10_000)
    vfs = _integer(value, options, "vfs", low=0, high=MAX_SIM_VFS)
    return SimHostRequest(
        name=name,
        profile=profile,
        cell=cell,
        service_version=SERVICE_VERSION if version is None else version,
        vfs=vfs,
    )


def _integer(value: str, options: dict[str, str], key: str, *, low: int, high: int) -> int | None:
    raw = options.get(key)
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit():
        raise SimHostSpecInvalid(value, f"{key}={raw!r} is not a whole number")
    number = int(raw)
    if not low <= number <= high:
        raise SimHostSpecInvalid(value, f"{key}={number} is out of range {low}..{high}")
    return number


def default_device_specs(profile: HostProfile) -> tuple[str, ...]:
    """The `[pci] device_spec` values a host of `profile` gets when the operator gives none."""
    ids = {"vendor_id": profile.vf.vendor_id, "product_id": profile.vf.device_id}
    if profile.role is CardRole.DPU:
        return (json.dumps({**ids, "remote_managed": "true"}),)
    return (json.dumps({**ids, "physical_network": DEFAULT_PHYSNET}),)


def host_config(request: SimHostRequest, profile: HostProfile, *, libvirt_uri: str) -> str:
    """The nova.conf-shaped text of a simulated host: its name, its libvirt and its device_spec."""
    lines = [
        "# Written by offpath serve for a simulated host; an agent reads it as a real nova.conf.",
        "[DEFAULT]",
        f"host = {request.name}",
        "",
        "[libvirt]",
        f"connection_uri = {libvirt_uri}",
        "",
        "[pci]",
        *(f"device_spec = {spec}" for spec in default_device_specs(profile)),
        "",
    ]
    return "\n".join(lines)


def test_driver_uri(node: Path) -> str:
    """The `test:` URI of libvirt's test driver on the node file `node`."""
    return f"test://{urllib.parse.quote(str(node.resolve()))}"


def write_sim_host(request: SimHostRequest, state_dir: Path, *, seed: int = 0) -> SimulatedHost:
    """Write the host's tree and config under `state_dir/hosts/NAME`."""
    profile = load_profile(request.profile)
    folder = state_dir / "hosts" / request.name
    sysfs_root = folder / "sys"
    sim = write_host(profile, sysfs_root, hostname=request.name, vfs=request.vfs, seed=seed)
    node = folder / "libvirt.xml"
    node.write_text(TEST_DRIVER_NODE, encoding="utf-8")
    config_file = folder / "nova.conf"
    config_file.write_text(
        host_config(request, profile, libvirt_uri=test_driver_uri(node)), encoding="utf-8"
    )
    dpus = dpu_cards(sim, request.name) if profile.role is CardRole.DPU else ()
    return SimulatedHost(request, sim, sysfs_root, config_file, dpus)


def dpu_cards(sim: SimHost, host: str) -> tuple[SimDpu, ...]:
    """One simulated DPU per card of `sim` that carries a serial (the backend finds it by it)."""
    return tuple(
        SimDpu.of_card(card, hostname=f"{host}-dpu{card.index}")
        for card in sim.cards
        if card.serial is not None
    )

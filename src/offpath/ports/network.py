"""A Neutron network as binding sees it: its physnet, or whether it is tunnelled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from offpath.errors import NetworkWithoutPhysnetSegment

# Overlay network types: their ports match devices tagged with no physnet.
TUNNELLED_NETWORK_TYPES: Final = frozenset({"vxlan", "gre", "geneve"})


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment of a multi-provider network."""

    physical_network: str | None = None
    network_type: str | None = None
    segmentation_id: int | None = None


@dataclass(frozen=True, slots=True)
class Network:
    """A network's provider attributes; `segments` is empty without multi-provider segments."""

    id: str
    physical_network: str | None = None
    network_type: str | None = None
    segments: tuple[Segment, ...] = ()
    name: str = ""
    mtu: int | None = None


@dataclass(frozen=True, slots=True)
class PhysnetInfo:
    """The physnet a port on a network needs its device tagged with, and if it is an overlay."""

    physical_network: str | None
    tunnelled: bool


def physnet_info(network: Network) -> PhysnetInfo:
    """The first segment physnet, else the provider attributes of `network`."""
    if network.segments:
        for segment in network.segments:
            if segment.physical_network:
                return PhysnetInfo(segment.physical_network, tunnelled=False)
        # Nova bug 1983570 kept: multi-segment overlay networks are refused.
        raise NetworkWithoutPhysnetSegment(network.id)
    return PhysnetInfo(
        network.physical_network or None,
        tunnelled=network.network_type in TUNNELLED_NETWORK_TYPES,
    )

"""The segments a port on a network may be bound to, as ML2 walks them."""

from __future__ import annotations

from collections.abc import Sequence

from offpath.ports.network import TUNNELLED_NETWORK_TYPES, Network, Segment


def segments_of(network: Network, *, segmentation_id: int | None) -> tuple[Segment, ...]:
    """The network's multi-provider segments, else its provider attributes as one segment."""
    if network.segments:
        return network.segments
    return (Segment(network.physical_network, network.network_type, segmentation_id),)


def is_tunnelled(segment: Segment) -> bool:
    """True for overlay segments (geneve, vxlan, gre), which need no physnet mapping."""
    return segment.network_type in TUNNELLED_NETWORK_TYPES


def first_bindable(segments: Sequence[Segment], physnets: Sequence[str]) -> Segment | None:
    """The first segment an agent with `physnets` can serve: an overlay, or a mapped physnet."""
    for segment in segments:
        if is_tunnelled(segment) or (
            segment.physical_network is not None and segment.physical_network in physnets
        ):
            return segment
    return None


def describe_physnets(segments: Sequence[Segment]) -> str:
    """The physnets segments need, for a failure reason."""
    return ", ".join(s.physical_network or "(none)" for s in segments)

"""The physnet a port's device must carry, from its network (spec §4.3)."""

from __future__ import annotations

import pytest

from offpath.errors import NetworkWithoutPhysnetSegment
from offpath.ports.network import Network, PhysnetInfo, Segment, physnet_info


@pytest.mark.parametrize(
    ("network", "expected"),
    [
        pytest.param(
            Network("n1", physical_network="physnet1", network_type="vlan"),
            PhysnetInfo("physnet1", tunnelled=False),
            id="vlan",
        ),
        pytest.param(
            Network("n1", physical_network="physnet1", network_type="flat"),
            PhysnetInfo("physnet1", tunnelled=False),
            id="flat",
        ),
        pytest.param(
            Network("n1", network_type="vxlan"), PhysnetInfo(None, tunnelled=True), id="vxlan"
        ),
        pytest.param(
            Network("n1", network_type="gre"), PhysnetInfo(None, tunnelled=True), id="gre"
        ),
        pytest.param(
            Network("n1", network_type="geneve"), PhysnetInfo(None, tunnelled=True), id="geneve"
        ),
        pytest.param(
            Network("n1", network_type="local"), PhysnetInfo(None, tunnelled=False), id="local"
        ),
        pytest.param(
            Network("n1", physical_network="", network_type="vlan"),
            PhysnetInfo(None, tunnelled=False),
            id="empty-physnet-is-none",
        ),
    ],
)
def test_a_single_segment_network_reads_its_provider_attributes(
    network: Network, expected: PhysnetInfo
) -> None:
    assert physnet_info(network) == expected


def test_the_first_segment_with_a_physnet_wins_and_is_not_tunnelled() -> None:
    network = Network(
        "n1",
        network_type="geneve",
        segments=(
            Segment(network_type="geneve", segmentation_id=7),
            Segment("physnet2", "vlan", 100),
            Segment("physnet3", "vlan", 200),
        ),
    )
    assert physnet_info(network) == PhysnetInfo("physnet2", tunnelled=False)


def test_segments_without_any_physnet_are_nova_s_error() -> None:
    network = Network("net-1", segments=(Segment(network_type="vxlan"), Segment("", "geneve")))
    with pytest.raises(NetworkWithoutPhysnetSegment) as caught:
        physnet_info(network)
    assert caught.value.message == (
        "None of the segments of network net-1 provides a physical_network"
    )
    assert caught.value.code == "port.network.no_physnet_segment"

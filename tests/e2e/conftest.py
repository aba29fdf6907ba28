"""The healthy cloud most acceptance tests share: a BlueField-2 host and a ConnectX-6 Dx host."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from openstack.network.v2.network import Network

from tests.e2e.cloud import Cloud, running_cloud

# One PF's worth of VFs each keeps "more boots than VFs" cheap.
DPU_HOST = "bf2"
NIC_HOST = "cx"
HOSTS = (f"{DPU_HOST}=bluefield2,vfs=1", f"{NIC_HOST}=cx6dx,vfs=1")
VLAN_ID = 101


@dataclass(frozen=True, slots=True)
class Networks:
    """An overlay network (remote-managed ports) and a VLAN network on physnet1 (direct ports)."""

    overlay: Network
    vlan: Network


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """A cloud per test module; tests leave it as they found it (see `clean`)."""
    with running_cloud(tmp_path_factory.mktemp("cloud"), HOSTS) as running:
        yield running


@pytest.fixture(scope="module")
def networks(cloud: Cloud) -> Networks:
    """The module's two networks, each with a subnet."""
    net = cloud.sdk.network
    overlay = net.create_network(name="overlay", provider_network_type="geneve")
    net.create_subnet(network_id=overlay.id, ip_version=4, cidr="10.0.0.0/24")
    vlan = net.create_network(
        name="vlan",
        provider_network_type="vlan",
        provider_physical_network="physnet1",
        provider_segmentation_id=VLAN_ID,
    )
    net.create_subnet(network_id=vlan.id, ip_version=4, cidr="10.1.0.0/24")
    return Networks(overlay, vlan)


@pytest.fixture
def clean(cloud: Cloud) -> Iterator[Cloud]:
    """The shared cloud; after the test, no server is left and every VF is free again."""
    yield cloud
    for server in list(cloud.sdk.compute.servers()):
        cloud.delete(server)
    cloud.all_free(DPU_HOST, NIC_HOST)

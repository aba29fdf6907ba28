"""Fixtures of the operation tests: the four-host cloud on a binding driver, and the leak check.

`cloud` is `dpu-sim` unless a test names the driver (`DRIVER_AND_VNIC`
with OVN): the whole matrix runs on the simulated DPU backend, a
representative part through OVN. Without the OVN packages the OVN tests
fail under CI and skip elsewhere, as the other OVN tests do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import pytest
from _pytest.mark.structures import ParameterSet

from offpath.db.cells import CellDatabases
from offpath.db.engine import open_engine
from tests.e2e.cloud import Cloud, running_cloud
from tests.e2e.conftest import VLAN_ID, Networks
from tests.e2e.operations.fleet import (
    DIRECT,
    DPU_SIM,
    OVN,
    PHYSNET,
    REMOTE_MANAGED,
    SIM_HOSTS,
    Databases,
    Fleet,
)
from tests.e2e.operations.leaks import assert_no_leaks, delete_ports
from tests.network.ovn.conftest import require_ovn

# A direct port whose event is lost fails in seconds, not Nova's 300; the
# evacuated host's clean-up runs every report interval.
CONFIG: Final = "[DEFAULT]\nvif_plugging_timeout = 10\nreport_interval = 2\n"

_CASES: Final = {
    (DPU_SIM, REMOTE_MANAGED): "dpu-sim-rm",
    (DPU_SIM, DIRECT): "dpu-sim-direct",
    (OVN, REMOTE_MANAGED): "ovn-rm",
}


def _cases(*wanted: tuple[str, str]) -> list[ParameterSet]:
    return [pytest.param(driver, vnic, id=_CASES[driver, vnic]) for driver, vnic in wanted]


# Every operation: on dpu-sim, a remote-managed and a direct port.
DRIVER_AND_VNIC: Final = pytest.mark.parametrize(
    ("cloud", "vnic"),
    _cases((DPU_SIM, REMOTE_MANAGED), (DPU_SIM, DIRECT)),
    indirect=["cloud"],
    scope="package",
)
# The operations also run through OVN, for the remote-managed port.
DRIVER_AND_VNIC_WITH_OVN: Final = pytest.mark.parametrize(
    ("cloud", "vnic"),
    _cases((DPU_SIM, REMOTE_MANAGED), (DPU_SIM, DIRECT), (OVN, REMOTE_MANAGED)),
    indirect=["cloud"],
    scope="package",
)
# Remote-managed only, on dpu-sim: a failure path both port types take alike.
REMOTE_MANAGED_ONLY: Final = pytest.mark.parametrize(
    ("cloud", "vnic"),
    _cases((DPU_SIM, REMOTE_MANAGED)),
    indirect=["cloud"],
    scope="package",
)


@pytest.fixture(scope="package")
def cloud(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cloud]:
    """The four-host cloud on the driver the test names (`dpu-sim` by default)."""
    driver = getattr(request, "param", DPU_SIM)
    if driver == OVN:
        require_ovn()
    with running_cloud(
        tmp_path_factory.mktemp(f"ops-{driver}"), SIM_HOSTS, config=CONFIG, ovn=driver == OVN
    ) as running:
        yield running


@pytest.fixture(scope="package")
def networks(cloud: Cloud) -> Networks:
    """The cloud's overlay network (remote-managed ports) and VLAN network (direct ports)."""
    net = cloud.sdk.network
    overlay = net.create_network(name="overlay", provider_network_type="geneve")
    net.create_subnet(network_id=overlay.id, ip_version=4, cidr="10.0.0.0/24")
    vlan = net.create_network(
        name="vlan",
        provider_network_type="vlan",
        provider_physical_network=PHYSNET,
        provider_segmentation_id=VLAN_ID,
    )
    net.create_subnet(network_id=vlan.id, ip_version=4, cidr="10.1.0.0/24")
    return Networks(overlay, vlan)


@pytest.fixture(scope="package")
def resize_flavor(cloud: Cloud) -> str:
    """A second flavor to resize to."""
    flavor = cloud.sdk.compute.create_flavor(name="m1.medium", ram=1024, vcpus=2, disk=1)
    flavor_id: str = flavor.id
    return flavor_id


@pytest.fixture(scope="package")
def databases(cloud: Cloud) -> Iterator[Databases]:
    """The cloud's API database and its one cell's."""
    api = open_engine(cloud.cloud.config.api_database_url)
    cells = CellDatabases(api)
    ((_, cell),) = list(cells.host_cells())
    yield Databases(api, cell)
    cells.dispose()
    api.dispose()


@pytest.fixture
def fleet(
    cloud: Cloud,
    networks: Networks,
    resize_flavor: str,
    databases: Databases,
) -> Iterator[Fleet]:
    """The cloud for one test; after it, every server deleted and nothing of them left."""
    driver = OVN if cloud.cloud.ovn else DPU_SIM
    held = Fleet(cloud, driver, networks, resize_flavor, databases)
    yield held
    try:
        assert_no_leaks(held)
    finally:
        delete_ports(held)

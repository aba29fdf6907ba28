"""openstacksdk, unchanged, against the API served by uvicorn on loopback (admin_token)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openstack import exceptions
from openstack.connection import Connection

from offpath.ports.vnic import VnicType
from offpath.sim.fleet import fleet_reports
from tests.api.world import TOKEN, World, serving


@pytest.fixture
def sdk(world: World) -> Iterator[Connection]:
    """A connection configured as openstack-clients §1.2 recommends, to a live server."""
    world.cluster.report(fleet_reports(2, vfs=4))
    with serving(world.app) as base:
        conn = Connection(
            auth_type="admin_token",
            auth={"endpoint": f"{base}/compute/v2.1", "token": TOKEN},
            compute_endpoint_override=f"{base}/compute/v2.1",
            image_endpoint_override=f"{base}/image",
            network_endpoint_override=f"{base}/network",
        )
        try:
            yield conn
        finally:
            conn.close()


def test_servers_are_created_read_listed_and_deleted(world: World, sdk: Connection) -> None:
    flavor = sdk.compute.create_flavor(name="m1.dpu", ram=512, vcpus=1, disk=0)
    image = sdk.image.create_image(
        name="cirros", data=b"\0" * 512, disk_format="raw", container_format="bare"
    )
    port = world.port()
    server = sdk.compute.create_server(
        name="vm1", flavor_id=flavor.id, image_id=image.id, networks=[{"port": port}]
    )
    found = sdk.compute.get_server(server.id)
    assert found.status == "BUILD"
    assert found.compute_host in {"compute-00001", "compute-00002"}
    assert found.image.id == image.id
    assert found.flavor.original_name == "m1.dpu"
    assert [s.id for s in sdk.compute.servers()] == [server.id]
    sdk.compute.delete_server(server)
    sdk.compute.wait_for_delete(server, interval=0.1, wait=10)
    assert list(sdk.compute.servers()) == []
    assert all(row.instance_uuid is None for row in world.cluster.devices())


def test_a_server_no_host_takes_fails_the_wait_and_shows_why(world: World, sdk: Connection) -> None:
    flavor = sdk.compute.create_flavor(name="m1.dpu", ram=512, vcpus=1, disk=0)
    server = sdk.compute.create_server(
        name="vm", flavor_id=flavor.id, networks=[{"port": world.port(VnicType.DIRECT)}]
    )
    with pytest.raises(exceptions.ResourceFailure, match="failure state ERROR"):
        sdk.compute.wait_for_server(server, interval=0.1, wait=10)
    fault = sdk.compute.get_server(server.id).fault
    assert fault["message"].startswith("No valid host was found.")


def test_flavors_and_extra_specs(sdk: Connection) -> None:
    flavor = sdk.compute.create_flavor(name="m1.numa", ram=1024, vcpus=2, disk=1)
    sdk.compute.create_flavor_extra_specs(flavor, {"hw:pci_numa_affinity_policy": "preferred"})
    assert sdk.compute.fetch_flavor_extra_specs(flavor).extra_specs == {
        "hw:pci_numa_affinity_policy": "preferred"
    }
    (listed,) = sdk.compute.flavors()
    assert (listed.name, listed.ram, listed.vcpus) == ("m1.numa", 1024, 2)
    found = sdk.compute.find_flavor("m1.numa")
    assert found is not None
    assert found.id == flavor.id
    sdk.compute.delete_flavor(flavor)
    assert list(sdk.compute.flavors()) == []


def test_services_and_hypervisors(sdk: Connection) -> None:
    services = list(sdk.compute.services())
    assert [(s.host, s.state, s.status) for s in services] == [
        ("compute-00001", "up", "enabled"),
        ("compute-00002", "up", "enabled"),
    ]
    hypervisors = list(sdk.compute.hypervisors(details=True))
    assert sorted(h.name for h in hypervisors) == ["compute-00001", "compute-00002"]
    assert {h.state for h in hypervisors} == {"up"}


def test_images(sdk: Connection) -> None:
    image = sdk.image.create_image(
        name="img", data=b"abc", disk_format="raw", container_format="bare"
    )
    assert sdk.image.get_image(image.id).status == "active"
    found = sdk.image.find_image("img")
    assert found is not None
    assert found.id == image.id
    assert [i.name for i in sdk.image.images()] == ["img"]
    sdk.image.delete_image(image.id)
    assert sdk.image.find_image("img") is None

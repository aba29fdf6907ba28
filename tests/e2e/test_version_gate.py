"""The remote-managed version gate over HTTP: every compute, in every cell, must be new enough.

Each test starts its own cloud (the hosts are the point), so this module
shares none with the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openstack.network.v2.port import Port

from offpath.version import COMPUTE_BINARY
from tests.e2e.cloud import Cloud, running_cloud

NOVA_MESSAGE = "Remote-managed ports are not supported until an upgrade is fully finished."


def _remote_managed_port(cloud: Cloud) -> Port:
    net = cloud.sdk.network.create_network(name="overlay", provider_network_type="geneve")
    cloud.sdk.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.0.0.0/24")
    port: Port = cloud.sdk.network.create_port(
        network_id=net.id, binding_vnic_type="remote-managed"
    )
    return port


def _create(cloud: Cloud, port: Port) -> tuple[int, Any]:
    """POST a server on `port`; the status and the JSON body."""
    response = cloud.sdk.compute.post(
        "/servers",
        json={
            "server": {
                "name": "vm",
                "flavorRef": cloud.flavor_id,
                "imageRef": cloud.image_id,
                "networks": [{"port": port.id}],
            }
        },
        raise_exc=False,
    )
    return response.status_code, response.json()


def _nothing_left(cloud: Cloud, port: Port, hosts: list[str]) -> None:
    assert list(cloud.sdk.compute.servers()) == []
    assert all(cloud.claimed(host) == [] for host in hosts)
    refused = cloud.sdk.network.get_port(port.id)
    assert (refused.binding_host_id or None, refused.device_id) == (None, "")


@pytest.mark.parametrize(
    "old_host",
    ["old=cx6dx,vfs=1,service_version=1", "old=cx6dx,vfs=1,cell=cell2,service_version=1"],
    ids=["same-cell", "other-cell"],
)
def test_an_old_compute_anywhere_refuses_remote_managed_boots(
    tmp_path: Path, old_host: str
) -> None:
    with running_cloud(tmp_path, ["bf2=bluefield2,vfs=1", old_host]) as cloud:
        port = _remote_managed_port(cloud)
        computes = {
            (s.host, s.state) for s in cloud.sdk.compute.services() if s.binary == COMPUTE_BINARY
        }
        assert computes == {("bf2", "up"), ("old", "up")}

        status, body = _create(cloud, port)

        assert (status, body) == (400, {"badRequest": {"code": 400, "message": NOVA_MESSAGE}})
        _nothing_left(cloud, port, ["bf2", "old"])


def test_no_compute_registered_at_all_is_its_own_error(tmp_path: Path) -> None:
    with running_cloud(tmp_path, []) as cloud:
        port = _remote_managed_port(cloud)

        status, body = _create(cloud, port)

        # D10: not Nova's "upgrade not finished", which would send the operator astray.
        assert (status, body) == (
            503,
            {
                "serviceUnavailable": {
                    "code": 503,
                    "message": "no compute service is registered in any cell",
                }
            },
        )
        _nothing_left(cloud, port, [])

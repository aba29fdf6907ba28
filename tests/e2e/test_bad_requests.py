"""Bad requests: the right 4xx with a message in the API's shape; nothing claimed or left behind."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from openstack.connection import Connection
from openstack.network.v2.port import Port

from tests.e2e.cloud import Cloud
from tests.e2e.conftest import DPU_HOST, NIC_HOST, Networks


def _server_body(cloud: Cloud, port_id: str) -> dict[str, Any]:
    return {
        "server": {
            "name": "vm",
            "flavorRef": cloud.flavor_id,
            "imageRef": cloud.image_id,
            "networks": [{"port": port_id}],
        }
    }


def _create(cloud: Cloud, port_id: str, sdk: Connection | None = None) -> tuple[int, Any]:
    """POST a server on `port_id` through openstacksdk's compute proxy; status and JSON body."""
    response = (sdk or cloud.sdk).compute.post(
        "/servers", json=_server_body(cloud, port_id), raise_exc=False
    )
    return response.status_code, response.json()


def _rm_port(cloud: Cloud, network_id: str, sdk: Connection | None = None) -> Port:
    body = {"port": {"network_id": network_id, "binding:vnic_type": "remote-managed"}}
    response = (sdk or cloud.sdk).network.post("/ports", json=body)
    port: Port = cloud.sdk.network.get_port(response.json()["port"]["id"])
    return port


def _their_network(cloud: Cloud) -> str:
    """A network of the other project (the admin project's is not shared); its type is the
    default tenant type, as only an admin may name provider attributes."""
    body = {"network": {"name": "theirs"}}
    response = cloud.other.network.post("/networks", json=body)
    network_id: str = response.json()["network"]["id"]
    subnet = {"subnet": {"network_id": network_id, "ip_version": 4, "cidr": "10.9.0.0/24"}}
    cloud.other.network.post("/subnets", json=subnet)
    return network_id


def _nothing_claimed(cloud: Cloud) -> None:
    assert list(cloud.sdk.compute.servers()) == []
    assert cloud.claimed(DPU_HOST) == cloud.claimed(NIC_HOST) == []


def _untouched(cloud: Cloud, port: Port) -> None:
    now = cloud.sdk.network.get_port(port.id)
    assert (now.binding_host_id or None, now.device_id, now.binding_profile) == (None, "", {})
    assert now.status == "DOWN"


def fault(status: int, message: str) -> dict[str, Any]:
    name = {400: "badRequest", 409: "conflictingRequest"}[status]
    return {name: {"code": status, "message": message}}


def test_malformed_json_is_a_400(clean: Cloud) -> None:
    response = clean.sdk.compute.post(
        "/servers",
        data=b'{"server": {"name": "vm",',
        headers={"Content-Type": "application/json"},
        raise_exc=False,
    )
    assert response.status_code == 400
    assert response.json() == fault(400, "Malformed request body")
    _nothing_claimed(clean)


def test_an_unknown_port_is_a_400(clean: Cloud) -> None:
    missing = str(uuid.uuid4())
    assert _create(clean, missing) == (400, fault(400, f"Port id {missing} could not be found."))
    _nothing_claimed(clean)


def test_another_projects_port_is_not_found(clean: Cloud, networks: Networks) -> None:
    theirs = _rm_port(clean, _their_network(clean), clean.other)
    assert theirs.project_id == clean.other.current_project_id != clean.sdk.current_project_id
    assert _create(clean, theirs.id) == (
        400,
        fault(400, f"Port id {theirs.id} could not be found."),
    )
    # And the other way round: the admin project's port, booted by the other project.
    ours = _rm_port(clean, networks.overlay.id)
    assert _create(clean, ours.id, clean.other) == (
        400,
        fault(400, f"Port id {ours.id} could not be found."),
    )
    _nothing_claimed(clean)
    _untouched(clean, theirs)
    _untouched(clean, ours)


def test_a_port_bound_to_another_server_is_a_409(clean: Cloud, networks: Networks) -> None:
    port = _rm_port(clean, networks.overlay.id)
    first = clean.boot("vm-first", port)
    assert first.status == "ACTIVE"
    before = clean.sdk.network.get_port(port.id)

    assert _create(clean, port.id) == (409, fault(409, f"Port {port.id} is still in use."))

    assert [s.id for s in clean.sdk.compute.servers()] == [first.id]
    assert [d["instance_uuid"] for d in clean.claimed(DPU_HOST)] == [first.id]
    after = clean.sdk.network.get_port(port.id)
    assert (after.device_id, after.binding_profile, after.status) == (
        first.id,
        before.binding_profile,
        "ACTIVE",
    )


REMOTE_MANAGED_KEYS = (
    "['pci_vendor_info', 'pci_slot', 'physical_network', 'card_serial_number', "
    "'pf_mac_address', 'vf_num']"
)


@pytest.mark.parametrize(
    ("profile", "reason"),
    [
        (
            {"card_serial_number": "MT2113XEW0K5"},
            f"dict_keys({REMOTE_MANAGED_KEYS}) are all required.",
        ),
        (
            {
                "pci_vendor_info": "15b3:101e",
                "pci_slot": "0000:03:00.2",
                "physical_network": None,
                "card_serial_number": "MT2113XEW0K5",
                "pf_mac_address": "b8:ce:f6:66:04:00",
                "vf_num": "0",
            },
            "vf_num 0 value invalid type",
        ),
        ({"capabilities": "switchdev"}, "capabilities must be of type list."),
    ],
    ids=["keys-missing", "vf-num-a-string", "capabilities-not-a-list"],
)
def test_a_profile_that_fails_validation_is_a_400(
    clean: Cloud, networks: Networks, profile: dict[str, Any], reason: str
) -> None:
    port = _rm_port(clean, networks.overlay.id)
    response = clean.sdk.network.put(
        f"/ports/{port.id}", json={"port": {"binding:profile": profile}}, raise_exc=False
    )
    assert response.status_code == 400
    assert response.json() == {
        "NeutronError": {
            "type": "InvalidInput",
            "message": f"Invalid input for operation: Invalid binding:profile. {reason}",
            "detail": "",
        }
    }
    _untouched(clean, port)
    _nothing_claimed(clean)

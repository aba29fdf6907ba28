"""The /network HTTP API: Neutron's shapes, filters, errors, auth and projects."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from offpath.db.engine import open_engine
from offpath.network.embedded import embedded_network_service
from offpath.network.service import NetworkService
from tests.network.conftest import ADMIN_HEADERS, TOKEN, full_profile, network_app
from tests.network.test_dpu_sim_binding import bind, make_network, make_port, register_dpu


def neutron_error(response: object, status: int, kind: str) -> str:
    assert getattr(response, "status_code", None) == status, getattr(response, "text", "")
    body = response.json()  # type: ignore[attr-defined]
    assert set(body["NeutronError"]) == {"type", "message", "detail"}
    assert body["NeutronError"]["type"] == kind
    message: str = body["NeutronError"]["message"]
    return message


def test_discovery_is_unversioned_and_needs_no_token(service: NetworkService) -> None:
    anonymous = TestClient(network_app(service))
    body = anonymous.get("/network").json()
    assert body == {
        "versions": [
            {
                "id": "v2.0",
                "status": "CURRENT",
                "links": [{"rel": "self", "href": "http://testserver/network/v2.0/"}],
            }
        ]
    }


@pytest.mark.parametrize("headers", [{}, {"X-Auth-Token": "wrong"}], ids=["none", "wrong"])
def test_every_other_request_needs_the_token(
    service: NetworkService, headers: dict[str, str]
) -> None:
    client = TestClient(network_app(service), headers=headers)
    neutron_error(client.get("/network/v2.0/ports"), 401, "Unauthorized")


def test_a_network_with_provider_attributes_sent_as_strings_by_the_cli(http: TestClient) -> None:
    body = {
        "network": {
            "name": "net1",
            "admin_state_up": True,
            "provider:network_type": "vlan",
            "provider:physical_network": "physnet1",
            "provider:segmentation_id": "101",
            "mtu": "9000",
        }
    }
    network = http.post("/network/v2.0/networks", json=body).json()["network"]
    assert network["provider:segmentation_id"] == 101
    assert network["mtu"] == 9000
    assert network["provider:physical_network"] == "physnet1"
    assert http.get("/network/v2.0/networks", params={"name": "net1"}).json()["networks"] == [
        network
    ]


def test_find_by_name_gets_a_404_first(http: TestClient) -> None:
    make_network(http)
    neutron_error(http.get("/network/v2.0/networks/net"), 404, "NetworkNotFound")


@pytest.mark.parametrize(
    ("attrs", "fragment"),
    [
        pytest.param(
            {"provider:network_type": "vlan"}, "physical_network required", id="no-physnet"
        ),
        pytest.param({"provider:network_type": "bogus"}, "not supported", id="bad-type"),
        pytest.param(
            {
                "provider:network_type": "vlan",
                "provider:physical_network": "p",
                "provider:segmentation_id": 5000,
            },
            "out of range",
            id="bad-vlan",
        ),
        pytest.param({"mtu": "big"}, "not an integer", id="bad-mtu"),
        pytest.param({"colour": "red"}, "Unrecognized attribute(s) 'colour'", id="unknown"),
    ],
)
def test_a_bad_network_is_a_400(http: TestClient, attrs: dict[str, object], fragment: str) -> None:
    response = http.post("/network/v2.0/networks", json={"network": attrs})
    assert fragment in neutron_error(response, 400, "InvalidInput")


def test_a_port_gets_a_generated_mac_and_a_fixed_ip_from_the_subnet(http: TestClient) -> None:
    network = make_network(http)
    subnet = http.post(
        "/network/v2.0/subnets",
        json={"subnet": {"network_id": network, "ip_version": 4, "cidr": "10.1.0.0/29"}},
    ).json()["subnet"]
    assert subnet["gateway_ip"] == "10.1.0.1"
    ports = [
        http.get(f"/network/v2.0/ports/{make_port(http, network)}").json()["port"] for _ in range(5)
    ]
    assert all(p["mac_address"].startswith("fa:16:3e:") for p in ports)
    assert [p["fixed_ips"][0]["ip_address"] for p in ports] == [f"10.1.0.{i}" for i in range(2, 7)]
    assert http.get(f"/network/v2.0/networks/{network}").json()["network"]["subnets"] == [
        subnet["id"]
    ]
    # A /29 has 6 hosts, one the gateway: the sixth port finds none.
    response = http.post("/network/v2.0/ports", json={"port": {"network_id": network}})
    neutron_error(response, 409, "IpAddressGenerationFailure")


def test_a_mac_in_use_is_a_409(http: TestClient) -> None:
    network = make_network(http)
    body = {"port": {"network_id": network, "mac_address": "FA:16:3E:00:00:01"}}
    assert http.post("/network/v2.0/ports", json=body).json()["port"]["mac_address"] == (
        "fa:16:3e:00:00:01"
    )
    neutron_error(http.post("/network/v2.0/ports", json=body), 409, "MacAddressInUse")


def test_a_new_ports_profile_is_an_empty_object(http: TestClient) -> None:
    port = http.get(f"/network/v2.0/ports/{make_port(http, make_network(http))}").json()["port"]
    assert port["binding:profile"] == {}
    assert port["binding:vif_type"] == "unbound"
    assert port["status"] == "DOWN"


def test_a_partial_profile_is_refused_on_create_and_update_with_neutrons_message(
    http: TestClient,
) -> None:
    network = make_network(http)
    body = {"network_id": network, "binding:vnic_type": "remote-managed"}
    created = http.post(
        "/network/v2.0/ports", json={"port": {**body, "binding:profile": {"vf_num": 1}}}
    )
    message = neutron_error(created, 400, "InvalidInput")
    assert message.startswith("Invalid input for operation: Invalid binding:profile. dict_keys([")
    assert message.endswith("are all required.")
    port_id = make_port(http, network)
    updated = http.put(
        f"/network/v2.0/ports/{port_id}",
        json={"port": {"binding:profile": full_profile(vf_num="3")}},
    )
    assert neutron_error(updated, 400, "InvalidInput").endswith("vf_num 3 value invalid type")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param(b"{not json", "Malformed", id="not-json"),
        pytest.param(b"[]", "Malformed", id="not-an-object"),
        pytest.param(b'{"ports": {}}', "Resource body required", id="wrong-resource"),
        pytest.param(b'{"port": {}}', "network_id", id="no-network"),
        pytest.param(b'{"port": {"network_id": 5}}', "not a string", id="network-not-a-string"),
        pytest.param(
            b'{"port": {"network_id": "n", "binding:vnic_type": "fast"}}',
            "binding:vnic_type",
            id="bad-vnic",
        ),
        pytest.param(
            b'{"port": {"network_id": "n", "binding:profile": "x"}}',
            "is not a dictionary",
            id="profile-not-a-dict",
        ),
        pytest.param(
            b'{"port": {"network_id": "n", "mac_address": "zz"}}', "not a valid MAC", id="bad-mac"
        ),
    ],
)
def test_a_malformed_port_request_is_a_400(http: TestClient, content: bytes, fragment: str) -> None:
    response = http.post(
        "/network/v2.0/ports", content=content, headers={"Content-Type": "application/json"}
    )
    assert fragment in neutron_error(response, 400, "InvalidInput")


def test_an_unknown_port_or_network_is_a_404(http: TestClient) -> None:
    neutron_error(http.get("/network/v2.0/ports/nope"), 404, "PortNotFound")
    neutron_error(http.put("/network/v2.0/ports/nope", json={"port": {}}), 404, "PortNotFound")
    neutron_error(http.delete("/network/v2.0/ports/nope"), 404, "PortNotFound")
    response = http.post("/network/v2.0/ports", json={"port": {"network_id": "nope"}})
    neutron_error(response, 404, "NetworkNotFound")


def test_a_network_with_ports_cannot_be_deleted(http: TestClient) -> None:
    network = make_network(http)
    port_id = make_port(http, network)
    neutron_error(http.delete(f"/network/v2.0/networks/{network}"), 409, "NetworkInUse")
    assert http.delete(f"/network/v2.0/ports/{port_id}").status_code == 204
    assert http.delete(f"/network/v2.0/networks/{network}").status_code == 204


def test_ports_are_listed_by_device_and_host_with_fields(http: TestClient) -> None:
    register_dpu(http)
    network = make_network(http)
    bound = make_port(http, network)
    make_port(http, network)
    bind(http, bound, full_profile())
    response = http.get(
        "/network/v2.0/ports",
        params=[
            ("device_id", "5b2c7e3a-3f7e-4a55-8f0e-0d8f1c9a7b11"),
            ("binding:host_id", "compute-1"),
            ("fields", "id"),
            ("fields", "status"),
        ],
    )
    assert response.json() == {"ports": [{"id": bound, "status": "ACTIVE"}]}
    by_vnic = http.get("/network/v2.0/ports", params={"binding:vnic_type": "remote-managed"})
    assert len(by_vnic.json()["ports"]) == 2
    assert http.get("/network/v2.0/ports", params={"binding:host_id": "other"}).json() == {
        "ports": []
    }


def test_a_project_sees_only_its_own_ports_and_the_admin_sees_all(
    service: NetworkService,
) -> None:
    admin = TestClient(network_app(service), headers=ADMIN_HEADERS)
    member = {"X-Auth-Token": TOKEN, "X-Roles": "member,reader"}
    alice = TestClient(network_app(service), headers={**member, "X-Project-Id": "a"})
    bob = TestClient(network_app(service), headers={**member, "X-Project-Id": "b"})
    network = make_network(alice)
    port_id = make_port(alice, network)
    assert alice.get(f"/network/v2.0/ports/{port_id}").json()["port"]["project_id"] == "a"
    neutron_error(bob.get(f"/network/v2.0/ports/{port_id}"), 404, "PortNotFound")
    assert bob.get("/network/v2.0/ports").json() == {"ports": []}
    neutron_error(
        bob.post("/network/v2.0/ports", json={"port": {"network_id": network}}),
        404,
        "NetworkNotFound",
    )
    assert [p["id"] for p in admin.get("/network/v2.0/ports").json()["ports"]] == [port_id]


def test_two_workers_on_one_database_serve_the_same_ports(http: TestClient, tmp_path: Path) -> None:
    register_dpu(http)
    port_id = make_port(http, make_network(http))
    other_engine = open_engine(f"sqlite:///{tmp_path / 'api.sqlite'}")
    try:
        other = TestClient(
            network_app(embedded_network_service(other_engine)), headers=ADMIN_HEADERS
        )
        port = bind(other, port_id, full_profile())
        assert port["status"] == "ACTIVE"
        assert http.get(f"/network/v2.0/ports/{port_id}").json()["port"] == port
    finally:
        other_engine.dispose()


def test_the_extension_list_and_an_unknown_alias(http: TestClient) -> None:
    aliases = [e["alias"] for e in http.get("/network/v2.0/extensions").json()["extensions"]]
    assert "binding" in aliases
    response = http.get("/network/v2.0/extensions/tag-ports-during-bulk-creation")
    neutron_error(response, 404, "ExtensionNotFound")


def test_a_chassis_registration_is_checked(http: TestClient) -> None:
    body = {"hostname": "dpu-1", "serial": "SN", "pf_macs": "52:54:00:00:00:01", "vfs": 4}
    response = http.post("/network/offpath/chassis", json=body)
    assert "pf_macs" in neutron_error(response, 400, "InvalidInput")
    neutron_error(http.get("/network/offpath/chassis/nope"), 404, "ChassisNotFound")
    neutron_error(
        http.put("/network/offpath/chassis/nope", json={"up": False}), 404, "ChassisNotFound"
    )


def test_a_bulk_create_makes_every_network_subnet_and_port(http: TestClient) -> None:
    made = http.post(
        "/network/v2.0/networks", json={"networks": [{"name": "bulk-a"}, {"name": "bulk-b"}]}
    )
    assert made.status_code == 201
    networks = [n["id"] for n in made.json()["networks"]]
    assert [n["name"] for n in made.json()["networks"]] == ["bulk-a", "bulk-b"]
    subnets = http.post(
        "/network/v2.0/subnets",
        json={
            "subnets": [
                {"network_id": network, "ip_version": 4, "cidr": f"10.{n}.0.0/24"}
                for n, network in enumerate(networks)
            ]
        },
    )
    assert [s["network_id"] for s in subnets.json()["subnets"]] == networks
    ports = http.post(
        "/network/v2.0/ports", json={"ports": [{"network_id": n} for n in networks]}
    ).json()["ports"]
    assert [p["network_id"] for p in ports] == networks


def test_a_bulk_create_with_one_bad_item_makes_none(http: TestClient) -> None:
    network = make_network(http)
    before = len(http.get("/network/v2.0/ports").json()["ports"])
    body = {"ports": [{"network_id": network}, {"network_id": network, "mac_address": "x"}]}
    assert http.post("/network/v2.0/ports", json=body).status_code == 400
    ok = {"network_id": network, "mac_address": "fa:16:3e:00:00:09"}
    taken = {"ports": [{"network_id": network}, ok, ok]}
    neutron_error(http.post("/network/v2.0/ports", json=taken), 409, "MacAddressInUse")
    assert len(http.get("/network/v2.0/ports").json()["ports"]) == before


def test_ports_are_listed_by_fixed_ip_subnet_and_address_part(http: TestClient) -> None:
    network = make_network(http)
    subnet = http.post(
        "/network/v2.0/subnets",
        json={"subnet": {"network_id": network, "ip_version": 4, "cidr": "10.7.0.0/24"}},
    ).json()["subnet"]["id"]
    first, second = make_port(http, network), make_port(http, network)

    def listed(*filters: str) -> list[str]:
        params = [("fixed_ips", f) for f in filters]
        return [p["id"] for p in http.get("/network/v2.0/ports", params=params).json()["ports"]]

    assert listed("ip_address=10.7.0.2") == [first]
    assert sorted(listed("ip_address=10.7.0.2", "ip_address=10.7.0.3")) == sorted([first, second])
    assert sorted(listed(f"subnet_id={subnet}")) == sorted([first, second])
    assert listed(f"subnet_id={subnet}", "ip_address=10.7.0.3") == [second]
    assert listed("ip_address_substr=0.3") == [second]
    assert listed("ip_address=10.9.9.9") == []


def test_a_subnet_is_renamed_and_a_missing_one_is_a_404(http: TestClient) -> None:
    network = make_network(http)
    subnet = http.post(
        "/network/v2.0/subnets",
        json={"subnet": {"network_id": network, "ip_version": 4, "cidr": "10.8.0.0/24"}},
    ).json()["subnet"]
    path = f"/network/v2.0/subnets/{subnet['id']}"
    renamed = http.put(path, json={"subnet": {"name": "New_subnet"}})
    assert renamed.status_code == 200
    assert renamed.json()["subnet"] == {**subnet, "name": "New_subnet"}
    assert http.get(path).json()["subnet"]["name"] == "New_subnet"
    missing = http.put(
        "/network/v2.0/subnets/62c8c823-3c18-41ee-9f40-f235cf02643d", json={"subnet": {"name": "x"}}
    )
    neutron_error(missing, 404, "SubnetNotFound")
    neutron_error(http.put(path, json={"subnet": {"cidr": "10.9.0.0/24"}}), 400, "InvalidInput")

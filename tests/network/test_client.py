"""NeutronClient against the network service on a real loopback server, and openstacksdk too."""

from __future__ import annotations

from typing import Any

import httpx
import openstack
import pytest

from offpath.conductor.port_directory import PortDirectory
from offpath.errors import (
    NetworkNotFound,
    NetworkRequestConflict,
    NetworkRequestInvalid,
    NetworkServiceUnavailable,
    PortNotFound,
    SecurityGroupNameAmbiguous,
)
from offpath.network.client import NeutronClient
from offpath.ports.network import Network, Segment
from offpath.ports.vnic import VnicType
from tests.network.conftest import PF_MACS, SERIAL, TOKEN, RecordingSink, full_profile
from tests.network.server import free_port
from tests.network.test_dpu_sim_binding import SERVER, make_network, make_port, register_dpu


def test_the_client_is_a_port_directory(admin: NeutronClient) -> None:
    directory: PortDirectory = admin
    assert directory is admin


def test_bind_show_list_and_unbind_a_remote_managed_port(
    admin: NeutronClient, http_admin: httpx.Client, events: RecordingSink
) -> None:
    register_dpu(http_admin)
    network_id = make_network(http_admin)
    port_id = make_port(http_admin, network_id)
    port = admin.show_port(port_id)
    assert port.vnic_type is VnicType.REMOTE_MANAGED
    assert port.binding_profile == {}
    assert port.mac_address is not None
    bound = admin.bind_port(
        port_id,
        host="compute-1",
        profile=full_profile(),
        device_id=SERVER,
        device_owner="compute:nova",
    )
    assert bound.status == "ACTIVE"
    assert bound.vif_type == "ovs"
    assert bound.binding_host_id == "compute-1"
    assert bound.binding_profile == full_profile()
    assert [p.id for p in admin.list_ports(device_id=SERVER)] == [port_id]
    assert [p.id for p in admin.list_ports(host="compute-1")] == [port_id]
    assert admin.list_ports(host="compute-2") == []
    unbound = admin.unbind_port(port_id, profile={})
    assert (unbound.binding_host_id, unbound.device_id, unbound.status) == (None, "", "DOWN")
    assert [e.name for e in events.events] == ["network-vif-plugged", "network-vif-unplugged"]


def test_show_network_reads_provider_attributes(
    admin: NeutronClient, http_admin: httpx.Client
) -> None:
    vlan = make_network(
        http_admin,
        **{"provider:network_type": "vlan", "provider:physical_network": "physnet1"},
    )
    assert admin.show_network(vlan) == Network(
        id=vlan, physical_network="physnet1", network_type="vlan", name="net", mtu=1500
    )
    segments = [
        {
            "provider:network_type": "vlan",
            "provider:physical_network": "p2",
            "provider:segmentation_id": 7,
        }
    ]
    multi = make_network(http_admin, segments=segments)
    assert admin.show_network(multi).segments == (Segment("p2", "vlan", 7),)


def test_a_direct_port_goes_active_when_the_agent_reports_the_vf_up(
    admin: NeutronClient, http_admin: httpx.Client
) -> None:
    admin.report_sriov_host("compute-1", ["physnet1"])
    network = make_network(
        http_admin,
        **{"provider:network_type": "vlan", "provider:physical_network": "physnet1"},
    )
    port_id = make_port(http_admin, network, vnic="direct")
    profile = {
        "pci_vendor_info": "15b3:101e",
        "pci_slot": "0000:03:00.2",
        "physical_network": "physnet1",
    }
    bound = admin.bind_port(
        port_id, host="compute-1", profile=profile, device_id=SERVER, device_owner="compute:nova"
    )
    assert (bound.vif_type, bound.status) == ("hw_veb", "DOWN")
    admin.device_up("compute-1", port_id)
    assert admin.show_port(port_id).status == "ACTIVE"


def test_http_errors_become_offpath_errors(admin: NeutronClient, http_admin: httpx.Client) -> None:
    with pytest.raises(PortNotFound):
        admin.show_port("nope")
    with pytest.raises(NetworkNotFound):
        admin.show_network("nope")
    port_id = make_port(http_admin, make_network(http_admin))
    with pytest.raises(NetworkRequestInvalid, match=r"dict_keys\(\[") as caught:
        admin.bind_port(
            port_id, host="h", profile={"vf_num": 1}, device_id=SERVER, device_owner="compute:nova"
        )
    assert caught.value.http_status == 400
    with pytest.raises(NetworkRequestConflict):
        admin.device_up("compute-9", port_id)
    with pytest.raises(PortNotFound):
        admin.unbind_port("nope", profile={})


class _AsMember(httpx.HTTPTransport):
    """Sends the test-only `X-Roles`: the token's holder acts as a project's member."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.headers["X-Roles"] = "member,reader"
        return super().handle_request(request)


def test_another_projects_port_is_not_found(base_url: str, http_admin: httpx.Client) -> None:
    port_id = make_port(http_admin, make_network(http_admin))
    client = NeutronClient(
        f"{base_url}/network", token=TOKEN, project_id="someone-else", transport=_AsMember()
    )
    with pytest.raises(PortNotFound):
        client.show_port(port_id)
    client.close()


def test_an_unreachable_service_or_a_wrong_token_is_unavailable(base_url: str) -> None:
    dead = NeutronClient(f"http://127.0.0.1:{free_port()}/network", token=TOKEN, timeout=2)
    with pytest.raises(NetworkServiceUnavailable, match="ConnectError"):
        dead.show_port("p")
    wrong = NeutronClient(f"{base_url}/network/v2.0", token="wrong")
    with pytest.raises(NetworkServiceUnavailable, match="HTTP 401"):
        wrong.list_ports()


def sdk(base_url: str) -> Any:
    return openstack.connect(
        auth_type="admin_token",
        auth={"token": TOKEN, "endpoint": f"{base_url}/compute/v2.1"},
        network_endpoint_override=f"{base_url}/network",
    )


def test_openstacksdk_creates_reads_and_updates_a_remote_managed_port(
    base_url: str, http_admin: httpx.Client
) -> None:
    register_dpu(http_admin)
    conn = sdk(base_url)
    try:
        network = conn.network.create_network(
            name="overlay", provider_network_type="geneve", mtu=1442
        )
        conn.network.create_subnet(network_id=network.id, ip_version=4, cidr="10.9.0.0/24")
        port = conn.network.create_port(
            network_id=network.id, name="rm1", binding_vnic_type="remote-managed"
        )
        fetched = conn.network.get_port(port.id)
        assert fetched.binding_vnic_type == "remote-managed"
        assert fetched.binding_profile == {}
        assert fetched.fixed_ips[0]["ip_address"] == "10.9.0.2"
        updated = conn.network.update_port(
            port, binding_host_id="compute-1", binding_profile=full_profile(), device_id=SERVER
        )
        assert updated.status == "ACTIVE"
        assert updated.binding_vif_type == "ovs"
        assert updated.binding_profile["card_serial_number"] == SERIAL
        assert updated.binding_profile["pf_mac_address"] == PF_MACS[1]
        listed = list(conn.network.ports(device_id=SERVER))
        assert [p.id for p in listed] == [port.id]
        assert conn.network.find_network("overlay", ignore_missing=False).id == network.id
        conn.network.delete_port(port, ignore_missing=False)
        with pytest.raises(openstack.exceptions.NotFoundException):
            conn.network.get_port(port.id)
    finally:
        conn.close()


def test_security_groups_by_name_or_id_their_names_and_a_port_s_groups(
    admin: NeutronClient, http_admin: httpx.Client
) -> None:
    def group(name: str) -> str:
        response = http_admin.post(
            "/network/v2.0/security-groups", json={"security_group": {"name": name}}
        )
        assert response.status_code == 201, response.text
        group_id: str = response.json()["security_group"]["id"]
        return group_id

    web, db = group("web"), group("db")
    assert admin.find_security_group("web", project_id="admin") == web
    assert admin.find_security_group(db, project_id="admin") == db
    assert admin.find_security_group("web", project_id="another") is None
    assert admin.find_security_group("nothing", project_id="admin") is None
    assert admin.security_group_names([web, db, web]) == {web: "web", db: "db"}

    port_id = make_port(http_admin, make_network(http_admin))
    # Neutron keeps a port's groups as a set: no order to rely on.
    assert sorted(admin.set_port_security_groups(port_id, [web, db]).security_groups) == sorted(
        [web, db]
    )
    assert sorted(admin.show_port(port_id).security_groups) == sorted([web, db])

    # Neutron lets two groups share a name; Nova then wants an id.
    twin = group("web")
    with pytest.raises(SecurityGroupNameAmbiguous):
        admin.find_security_group("web", project_id="admin")
    assert admin.find_security_group(twin, project_id="admin") == twin

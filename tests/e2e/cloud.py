"""An embedded cloud for the acceptance tests, and what they read from it over HTTP.

Every test drives the cloud as a client would: openstacksdk with an admin
token and endpoint overrides, against `EmbeddedCloud` served by uvicorn on
loopback. The admin API (`/offpath/v1`) gives the hosts' inventory to
compare with, and each simulated host's hypervisor the guests its agent
defined (the agents run in this process; each host has its own connection
to libvirt's test driver).
"""

from __future__ import annotations

import json
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

import httpx
from openstack.compute.v2.server import Server
from openstack.connection import Connection
from openstack.network.v2.port import Port

from offpath.db.engine import open_engine
from offpath.embedded.cloud import EmbeddedCloud, Endpoints
from offpath.embedded.sim_hosts import parse_sim_host
from offpath.identity.directory import IdentityDirectory
from offpath.service_config import ServiceConfig, load_service_config

# Bounds on every wait: a boot on the simulated hosts takes about a second.
BOOT_WAIT: Final = 30.0
SETTLE_WAIT: Final = 15.0
POLL: Final = 0.1
# The microversion from which an action's events show their details.
DETAILS_MICROVERSION: Final = {"OpenStack-API-Version": "compute 2.84"}
BUILD_EVENT: Final = "compute_build_and_run_instance"
# The keys nova-behaviour §5.3 removes from a profile on unbind.
PCI_PROFILE_KEYS: Final = frozenset(
    {
        "pci_vendor_info",
        "pci_slot",
        "allocation",
        "arq_uuid",
        "physical_network",
        "card_serial_number",
        "vf_num",
        "pf_mac_address",
        "device_mac_address",
    }
)

T = TypeVar("T")

OTHER_PASSWORD = "other-secret"


@dataclass
class Cloud:
    """A running embedded cloud and an openstacksdk connection to it."""

    cloud: EmbeddedCloud
    endpoints: Endpoints
    sdk: Connection
    flavor_id: str
    image_id: str
    # One keep-alive client for the admin calls: a new one per call costs tens of ms.
    http: httpx.Client
    # A member of another project ("other"), logged in with its password.
    other: Connection

    def devices(self, host: str) -> list[dict[str, Any]]:
        """The host's inventory rows as `/offpath/v1/hosts/{host}/devices` shows them."""
        body = self.get(f"/offpath/v1/hosts/{host}/devices")
        devices: list[dict[str, Any]] = body["devices"]
        return devices

    def claimed(self, host: str) -> list[dict[str, Any]]:
        """The host's devices an instance holds."""
        return [d for d in self.devices(host) if d["instance_uuid"] is not None]

    def get(self, path: str, **headers: str) -> Any:
        """GET a path of the cloud with the admin token; the JSON body (asserts 200)."""
        response = self.http.get(path, headers=headers)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    def post(self, path: str, body: object) -> Any:
        """POST JSON to a path of the cloud with the admin token; the JSON body (asserts 200)."""
        response = self.http.post(path, json=body)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    def build_details(self, server_id: str) -> dict[str, Any]:
        """What the host's agent reported for the server's build (its create action's event)."""
        actions = self.sdk.compute.get(f"/servers/{server_id}/os-instance-actions").json()
        (create,) = [a for a in actions["instanceActions"] if a["action"] == "create"]
        action = self.sdk.compute.get(
            f"/servers/{server_id}/os-instance-actions/{create['request_id']}",
            headers=DETAILS_MICROVERSION,
        ).json()["instanceAction"]
        (event,) = [e for e in action["events"] if e["event"] == BUILD_EVENT]
        details: dict[str, Any] = json.loads(event["details"])
        return details

    def boot(self, name: str, port: Port) -> Server:
        """Create a server on `port` (flavor m1.small, image cirros) and wait until it settles."""
        server = self.sdk.compute.create_server(
            name=name,
            flavor_id=self.flavor_id,
            image_id=self.image_id,
            networks=[{"port": port.id}],
        )
        return self.settled(server.id)

    def settled(self, server_id: str) -> Server:
        """The server once it left BUILD (bounded)."""
        return wait_for(
            lambda: _settled(self.sdk.compute.get_server(server_id)),
            timeout=BOOT_WAIT,
            what=f"server {server_id} to leave BUILD",
        )

    def delete(self, server: Server) -> None:
        """Delete the server and wait until it is gone."""
        self.sdk.compute.delete_server(server)
        self.sdk.compute.wait_for_delete(server, interval=POLL, wait=BOOT_WAIT)

    def unbound(self, port_id: str) -> Port:
        """The port once nothing binds it any more (bounded): §5.3's unbind has landed."""
        return wait_for(
            lambda: _unbound(self.sdk.network.get_port(port_id)),
            timeout=SETTLE_WAIT,
            what=f"port {port_id} to be unbound",
        )

    def guest_xml(self, instance_uuid: str) -> str | None:
        """The instance's domain XML on the simulated host that holds it; None if none does."""
        found = [
            xml
            for host in self.cloud.hosts
            if (xml := self.cloud.hypervisor(host.request.name).guest_xml(instance_uuid))
        ]
        assert len(found) <= 1, f"instance {instance_uuid} has a guest on {len(found)} hosts"
        return found[0] if found else None

    def guest_exists(self, instance_uuid: str) -> bool:
        """Whether a simulated host holds a domain of the instance."""
        return self.guest_xml(instance_uuid) is not None

    def guest_interfaces(self, instance_uuid: str) -> list[GuestInterface]:
        """The `<interface>` elements of the instance's domain (asserts there is one)."""
        xml = self.guest_xml(instance_uuid)
        assert xml is not None, f"no simulated host holds a guest of {instance_uuid}"
        return guest_interfaces(xml)

    def all_free(self, *hosts: str) -> None:
        """Wait (bounded) until no device of `hosts` is claimed."""
        wait_for(
            lambda: all(not self.claimed(h) for h in hosts) or None,
            timeout=SETTLE_WAIT,
            what=f"every VF of {', '.join(hosts)} to be free",
        )


def _settled(server: Server) -> Server | None:
    return None if server.status == "BUILD" else server


def _unbound(port: Port) -> Port | None:
    if port.binding_host_id or port.device_id:
        return None
    return port


def wait_for(probe: Callable[[], T | None], *, timeout: float, what: str) -> T:
    """Call `probe` until it returns something; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None and found is not False:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(POLL)


def closed_port() -> int:
    """A loopback port nobody listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextmanager
def running_cloud(
    state_dir: Path, sim_hosts: Sequence[str], *, config: str = "", ovn: bool = False
) -> Iterator[Cloud]:
    """An embedded cloud with `sim_hosts` (`--sim-host` values) and nova.conf text `config`."""
    files = []
    if config:
        conf = state_dir / "cloud.conf"
        conf.write_text(config, encoding="utf-8")
        files.append(conf)
    service_config = load_service_config(files, state_dir=state_dir)
    cloud = EmbeddedCloud(
        service_config,
        state_dir=state_dir,
        sim_hosts=[parse_sim_host(value) for value in sim_hosts],
        port=0,
        ovn=ovn,
    )
    endpoints = cloud.start()
    # The bootstrap admin, logged in with its password as a user of a real cloud is.
    sdk = Connection(
        auth_url=endpoints.identity,
        username="admin",
        password=endpoints.admin_password,
        project_name="admin",
        user_domain_name="Default",
        project_domain_name="Default",
    )
    token = sdk.auth_token
    assert token is not None, "the admin's login gave no token"
    http = httpx.Client(base_url=endpoints.base, headers={"X-Auth-Token": token}, timeout=10.0)
    other = member_of_another_project(service_config, endpoints)
    try:
        flavor = sdk.compute.create_flavor(name="m1.small", ram=512, vcpus=1, disk=1)
        image = sdk.image.create_image(
            name="cirros",
            disk_format="qcow2",
            container_format="bare",
            data=b"offpath-sim-disk",
            validate_checksum=False,
        )
        yield Cloud(cloud, endpoints, sdk, flavor.id, image.id, http, other)
    finally:
        http.close()
        sdk.close()
        other.close()
        cloud.stop()


def member_of_another_project(config: ServiceConfig, endpoints: Endpoints) -> Connection:
    """A user `other`, member of a project `other`, logged in; the admin gets the service role."""
    engine = open_engine(config.api_database_url)
    try:
        directory = IdentityDirectory(engine)
        directory.create_project("other")
        directory.create_user("other", password=OTHER_PASSWORD)
        directory.add_role("member", user="other", project="other")
        # The tests write binding profiles as Nova does, which Neutron lets the service role only.
        directory.add_role("service", user="admin", project="admin")
    finally:
        engine.dispose()
    return Connection(
        auth_url=endpoints.identity,
        username="other",
        password=OTHER_PASSWORD,
        project_name="other",
        user_domain_name="Default",
        project_domain_name="Default",
    )


@dataclass(frozen=True, slots=True)
class GuestInterface:
    """One `<interface>` of a libvirt domain, as the tests read it."""

    type: str
    managed: str | None
    mac: str | None
    pci_address: str | None
    vlan_tags: tuple[str, ...]


def guest_interfaces(xml: str) -> list[GuestInterface]:
    """The `<interface>` elements of a domain XML."""
    found = []
    for element in ET.fromstring(xml).iter("interface"):
        mac = element.find("mac")
        address = element.find("source/address")
        found.append(
            GuestInterface(
                type=element.get("type", ""),
                managed=element.get("managed"),
                mac=None if mac is None else mac.get("address"),
                pci_address=None if address is None else _pci(address),
                vlan_tags=tuple(tag.get("id", "") for tag in element.iterfind("vlan/tag")),
            )
        )
    return found


def _pci(address: ET.Element) -> str:
    parts = [address.get(key, "").removeprefix("0x") for key in ("domain", "bus", "slot")]
    function = address.get("function", "").removeprefix("0x")
    return f"{parts[0]}:{parts[1]}:{parts[2]}.{function}"

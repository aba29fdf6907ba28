"""Every server operation through the `openstack` CLI, unchanged, against `offpath serve`.

One `offpath serve` process (embedded default: SQLite, in-process queue,
dpu-sim) with two BlueField-2 and two ConnectX-6 Dx hosts, two VFs each,
serves the whole module; `shelved_offload_time = -1` keeps a shelved
server on its host so that `server shelve --offload` sends its own
offload. Each test boots its servers through the API, runs CLI commands
as a user would (each a process with a bounded timeout), checks each
effect through the API (status, host, the port's binding and profile) and
deletes its servers, so the tests do not depend on their order.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from offpath.ports.profile import REMOTE_MANAGED_KEYS
from offpath.service_token import PasswordCredentials, login
from offpath.version import COMPUTE_BINARY
from tests.process.cluster import Process, assert_all_ended, start_process, wait_for_serve

OPENSTACK = Path(sys.executable).with_name("openstack")
DPUS = ("dpu-1", "dpu-2")
NICS = ("nic-1", "nic-2")
PROFILES = {"dpu-1": "bluefield2", "dpu-2": "bluefield2", "nic-1": "cx6dx", "nic-2": "cx6dx"}
# One VF per PF, two PFs per card: two VFs per host, so a host is full after two ports.
VFS_PER_PF = 1
PCI_KEYS = {"pci_vendor_info", "pci_slot", "physical_network"}
PROFILE_KEYS = PCI_KEYS | set(REMOTE_MANAGED_KEYS)
CLI_TIMEOUT = 120.0
SETTLE_TIMEOUT = 60.0
NO_VALID_HOST = "No valid host was found."
# The CLI's own version: embedded flavors (2.47), migration types (2.23).
COMPUTE_VERSION = {"OpenStack-API-Version": "compute 2.96"}


@dataclass
class Cloud:
    """The served cloud: the CLI's environment, an API client, and what every test shares."""

    serve: Process
    env: dict[str, str]
    api: httpx.Client
    networks: dict[str, str] = field(default_factory=dict)
    flavors: dict[str, str] = field(default_factory=dict)
    image: str = ""

    def cli(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        """`openstack --os-cloud offpath ARGS`; with `ok`, it must exit 0."""
        done = subprocess.run(
            [str(OPENSTACK), "--os-cloud", "offpath", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )
        if ok:
            assert done.returncode == 0, f"openstack {' '.join(args)}: {done.stderr}\n{self.log()}"
        return done

    def log(self) -> str:
        return self.serve.log.read_text(errors="replace")[-6000:]

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.api.request(method, path, json=body)
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def port(self, kind: str) -> str:
        """A new port: `remote-managed` on the overlay, `direct` on the VLAN of physnet1."""
        network = self.networks["overlay" if kind == "remote-managed" else "vlan"]
        body = {"port": {"network_id": network, "binding:vnic_type": kind}}
        return str(self.call("POST", "/network/v2.0/ports", body)["port"]["id"])

    def server(self, server_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/compute/v2.1/servers/{server_id}")["server"])

    def settled(self, server_id: str, *statuses: str) -> dict[str, Any]:
        """The server once its status is one of `statuses` and no task runs; bounded."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            server = self.server(server_id)
            if server["status"] in statuses and server["OS-EXT-STS:task_state"] is None:
                return server
            assert server["status"] != "ERROR", server.get("fault")
            assert time.monotonic() < deadline, f"{server['status']}, not {statuses}\n{self.log()}"
            time.sleep(0.1)

    def boot(self, name: str, *ports: str, flavor: str = "m1.tiny") -> str:
        """A server with `ports`, booted through the API; its id once ACTIVE."""
        body = {
            "server": {
                "name": name,
                "flavorRef": self.flavors[flavor],
                "imageRef": self.image,
                "networks": [{"port": port} for port in ports],
            }
        }
        server_id = str(self.call("POST", "/compute/v2.1/servers", body)["server"]["id"])
        self.settled(server_id, "ACTIVE")
        return server_id

    def binding(self, port_id: str) -> tuple[str, dict[str, Any]]:
        """The port's binding host and profile."""
        port = self.call("GET", f"/network/v2.0/ports/{port_id}")["port"]
        return str(port["binding:host_id"]), dict(port["binding:profile"])

    def free_vfs(self, host: str) -> int:
        for node in self.call("GET", "/offpath/v1/hosts")["hosts"]:
            if node["host"] == host:
                return int(node["free_devices"])
        raise AssertionError(f"no hypervisor {host}")

    def migrations(self, server_id: str) -> list[dict[str, Any]]:
        found = self.call("GET", f"/compute/v2.1/os-migrations?instance_uuid={server_id}")
        return list(found["migrations"])

    def service(self, host: str) -> dict[str, Any]:
        path = f"/compute/v2.1/os-services?host={host}&binary={COMPUTE_BINARY}"
        (found,) = self.call("GET", path)["services"]
        return dict(found)

    def delete(self, *server_ids: str) -> None:
        """Delete the servers and wait until each is gone; bounded."""
        for server_id in server_ids:
            self.api.delete(f"/compute/v2.1/servers/{server_id}")
        deadline = time.monotonic() + SETTLE_TIMEOUT
        for server_id in server_ids:
            while self.api.get(f"/compute/v2.1/servers/{server_id}").status_code != 404:
                assert time.monotonic() < deadline, f"{server_id} not deleted\n{self.log()}"
                time.sleep(0.1)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """`offpath serve` with the four hosts, a network of each kind, two flavors and an image."""
    root = tmp_path_factory.mktemp("cli-operations")
    state = root / "state"
    conf = root / "offpath.conf"
    conf.write_text("[DEFAULT]\nshelved_offload_time = -1\n")
    serve = start_process(
        root,
        "serve",
        *("serve", "--config-file", str(conf), "--state-dir", str(state), "--port", "0"),
        *(a for h, p in PROFILES.items() for a in ("--sim-host", f"{h}={p},vfs={VFS_PER_PF}")),
    )
    try:
        wait_for_serve(serve, timeout=90)
        clouds = state / "clouds.yaml"
        auth = yaml.safe_load(clouds.read_text())["clouds"]["offpath"]["auth"]
        base = str(auth["auth_url"]).removesuffix("/identity/v3")
        admin = PasswordCredentials(
            auth["auth_url"], auth["username"], auth["password"], auth["project_name"]
        )
        api = httpx.Client(
            base_url=base,
            headers={"X-Auth-Token": login(admin).token, **COMPUTE_VERSION},
            timeout=30.0,
        )
        env = {**_environment(), "OS_CLIENT_CONFIG_FILE": str(clouds)}
        with api:
            cloud = Cloud(serve, env, api)
            _populate(cloud)
            yield cloud
    finally:
        assert serve.stop(timeout=20) == 0, serve.log.read_text(errors="replace")
        assert_all_ended([serve])


def _environment() -> dict[str, str]:
    # Only what the CLI needs: no OS_* of the machine may point it elsewhere.
    return {k: v for k, v in os.environ.items() if not k.startswith("OS_")}


def _populate(cloud: Cloud) -> None:
    overlay = cloud.call(
        "POST",
        "/network/v2.0/networks",
        {"network": {"name": "overlay", "provider:network_type": "geneve"}},
    )["network"]["id"]
    vlan = cloud.call(
        "POST",
        "/network/v2.0/networks",
        {
            "network": {
                "name": "vlan-101",
                "provider:network_type": "vlan",
                "provider:physical_network": "physnet1",
                "provider:segmentation_id": 101,
            }
        },
    )["network"]["id"]
    for network, cidr in ((overlay, "10.0.0.0/24"), (vlan, "10.1.0.0/24")):
        subnet = {"subnet": {"network_id": network, "ip_version": 4, "cidr": cidr}}
        cloud.call("POST", "/network/v2.0/subnets", subnet)
    cloud.networks.update(overlay=overlay, vlan=vlan)
    for name, ram, vcpus in (("m1.tiny", 512, 1), ("m1.small", 1024, 2)):
        flavor = {"flavor": {"name": name, "ram": ram, "vcpus": vcpus, "disk": 1}}
        cloud.flavors[name] = cloud.call("POST", "/compute/v2.1/flavors", flavor)["flavor"]["id"]
    image = cloud.call("POST", "/image/v2/images", {"name": "cirros", "disk_format": "raw"})["id"]
    upload = cloud.api.put(
        f"/image/v2/images/{image}/file",
        content=b"\0" * 64,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert upload.status_code == 204
    cloud.image = image


@pytest.fixture
def servers(cloud: Cloud) -> Iterator[list[str]]:
    """The servers a test boots; deleted after it, whatever happened."""
    booted: list[str] = []
    yield booted
    cloud.delete(*booted)


def other(host: str) -> str:
    """The other host of the same kind."""
    pair = DPUS if host in DPUS else NICS
    return pair[1 - pair.index(host)]


def assert_bound_on(
    cloud: Cloud, port_id: str, host: str, *, remote_managed: bool
) -> dict[str, Any]:
    """The port is bound to `host` with a whole profile; the profile."""
    bound, profile = cloud.binding(port_id)
    assert bound == host
    assert set(profile) >= PROFILE_KEYS
    assert profile["physical_network"] == (None if remote_managed else "physnet1")
    return profile


def fails_without_a_host(done: subprocess.CompletedProcess[str]) -> None:
    """A refused move: exit 1, Nova's message on stderr, no traceback."""
    assert done.returncode == 1, done.stdout
    assert NO_VALID_HOST in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


# -- interfaces -------------------------------------------------------------------


def test_server_add_port_and_remove_port(cloud: Cloud, servers: list[str]) -> None:
    first, second = cloud.port("remote-managed"), cloud.port("remote-managed")
    servers.append(server := cloud.boot("vm-ports", first))
    host = cloud.server(server)["OS-EXT-SRV-ATTR:host"]
    free = cloud.free_vfs(host)

    cloud.cli("server", "add", "port", "vm-ports", second)
    attached = cloud.call("GET", f"/compute/v2.1/servers/{server}/os-interface")
    assert {a["port_id"] for a in attached["interfaceAttachments"]} == {first, second}
    assert_bound_on(cloud, second, host, remote_managed=True)
    assert cloud.free_vfs(host) == free - 1

    cloud.cli("server", "remove", "port", "vm-ports", second)
    attached = cloud.call("GET", f"/compute/v2.1/servers/{server}/os-interface")
    assert [a["port_id"] for a in attached["interfaceAttachments"]] == [first]
    unbound_host, profile = cloud.binding(second)
    assert unbound_host == "" and not set(profile) & PROFILE_KEYS
    assert cloud.free_vfs(host) == free
    assert cloud.settled(server, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == host


# -- cold migration and resize --------------------------------------------------------


def test_cold_migrate_confirm_then_back_to_the_first_host_and_revert(
    cloud: Cloud, servers: list[str]
) -> None:
    port = cloud.port("remote-managed")
    servers.append(server := cloud.boot("vm-cold", port))
    home = cloud.server(server)["OS-EXT-SRV-ATTR:host"]
    away = other(home)

    cloud.cli("server", "migrate", "--wait", "vm-cold")
    moved = cloud.settled(server, "VERIFY_RESIZE")
    assert moved["OS-EXT-SRV-ATTR:host"] == away
    assert_bound_on(cloud, port, away, remote_managed=True)
    cloud.cli("server", "resize", "confirm", "vm-cold")
    assert cloud.settled(server, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == away
    assert cloud.migrations(server)[0]["status"] == "confirmed"

    # Back to the host it left a moment ago, then reverted: it stays where it was.
    cloud.cli("server", "migrate", "--host", home, "--wait", "vm-cold")
    assert cloud.settled(server, "VERIFY_RESIZE")["OS-EXT-SRV-ATTR:host"] == home
    assert_bound_on(cloud, port, home, remote_managed=True)
    cloud.cli("server", "resize", "revert", "vm-cold")
    assert cloud.settled(server, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == away
    assert_bound_on(cloud, port, away, remote_managed=True)
    assert cloud.migrations(server)[0]["status"] == "reverted"
    assert (cloud.free_vfs(home), cloud.free_vfs(away)) == (2, 1)


def test_resize_reverted_then_confirmed(cloud: Cloud, servers: list[str]) -> None:
    port = cloud.port("remote-managed")
    servers.append(server := cloud.boot("vm-resize", port))
    home = cloud.server(server)["OS-EXT-SRV-ATTR:host"]

    cloud.cli("server", "resize", "--flavor", "m1.small", "--wait", "vm-resize")
    resized = cloud.settled(server, "VERIFY_RESIZE")
    assert (resized["OS-EXT-SRV-ATTR:host"], resized["flavor"]["original_name"]) == (
        other(home),
        "m1.small",
    )
    cloud.cli("server", "resize", "revert", "vm-resize")
    reverted = cloud.settled(server, "ACTIVE")
    assert (reverted["OS-EXT-SRV-ATTR:host"], reverted["flavor"]["original_name"]) == (
        home,
        "m1.tiny",
    )

    cloud.cli("server", "resize", "--flavor", "m1.small", "--wait", "vm-resize")
    cloud.settled(server, "VERIFY_RESIZE")
    cloud.cli("server", "resize", "confirm", "vm-resize")
    confirmed = cloud.settled(server, "ACTIVE")
    assert (confirmed["OS-EXT-SRV-ATTR:host"], confirmed["flavor"]["original_name"]) == (
        other(home),
        "m1.small",
    )
    assert_bound_on(cloud, port, other(home), remote_managed=True)


# -- live migration -------------------------------------------------------------------------


def test_live_migration_to_any_host_then_to_a_named_one(cloud: Cloud, servers: list[str]) -> None:
    port = cloud.port("remote-managed")
    servers.append(server := cloud.boot("vm-live", port))
    home = cloud.server(server)["OS-EXT-SRV-ATTR:host"]
    before = assert_bound_on(cloud, port, home, remote_managed=True)

    cloud.cli("server", "migrate", "--live-migration", "--wait", "vm-live")
    assert cloud.settled(server, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == other(home)
    away = assert_bound_on(cloud, port, other(home), remote_managed=True)
    # The profile names the destination's card, not the source's.
    assert away["card_serial_number"] != before["card_serial_number"]

    cloud.cli("server", "migrate", "--live-migration", "--host", home, "--wait", "vm-live")
    assert cloud.settled(server, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == home
    back = assert_bound_on(cloud, port, home, remote_managed=True)
    assert back["card_serial_number"] == before["card_serial_number"]
    kinds = [(m["migration_type"], m["status"]) for m in cloud.migrations(server)]
    assert kinds == [("live-migration", "completed")] * 2


def test_a_direct_port_server_migrates_cold_and_live(cloud: Cloud, servers: list[str]) -> None:
    port = cloud.port("direct")
    servers.append(server := cloud.boot("vm-direct", port))
    home = cloud.server(server)["OS-EXT-SRV-ATTR:host"]
    assert home in NICS
    assert_bound_on(cloud, port, home, remote_managed=False)

    cloud.cli("server", "migrate", "--wait", "vm-direct")
    assert cloud.settled(server, "VERIFY_RESIZE")["OS-EXT-SRV-ATTR:host"] == other(home)
    cloud.cli("server", "resize", "confirm", "vm-direct")
    cloud.settled(server, "ACTIVE")
    cloud.cli("server", "migrate", "--live-migration", "--wait", "vm-direct")
    assert cloud.settled(server, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == home
    assert_bound_on(cloud, port, home, remote_managed=False)


def test_a_move_with_no_free_vf_anywhere_fails_with_no_valid_host(
    cloud: Cloud, servers: list[str]
) -> None:
    # Two ports fill one DPU host; the next server gets the other one.
    servers.append(
        cloud.boot("vm-full", cloud.port("remote-managed"), cloud.port("remote-managed"))
    )
    full = cloud.server(servers[0])["OS-EXT-SRV-ATTR:host"]
    servers.append(server := cloud.boot("vm-stuck", cloud.port("remote-managed")))
    home = cloud.server(server)["OS-EXT-SRV-ATTR:host"]
    assert home == other(full)

    fails_without_a_host(cloud.cli("server", "migrate", "--host", full, "vm-stuck", ok=False))
    fails_without_a_host(cloud.cli("server", "migrate", "--wait", "vm-stuck", ok=False))
    fails_without_a_host(
        cloud.cli("server", "migrate", "--live-migration", "--host", full, "vm-stuck", ok=False)
    )
    nic = cloud.cli("server", "migrate", "--host", NICS[0], "vm-stuck", ok=False)
    fails_without_a_host(nic)
    assert "no remote-managed pool" in nic.stderr
    assert cloud.settled(server, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == home
    assert cloud.free_vfs(full) == 0


# -- evacuate ---------------------------------------------------------------------------------


def test_evacuate_from_a_host_forced_down(cloud: Cloud, servers: list[str]) -> None:
    port = cloud.port("remote-managed")
    servers.append(server := cloud.boot("vm-evacuate", port))
    home = cloud.server(server)["OS-EXT-SRV-ATTR:host"]

    refused = cloud.cli("server", "evacuate", "vm-evacuate", ok=False)
    assert refused.returncode == 1 and f"Compute service of {home} is still in use" in (
        refused.stderr
    )
    try:
        cloud.cli("compute", "service", "set", "--down", home, COMPUTE_BINARY)
        assert (cloud.service(home)["state"], cloud.service(home)["forced_down"]) == ("down", True)
        # Not --wait: OSC 10.5 waits for "ACTIVE" against a lowered status, and never ends.
        cloud.cli("server", "evacuate", "vm-evacuate")
        assert cloud.settled(server, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == other(home)
        assert_bound_on(cloud, port, other(home), remote_managed=True)
        assert cloud.free_vfs(home) == 1  # the source keeps its VF until it comes back
    finally:
        cloud.cli("compute", "service", "set", "--up", home, COMPUTE_BINARY)
    assert cloud.service(home)["state"] == "up"
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while cloud.migrations(server)[0]["status"] != "completed":
        assert time.monotonic() < deadline, cloud.migrations(server)
        time.sleep(0.2)
    assert cloud.free_vfs(home) == 2


# -- shelve, power, reboot ------------------------------------------------------------------------


def test_shelve_unshelve_then_shelve_offload_and_unshelve(cloud: Cloud, servers: list[str]) -> None:
    port = cloud.port("remote-managed")
    servers.append(server := cloud.boot("vm-shelve", port))
    home = cloud.server(server)["OS-EXT-SRV-ATTR:host"]
    profile = assert_bound_on(cloud, port, home, remote_managed=True)

    # Kept on its host (shelved_offload_time = -1): its VF and binding stay.
    cloud.cli("server", "shelve", "--wait", "vm-shelve")
    assert cloud.settled(server, "SHELVED")["OS-EXT-SRV-ATTR:host"] == home
    assert assert_bound_on(cloud, port, home, remote_managed=True) == profile
    cloud.cli("server", "unshelve", "--wait", "vm-shelve")
    assert cloud.settled(server, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == home

    # --offload: shelve, wait for SHELVED, then shelveOffload of its own.
    cloud.cli("server", "shelve", "--offload", "--wait", "vm-shelve")
    assert cloud.settled(server, "SHELVED_OFFLOADED")["OS-EXT-SRV-ATTR:host"] is None
    unbound, left = cloud.binding(port)
    assert unbound == "" and not set(left) & PROFILE_KEYS
    assert cloud.free_vfs(home) == 2

    cloud.cli("server", "unshelve", "--wait", "vm-shelve")
    host = cloud.settled(server, "ACTIVE")["OS-EXT-SRV-ATTR:host"]
    assert host in DPUS
    assert_bound_on(cloud, port, host, remote_managed=True)


def test_stop_start_and_hard_reboot_keep_the_vf(cloud: Cloud, servers: list[str]) -> None:
    port = cloud.port("remote-managed")
    servers.append(server := cloud.boot("vm-power", port))
    home = cloud.server(server)["OS-EXT-SRV-ATTR:host"]
    profile = assert_bound_on(cloud, port, home, remote_managed=True)

    steps: list[tuple[tuple[str, ...], str]] = [
        (("server", "stop", "vm-power"), "SHUTOFF"),
        (("server", "start", "vm-power"), "ACTIVE"),
        (("server", "reboot", "--hard", "--wait", "vm-power"), "ACTIVE"),
    ]
    for command, status in steps:
        cloud.cli(*command)
        settled = cloud.settled(server, status)
        assert settled["OS-EXT-SRV-ATTR:host"] == home, command
        assert assert_bound_on(cloud, port, home, remote_managed=True) == profile, command

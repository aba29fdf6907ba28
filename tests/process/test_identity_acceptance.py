"""Keystone logins and the policy, end to end: real processes, password auth only.

`offpath db sync` bootstraps the admin (password from
OFFPATH_BOOTSTRAP_PASSWORD), `offpath identity` provisions projects p1 and
p2 and three users (alice: member of p1, bob: member of p2, rita: reader of
p1), then one `offpath serve` with two simulated BlueField-2 hosts serves
the module. The `openstack` CLI logs in with its password options (once
with OS_* variables), never a clouds.yaml; openstacksdk logs in through a
clouds.yaml of password clouds. Effects are checked through the API with
each persona's own token.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from openstack import exceptions as sdk_errors
from openstack.config import OpenStackConfig
from openstack.connection import Connection

from offpath.ports.profile import REMOTE_MANAGED_KEYS
from offpath.service_token import PasswordCredentials, login
from tests.process.cluster import OFFPATH, Process, assert_all_ended, start_process, wait_for_serve

OPENSTACK = Path(sys.executable).with_name("openstack")
HOSTS = {"dpu-a": "bluefield2", "dpu-b": "bluefield2"}
VFS_PER_PF = 2
PASSWORDS = {user: f"{user}-secret" for user in ("admin", "alice", "bob", "rita")}
# Each user's project; the admin's is the bootstrap's.
PROJECTS = {"admin": "admin", "alice": "p1", "bob": "p2", "rita": "p1"}
PROVISION = (
    ("project", "create", "p1"),
    ("project", "create", "p2"),
    ("user", "create", "alice", "--password", PASSWORDS["alice"], "--project", "p1"),
    ("user", "create", "bob", "--password", PASSWORDS["bob"], "--project", "p2"),
    ("user", "create", "rita", "--password", PASSWORDS["rita"], "--project", "p1"),
    ("role", "add", "member", "--user", "alice", "--project", "p1"),
    ("role", "add", "member", "--user", "bob", "--project", "p2"),
    ("role", "add", "reader", "--user", "rita", "--project", "p1"),
)
BINDING_KEYS = ("binding_host_id", "binding_profile", "binding_vif_type", "binding_vif_details")
CLI_TIMEOUT = 120.0
SETTLE_TIMEOUT = 60.0
COMPUTE_VERSION = {"OpenStack-API-Version": "compute 2.96"}


@dataclass
class Cloud:
    """The served cloud: its identity URL, a token client per persona, a flavor and image."""

    root: Path
    serve: Process
    auth_url: str
    api: dict[str, httpx.Client]
    # Each persona's project and user ids, from its token.
    projects: dict[str, str]
    users: dict[str, str]
    flavor: str = ""
    image: str = ""

    def log(self) -> str:
        return self.serve.log.read_text(errors="replace")[-6000:]

    def call(self, user: str, method: str, path: str, body: Any = None) -> Any:
        """`method path` with `user`'s token; it must succeed."""
        response = self.api[user].request(method, path, json=body)
        assert response.is_success, (
            f"{user}: {method} {path}: {response.status_code} {response.text}"
        )
        return response.json() if response.content else None

    def status(self, user: str, method: str, path: str) -> int:
        return self.api[user].request(method, path).status_code

    def login_options(self, user: str) -> list[str]:
        """The `openstack` CLI's password options for `user` in its project."""
        return [
            *("--os-auth-url", self.auth_url, "--os-username", user),
            *("--os-password", PASSWORDS[user], "--os-project-name", PROJECTS[user]),
            *("--os-user-domain-name", "Default", "--os-project-domain-name", "Default"),
        ]

    def login_environment(self, user: str) -> dict[str, str]:
        """The same login as OS_* variables (what an openrc exports)."""
        return {
            "OS_AUTH_URL": self.auth_url,
            "OS_IDENTITY_API_VERSION": "3",
            "OS_USERNAME": user,
            "OS_PASSWORD": PASSWORDS[user],
            "OS_PROJECT_NAME": PROJECTS[user],
            "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default",
        }

    def cli(
        self, user: str, *args: str, ok: bool = True, environment: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """`openstack ARGS` as `user`, by options (or OS_* variables); with `ok`, exit 0."""
        env = _environment()
        if environment:
            env.update(self.login_environment(user))
            command = [str(OPENSTACK), *args]
        else:
            command = [str(OPENSTACK), *self.login_options(user), *args]
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT, check=False
        )
        if ok:
            assert done.returncode == 0, f"{user}: openstack {' '.join(args)}: {done.stderr}"
        return done

    def cli_json(self, user: str, *args: str, environment: bool = False) -> Any:
        return yaml.safe_load(self.cli(user, *args, "-f", "json", environment=environment).stdout)

    def settled(self, server_id: str, *statuses: str) -> dict[str, Any]:
        """The server (as the admin sees it) once in one of `statuses` with no task; bounded."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            server = self.call("admin", "GET", f"/compute/v2.1/servers/{server_id}")["server"]
            if server["status"] in statuses and server["OS-EXT-STS:task_state"] is None:
                return dict(server)
            assert server["status"] != "ERROR", server.get("fault")
            assert time.monotonic() < deadline, f"{server['status']}, not {statuses}\n{self.log()}"
            time.sleep(0.1)

    def gone(self, server_id: str) -> None:
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while self.status("admin", "GET", f"/compute/v2.1/servers/{server_id}") != 404:
            assert time.monotonic() < deadline, f"{server_id} not deleted\n{self.log()}"
            time.sleep(0.1)

    def free_vfs(self, host: str) -> int:
        for node in self.call("admin", "GET", "/offpath/v1/hosts")["hosts"]:
            if node["host"] == host:
                return int(node["free_devices"])
        raise AssertionError(f"no hypervisor {host}")


def _environment() -> dict[str, str]:
    # No OS_* of the machine may point a client elsewhere.
    return {k: v for k, v in os.environ.items() if not k.startswith("OS_")}


def _offpath(root: Path, *args: str, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(
        [OFFPATH, *args],
        env=env or _environment(),
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"offpath {' '.join(args)}: {done.stdout}{done.stderr}"


def _openrc(path: Path) -> dict[str, str]:
    """The variables an openrc exports."""
    found = {}
    for line in path.read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        found[key] = shlex.split(value)[0]
    return found


def _token(auth_url: str, user: str) -> tuple[str, str, str]:
    """A project-scoped token for `user`, its project's id and its own."""
    done = login(PasswordCredentials(auth_url, user, PASSWORDS[user], PROJECTS[user]))
    return done.token, done.document["project"]["id"], done.document["user"]["id"]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """db sync, the identity provisioned by the CLI, then `offpath serve` with two DPU hosts."""
    root = tmp_path_factory.mktemp("identity-acceptance")
    state = ("--state-dir", str(root / "state"))
    sync_env = {**_environment(), "OFFPATH_BOOTSTRAP_PASSWORD": PASSWORDS["admin"]}
    _offpath(root, "db", "sync", *state, env=sync_env)
    # The admin logs in with what the bootstrap wrote to its openrc.
    openrc = _openrc(root / "state" / "admin-openrc")
    assert (openrc["OS_USERNAME"], openrc["OS_PASSWORD"], openrc["OS_PROJECT_NAME"]) == (
        "admin",
        PASSWORDS["admin"],
        PROJECTS["admin"],
    )
    for command in PROVISION:
        _offpath(root, "identity", *command, *state)
    serve = start_process(
        root,
        "serve",
        *("serve", *state, "--port", "0"),
        *(a for h, p in HOSTS.items() for a in ("--sim-host", f"{h}={p},vfs={VFS_PER_PF}")),
    )
    clients: dict[str, httpx.Client] = {}
    projects: dict[str, str] = {}
    users: dict[str, str] = {}
    try:
        base = wait_for_serve(serve, timeout=90).removesuffix("/compute/v2.1")
        auth_url = f"{base}/identity/v3"
        for user in PASSWORDS:
            token, projects[user], users[user] = _token(auth_url, user)
            clients[user] = httpx.Client(
                base_url=base, headers={"X-Auth-Token": token, **COMPUTE_VERSION}, timeout=30.0
            )
        cloud = Cloud(root, serve, auth_url, clients, projects, users)
        flavor = {"flavor": {"name": "m1.tiny", "ram": 512, "vcpus": 1, "disk": 1}}
        cloud.flavor = cloud.call("admin", "POST", "/compute/v2.1/flavors", flavor)["flavor"]["id"]
        image = {"name": "cirros", "disk_format": "raw", "visibility": "public"}
        cloud.image = cloud.call("admin", "POST", "/image/v2/images", image)["id"]
        upload = clients["admin"].put(
            f"/image/v2/images/{cloud.image}/file",
            content=b"\0" * 64,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert upload.status_code == 204, upload.text
        yield cloud
    finally:
        for client in clients.values():
            client.close()
        assert serve.stop(timeout=20) == 0, serve.log.read_text(errors="replace")
        assert_all_ended([serve])


# -- the openstack CLI ----------------------------------------------------------------------


def test_a_member_builds_a_server_and_the_admin_moves_it(cloud: Cloud) -> None:
    image_file = cloud.root / "image.raw"
    image_file.write_bytes(b"\0" * 64)
    network = cloud.cli_json("alice", "network", "create", "cli-net")
    assert network["project_id"] == cloud.projects["alice"]
    cloud.cli(
        "alice",
        "subnet",
        "create",
        "--network",
        "cli-net",
        "--subnet-range",
        "10.10.0.0/24",
        "cli-sub",
    )
    port = cloud.cli_json(
        "alice",
        "port",
        "create",
        "--network",
        "cli-net",
        "--vnic-type",
        "remote-managed",
        "cli-port",
    )
    assert port["binding_vnic_type"] == "remote-managed"
    image = cloud.cli_json(
        "alice", "image", "create", "--disk-format", "raw", "--file", str(image_file), "cli-image"
    )
    assert image["status"] == "active"
    flavor = cloud.cli_json(
        "admin", "flavor", "create", "--ram", "512", "--vcpus", "1", "--disk", "1", "m1.cli"
    )
    assert flavor["name"] == "m1.cli"

    # Booted through OS_* variables, as after sourcing an openrc.
    server = cloud.cli_json(
        "alice",
        *("server", "create", "--flavor", "m1.cli", "--image", "cli-image"),
        *("--port", "cli-port", "--wait", "cli-vm"),
        environment=True,
    )
    assert server["status"] == "ACTIVE"
    assert (server["project_id"], server["user_id"]) == (
        cloud.projects["alice"],
        cloud.users["alice"],
    )
    # Where it runs is the admin's to know (Nova's extended attributes).
    assert server.get("OS-EXT-SRV-ATTR:host") is None
    home = cloud.settled(server["id"], "ACTIVE")["OS-EXT-SRV-ATTR:host"]
    assert home in HOSTS

    listed = cloud.cli_json("alice", "server", "list")
    assert [(s["ID"], s["Status"]) for s in listed] == [(server["id"], "ACTIVE")]
    shown = cloud.cli_json("alice", "port", "show", "cli-port")
    assert shown["device_id"] == server["id"]
    assert all(not shown[key] for key in BINDING_KEYS), {k: shown[k] for k in BINDING_KEYS}

    cloud.cli("alice", "server", "stop", "cli-vm")
    cloud.settled(server["id"], "SHUTOFF")
    cloud.cli("alice", "server", "start", "cli-vm")
    cloud.settled(server["id"], "ACTIVE")

    services = cloud.cli_json("admin", "compute", "service", "list")
    assert {(s["Host"], s["State"]) for s in services if s["Binary"] == "offpath-compute"} == {
        (host, "up") for host in HOSTS
    }
    hypervisors = cloud.cli_json("admin", "hypervisor", "list")
    assert {h["Hypervisor Hostname"] for h in hypervisors} == set(HOSTS)

    # Another project's server: the admin names it by id.
    away = next(host for host in HOSTS if host != home)
    cloud.cli("admin", "server", "migrate", "--live-migration", "--wait", server["id"])
    assert cloud.settled(server["id"], "ACTIVE")["OS-EXT-SRV-ATTR:host"] == away
    cloud.cli("admin", "server", "migrate", "--wait", server["id"])
    assert cloud.settled(server["id"], "VERIFY_RESIZE")["OS-EXT-SRV-ATTR:host"] == home
    cloud.cli("alice", "server", "resize", "confirm", "cli-vm")
    assert cloud.settled(server["id"], "ACTIVE")["OS-EXT-SRV-ATTR:host"] == home

    bound = cloud.cli_json("admin", "port", "show", port["id"])
    assert bound["binding_host_id"] == home
    assert set(bound["binding_profile"]) >= set(REMOTE_MANAGED_KEYS)
    assert bound["binding_profile"]["card_serial_number"]

    free = cloud.free_vfs(home)
    cloud.cli("alice", "server", "delete", "--wait", "cli-vm")
    cloud.gone(server["id"])
    assert cloud.free_vfs(home) == free + 1


def test_a_reader_lists_the_servers_but_creates_nothing(cloud: Cloud) -> None:
    network = cloud.call("alice", "POST", "/network/v2.0/networks", {"network": {"name": "r-net"}})
    network_id = network["network"]["id"]
    subnet = {"subnet": {"network_id": network_id, "ip_version": 4, "cidr": "10.20.0.0/24"}}
    cloud.call("alice", "POST", "/network/v2.0/subnets", subnet)
    body = {
        "server": {
            "name": "r-vm",
            "flavorRef": cloud.flavor,
            "imageRef": cloud.image,
            "networks": "none",
        }
    }
    server = cloud.call("alice", "POST", "/compute/v2.1/servers", body)["server"]["id"]
    try:
        cloud.settled(server, "ACTIVE")
        listed = cloud.cli_json("rita", "server", "list")
        assert [s["ID"] for s in listed] == [server]

        refused = cloud.cli(
            "rita",
            *("server", "create", "--flavor", "m1.tiny", "--image", "cirros"),
            *("--network", "r-net", "r-vm-2"),
            ok=False,
        )
        assert refused.returncode != 0
        assert "Policy doesn't allow os_compute_api:servers:create to be performed." in (
            refused.stderr
        )
        refused = cloud.cli("rita", "network", "create", "r-net-2", ok=False)
        assert refused.returncode != 0
        assert "rule:create_network is disallowed by policy" in refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        cloud.call("alice", "DELETE", f"/compute/v2.1/servers/{server}")
        cloud.gone(server)


def test_a_member_boots_with_a_key_pair_a_security_group_and_properties(cloud: Cloud) -> None:
    """Key pairs, security groups and server properties through the CLI, each user's own."""
    private_key = cloud.root / "alice-key.pem"
    keypair = cloud.cli_json("alice", "keypair", "create", "--private-key", str(private_key), "k1")
    assert keypair["user_id"] == cloud.users["alice"]
    # The CLI (at 2.92) makes the pair itself and uploads the public half.
    key = serialization.load_ssh_private_key(private_key.read_bytes(), password=None)
    public = key.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    stored = cloud.call("alice", "GET", "/compute/v2.1/os-keypairs/k1")["keypair"]
    assert stored["public_key"].split()[:2] == public.split()[:2]
    assert stored["fingerprint"] == keypair["fingerprint"]
    assert [k["Name"] for k in cloud.cli_json("alice", "keypair", "list")] == ["k1"]
    assert cloud.cli_json("bob", "keypair", "list") == []

    group = cloud.cli_json("alice", "security", "group", "create", "web")
    assert group["project_id"] == cloud.projects["alice"]
    rule = cloud.cli_json(
        "alice",
        *("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22"),
        "web",
    )
    assert (rule["direction"], rule["port_range_min"], rule["port_range_max"]) == (
        "ingress",
        22,
        22,
    )
    refused = cloud.cli("bob", "security", "group", "show", group["id"], ok=False)
    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr

    network = cloud.call("alice", "POST", "/network/v2.0/networks", {"network": {"name": "k-net"}})
    network_id = network["network"]["id"]
    subnet = {"subnet": {"network_id": network_id, "ip_version": 4, "cidr": "10.30.0.0/24"}}
    cloud.call("alice", "POST", "/network/v2.0/subnets", subnet)
    port = cloud.cli_json(
        "alice",
        *("port", "create", "--network", "k-net", "--vnic-type", "remote-managed"),
        *("--security-group", "web", "k-port"),
    )
    assert port["security_group_ids"] == [group["id"]]

    server = cloud.cli_json(
        "alice",
        *("server", "create", "--flavor", "m1.tiny", "--image", "cirros"),
        *("--port", "k-port", "--key-name", "k1", "--property", "role=web", "--wait", "k-vm"),
    )
    try:
        assert server["status"] == "ACTIVE"
        cloud.cli("alice", "server", "set", "--property", "tier=front", "k-vm")
        cloud.cli("alice", "server", "unset", "--property", "role", "k-vm")
        shown = cloud.call("alice", "GET", f"/compute/v2.1/servers/{server['id']}")["server"]
        assert shown["key_name"] == "k1"
        assert shown["metadata"] == {"tier": "front"}
        assert shown["security_groups"] == [{"name": "web"}]

        cloud.cli("alice", "server", "add", "security", "group", "k-vm", "default")
        groups = cloud.call("alice", "GET", f"/network/v2.0/ports/{port['id']}")["port"]
        assert len(groups["security_groups"]) == 2
        # A group a port uses cannot go (Neutron's 409).
        in_use = cloud.cli("alice", "security", "group", "delete", "web", ok=False)
        assert in_use.returncode != 0
        assert "in use" in in_use.stderr
        cloud.cli("alice", "server", "remove", "security", "group", "k-vm", "web")
        shown = cloud.call("alice", "GET", f"/compute/v2.1/servers/{server['id']}")["server"]
        assert shown["security_groups"] == [{"name": "default"}]
    finally:
        cloud.cli("alice", "server", "delete", "--wait", "k-vm")
        cloud.gone(server["id"])
    cloud.cli("alice", "port", "delete", "k-port")
    cloud.cli("alice", "security", "group", "delete", "web")
    cloud.cli("alice", "keypair", "delete", "k1")
    assert cloud.cli_json("alice", "keypair", "list") == []


# -- openstacksdk ------------------------------------------------------------------------------


def _clouds_yaml(cloud: Cloud) -> Path:
    """A clouds.yaml with a password cloud per persona."""
    clouds = {
        user: {
            "auth": {
                "auth_url": cloud.auth_url,
                "username": user,
                "password": PASSWORDS[user],
                "project_name": PROJECTS[user],
                "user_domain_name": "Default",
                "project_domain_name": "Default",
            },
            "identity_api_version": 3,
            "region_name": "RegionOne",
        }
        for user in ("alice", "bob", "admin")
    }
    path = cloud.root / "clouds.yaml"
    path.write_text(yaml.safe_dump({"clouds": clouds}))
    return path


@dataclass(frozen=True)
class Built:
    """What one user built with openstacksdk."""

    network: str
    subnet: str
    port: str
    server: str


def _build(conn: Connection, cloud: Cloud, name: str, cidr: str) -> Built:
    """Network, subnet, remote-managed port and a server on it, ACTIVE."""
    network = conn.network.create_network(name=f"{name}-net")
    subnet = conn.network.create_subnet(
        network_id=network.id, ip_version=4, cidr=cidr, name=f"{name}-sub"
    )
    port = conn.network.create_port(
        network_id=network.id, binding_vnic_type="remote-managed", name=f"{name}-port"
    )
    assert port.binding_vnic_type == "remote-managed"
    server = conn.compute.create_server(
        name=f"{name}-vm",
        flavor_id=cloud.flavor,
        image_id=cloud.image,
        networks=[{"port": port.id}],
    )
    server = conn.compute.wait_for_server(server, status="ACTIVE", wait=int(SETTLE_TIMEOUT))
    return Built(network.id, subnet.id, port.id, server.id)


@pytest.fixture(scope="module")
def sdk(cloud: Cloud) -> Iterator[dict[str, Connection]]:
    """An openstacksdk connection per persona, from the password clouds.yaml."""
    config = OpenStackConfig(config_files=[str(_clouds_yaml(cloud))])
    connections = {
        user: Connection(config=config.get_one(user)) for user in ("alice", "bob", "admin")
    }
    yield connections
    for conn in connections.values():
        conn.close()


def test_each_member_boots_on_a_dpu_and_is_blind_to_the_other(
    cloud: Cloud, sdk: dict[str, Connection]
) -> None:
    built: dict[str, Built] = {}
    try:
        for user, cidr in (("alice", "10.30.0.0/24"), ("bob", "10.31.0.0/24")):
            built[user] = _build(sdk[user], cloud, f"sdk-{user}", cidr)

        for user, mine in built.items():
            conn = sdk[user]
            server = conn.compute.get_server(mine.server)
            assert (server.status, server.project_id, server.user_id) == (
                "ACTIVE",
                cloud.projects[user],
                cloud.users[user],
            )
            assert server.compute_host is None  # the admin's to know
            port = conn.network.get_port(mine.port)
            assert (port.device_id, port.binding_profile or {}) == (mine.server, {})
            assert not port.binding_host_id

            seen = sdk["admin"].network.get_port(mine.port)
            assert seen.binding_host_id in HOSTS
            profile = seen.binding_profile
            assert set(profile) >= {"card_serial_number", "pf_mac_address", "vf_num"}
            assert profile["card_serial_number"] and profile["pf_mac_address"]
            assert isinstance(profile["vf_num"], int)
            assert sdk["admin"].compute.get_server(mine.server).compute_host == (
                seen.binding_host_id
            )

        for user, other in (("alice", "bob"), ("bob", "alice")):
            conn, theirs = sdk[user], built[other]
            for get, ident in (
                (conn.compute.get_server, theirs.server),
                (conn.network.get_network, theirs.network),
                (conn.network.get_subnet, theirs.subnet),
                (conn.network.get_port, theirs.port),
            ):
                with pytest.raises(sdk_errors.NotFoundException) as caught:
                    get(ident)
                assert caught.value.status_code == 404, get
            assert [s.id for s in conn.compute.servers()] == [built[user].server]
            assert theirs.network not in {n.id for n in conn.network.networks()}
            assert theirs.subnet not in {s.id for s in conn.network.subnets()}
            assert theirs.port not in {p.id for p in conn.network.ports()}
            assert built[user].port in {p.id for p in conn.network.ports()}
    finally:
        for user, mine in built.items():
            sdk[user].compute.delete_server(mine.server)
        for mine in built.values():
            cloud.gone(mine.server)

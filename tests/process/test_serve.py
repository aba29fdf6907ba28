"""`offpath serve` on PostgreSQL and RabbitMQ, with `offpath agent` processes joining it.

Everything a deployment runs is a process here: the cloud (API, conductor,
scheduler, network service), one agent per simulated host, and the tools
that write the hosts. The test plays the DPU's side itself (the chassis
registration that ovn-controller does on a real card). An agent killed with
SIGKILL while a build waits for its plug event leaves a server that the
conductor puts in ERROR once the host stops heartbeating, with its VF freed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from openstack.connection import Connection

from offpath.embedded.sim_hosts import default_device_specs
from offpath.network.dpu_agent import DpuAgent
from offpath.sim.dpu import SimDpu
from offpath.sim.host import plan_host
from offpath.sim.profile import load_profile
from tests.backends import scratch_database
from tests.process.cluster import (
    Process,
    assert_all_ended,
    start_process,
    wait_for_serve,
    wait_until,
)
from tests.rabbit import scratch_vhost

TOKEN = "procs-secret"
DPU_HOST, NIC_HOST = "dpu-1", "nic-1"
PROFILES = {DPU_HOST: "bluefield2", NIC_HOST: "cx6dx"}
VFS = 2
# Short enough that a dead agent is noticed in seconds; the spawn's wait is long on purpose.
SERVICE_DOWN_TIME, REPORT_INTERVAL, VIF_PLUGGING_TIMEOUT = 3, 1, 300


@dataclass
class Deployment:
    """The processes of one deployment, and where to reach its API."""

    root: Path
    transport_url: str
    processes: list[Process] = field(default_factory=list)
    dpus: list[DpuAgent] = field(default_factory=list)
    base: str = ""
    agents: dict[str, Process] = field(default_factory=dict)
    # Host -> simulator profile of the hosts this deployment's agents play.
    profiles: dict[str, str] = field(default_factory=lambda: dict(PROFILES))

    @property
    def network(self) -> str:
        return f"{self.base}/network"

    def defaults(self, host: str) -> str:
        return (
            f"[DEFAULT]\nhost = {host}\ntransport_url = {self.transport_url}\n"
            f"service_down_time = {SERVICE_DOWN_TIME}\nreport_interval = {REPORT_INTERVAL}\n"
            "update_resources_interval = 2\nrpc_response_timeout = 10\n"
            f"vif_plugging_timeout = {VIF_PLUGGING_TIMEOUT}\n"
            f"[api]\nauth_token = {TOKEN}\n"
        )

    def start(self, name: str, *args: str) -> Process:
        process = start_process(self.root, name, *args)
        self.processes.append(process)
        return process

    def start_agent(self, host: str) -> None:
        """Write the simulated host with `offpath sim host`, then run its agent."""
        profile = self.profiles[host]
        tree = self.root / host
        sim = self.start(
            f"sim-{host}",
            *("sim", "host", "--profile", profile, "--out", str(tree)),
            *("--hostname", host, "--vfs", str(VFS)),
        )
        assert sim.popen.wait(timeout=60) == 0, sim.log.read_text()
        specs = "".join(
            f"device_spec = {spec}\n" for spec in default_device_specs(load_profile(profile))
        )
        conf = self.root / f"{host}.conf"
        conf.write_text(
            self.defaults(host) + f"[neutron]\nendpoint = {self.network}\n[pci]\n{specs}"
        )
        self.agents[host] = self.start(
            f"agent-{host}", "agent", "--config-file", str(conf), "--sysfs-root", str(tree)
        )

    def restart_agent(self, host: str) -> None:
        """Run the agent of a host written before again (after it was killed)."""
        self.agents[host] = self.start(
            f"agent-{host}-again",
            *("agent", "--config-file", str(self.root / f"{host}.conf")),
            *("--sysfs-root", str(self.root / host)),
        )

    def register_dpus(self, host: str) -> None:
        """Play the DPU side: each card's chassis, named by its serial, kept alive."""
        # The same options as `offpath sim host` above give the same cards, serials and MACs.
        sim = plan_host(load_profile(self.profiles[host]), self.root / host, hostname=host, vfs=VFS)
        for card in sim.cards:
            dpu = SimDpu.of_card(card, hostname=f"{host}-dpu{card.index}")
            agent = DpuAgent(self.network, dpu, token=TOKEN, interval=1.0)
            agent.start()
            self.dpus.append(agent)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.log.read_text(errors='replace')}" for p in self.processes
        )

    def stop(self) -> None:
        for dpu in self.dpus:
            dpu.stop()
        # Over RabbitMQ each stop takes seconds (the consumers' goodbyes): all at once.
        for process in self.processes:
            process.ask_to_stop()
        for process in self.processes:
            process.stop(timeout=15)
        assert_all_ended(self.processes)


@contextmanager
def deployed(
    tmp_path: Path,
    profiles: Mapping[str, str] = PROFILES,
    dpu_hosts: Sequence[str] = (DPU_HOST,),
) -> Iterator[Deployment]:
    """Scratch PostgreSQL databases and a RabbitMQ vhost; `offpath serve` on them, and agents."""
    suffix = uuid.uuid4().hex[:10]
    with ExitStack() as stack:
        transport_url = stack.enter_context(scratch_vhost())
        api = stack.enter_context(
            scratch_database("postgresql", tmp_path, name=f"offpath_t_{suffix}_api")
        )
        cell = stack.enter_context(
            scratch_database("postgresql", tmp_path, name=f"offpath_t_{suffix}")
        )
        # Nova's convention, which offpath follows: cell0's database is the cell's + "_cell0".
        stack.enter_context(
            scratch_database("postgresql", tmp_path, name=f"offpath_t_{suffix}_cell0")
        )
        deployment = Deployment(tmp_path, transport_url, profiles=dict(profiles))
        conf = tmp_path / "serve.conf"
        conf.write_text(
            deployment.defaults("serve-1")
            + f"[api_database]\nconnection = {api}\n[database]\nconnection = {cell}\n"
        )
        try:
            serve = deployment.start(
                "serve",
                *("serve", "--config-file", str(conf), "--state-dir", str(tmp_path / "state")),
                *("--port", "0"),
            )
            deployment.base = wait_for_serve(serve, timeout=60)
            for host in dpu_hosts:
                deployment.register_dpus(host)
            for host in profiles:
                deployment.start_agent(host)
            yield deployment
        finally:
            deployment.stop()


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    """The deployment of this module: one DPU host and one NIC host."""
    with deployed(tmp_path) as running:
        yield running


def admin(deployment: Deployment, path: str) -> Any:
    """GET an admin API path of the deployment; its JSON body (asserts 200)."""
    response = httpx.get(
        f"{deployment.base}/offpath/v1{path}", headers={"X-Auth-Token": TOKEN}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def hosts_up(deployment: Deployment) -> bool:
    """True once every agent of the deployment registered, is up and reported devices."""
    hosts = {h["host"]: h for h in admin(deployment, "/hosts")["hosts"]}
    return all(
        host in hosts
        and hosts[host]["devices"] > 0
        and (hosts[host]["service"] or {}).get("state") == "up"
        for host in deployment.profiles
    )


def claimed(deployment: Deployment, host: str, server_id: str) -> list[str]:
    """The addresses of the devices the server holds on `host`."""
    devices = admin(deployment, f"/hosts/{host}/devices")["devices"]
    return [d["address"] for d in devices if d["instance_uuid"] == server_id]


def sdk_of(deployment: Deployment) -> Connection:
    """An admin openstacksdk connection to the deployment."""
    base = deployment.base
    return Connection(
        auth_type="admin_token",
        auth={"endpoint": f"{base}/compute/v2.1", "token": TOKEN},
        compute_endpoint_override=f"{base}/compute/v2.1",
        image_endpoint_override=f"{base}/image",
        network_endpoint_override=deployment.network,
    )


def test_serve_on_postgresql_and_rabbitmq_with_agent_processes(deployment: Deployment) -> None:
    wait_until(
        lambda: hosts_up(deployment),
        timeout=30,
        what="both agents registered, up, with their inventory",
        logs=deployment.logs,
    )
    sdk = sdk_of(deployment)
    try:
        flavor = sdk.compute.create_flavor(name="m1.tiny", ram=512, vcpus=1, disk=0)
        image = sdk.image.create_image(
            name="cirros", data=b"\0" * 64, disk_format="raw", container_format="bare"
        )

        # A remote-managed port: bound through the DPU's chassis, booted, deleted.
        overlay = sdk.network.create_network(name="overlay", provider_network_type="geneve")
        sdk.network.create_subnet(network_id=overlay.id, ip_version=4, cidr="10.0.0.0/24")
        port = sdk.network.create_port(network_id=overlay.id, binding_vnic_type="remote-managed")
        server = sdk.compute.create_server(
            name="vm-dpu", flavor_id=flavor.id, image_id=image.id, networks=[{"port": port.id}]
        )
        server = sdk.compute.wait_for_server(server, interval=0.25, wait=60)
        assert server.compute_host == DPU_HOST
        bound = sdk.network.get_port(port.id)
        assert (bound.status, bound.binding_host_id) == ("ACTIVE", DPU_HOST)
        (address,) = claimed(deployment, DPU_HOST, server.id)
        assert bound.binding_profile["pci_slot"] == address
        serials = {agent.dpu.serial for agent in deployment.dpus}
        assert bound.binding_profile["card_serial_number"] in serials
        sdk.compute.delete_server(server)
        sdk.compute.wait_for_delete(server, interval=0.25, wait=30)
        unbound = sdk.network.get_port(port.id)
        assert (unbound.binding_host_id, unbound.device_id) == ("", "")
        assert claimed(deployment, DPU_HOST, server.id) == []

        # A direct port that is administratively down never goes ACTIVE, so the
        # spawn on the NIC host waits for network-vif-plugged; its agent dies then.
        vlan = sdk.network.create_network(
            name="vlan",
            provider_network_type="vlan",
            provider_physical_network="physnet1",
            provider_segmentation_id=100,
        )
        sdk.network.create_subnet(network_id=vlan.id, ip_version=4, cidr="10.0.1.0/24")
        direct = sdk.network.create_port(
            network_id=vlan.id, binding_vnic_type="direct", is_admin_state_up=False
        )
        server = sdk.compute.create_server(
            name="vm-nic", flavor_id=flavor.id, image_id=image.id, networks=[{"port": direct.id}]
        )
        agent = deployment.agents[NIC_HOST]
        waiting = re.compile(
            rf"build of {server.id}: waiting up to {VIF_PLUGGING_TIMEOUT} s for "
            rf"network-vif-plugged of port {direct.id}"
        )
        wait_until(
            lambda: waiting.search(agent.log.read_text(errors="replace")) is not None,
            timeout=30,
            what="the NIC host's agent waiting for network-vif-plugged",
            logs=deployment.logs,
        )
        assert len(claimed(deployment, NIC_HOST, server.id)) == 1
        agent.kill()

        wait_until(
            lambda: sdk.compute.get_server(server.id).status == "ERROR",
            timeout=SERVICE_DOWN_TIME + 20,
            what="the server on the dead host in ERROR",
            logs=deployment.logs,
        )
        failed = sdk.compute.get_server(server.id)
        assert NIC_HOST in failed.fault["message"]
        assert claimed(deployment, NIC_HOST, server.id) == []
        nic = admin(deployment, f"/hosts/{NIC_HOST}")["host"]
        assert nic["service"]["state"] == "down"
        assert nic["free_devices"] == nic["devices"]

        # Deleting the failed server still unbinds its port (the host is gone).
        sdk.compute.delete_server(failed)
        sdk.compute.wait_for_delete(failed, interval=0.25, wait=30)
        assert sdk.network.get_port(direct.id).binding_host_id == ""
    finally:
        sdk.close()

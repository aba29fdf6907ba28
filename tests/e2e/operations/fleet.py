"""The four-host cloud of the operation tests, and the checks of where a server is.

Two BlueField-2 hosts serve remote-managed ports (an overlay network), two
ConnectX-6 Dx hosts serve direct ports (a VLAN network on physnet1): every
move of a server has exactly one destination of its kind. The tests drive
the cloud as a client would (openstacksdk, the admin API); the simulated
hosts' hypervisors and DPUs are read in this process, and the databases
only where no API shows what a leak would leave (see `leaks`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
from openstack.compute.v2.server import Server
from openstack.connection import Connection
from openstack.network.v2.port import Port
from sqlalchemy import Engine

from tests.e2e.cloud import DETAILS_MICROVERSION, Cloud, guest_interfaces, wait_for
from tests.e2e.conftest import Networks

DPU_HOSTS: Final = ("bfa", "bfb")
NIC_HOSTS: Final = ("cxa", "cxb")
HOSTS: Final = (*DPU_HOSTS, *NIC_HOSTS)
SIM_HOSTS: Final = (
    *(f"{host}=bluefield2,vfs=2" for host in DPU_HOSTS),
    *(f"{host}=cx6dx,vfs=2" for host in NIC_HOSTS),
)
DPU_SIM: Final = "dpu-sim"
OVN: Final = "ovn"
REMOTE_MANAGED: Final = "remote-managed"
DIRECT: Final = "direct"
PHYSNET: Final = "physnet1"
VIF_PLUGGED: Final = "network-vif-plugged"
# A move on the simulated hosts takes about a second; a direct port's lost event takes the
# plug timeout of the cloud's config.
OPERATION_WAIT: Final = 30.0
MIGRATIONS_MICROVERSION: Final = {"OpenStack-API-Version": "compute 2.80"}
# `migrate` with a host, `unshelve` with a host.
HOST_MICROVERSION: Final = {"OpenStack-API-Version": "compute 2.91"}
# Nothing is under way any more in a migration in one of these.
FINAL_MIGRATION: Final = frozenset(
    {"confirmed", "reverted", "completed", "error", "failed", "done"}
)


def host_pair(vnic: str) -> tuple[str, str]:
    """The two hosts whose VFs serve ports of `vnic`."""
    return DPU_HOSTS if vnic == REMOTE_MANAGED else NIC_HOSTS


def other_host(vnic: str, host: str | None) -> str:
    """The host of `vnic`'s kind that is not `host`."""
    (other,) = [h for h in host_pair(vnic) if h != host]
    return other


def dpu_of(host: str) -> str:
    """The chassis name of the DPU card of a simulated BlueField host."""
    return f"{host}-dpu0"


def expected_profile(row: dict[str, Any], vnic: str) -> dict[str, Any]:
    """The binding profile of a port on the VF of inventory row `row`: Nova's, key for key."""
    return {
        "pci_vendor_info": f"{row['vendor_id']}:{row['product_id']}",
        "pci_slot": row["address"],
        "physical_network": None if vnic == REMOTE_MANAGED else PHYSNET,
        "card_serial_number": row["card_serial_number"],
        "pf_mac_address": row["pf_mac_address"],
        "vf_num": row["vf_num"],
    }


@dataclass(frozen=True, slots=True)
class Databases:
    """The cloud's API and cell databases, for what no API shows."""

    api: Engine
    cell: Engine


@dataclass
class Fleet:
    """One test's hold on the cloud: what it created, and the checks of where a server is."""

    cloud: Cloud
    driver: str
    networks: Networks
    resize_flavor_id: str
    databases: Databases
    servers: list[str] = field(default_factory=list)
    ports: list[str] = field(default_factory=list)

    @property
    def sdk(self) -> Connection:
        """The openstacksdk connection."""
        return self.cloud.sdk

    # -- making things -------------------------------------------------------

    def port(self, vnic: str) -> Port:
        """A new port of `vnic` on the network that type serves."""
        network = self.networks.overlay if vnic == REMOTE_MANAGED else self.networks.vlan
        port = self.sdk.network.create_port(network_id=network.id, binding_vnic_type=vnic)
        self.ports.append(port.id)
        return port

    def boot(self, vnic: str, name: str = "vm") -> tuple[Server, Port]:
        """An ACTIVE server on a new port of `vnic`."""
        port = self.port(vnic)
        server = self.cloud.boot(name, port)
        self.servers.append(server.id)
        assert server.status == "ACTIVE", (server.status, server.fault)
        return server, port

    # -- waiting ------------------------------------------------------------------

    def settle(self, server_id: str, status: str, *, host: str | None = None) -> Server:
        """The server once in `status` (on `host` if given) with no task; fails fast on ERROR."""

        def probe() -> Server | None:
            server = self.sdk.compute.get_server(server_id)
            if server.status == "ERROR" and status != "ERROR":
                raise AssertionError(f"server {server_id} went to ERROR: {server.fault}")
            if server.status != status or server.task_state is not None:
                return None
            if host is not None and server.compute_host != host:
                return None
            return server

        return wait_for(probe, timeout=OPERATION_WAIT, what=f"server {server_id} to be {status}")

    def request(
        self, method: str, path: str, body: object = None, **headers: str
    ) -> httpx.Response:
        """A request to the cloud with the admin token, whatever its status."""
        return self.cloud.http.request(method, path, json=body, headers=headers)

    # -- where a server is ----------------------------------------------------------

    def held(self, server_id: str) -> dict[str, list[dict[str, Any]]]:
        """The inventory rows the server holds, by host (every host listed)."""
        return {
            host: [d for d in self.cloud.devices(host) if d["instance_uuid"] == server_id]
            for host in HOSTS
        }

    def profiles(self, port_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Each port's binding profile now."""
        return {p: dict(self.sdk.network.get_port(p).binding_profile) for p in port_ids}

    def assert_placed(
        self,
        server_id: str,
        host: str,
        ports: list[Port],
        *,
        status: str = "ACTIVE",
        source: str | None = None,
        stale_guest: bool = False,
        interfaces: bool = True,
    ) -> None:
        """The server runs on `host` with one VF of `host` per port, every trace of it right.

        Its status and host; the VFs it holds (on `host`, and on `source`
        too while a move keeps them: a cold move until confirmed, an
        evacuation until the source is back); each port's profile exactly
        the one of its VF, ACTIVE, bound to `host`; a guest on `host` only
        (and the evacuated source's, `stale_guest`), with one hostdev
        interface per VF (none while suspended, `interfaces` false); the
        DPU of `host` plugged each remote-managed port's representor.
        """
        server = self.sdk.compute.get_server(server_id)
        assert (server.status, server.compute_host) == (status, host)
        held = self.held(server_id)
        assert len(held[host]) == len(ports), held
        for other, rows in held.items():
            if other not in (host, source):
                assert rows == [], f"{server_id} still holds {rows} on {other}"
        if source is not None:
            assert len(held[source]) == len(ports), held
        by_slot = {row["address"]: row for row in held[host]}
        expected_plugs = set()
        for created in ports:
            port = self.sdk.network.get_port(created.id)
            vnic = port.binding_vnic_type
            row = by_slot.get(port.binding_profile.get("pci_slot"))
            assert row is not None, (port.binding_profile, by_slot)
            assert port.binding_profile == expected_profile(row, vnic)
            bound = (port.status, port.binding_host_id, port.device_id)
            assert bound == ("ACTIVE", host, server_id), (port.id, vnic, bound)
            if vnic == REMOTE_MANAGED:
                expected_plugs.add((dpu_of(host), row["pf_mac_address"], row["vf_num"], port.id))
        for other in HOSTS:
            xml = self.cloud.cloud.hypervisor(other).guest_xml(server_id)
            expected = other == host or (stale_guest and other == source)
            assert (xml is not None) == expected, f"guest of {server_id} on {other}"
        xml = self.cloud.cloud.hypervisor(host).guest_xml(server_id)
        assert xml is not None
        found = sorted((i.type, i.pci_address) for i in guest_interfaces(xml))
        wanted = sorted(("hostdev", slot) for slot in by_slot) if interfaces else []
        assert found == wanted
        mine = {port.id for port in ports}
        self.wait_plugs(lambda plugs: {p for p in plugs if p[3] in mine} == expected_plugs)

    # -- the DPUs ------------------------------------------------------------------

    def plugs(self) -> set[tuple[str, str, int, str]]:
        """Every representor a DPU has plugged: (chassis, PF MAC, VF number, port id)."""
        if self.driver == OVN:
            return self._ovn_plugs()
        found = set()
        for chassis in self.cloud.get("/network/offpath/chassis")["chassis"]:
            for plug in chassis["representors"]:
                found.add((chassis["hostname"], plug["pf_mac"], plug["vf_num"], plug["port_id"]))
        return found

    def _ovn_plugs(self) -> set[tuple[str, str, int, str]]:
        backend = self.cloud.cloud.ovn_backend
        assert backend is not None
        found = set()
        for controller in self.cloud.cloud.ovn_dpus:
            for port_id in list(controller.plugged):
                row = backend.nb.row("Logical_Switch_Port", port_id)
                options = dict(row.options) if row is not None else {}
                # The DPU took the binding its Logical_Switch_Port asks of it, nothing else.
                assert options.get("requested-chassis") == controller.name, options
                found.add(
                    (
                        controller.name,
                        options.get("vif-plug:representor:pf-mac", ""),
                        int(options.get("vif-plug:representor:vf-num", "-1")),
                        port_id,
                    )
                )
        return found

    def wait_plugs(self, good: Any) -> None:
        """Until the DPUs' plugs satisfy `good` (an OVN DPU plugs on its own time)."""
        wait_for(
            lambda: good(self.plugs()),
            timeout=OPERATION_WAIT,
            what="the DPUs' representors",
        )

    # -- what the hosts reported ---------------------------------------------------

    def waited_for(self, server_id: str, action: str) -> dict[str, str | None]:
        """Port id -> the event the hosts waited for, over every step of the newest `action`.

        Each step must have succeeded; a port seen by several steps keeps
        the event of the one that waited, if any did.
        """
        actions = self.sdk.compute.get(f"/servers/{server_id}/os-instance-actions").json()
        found = [a for a in actions["instanceActions"] if a["action"] == action]
        assert found, f"no {action} action of {server_id}: {actions}"
        detail = self.sdk.compute.get(
            f"/servers/{server_id}/os-instance-actions/{found[0]['request_id']}",
            headers=DETAILS_MICROVERSION,
        ).json()["instanceAction"]
        waited: dict[str, str | None] = {}
        for event in detail["events"]:
            assert event["result"] == "Success", event
            details = json.loads(event["details"]) if event["details"] else {}
            for port in details.get("ports", []):
                waited[port["port_id"]] = waited.get(port["port_id"]) or port["waited_for"]
        return waited

    def assert_waits(
        self,
        server_id: str,
        action: str,
        ports: list[Port],
        *,
        direct: str | None = None,
        reported: bool = True,
    ) -> None:
        """What the steps of `action` waited for: never a remote-managed port's plug event; a
        direct port's `direct` (None: nothing). `reported`: every port is in a step's record."""
        waited = self.waited_for(server_id, action)
        for port in ports:
            if not reported and port.id not in waited:
                continue
            assert port.id in waited, (action, waited)
            expected = None if port.binding_vnic_type == REMOTE_MANAGED else direct
            assert waited[port.id] == expected, (action, port.binding_vnic_type, waited)

    def migrations(self, server_id: str | None = None) -> list[dict[str, Any]]:
        """`os-migrations` (of one server), newest first."""
        query = f"?instance_uuid={server_id}" if server_id else ""
        body = self.sdk.compute.get(
            f"/os-migrations{query}", headers=MIGRATIONS_MICROVERSION
        ).json()
        migrations: list[dict[str, Any]] = body["migrations"]
        return migrations

    def last_migration(self, server_id: str) -> tuple[str, str, str, str]:
        """(type, status, source, destination) of the server's newest migration."""
        newest = self.migrations(server_id)[0]
        return (
            newest["migration_type"],
            newest["status"],
            newest["source_compute"],
            newest["dest_compute"],
        )

"""The demo: two servers booted through openstacksdk, one per kind of SR-IOV port, then moved.

It plays a cloud user against a running cloud: an overlay network and a
VLAN network on physnet1, a `remote-managed` port on the first and a
`direct` port on the second, a flavor and an image, then one server per
port. It reads back what each boot did: the host, the VF in the port's
binding profile, the port's status, and, from the server's build record
(instance action events, admin details from microversion 2.84), whether
the agent waited for a plug event.

Then, as an operator, it moves both: the remote-managed server is
live-migrated, the direct one cold-migrated and the move confirmed, each
to the other host of its kind. Each port's binding profile is read before
and after: it names the destination's VF (and, for the DPU, its card).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import openstack
from openstack.connection import Connection

from offpath.embedded.cloud import Endpoints
from offpath.embedded.sim_hosts import DEFAULT_PHYSNET, SimHostRequest
from offpath.errors import DemoFailed
from offpath.identity.bootstrap import ADMIN_PROJECT, ADMIN_USER
from offpath.identity.catalog import DEFAULT_REGION

# Four hosts: two DPU generations and two plain NICs, four VFs per PF each; every server
# has another host of its kind to move to.
DEMO_HOSTS: Final = (
    SimHostRequest("compute-dpu-01", "bluefield2", vfs=4),
    SimHostRequest("compute-dpu-02", "bluefield3", vfs=4),
    SimHostRequest("compute-nic-01", "cx6dx", vfs=4),
    SimHostRequest("compute-nic-02", "cx6dx", vfs=4),
)
BOOT_TIMEOUT: Final = 120.0
MOVE_TIMEOUT: Final = 120.0
LIVE_MIGRATION: Final = "live migration"
COLD_MIGRATION: Final = "cold migration, confirmed"
DETAILS_MICROVERSION: Final = "2.84"
BUILD_EVENT: Final = "compute_build_and_run_instance"
# The simulated hypervisor needs no disk; Nova only refuses images that are not active.
IMAGE_BYTES: Final = b"offpath simulated disk\n"


@dataclass(frozen=True, slots=True)
class DemoBoot:
    """One server the demo booted and what its port ended up with."""

    server: str
    status: str
    host: str
    port: str
    vnic_type: str
    vf_address: str
    card_serial: str
    pf_mac: str
    vf_num: str
    port_status: str
    waited_for: str
    seconds: float
    port_id: str = ""
    server_id: str = ""


@dataclass(frozen=True, slots=True)
class PortPlace:
    """Where a port is bound and what its binding profile says of the VF."""

    host: str
    vf_address: str
    card_serial: str
    pf_mac: str
    vf_num: str
    physical_network: str


@dataclass(frozen=True, slots=True)
class DemoMove:
    """One server the demo moved: how, and its port's binding before and after."""

    server: str
    move: str
    before: PortPlace
    after: PortPlace
    status: str
    seconds: float


def connect(endpoints: Endpoints) -> Connection:
    """An openstacksdk connection as the bootstrap admin: a Keystone login, the catalog.

    With the opt-in static token, that token and per-service endpoints instead.
    """
    if endpoints.token:
        return openstack.connect(
            auth_type="admin_token",
            auth={"token": endpoints.token, "endpoint": endpoints.compute},
            compute_endpoint_override=endpoints.compute,
            network_endpoint_override=endpoints.network,
            image_endpoint_override=endpoints.image,
        )
    if endpoints.admin_password is None:
        raise DemoFailed(
            "login", "the admin's password is not in the state directory's admin-openrc"
        )
    return openstack.connect(
        auth_url=endpoints.identity,
        username=ADMIN_USER,
        password=endpoints.admin_password,
        project_name=ADMIN_PROJECT,
        user_domain_name="Default",
        project_domain_name="Default",
        region_name=DEFAULT_REGION,
    )


def run_demo(conn: Connection, *, progress: Callable[[str], None]) -> list[DemoBoot]:
    """Create the networks, ports, flavor and image, boot both servers, read back each boot."""
    progress("network: overlay (geneve) and vlan-101 (VLAN 101 on physnet1)")
    overlay = conn.network.create_network(name="overlay", provider_network_type="geneve")
    conn.network.create_subnet(
        network_id=overlay.id, ip_version=4, cidr="10.10.0.0/24", name="overlay-v4"
    )
    vlan = conn.network.create_network(
        name="vlan-101",
        provider_network_type="vlan",
        provider_physical_network=DEFAULT_PHYSNET,
        provider_segmentation_id=101,
    )
    conn.network.create_subnet(network_id=vlan.id, ip_version=4, cidr="10.20.0.0/24", name="v4")
    ports = [
        conn.network.create_port(
            network_id=overlay.id, name="port-dpu", binding_vnic_type="remote-managed"
        ),
        conn.network.create_port(network_id=vlan.id, name="port-sriov", binding_vnic_type="direct"),
    ]
    progress("ports: port-dpu (remote-managed), port-sriov (direct)")
    flavor = conn.compute.create_flavor(name="m1.small", ram=512, vcpus=1, disk=1)
    image = conn.image.create_image(
        name="cirros",
        disk_format="qcow2",
        container_format="bare",
        data=IMAGE_BYTES,
        validate_checksum=False,
    )
    boots = []
    for name, port in (("vm-dpu", ports[0]), ("vm-sriov", ports[1])):
        progress(f"server {name}: booting with {port.name}")
        boots.append(_boot(conn, name, port, flavor.id, image.id))
        progress(f"server {name}: {boots[-1].status} on {boots[-1].host}")
    return boots


def _boot(conn: Connection, name: str, port: Any, flavor_id: str, image_id: str) -> DemoBoot:
    started = time.monotonic()
    server = conn.compute.create_server(
        name=name, flavor_id=flavor_id, image_id=image_id, networks=[{"port": port.id}]
    )
    deadline = started + BOOT_TIMEOUT
    while True:
        server = conn.compute.get_server(server.id)
        if server.status in ("ACTIVE", "ERROR"):
            break
        if time.monotonic() > deadline:
            raise DemoFailed(f"server {name}", f"still {server.status} after {BOOT_TIMEOUT:.0f} s")
        time.sleep(0.05)
    seconds = time.monotonic() - started
    if server.status == "ERROR":
        fault = (server.fault or {}).get("message", "no fault recorded")
        raise DemoFailed(f"server {name}", f"ERROR: {fault}")
    bound = conn.network.get_port(port.id)
    place = port_place(bound)
    return DemoBoot(
        server=name,
        status=server.status,
        host=server.compute_host or "",
        port=port.name,
        vnic_type=bound.binding_vnic_type,
        vf_address=place.vf_address,
        card_serial=place.card_serial,
        pf_mac=place.pf_mac,
        vf_num=place.vf_num,
        port_status=bound.status,
        waited_for=_waited_for(conn, server.id, port.id),
        seconds=seconds,
        port_id=port.id,
        server_id=server.id,
    )


def port_place(port: Any) -> PortPlace:
    """The port's binding host and the VF its binding profile names ("-" where it has none)."""
    profile: Mapping[str, Any] = port.binding_profile or {}
    return PortPlace(
        host=port.binding_host_id or "-",
        vf_address=str(profile.get("pci_slot") or "-"),
        card_serial=str(profile.get("card_serial_number") or "-"),
        pf_mac=str(profile.get("pf_mac_address") or "-"),
        vf_num=str(profile.get("vf_num", "-")),
        physical_network=str(profile.get("physical_network") or "-"),
    )


def run_moves(
    conn: Connection, boots: list[DemoBoot], *, progress: Callable[[str], None]
) -> list[DemoMove]:
    """Live-migrate the remote-managed server, cold-migrate and confirm the direct one."""
    moves = []
    for boot in boots:
        live = boot.vnic_type == "remote-managed"
        how = "live-migrating from {}" if live else "cold-migrating from {} (then confirming)"
        progress(f"server {boot.server}: {how.format(boot.host)}")
        moves.append(_move(conn, boot, live=live))
        progress(f"server {boot.server}: {moves[-1].status} on {moves[-1].after.host}")
    return moves


def _move(conn: Connection, boot: DemoBoot, *, live: bool) -> DemoMove:
    before = port_place(conn.network.get_port(boot.port_id))
    started = time.monotonic()
    what = f"server {boot.server}"
    if live:
        conn.compute.live_migrate_server(boot.server_id, block_migration="auto")
        server = _settled(conn, boot.server_id, what, ("ACTIVE",))
    else:
        conn.compute.migrate_server(boot.server_id)
        _settled(conn, boot.server_id, what, ("VERIFY_RESIZE", "ACTIVE"))
        conn.compute.confirm_server_resize(boot.server_id)
        server = _settled(conn, boot.server_id, what, ("ACTIVE",))
    seconds = time.monotonic() - started
    if server.compute_host == boot.host:
        # A move that failed on a host is rolled back: the server is ACTIVE where it was.
        raise DemoFailed(what, f"still on {boot.host}: {_last_migration(conn, boot.server_id)}")
    after = port_place(conn.network.get_port(boot.port_id))
    return DemoMove(
        server=boot.server,
        move=LIVE_MIGRATION if live else COLD_MIGRATION,
        before=before,
        after=after,
        status=server.status,
        seconds=seconds,
    )


def _settled(conn: Connection, server_id: str, what: str, statuses: tuple[str, ...]) -> Any:
    """The server once its status is one of `statuses` and no task runs, within MOVE_TIMEOUT."""
    deadline = time.monotonic() + MOVE_TIMEOUT
    while True:
        server = conn.compute.get_server(server_id)
        if server.status in statuses and server.task_state is None:
            return server
        if server.status == "ERROR":
            fault = (server.fault or {}).get("message", "no fault recorded")
            raise DemoFailed(what, f"ERROR: {fault}")
        if time.monotonic() > deadline:
            raise DemoFailed(what, f"still {server.status} after {MOVE_TIMEOUT:.0f} s")
        time.sleep(0.05)


def _last_migration(conn: Connection, server_id: str) -> str:
    found = list(conn.compute.migrations(instance_uuid=server_id))
    if not found:
        return "no migration recorded"
    latest = max(found, key=lambda m: m.id)
    return f"its {latest.migration_type} to {latest.dest_compute} ended {latest.status}"


def _waited_for(conn: Connection, server_id: str, port_id: str) -> str:
    """What the agent waited for before letting the guest run, from the build record."""
    actions = conn.compute.get(
        f"/servers/{server_id}/os-instance-actions", microversion=DETAILS_MICROVERSION
    ).json()["instanceActions"]
    create = next(a for a in actions if a["action"] == "create")
    action = conn.compute.get(
        f"/servers/{server_id}/os-instance-actions/{create['request_id']}",
        microversion=DETAILS_MICROVERSION,
    ).json()["instanceAction"]
    for event in action["events"]:
        if event["event"] != BUILD_EVENT or not event.get("details"):
            continue
        for outcome in _build_ports(event["details"]):
            if outcome.get("port_id") == port_id:
                waited = outcome.get("waited_for")
                how = outcome.get("confirmation")
                # An event that came, or how the agent knew the port was plugged without one.
                return f"{waited} ({how})" if waited else f"no ({how})"
    return "unknown"


def _build_ports(details: Any) -> list[dict[str, Any]]:
    record = json.loads(details) if isinstance(details, str) else details
    ports = record.get("ports", []) if isinstance(record, dict) else []
    return [port for port in ports if isinstance(port, dict)]

"""The leak check every operation test ends with: once its servers are deleted, nothing of them.

Every VF is free, every port unbound with no PCI key left in its profile
and no binding on another host, no host holds a guest of them, no DPU a
representor, and no migration is still under way.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from offpath.db.engine import reading
from offpath.db.network_schema import PortBindingRow
from tests.e2e.cloud import PCI_PROFILE_KEYS, SETTLE_WAIT, wait_for
from tests.e2e.operations.fleet import FINAL_MIGRATION, HOSTS, Fleet

COMPUTE_OWNER = "compute:"


def assert_no_leaks(fleet: Fleet) -> None:
    """Delete every server, then check that nothing of them is left anywhere."""
    cloud = fleet.cloud
    sdk = fleet.sdk
    listed = list(sdk.compute.servers())
    servers = {*fleet.servers, *(server.id for server in listed)}
    for port in sdk.network.ports():
        _assert_only_own_binding(fleet, port)
    for server in listed:
        cloud.delete(server)

    cloud.all_free(*HOSTS)
    for host in HOSTS:
        assert {d["status"] for d in cloud.devices(host)} == {"available"}, host
    for port in sdk.network.ports():
        unbound = cloud.unbound(port.id)
        assert not PCI_PROFILE_KEYS & set(unbound.binding_profile), unbound.binding_profile
        # Neutron's API shows no binding of a port no server owns: the rows tell.
        with reading(fleet.databases.api) as session:
            rows = session.scalars(
                select(PortBindingRow.host).where(PortBindingRow.port_id == port.id)
            ).all()
        assert rows == [], f"port {port.id} keeps bindings on {rows}"
    for uuid in servers:
        for host in HOSTS:
            hypervisor = cloud.cloud.hypervisor(host)
            wait_for(
                lambda: hypervisor.guest_xml(uuid) is None,  # noqa: B023 (called at once)
                timeout=SETTLE_WAIT,
                what=f"the guest of {uuid} on {host} to go",
            )
    fleet.wait_plugs(lambda plugs: plugs == set())
    unfinished = [
        (m["instance_uuid"], m["migration_type"], m["status"])
        for m in fleet.migrations()
        if m["status"] not in FINAL_MIGRATION
    ]
    assert unfinished == [], unfinished


def _assert_only_own_binding(fleet: Fleet, port: Any) -> None:
    """A server's port has its active binding and no other (no live migration's leftover)."""
    if not (port.device_owner or "").startswith(COMPUTE_OWNER):
        return
    bindings = fleet.cloud.get(f"/network/v2.0/ports/{port.id}/bindings")["bindings"]
    # An unbound port of a server (shelved, in ERROR) shows its own binding on host "".
    own = [(port.binding_host_id or "", "ACTIVE")]
    assert [(b["host"], b["status"]) for b in bindings] == own, bindings


def delete_ports(fleet: Fleet) -> None:
    """Delete every port, so the next test starts with none."""
    for port in list(fleet.sdk.network.ports()):
        fleet.sdk.network.delete_port(port, ignore_missing=True)

"""Claiming and freeing a host's PCI devices for an instance, atomically, in its cell database.

A claim reads the host (its devices and generation), lets the core's pools
choose devices and the core's claim model work out every status that
changes (the PF of a claimed VF, the VFs of a claimed PF), then writes
each change as `UPDATE ... WHERE status = <what was read>` and moves the
host's generation only if it is still the one read. Any lost race raises
HostChangedConcurrently and the transaction rolls back whole: a request
gets all its devices or none. `SELECT ... FOR UPDATE` is never relied on
(SQLite ignores it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from offpath.db.cell_schema import ComputeNodeRow, PciDeviceRow
from offpath.db.host_devices import (
    bump_generation,
    load_host,
    read_host,
    selections,
    write_states,
)
from offpath.errors import PciDeviceRequestFailed
from offpath.pci.claims import IN_USE, DeviceStatus
from offpath.pci.numa import NumaCell
from offpath.pci.pools import PciPools, describe_requests
from offpath.pci.request import PciRequest
from offpath.pci.selection import SelectedDevice


@dataclass(frozen=True, slots=True)
class ClaimedDevice:
    """A device claimed for one of an instance's requests."""

    request_id: str
    selected: SelectedDevice

    @property
    def address(self) -> str:
        """The device's PCI address."""
        return self.selected.device.address


@dataclass(frozen=True, slots=True)
class Claim:
    """What a claim took on a host, and the host's generation after it."""

    host: str
    generation: int
    devices: tuple[ClaimedDevice, ...]
    # The host's pools once the claim is made (None when it claimed nothing new):
    # a scheduler takes them as its picture of the host at `generation`.
    pools: PciPools | None = field(default=None, compare=False, repr=False)


def claim_devices(
    session: Session,
    host_name: str,
    requests: Sequence[PciRequest],
    *,
    instance_uuid: str,
    numa_cells: Sequence[NumaCell] | None = None,
) -> Claim:
    """Claim devices on `host_name` for every request, or raise and change nothing.

    A retried claim for the same instance returns what it already holds.
    """
    read = read_host(session, host_name)
    if read is None:
        raise PciDeviceRequestFailed(describe_requests(requests), host=host_name)
    host = read.devices
    wanted = {r.request_id for r in requests}
    # Devices already held for these requests: a retried claim gets them back.
    # An instance holding devices for other requests (an attach) claims anew.
    held = [s for s in host.states if s.instance_uuid == instance_uuid and s.request_id in wanted]
    if held:
        found = selections(session, host.node_id, (s.address for s in held))
        devices = tuple(ClaimedDevice(s.request_id or "", found[s.address]) for s in held)
        return Claim(host.host, host.generation, devices)
    if not requests:
        return Claim(host.host, host.generation, ())
    in_use = {state.address for state in host.states if state.status in IN_USE}
    pools = PciPools.build(
        read.selected,
        taken=[s for s in read.selected if s.device.address in in_use],
        host=host.host,
        host_cells=host.numa_cells,
    )
    taken = iter(pools.consume(requests, numa_cells))
    chosen: list[tuple[str, str]] = []
    states = host.states
    for request in requests:
        for device in islice(taken, request.count):
            states = states.claim(
                device.address, instance_uuid=instance_uuid, request_id=request.request_id
            )
            chosen.append((request.request_id, device.address))
    write_states(session, host, states)
    generation = bump_generation(session, host)
    # Only the devices handed out need their whole record: the agent plugs them.
    found = selections(session, host.node_id, (address for _, address in chosen))
    claimed = tuple(ClaimedDevice(request_id, found[address]) for request_id, address in chosen)
    return Claim(host.host, generation, claimed, pools)


def held_devices(session: Session, instance_uuid: str, host: str) -> tuple[ClaimedDevice, ...]:
    """The devices `instance_uuid` holds on `host`, with the request each serves."""
    rows = session.execute(
        select(PciDeviceRow.compute_node_id, PciDeviceRow.address, PciDeviceRow.request_id)
        .join(ComputeNodeRow, ComputeNodeRow.id == PciDeviceRow.compute_node_id)
        .where(PciDeviceRow.instance_uuid == instance_uuid, ComputeNodeRow.host == host)
        .order_by(PciDeviceRow.address)
    ).all()
    if not rows:
        return ()
    found = selections(session, rows[0][0], (row[1] for row in rows))
    return tuple(ClaimedDevice(row[2] or "", found[row[1]]) for row in rows)


def free_instance_devices(
    session: Session,
    instance_uuid: str,
    *,
    on_host: str | None = None,
    request_id: str | None = None,
) -> dict[str, int]:
    """Free the devices `instance_uuid` holds; {host: new generation}.

    Only those on `on_host` (a move frees one side: the source once
    confirmed, the destination once reverted) and of `request_id` (a
    detached port) when given.
    """
    query = select(PciDeviceRow.compute_node_id).where(PciDeviceRow.instance_uuid == instance_uuid)
    if on_host is not None:
        query = query.join(ComputeNodeRow, ComputeNodeRow.id == PciDeviceRow.compute_node_id).where(
            ComputeNodeRow.host == on_host
        )
    if request_id is not None:
        query = query.where(PciDeviceRow.request_id == request_id)
    node_ids = set(session.scalars(query))
    generations: dict[str, int] = {}
    for node_id in sorted(node_ids):
        node = session.get(ComputeNodeRow, node_id)
        if node is None:
            continue
        host = load_host(session, node)
        states = host.states
        for state in host.states:
            if (
                state.instance_uuid == instance_uuid
                and state.in_use
                and (request_id is None or state.request_id == request_id)
            ):
                states = states.free(state.address, instance_uuid=instance_uuid)
        write_states(session, host, states)
        # A device reported gone while held leaves with its last user.
        gone = [
            row.id
            for row in host.rows.values()
            if row.missing and states.get(row.address).status is DeviceStatus.AVAILABLE
        ]
        if gone:
            session.execute(delete(PciDeviceRow).where(PciDeviceRow.id.in_(gone)))
        generations[host.host] = bump_generation(session, host)
    return generations
